package engine

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"
)

// The labels that make a container or volume buttctl's. buttctl never touches
// an object without LabelManaged=true.
const (
	LabelManaged = "buttctl.managed"
	LabelPub     = "buttctl.pub"
	// LabelSpec carries the hash of the spec a container was created from, so
	// that drift from the inventory is visible without comparing every field.
	LabelSpec = "buttctl.spec"
)

// Container is a buttctl-managed container on a hub. Only this package makes
// them, from lookups filtered by buttctl's labels, so holding one proves the
// container is buttctl's.
type Container struct {
	ID      string
	Name    string // without Docker's leading slash
	Pub     string // the buttctl.pub label
	Image   string
	Labels  map[string]string
	State   string // created, running, paused, restarting, removing, exited, dead
	Status  string // Docker's words: "Up 3 minutes (healthy)"
	Health  string // healthy, unhealthy, starting, or "" without a health check
	Created time.Time

	managed bool
}

// SpecHash is the hash of the spec the container was created from.
func (c Container) SpecHash() string { return c.Labels[LabelSpec] }

func managedFilter() client.Filters {
	return client.Filters{}.Add("label", LabelManaged+"=true")
}

// Containers lists every buttctl-managed container on the hub, stopped ones
// included, ordered by pub name.
func (e *Engine) Containers(ctx context.Context) ([]Container, error) {
	return e.list(ctx, managedFilter())
}

// PubContainer finds the managed container of pub. It returns an error
// matching ErrNotFound when the pub has none.
func (e *Engine) PubContainer(ctx context.Context, pub string) (Container, error) {
	cs, err := e.list(ctx, managedFilter().Add("label", LabelPub+"="+pub))
	if err != nil {
		return Container{}, err
	}
	switch len(cs) {
	case 0:
		return Container{}, &Error{Hub: e.hub, Err: fmt.Errorf("no container for pub %s: %w", pub, ErrNotFound)}
	case 1:
		return cs[0], nil
	default:
		names := make([]string, len(cs))
		for i, c := range cs {
			names[i] = c.Name
		}
		return Container{}, &Error{Hub: e.hub, Err: fmt.Errorf("%d containers claim pub %s (%s): remove all but one", len(cs), pub, strings.Join(names, ", "))}
	}
}

func (e *Engine) list(ctx context.Context, f client.Filters) ([]Container, error) {
	if err := e.ready(ctx); err != nil {
		return nil, err
	}
	res, err := e.api.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: f})
	if err != nil {
		return nil, e.fail(err, "list containers")
	}
	out := make([]Container, 0, len(res.Items))
	for _, s := range res.Items {
		// The engine filtered already; checking again costs nothing and keeps
		// the promise even if a filter were dropped on the way.
		if s.Labels[LabelManaged] != "true" {
			continue
		}
		out = append(out, fromSummary(s))
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Pub != out[j].Pub {
			return out[i].Pub < out[j].Pub
		}
		return out[i].Name < out[j].Name
	})
	return out, nil
}

func fromSummary(s container.Summary) Container {
	name := ""
	if len(s.Names) > 0 {
		name = strings.TrimPrefix(s.Names[0], "/")
	}
	health := ""
	if s.Health != nil && s.Health.Status != container.NoHealthcheck {
		health = string(s.Health.Status)
	} else {
		health = healthFromStatus(s.Status)
	}
	return Container{
		ID:      s.ID,
		Name:    name,
		Pub:     s.Labels[LabelPub],
		Image:   s.Image,
		Labels:  s.Labels,
		State:   string(s.State),
		Status:  s.Status,
		Health:  health,
		Created: time.Unix(s.Created, 0),
		managed: true,
	}
}

// healthFromStatus reads the health out of Docker's status words, for
// engines older than API 1.52 whose container list has no health field.
func healthFromStatus(status string) string {
	switch {
	case strings.HasSuffix(status, "(healthy)"):
		return string(container.Healthy)
	case strings.HasSuffix(status, "(unhealthy)"):
		return string(container.Unhealthy)
	case strings.HasSuffix(status, "(health: starting)"):
		return string(container.Starting)
	}
	return ""
}

// check refuses handles that did not come from a labelled lookup.
func (e *Engine) check(c Container) error {
	if !c.managed || c.ID == "" {
		return &Error{Hub: e.hub, Err: fmt.Errorf("refusing to touch container %q: it was not found through buttctl's labels", c.Name)}
	}
	return nil
}
