package fleet

import (
	"context"

	"github.com/buttctl/buttctl/inventory"
	"github.com/buttctl/buttctl/ops/cloud"
)

// CloudOf returns what Observe asks the inventory's cloud (its cloud
// section, reached with cfg, whose Name and Region the inventory sets), or
// nil when the inventory configures no cloud. It connects when called.
func CloudOf(inv *inventory.Inventory, cfg cloud.Config) CloudServers {
	if inv.Cloud == nil || inv.Cloud.Name == "" {
		return nil
	}
	cfg.Name, cfg.Region = inv.Cloud.Name, inv.Cloud.Region
	return func(ctx context.Context) ([]Server, error) {
		c, err := cloud.Connect(ctx, cfg)
		if err != nil {
			return nil, err
		}
		servers, err := c.HubServers(ctx)
		if err != nil {
			return nil, err
		}
		out := make([]Server, len(servers))
		for i, s := range servers {
			out[i] = Server{ID: s.ID, Name: s.Name, Hub: s.Hub, Status: s.Status, Fault: s.Fault}
		}
		return out, nil
	}
}
