package identity

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"sync"
	"time"

	"github.com/buttctl/buttctl/inventory"
	"github.com/buttctl/buttctl/ops/engine"
	"github.com/buttctl/buttctl/ops/pubs"
	"github.com/buttctl/buttctl/ops/pubspec"
)

// RestoreOptions tune Restore.
type RestoreOptions struct {
	// To is the hub to restore on ("": the pub's hub in the inventory). A
	// hub other than the inventory's is written into the inventory.
	To string
	// Force restores although the identity exists elsewhere in the fleet, a
	// hub cannot be asked, or the pub already has a container or volume on
	// the hub (whose identity is kept in the store first).
	Force bool
	// AssumeDown lists hubs known to be dead (watch re-allocating their
	// pubs): their being unreachable does not block the restore.
	AssumeDown []string
	// Progress, if set, is told the bytes of data written so far.
	Progress func(n int64)
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// RestoreResult says what Restore did.
type RestoreResult struct {
	Manifest Manifest `json:"manifest"`
	Pub      string   `json:"pub"`
	Hub      string   `json:"hub"`
	// ID is the identity the restored pub answered whoami with (or that its
	// secret proves, for a pub the inventory wants stopped).
	ID      string `json:"id"`
	Started bool   `json:"started"`
	// InventoryUpdated: the inventory now places the pub on Hub.
	InventoryUpdated bool `json:"inventory_updated"`
	// Replaced is the identity of what the restore replaced on the hub
	// (with Force), kept in the identity store.
	Replaced *Identity `json:"replaced,omitempty"`
	// Overridden says what Force overrode.
	Overridden []string `json:"overridden,omitempty"`
	DataBytes  int64    `json:"data_bytes"`
}

// ErrIdentityElsewhere: the identity to restore exists in another pub
// container of the fleet.
var ErrIdentityElsewhere = errors.New("identity exists elsewhere")

// ErrCannotProveUnique: a hub could not be asked, so the identity may run there.
var ErrCannotProveUnique = errors.New("cannot prove the identity runs nowhere else")

// Restore recreates pub name's container and volume from a backup stream r
// and starts it (unless the inventory wants it stopped), then checks that
// it answers whoami with the backup's identity. It refuses, unless Force,
// to restore an identity that exists in a container on any hub (never two
// live copies), or when a hub cannot be asked (uniqueness unproven), or
// over an existing container or volume of the pub. On failure what it made
// is removed again.
func Restore(ctx context.Context, svc *pubs.Service, store *Store, name string, r io.Reader, o RestoreOptions) (res RestoreResult, err error) {
	rec := svc.Begin("restore", name)
	defer func() {
		rec.Hub, rec.Identity = cmp.Or(res.Hub, rec.Hub), cmp.Or(res.ID, res.Manifest.Identity)
		rec.End(&err)
	}()
	now := o.Now
	if now == nil {
		now = time.Now
	}
	b, err := OpenBackup(r)
	if err != nil {
		return RestoreResult{}, pubError(name, "", err)
	}
	m := b.Manifest
	res = RestoreResult{Manifest: m, Pub: name}
	p, err := svc.Lookup(name)
	if err != nil {
		return res, err
	}
	hub := o.To
	if hub == "" {
		hub = p.Hub
	}
	res.Hub = hub
	fail := func(err error) error { return pubError(name, hub, err) }
	if _, ok := svc.Inventory().Hub(hub); !ok {
		return res, fail(fmt.Errorf("hub %s is not in the inventory %s", hub, svc.Inventory().Path))
	}
	unlock, err := store.lockPub(name, "buttctl pub restore")
	if err != nil {
		return res, fail(err)
	}
	defer unlock()

	spec, err := specOn(svc, p, hub)
	if err != nil {
		return res, fail(err)
	}
	e, err := svc.Engine(hub)
	if err != nil {
		return res, fail(err)
	}
	if _, err := e.Ping(ctx); err != nil {
		return res, fail(err)
	}

	// Never two live copies: look for the identity on every hub (but those
	// known dead: a dial to a powered-off server hangs until its timeout).
	var asked []string
	for _, h := range svc.Inventory().Hubs {
		if !slices.Contains(o.AssumeDown, h.Name) {
			asked = append(asked, h.Name)
		}
	}
	census := Scan(ctx, svc, asked)
	var unreachable []pubs.HubError
	for _, he := range census.Unreachable {
		if !slices.Contains(o.AssumeDown, he.Hub) {
			unreachable = append(unreachable, he)
		}
	}
	if len(unreachable) > 0 {
		if !o.Force {
			return res, fail(fmt.Errorf("%w: cannot prove identity %s runs nowhere else, as %s could not be asked: retry when it answers, or add --force if you know the identity is not there", ErrCannotProveUnique, m.Identity, hubList(unreachable)))
		}
		res.Overridden = append(res.Overridden, "unreachable: "+hubList(unreachable))
	}
	var elsewhere []Copy
	for _, cp := range census.Of(m.Identity) {
		if cp.Pub != name || cp.Hub != hub {
			elsewhere = append(elsewhere, cp)
		}
	}
	if len(elsewhere) > 0 {
		if !o.Force {
			return res, fail(fmt.Errorf("%w: identity %s already exists as %s: never two live copies of one identity; remove it there first ('buttctl pub rm'), or add --force", ErrIdentityElsewhere, m.Identity, copyList(elsewhere)))
		}
		res.Overridden = append(res.Overridden, "identity also in "+copyList(elsewhere))
	}

	// The pub's own copy of this very identity on the hub (a stopped copy
	// an earlier move or reallocation left there) is no obstacle to putting
	// the secret back: its container is made again, its volume and data kept.
	keptVolume := false
	if m.SecretOnly {
		if keptVolume, err = ownCopyThere(ctx, e, spec, m.SecretSHA256); err != nil {
			return res, fail(err)
		}
	}
	// Anything else the pub has on the hub is replaced only with Force, and
	// its identity kept first.
	if !keptVolume {
		if replaced, err := clearForRestore(ctx, svc, store, e, spec, o.Force, now); err != nil {
			return res, fail(err)
		} else if replaced != nil {
			res.Replaced = replaced
			res.Overridden = append(res.Overridden, "replaced identity "+replaced.ID)
		}
	}

	if _, err := ensureImage(ctx, svc, e, spec.Image, []string{m.Hub, p.Hub}, nil); err != nil {
		return res, fail(err)
	}
	if _, err := e.EnsureNetwork(ctx, spec.Network); err != nil {
		return res, fail(err)
	}
	if _, err := e.EnsureVolume(ctx, spec.Volume, spec.Labels); err != nil {
		return res, fail(err)
	}
	undo := func(cause error) error {
		bg, cancel := background(ctx)
		defer cancel()
		remove := removeCreated
		if keptVolume {
			remove = removeContainer // the volume was there before, with the pub's data
		}
		if err := remove(bg, e, spec); err != nil {
			return fail(fmt.Errorf("%w; and removing what the restore made failed: %v (remove it with 'buttctl pub rm %s --purge')", cause, err, name))
		}
		return fail(fmt.Errorf("%w; removed what the restore made", cause))
	}
	c, err := createStill(ctx, e, spec)
	if err != nil {
		return res, undo(err)
	}
	data := b.Data()
	defer data.Close()
	counted := &countingReader{r: data, progress: o.Progress}
	tap := &errTap{r: counted}
	werr := e.WritePath(ctx, c, spec.DataDir, tap)
	res.DataBytes = counted.N()
	if err := tap.error(); err != nil {
		return res, undo(fmt.Errorf("restore: %w", err))
	}
	if werr != nil {
		return res, undo(werr)
	}
	secret, owner, err := readSecretOwned(ctx, e, c, spec.DataDir)
	if err != nil {
		return res, undo(err)
	}
	sec, err := ParseSecret(secret)
	if err != nil {
		return res, undo(err)
	}
	if sec.SHA256 != m.SecretSHA256 || sec.ID != m.Identity {
		return res, undo(fmt.Errorf("the restored secret file is not the backup's (sha256 %s, want %s)", sec.SHA256, m.SecretSHA256))
	}
	res.ID = sec.ID
	if hub != p.Hub {
		// Placed here before it starts: from then on no apply starts the
		// copy on the pub's old hub. One started before (the hub came back)
		// is seen next, and the restore stands back.
		if err := setPubHub(ctx, svc, name, p.Hub, hub, "buttctl pub restore"); err != nil {
			return res, undo(err)
		}
		res.InventoryUpdated = true
		removeMade := undo
		undo = func(cause error) error {
			err := removeMade(cause)
			bg, cancel := background(ctx)
			defer cancel()
			if perr := setPubHub(bg, svc, name, hub, p.Hub, "buttctl pub restore"); perr != nil {
				return fmt.Errorf("%w; and placing it back on %s failed: %v", err, p.Hub, perr)
			}
			res.InventoryUpdated = false
			return err
		}
		if err := notRunningOn(ctx, svc, name, p.Hub); err != nil {
			return res, undo(err)
		}
	}
	if p.State != inventory.StateStopped {
		if err := e.Start(ctx, c); err != nil {
			return res, undo(err)
		}
		got, err := waitWhoami(ctx, svc, e, name, spec.Image)
		if err != nil {
			return res, undo(err)
		}
		if got != m.Identity {
			return res, undo(fmt.Errorf("the restored pub answers whoami with %s, not the backup's identity %s", got, m.Identity))
		}
		res.ID, res.Started = got, true
	}
	if err := e.SetRestartPolicy(ctx, c, restartPolicy(spec)); err != nil {
		return res, undo(err)
	}
	if _, err := store.RecordOwned(name, hub, secret, &owner, now()); err != nil {
		return res, fail(fmt.Errorf("restored, but %w", err))
	}
	return res, nil
}

// ownCopyThere reports whether the pub's volume on e holds the secret whose
// SHA-256 is secretSHA (the same identity), and if so removes the pub's
// container there, keeping the volume.
func ownCopyThere(ctx context.Context, e *engine.Engine, spec pubspec.Spec, secretSHA string) (bool, error) {
	hasVolume, err := e.VolumeExists(ctx, spec.Volume, spec.Pub)
	if err != nil || !hasVolume {
		return false, err
	}
	c, err := e.PubContainer(ctx, spec.Pub)
	if engine.IsNotFound(err) {
		// Read the volume's identity through a container that never starts.
		c, err = createStill(ctx, e, spec)
	}
	if err != nil {
		return false, err
	}
	secret, _, err := readSecretOwned(ctx, e, c, spec.DataDir)
	if errors.Is(err, ErrNoSecret) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("reading the identity of the pub's volume there: %w", err)
	}
	sec, err := ParseSecret(secret)
	if err != nil || sec.SHA256 != secretSHA {
		return false, nil
	}
	return true, e.Remove(ctx, c)
}

