package testworld

import (
	"context"
	"fmt"
	"strconv"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/mount"
	"github.com/moby/moby/api/types/network"
	"github.com/moby/moby/client"

	"github.com/buttctl/buttctl/ops/engine"
	"github.com/buttctl/buttctl/ops/pubspec"
)

// RunPub creates and starts a pub container on the hub's engine directly
// (not through buttctl), the way DESIGN.md describes one: buttctl's labels
// and names (pubspec.ContainerName, pubspec.VolumeName), the named data
// volume at /home/node/.ssb, ssb_host, the port published on
// the hub's address, the image's health check, a memory limit,
// no-new-privileges. As with ssb-server, ssb_port is both the port the pub
// listens on and the one its invites announce, so a pub on port P runs with
// ssb_port=P and publishes P:P. restart is a Docker restart policy ("" means
// unless-stopped). It is for the demo and for tests that need a pub made
// without buttctl; buttctl's own container spec lives in ops.
func (h *Hub) RunPub(ctx context.Context, p Pub, restart string) (string, error) {
	docker, err := h.DockerClient()
	if err != nil {
		return "", err
	}
	defer docker.Close()
	image, port, host := p.Image, p.Port, p.Host
	if image == "" {
		image = PubImage
	}
	if port == 0 {
		port = 8008
	}
	if host == "" {
		host = h.Address
	}
	if restart == "" {
		restart = "unless-stopped"
	}
	portSpec := network.MustParsePort(strconv.Itoa(port) + "/tcp")
	res, err := docker.ContainerCreate(ctx, client.ContainerCreateOptions{
		Name: pubspec.ContainerName(p.Name),
		Config: &container.Config{
			Image:        image,
			Env:          []string{"ssb_host=" + host, "ssb_port=" + strconv.Itoa(port)},
			Labels:       map[string]string{engine.LabelManaged: "true", engine.LabelPub: p.Name},
			ExposedPorts: network.PortSet{portSpec: {}},
		},
		HostConfig: &container.HostConfig{
			Mounts:        []mount.Mount{{Type: mount.TypeVolume, Source: pubspec.VolumeName(p.Name), Target: "/home/node/.ssb"}},
			PortBindings:  network.PortMap{portSpec: {{HostPort: strconv.Itoa(port)}}},
			RestartPolicy: container.RestartPolicy{Name: container.RestartPolicyMode(restart)},
			Resources:     container.Resources{Memory: 64 << 20},
			SecurityOpt:   []string{"no-new-privileges"},
		},
	})
	if err != nil {
		return "", fmt.Errorf("%s: creating pub %s: %w", h.Name, p.Name, err)
	}
	if _, err := docker.ContainerStart(ctx, res.ID, client.ContainerStartOptions{}); err != nil {
		return res.ID, fmt.Errorf("%s: starting pub %s: %w", h.Name, p.Name, err)
	}
	return res.ID, nil
}
