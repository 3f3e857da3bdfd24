package pubspec

import (
	"maps"
	"slices"
	"strconv"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/mount"
	"github.com/moby/moby/api/types/network"
)

// Port is the container's SSB port as the Docker API names it.
func (s Spec) Port() network.Port {
	p, _ := network.PortFrom(uint16(s.ContainerPort), network.TCP)
	return p
}

// Docker returns the Docker API's configuration of the spec's container.
func (s Spec) Docker() (*container.Config, *container.HostConfig) {
	port := s.Port()
	cfg := &container.Config{
		Image:        s.Image,
		Labels:       maps.Clone(s.Labels),
		Env:          slices.Clone(s.Env),
		ExposedPorts: network.PortSet{port: {}},
	}
	if s.Health != nil {
		cfg.Healthcheck = &container.HealthConfig{
			Test:        slices.Clone(s.Health.Test),
			Interval:    s.Health.Interval.D(),
			Timeout:     s.Health.Timeout.D(),
			Retries:     s.Health.Retries,
			StartPeriod: s.Health.StartPeriod.D(),
		}
	}
	name, retries, _ := restartPolicy(s.Restart)
	host := &container.HostConfig{
		NetworkMode:   container.NetworkMode(s.Network),
		PortBindings:  network.PortMap{port: {{HostPort: strconv.Itoa(s.HostPort)}}},
		RestartPolicy: container.RestartPolicy{Name: container.RestartPolicyMode(name), MaximumRetryCount: retries},
		Mounts:        []mount.Mount{{Type: mount.TypeVolume, Source: s.Volume, Target: s.DataDir}},
		Resources:     container.Resources{Memory: s.Memory},
		SecurityOpt:   slices.Clone(s.SecurityOpt),
		LogConfig:     container.LogConfig{Type: s.LogDriver, Config: maps.Clone(s.LogOptions)},
	}
	return cfg, host
}