// clearForRestore makes room for a restore of spec's pub on e: nothing to
// do if it has neither container nor volume there; with force, the
// identity there is recorded in the store, then container and volume are
// removed; without, an error says what is in the way.
func clearForRestore(ctx context.Context, svc *pubs.Service, store *Store, e *engine.Engine, spec pubspec.Spec, force bool, now func() time.Time) (*Identity, error) {
	c, cerr := e.PubContainer(ctx, spec.Pub)
	if cerr != nil && !engine.IsNotFound(cerr) {
		return nil, cerr
	}
	hasContainer := cerr == nil
	hasVolume, err := e.VolumeExists(ctx, spec.Volume, spec.Pub)
	if err != nil {
		return nil, err
	}
	if !hasContainer && !hasVolume {
		return nil, nil
	}
	if !force {
		what := "a volume (" + spec.Volume + ")"
		if hasContainer {
			what = "a container (" + c.State + ")"
			if hasVolume {
				what += " and volume " + spec.Volume
			}
		}
		return nil, fmt.Errorf("already has %s there: a restore replaces them; remove them first ('buttctl pub rm %s --purge', after a backup), or add --force (the identity there is kept in the local identity store first)", what, spec.Pub)
	}
	if !hasContainer {
		// Read the volume's identity through a container that never starts.
		if c, err = createStill(ctx, e, spec); err != nil {
			return nil, err
		}
	}
	var replaced *Identity
	secret, owner, err := readSecretOwned(ctx, e, c, spec.DataDir)
	switch {
	case err == nil:
		id, err := store.RecordOwned(spec.Pub, e.Hub(), secret, &owner, now())
		if err != nil {
			return nil, fmt.Errorf("keeping the identity there before replacing it: %w", err)
		}
		replaced = &id
	case !errors.Is(err, ErrNoSecret):
		return nil, fmt.Errorf("reading the identity there before replacing it: %w", err)
	}
	if err := e.Remove(ctx, c); err != nil {
		return replaced, err
	}
	return replaced, e.RemoveVolume(ctx, spec.Volume, spec.Pub)
}

