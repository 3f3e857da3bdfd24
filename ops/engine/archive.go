package engine

import (
	"context"
	"io"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"
)

// ReadPath streams a tar archive of path inside a managed container, in any
// state: the engine reads the container's file system and volumes itself,
// nothing runs in the container. A path ending in "/." archives a
// directory's contents under "./". The caller closes the archive.
func (e *Engine) ReadPath(ctx context.Context, c Container, path string) (io.ReadCloser, error) {
	var rc io.ReadCloser
	err := e.do(ctx, c, "read "+path+" of container", func() error {
		res, err := e.api.CopyFromContainer(ctx, c.ID, client.CopyFromContainerOptions{SourcePath: path})
		rc = res.Content
		return err
	})
	return rc, err
}

// WritePath extracts the tar archive content into the directory path inside
// a managed container (created or stopped ones included), keeping the
// owners and modes of the archive's entries.
func (e *Engine) WritePath(ctx context.Context, c Container, path string, content io.Reader) error {
	return e.do(ctx, c, "write "+path+" of container", func() error {
		_, err := e.api.CopyToContainer(ctx, c.ID, client.CopyToContainerOptions{DestinationPath: path, Content: content})
		return err
	})
}

// Pause freezes a managed container's processes (the cgroup freezer).
func (e *Engine) Pause(ctx context.Context, c Container) error {
	return e.do(ctx, c, "pause container", func() error {
		_, err := e.api.ContainerPause(ctx, c.ID, client.ContainerPauseOptions{})
		return err
	})
}

// Unpause thaws a paused managed container.
func (e *Engine) Unpause(ctx context.Context, c Container) error {
	return e.do(ctx, c, "unpause container", func() error {
		_, err := e.api.ContainerUnpause(ctx, c.ID, client.ContainerUnpauseOptions{})
		return err
	})
}

// RestartPolicy is a Docker restart policy: no, always, unless-stopped, on-failure.
type RestartPolicy struct {
	Name       string `json:"name"`
	MaxRetries int    `json:"max_retries,omitempty"`
}

// SetRestartPolicy changes a managed container's restart policy in place.
func (e *Engine) SetRestartPolicy(ctx context.Context, c Container, p RestartPolicy) error {
	return e.do(ctx, c, "set the restart policy of container", func() error {
		_, err := e.api.ContainerUpdate(ctx, c.ID, client.ContainerUpdateOptions{
			RestartPolicy: &container.RestartPolicy{Name: container.RestartPolicyMode(p.Name), MaximumRetryCount: p.MaxRetries},
		})
		return err
	})
}

// GetRestartPolicy returns a managed container's restart policy.
func (e *Engine) GetRestartPolicy(ctx context.Context, c Container) (RestartPolicy, error) {
	ins, err := e.Inspect(ctx, c)
	if err != nil {
		return RestartPolicy{}, err
	}
	if ins.HostConfig == nil {
		return RestartPolicy{Name: "no"}, nil
	}
	p := RestartPolicy{Name: string(ins.HostConfig.RestartPolicy.Name), MaxRetries: ins.HostConfig.RestartPolicy.MaximumRetryCount}
	if p.Name == "" {
		p.Name = "no"
	}
	return p, nil
}
