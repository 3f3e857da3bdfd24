package identity

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/buttctl/buttctl/inventory"
	"github.com/buttctl/buttctl/ops/engine"
	"github.com/buttctl/buttctl/ops/pubs"
	"github.com/buttctl/buttctl/ops/pubspec"
)

// specOn is the spec of pub placed on hub.
func specOn(svc *pubs.Service, p inventory.Pub, hub string) (pubspec.Spec, error) {
	p.Hub = hub
	return pubspec.Build(svc.Inventory(), p)
}

// restartPolicy is the spec's restart policy as the engine takes it.
func restartPolicy(spec pubspec.Spec) engine.RestartPolicy {
	_, host := spec.Docker()
	return engine.RestartPolicy{Name: string(host.RestartPolicy.Name), MaxRetries: host.RestartPolicy.MaximumRetryCount}
}

// createStill creates the pub's container from spec on e without starting
// it, with restart policy "no": until buttctl has checked it, no engine
// restart may start it on its own. The network and volume must exist.
func createStill(ctx context.Context, e *engine.Engine, spec pubspec.Spec) (engine.Container, error) {
	cfg, host := spec.Docker()
	host.RestartPolicy.Name, host.RestartPolicy.MaximumRetryCount = "no", 0
	return e.Create(ctx, spec.ContainerName, cfg, host)
}

// ensureImage makes sure image is on e: there already, streamed from the
// first of the hubs from that has it, or pulled. It returns the hub it was
// streamed from, if any.
func ensureImage(ctx context.Context, svc *pubs.Service, e *engine.Engine, image string, from []string, progress func(int64)) (string, error) {
	has, err := e.HasImage(ctx, image)
	if err != nil || has {
		return "", err
	}
	for _, hub := range from {
		if hub == "" || hub == e.Hub() {
			continue
		}
		src, err := svc.Engine(hub)
		if err != nil {
			continue
		}
		if ok, err := src.HasImage(ctx, image); err != nil || !ok {
			continue
		}
		if err := engine.TransferImage(ctx, src, e, image, progress); err != nil {
			return "", fmt.Errorf("copying image %s from %s: %w", image, hub, err)
		}
		return hub, nil
	}
	if err := e.PullImage(ctx, image); err != nil {
		if engine.IsUnreachable(err) {
			return "", err
		}
		return "", fmt.Errorf("image %s is not on %s, which could not pull it: copy it there with 'buttctl hub load-image %s %s'", image, e.Hub(), e.Hub(), image)
	}
	return "", nil
}

// bgTimeout bounds clean-up steps, which run even after the operation's
// context has ended.
const bgTimeout = 2 * time.Minute

func background(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), bgTimeout)
}

// removeCreated removes the pub's container (if any) and volume from e: what
// a failed restore or move made there. It returns what it could not remove.
func removeCreated(ctx context.Context, e *engine.Engine, spec pubspec.Spec) error {
	if err := removeContainer(ctx, e, spec); err != nil {
		return err
	}
	return e.RemoveVolume(ctx, spec.Volume, spec.Pub)
}

// removeContainer removes the pub's container from e, if it has one.
func removeContainer(ctx context.Context, e *engine.Engine, spec pubspec.Spec) error {
	c, err := e.PubContainer(ctx, spec.Pub)
	switch {
	case err == nil:
		return e.Remove(ctx, c)
	case engine.IsNotFound(err):
		return nil
	default:
		return err
	}
}

// hubList names hubs: "hub-1, hub-2".
func hubList(hes []pubs.HubError) string {
	names := make([]string, len(hes))
	for i, h := range hes {
		names[i] = h.Hub + " (" + strings.TrimPrefix(h.Err.Error(), h.Hub+": ") + ")"
	}
	return strings.Join(names, ", ")
}

func copyList(cs []Copy) string {
	names := make([]string, len(cs))
	for i, c := range cs {
		names[i] = c.String()
	}
	return strings.Join(names, ", ")
}
