package engine

import (
	"context"
	"fmt"
	"sort"
	"sync"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/network"
	"github.com/moby/moby/client"
)

// ensureNetworkMu serialises EnsureNetwork within this process; across
// processes, racing creators agree afterwards on one network (see below).
var ensureNetworkMu sync.Mutex

// EnsureNetwork makes sure the bridge network name exists, labelled as
// buttctl's, and returns its id. A network of that name without buttctl's
// label is an error, and is left alone.
func (e *Engine) EnsureNetwork(ctx context.Context, name string) (string, error) {
	ensureNetworkMu.Lock()
	defer ensureNetworkMu.Unlock()
	if err := e.ready(ctx); err != nil {
		return "", err
	}
	ids, err := e.networksNamed(ctx, name)
	if err != nil {
		return "", err
	}
	if len(ids) > 0 {
		// Two of one name (a creator killed before it removed its own) make
		// every container start on the name fail as ambiguous: the oldest
		// is kept, the others go (unless in use).
		for _, id := range ids[1:] {
			_, _ = e.api.NetworkRemove(ctx, id, client.NetworkRemoveOptions{})
		}
		return ids[0], nil
	}
	res, err := e.api.NetworkCreate(ctx, name, client.NetworkCreateOptions{
		Driver: "bridge",
		Labels: map[string]string{LabelManaged: "true"},
	})
	if err != nil {
		return "", e.fail(err, "create network "+name)
	}
	// Engines before API 1.44 let two creators race to two networks of one
	// name. Every creator keeps the oldest and removes its own if it is not
	// that one: a creator that saw only its own network made the oldest.
	ids, err = e.networksNamed(ctx, name)
	if err != nil {
		return "", err
	}
	if keep := first(ids); keep != res.ID {
		_, _ = e.api.NetworkRemove(ctx, res.ID, client.NetworkRemoveOptions{})
		return keep, nil
	}
	return res.ID, nil
}

// networksNamed returns the ids of buttctl's networks called name, oldest
// first, and fails if a network of that name is not buttctl's.
func (e *Engine) networksNamed(ctx context.Context, name string) ([]string, error) {
	res, err := e.api.NetworkList(ctx, client.NetworkListOptions{Filters: client.Filters{}.Add("name", name)})
	if err != nil {
		return nil, e.fail(err, "list networks")
	}
	nets := res.Items[:0]
	for _, n := range res.Items {
		if n.Name != name {
			continue
		}
		if n.Labels[LabelManaged] != "true" {
			return nil, &Error{Hub: e.hub, Err: fmt.Errorf("network %s exists but is not buttctl's: buttctl leaves it alone; remove or rename it", name)}
		}
		nets = append(nets, n)
	}
	sort.Slice(nets, func(i, j int) bool {
		if !nets[i].Created.Equal(nets[j].Created) {
			return nets[i].Created.Before(nets[j].Created)
		}
		return nets[i].ID < nets[j].ID
	})
	ids := make([]string, len(nets))
	for i, n := range nets {
		ids[i] = n.ID
	}
	return ids, nil
}

func first(ids []string) string {
	if len(ids) == 0 {
		return ""
	}
	return ids[0]
}

// pinNetwork names, for a container joining a user-defined network by name,
// the network it joins by id: the oldest of that name, the one EnsureNetwork
// keeps. A container that knows only the name fails to start as "ambiguous"
// while a racing creator's duplicate exists (engines before API 1.44 allow
// two of one name: two buttctl processes creating pubs on one hub at once).
func (e *Engine) pinNetwork(ctx context.Context, host *container.HostConfig) (*network.NetworkingConfig, error) {
	if host == nil || !host.NetworkMode.IsUserDefined() {
		return nil, nil
	}
	name := host.NetworkMode.NetworkName()
	ids, err := e.networksNamed(ctx, name)
	if err != nil {
		return nil, err
	}
	if len(ids) == 0 {
		return nil, &Error{Hub: e.hub, Err: fmt.Errorf("network %s does not exist", name)}
	}
	return &network.NetworkingConfig{EndpointsConfig: map[string]*network.EndpointSettings{name: {NetworkID: ids[0]}}}, nil
}
