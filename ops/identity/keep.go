package identity

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/buttctl/buttctl/ops/engine"
	"github.com/buttctl/buttctl/ops/pubs"
)

// Keep records the identity of pub name, read from its hub, in the store:
// what `pub rm --purge` does before it deletes the volume. It reads the
// secret through the pub's container, or, when only its volume is left,
// through a container of the pub's spec that never starts and is removed
// again. An error matching ErrNoSecret says there is no identity to keep
// (the pub never ran, or has neither container nor volume).
func Keep(ctx context.Context, svc *pubs.Service, store *Store, name string) (Identity, error) {
	p, err := svc.Lookup(name)
	if err != nil {
		return Identity{}, err
	}
	fail := func(err error) (Identity, error) { return Identity{}, pubError(name, p.Hub, err) }
	e, err := svc.Engine(p.Hub)
	if err != nil {
		return fail(err)
	}
	spec, err := specOn(svc, p, p.Hub)
	if err != nil {
		return fail(err)
	}
	c, err := e.PubContainer(ctx, name)
	switch {
	case err == nil:
		if ins, err := e.Inspect(ctx, c); err == nil && ins.Config != nil {
			spec.DataDir = svc.Inventory().ImageProfile(ins.Config.Image).DataDir
		}
	case !engine.IsNotFound(err):
		return fail(err)
	default:
		has, err := e.VolumeExists(ctx, spec.Volume, name)
		if err != nil {
			return fail(err)
		}
		if !has {
			return fail(fmt.Errorf("neither container nor volume: %w", ErrNoSecret))
		}
		if c, err = createStill(ctx, e, spec); err != nil {
			return fail(fmt.Errorf("reading the identity in volume %s: %w", spec.Volume, err))
		}
		defer func() {
			bg, cancel := background(ctx)
			defer cancel()
			_ = e.Remove(bg, c)
		}()
	}
	secret, owner, err := readSecretOwned(ctx, e, c, spec.DataDir)
	if err != nil {
		return fail(err)
	}
	id, err := store.RecordOwned(name, p.Hub, secret, &owner, time.Now())
	if err != nil {
		return fail(err)
	}
	return id, nil
}

// IsNoSecret reports whether err says there was no identity to read.
func IsNoSecret(err error) bool { return errors.Is(err, ErrNoSecret) }
