package engine

import (
	"context"
	"sort"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"
)

// Info is what a hub's Docker engine says about itself.
type Info struct {
	// ID is the engine's own unique id: hubs that reach one engine through
	// different ways share it.
	ID string `json:"id"`
	// Version is the engine's version ("20.10.24").
	Version string `json:"version"`
	// APIVersion is the API version buttctl and the engine agreed on.
	APIVersion    string `json:"api_version"`
	OS            string `json:"os"`
	Arch          string `json:"arch"`
	CPUs          int    `json:"cpus"`
	MemoryBytes   int64  `json:"memory_bytes"`
	StorageDriver string `json:"storage_driver"`
}

// infoTTL is how long Info keeps the engine's answer: what it reports only
// changes when the engine is upgraded or the machine resized, and asking is
// the dearest call of an observation.
const infoTTL = time.Minute

type cachedInfo struct {
	info Info
	at   time.Time
}

// Info asks the engine about itself; the answer is kept for a minute.
func (e *Engine) Info(ctx context.Context) (Info, error) {
	if c := e.info.Load(); c != nil && time.Since(c.at) < infoTTL {
		return c.info, nil
	}
	v, err := e.Ping(ctx)
	if err != nil {
		return Info{}, err
	}
	res, err := e.api.Info(ctx, client.InfoOptions{})
	if err != nil {
		return Info{}, e.fail(err, "info")
	}
	i := res.Info
	info := Info{
		ID:      i.ID,
		Version: i.ServerVersion, APIVersion: v, OS: i.OperatingSystem, Arch: i.Architecture,
		CPUs: i.NCPU, MemoryBytes: i.MemTotal, StorageDriver: i.Driver,
	}
	e.info.Store(&cachedInfo{info: info, at: time.Now()})
	return info, nil
}

// Volume is a buttctl-managed volume on a hub: a pub's data, its identity
// included.
type Volume struct {
	Name    string
	Pub     string // the buttctl.pub label
	Created time.Time
}

// Volumes lists every buttctl-managed volume on the hub, ordered by pub name.
func (e *Engine) Volumes(ctx context.Context) ([]Volume, error) {
	if err := e.ready(ctx); err != nil {
		return nil, err
	}
	res, err := e.api.VolumeList(ctx, client.VolumeListOptions{Filters: managedFilter()})
	if err != nil {
		return nil, e.fail(err, "list volumes")
	}
	out := make([]Volume, 0, len(res.Items))
	for _, v := range res.Items {
		if v.Labels[LabelManaged] != "true" {
			continue
		}
		created, _ := time.Parse(time.RFC3339, v.CreatedAt)
		out = append(out, Volume{Name: v.Name, Pub: v.Labels[LabelPub], Created: created})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Pub != out[j].Pub {
			return out[i].Pub < out[j].Pub
		}
		return out[i].Name < out[j].Name
	})
	return out, nil
}

// ImageConfig is what an image gives the containers made from it unless
// they say otherwise.
type ImageConfig struct {
	ID     string
	Env    []string
	Health *container.HealthConfig
}

// ImageConfig describes the image ref on the hub; an image that is not there
// is an error matching ErrNotFound.
func (e *Engine) ImageConfig(ctx context.Context, ref string) (ImageConfig, error) {
	if err := e.ready(ctx); err != nil {
		return ImageConfig{}, err
	}
	res, err := e.api.ImageInspect(ctx, ref)
	if IsNotFound(err) {
		return ImageConfig{}, &Error{Hub: e.hub, Err: &wrapped{msg: "image " + ref + " is not there", err: ErrNotFound}}
	}
	if err != nil {
		return ImageConfig{}, e.fail(err, "inspect image "+ref)
	}
	out := ImageConfig{ID: res.ID}
	if c := res.Config; c != nil {
		out.Env = c.Env
		out.Health = c.Healthcheck
	}
	return out, nil
}