// setPubHub places pub on hub in the inventory file (atomic, comments
// kept), if the inventory still places it on from.
func setPubHub(ctx context.Context, svc *pubs.Service, pub, from, hub, purpose string) error {
	path := svc.Inventory().Path
	err := inventory.Update(ctx, path, inventory.LockOptions{Wait: 30 * time.Second, Purpose: purpose}, func(ed *inventory.Editor) error {
		return movePub(ed, pub, from, hub)
	})
	if err != nil {
		return fmt.Errorf("updating the inventory %s: %w", path, err)
	}
	return nil
}

func movePub(ed *inventory.Editor, pub, from, hub string) error {
	p, ok := ed.Inventory().Pub(pub)
	if !ok {
		return fmt.Errorf("pub %s is no longer in the inventory", pub)
	}
	if p.Hub != from {
		return fmt.Errorf("the inventory now places pub %s on %s, not %s: someone changed it meanwhile", pub, p.Hub, from)
	}
	return ed.SetPubHub(pub, hub)
}

// notRunningOn checks that no copy of pub runs on hub (one started while
// it was being restored elsewhere: by apply, say, when hub came back). A
// hub that does not answer within seconds runs none that could matter:
// pubs watch re-allocates have restart policy "no".
func notRunningOn(ctx context.Context, svc *pubs.Service, pub, hub string) error {
	if hub == "" {
		return nil
	}
	e, err := svc.Engine(hub)
	if err != nil {
		return nil
	}
	cctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	c, err := e.PubContainer(cctx, pub)
	if err == nil && (c.State == "running" || c.State == "restarting" || c.State == "paused") {
		return fmt.Errorf("%w: the pub runs again on %s (%s), started while it was being restored here", ErrIdentityElsewhere, hub, c.State)
	}
	return nil
}

// errTap remembers the error of the reader it wraps, so that a failing
// source is not blamed on the engine it was streamed to.
type errTap struct {
	r   io.Reader
	mu  sync.Mutex
	err error
}

func (t *errTap) Read(p []byte) (int, error) {
	n, err := t.r.Read(p)
	if err != nil && !errors.Is(err, io.EOF) {
		t.mu.Lock()
		t.err = err
		t.mu.Unlock()
	}
	return n, err
}

func (t *errTap) error() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.err
}
