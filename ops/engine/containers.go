package engine

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"
)

// Inspection is a managed container as the engine describes it.
type Inspection struct {
	container.InspectResponse
	// Raw is the engine's own JSON, for `pub inspect`.
	Raw json.RawMessage
}

// Inspect describes a managed container.
func (e *Engine) Inspect(ctx context.Context, c Container) (Inspection, error) {
	if err := e.check(c); err != nil {
		return Inspection{}, err
	}
	if err := e.ready(ctx); err != nil {
		return Inspection{}, err
	}
	res, err := e.api.ContainerInspect(ctx, c.ID, client.ContainerInspectOptions{})
	if err != nil {
		return Inspection{}, e.fail(err, "inspect container "+c.Name)
	}
	if res.Container.Config == nil || res.Container.Config.Labels[LabelManaged] != "true" {
		return Inspection{}, &Error{Hub: e.hub, Err: fmt.Errorf("container %s lost buttctl's labels: leaving it alone", c.Name)}
	}
	return Inspection{InspectResponse: res.Container, Raw: res.Raw}, nil
}

// Create creates a container named name. Its labels must mark it as buttctl's
// (LabelManaged=true and LabelPub): buttctl creates nothing it would not
// recognise afterwards.
func (e *Engine) Create(ctx context.Context, name string, cfg *container.Config, host *container.HostConfig) (Container, error) {
	if cfg == nil || cfg.Labels[LabelManaged] != "true" || cfg.Labels[LabelPub] == "" {
		return Container{}, &Error{Hub: e.hub, Err: fmt.Errorf("refusing to create container %s without buttctl's labels", name)}
	}
	if err := e.ready(ctx); err != nil {
		return Container{}, err
	}
	networking, err := e.pinNetwork(ctx, host)
	if err != nil {
		return Container{}, err
	}
	res, err := e.api.ContainerCreate(ctx, client.ContainerCreateOptions{Name: name, Config: cfg, HostConfig: host, NetworkingConfig: networking})
	if err != nil {
		return Container{}, e.fail(err, "create container "+name)
	}
	return Container{ID: res.ID, Name: name, Pub: cfg.Labels[LabelPub], Image: cfg.Image, Labels: cfg.Labels, State: string(container.StateCreated), managed: true}, nil
}

// Start starts a managed container.
func (e *Engine) Start(ctx context.Context, c Container) error {
	return e.do(ctx, c, "start container", func() error {
		_, err := e.api.ContainerStart(ctx, c.ID, client.ContainerStartOptions{})
		return err
	})
}

// Stop stops a managed container: SIGTERM, then SIGKILL after timeoutSeconds
// (nil: the container's own stop timeout).
func (e *Engine) Stop(ctx context.Context, c Container, timeoutSeconds *int) error {
	return e.do(ctx, c, "stop container", func() error {
		_, err := e.api.ContainerStop(ctx, c.ID, client.ContainerStopOptions{Timeout: timeoutSeconds})
		return err
	})
}

// Restart stops then starts a managed container.
func (e *Engine) Restart(ctx context.Context, c Container, timeoutSeconds *int) error {
	return e.do(ctx, c, "restart container", func() error {
		_, err := e.api.ContainerRestart(ctx, c.ID, client.ContainerRestartOptions{Timeout: timeoutSeconds})
		return err
	})
}

// Kill sends signal ("" for SIGKILL) to a managed container's main process.
func (e *Engine) Kill(ctx context.Context, c Container, signal string) error {
	if signal == "" {
		signal = "SIGKILL"
	}
	return e.do(ctx, c, "kill container", func() error {
		_, err := e.api.ContainerKill(ctx, c.ID, client.ContainerKillOptions{Signal: signal})
		return err
	})
}

// Remove removes a managed container, stopping it first if it runs. Its
// volumes are kept. A removal already in progress (the engine carries on
// with one asked for by a buttctl that was killed meanwhile) is waited for.
func (e *Engine) Remove(ctx context.Context, c Container) error {
	return e.do(ctx, c, "remove container", func() error {
		_, err := e.api.ContainerRemove(ctx, c.ID, client.ContainerRemoveOptions{Force: true})
		if cerrdefs.IsConflict(err) && strings.Contains(err.Error(), "already in progress") {
			return e.waitRemoved(ctx, c.ID)
		}
		return err
	})
}

// waitRemoved waits until the engine has removed the container id.
func (e *Engine) waitRemoved(ctx context.Context, id string) error {
	w := e.api.ContainerWait(ctx, id, client.ContainerWaitOptions{Condition: container.WaitConditionRemoved})
	select {
	case <-w.Result:
		return nil
	case err := <-w.Error:
		if cerrdefs.IsNotFound(err) {
			return nil
		}
		return err
	}
}

func (e *Engine) do(ctx context.Context, c Container, what string, call func() error) error {
	if err := e.check(c); err != nil {
		return err
	}
	if err := e.ready(ctx); err != nil {
		return err
	}
	return e.fail(call(), what+" "+c.Name)
}
