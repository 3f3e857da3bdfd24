package cloud

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/flavors"
	"github.com/gophercloud/gophercloud/v2/openstack/image/v2/images"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/networks"
)

// FlavorID resolves a flavor name (or ID) to its ID.
func (c *Cloud) FlavorID(ctx context.Context, name string) (string, error) {
	pages, err := flavors.ListDetail(c.compute, flavors.ListOpts{AccessType: flavors.AllAccess}).AllPages(ctx)
	if err != nil {
		return "", explain(err, "list flavors")
	}
	all, err := flavors.ExtractFlavors(pages)
	if err != nil {
		return "", explain(err, "list flavors")
	}
	var names []string
	for _, f := range all {
		if f.ID == name || f.Name == name {
			return f.ID, nil
		}
		names = append(names, f.Name)
	}
	return "", notFound("flavor", name, names, "set cloud.server.flavor in the inventory or pass --flavor")
}

// ImageID resolves an image name (or ID) to its ID.
func (c *Cloud) ImageID(ctx context.Context, name string) (string, error) {
	pages, err := images.List(c.image, images.ListOpts{}).AllPages(ctx)
	if err != nil {
		return "", explain(err, "list images")
	}
	all, err := images.ExtractImages(pages)
	if err != nil {
		return "", explain(err, "list images")
	}
	var names []string
	for _, im := range all {
		if im.ID == name || im.Name == name {
			return im.ID, nil
		}
		names = append(names, im.Name)
	}
	return "", notFound("image", name, names, "set cloud.server.image in the inventory or pass --image")
}

// NetworkID resolves a network name (or ID) to its ID.
func (c *Cloud) NetworkID(ctx context.Context, name string) (string, error) {
	pages, err := networks.List(c.network, networks.ListOpts{}).AllPages(ctx)
	if err != nil {
		return "", explain(err, "list networks")
	}
	all, err := networks.ExtractNetworks(pages)
	if err != nil {
		return "", explain(err, "list networks")
	}
	var names []string
	for _, n := range all {
		if n.ID == name || n.Name == name {
			return n.ID, nil
		}
		names = append(names, n.Name)
	}
	return "", notFound("network", name, names, "set cloud.server.network in the inventory or pass --network")
}

func notFound(kind, name string, have []string, hint string) error {
	sort.Strings(have)
	if len(have) > 12 {
		have = append(have[:12], "...")
	}
	return &Error{
		Op:      "find " + kind + " " + quote(name),
		Status:  404,
		Message: fmt.Sprintf("no %s named %q on this cloud (it has: %s)", kind, name, strings.Join(have, ", ")),
		Hint:    hint,
	}
}
