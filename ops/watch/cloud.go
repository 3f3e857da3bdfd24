package watch

import (
	"context"
	"sync"

	"github.com/buttctl/buttctl/inventory"
	"github.com/buttctl/buttctl/ops/cloud"
)

// CloudReboots hard-reboots hubs' servers through ops/cloud (OpenStack's
// reboot, type HARD: a power cycle for a hub that answers nothing). It
// connects at the first reboot, and again after a failure; it does not wait
// for the server to be ACTIVE again: the hub's event stream says when it is
// back.
type CloudReboots struct {
	Config cloud.Config

	mu   sync.Mutex
	conn *cloud.Cloud
}

// RebootHub hard-reboots hub's server (its server_id).
func (c *CloudReboots) RebootHub(ctx context.Context, hub inventory.Hub) error {
	c.mu.Lock()
	conn := c.conn
	c.mu.Unlock()
	if conn == nil {
		var err error
		if conn, err = cloud.Connect(ctx, c.Config); err != nil {
			return err
		}
		c.mu.Lock()
		c.conn = conn
		c.mu.Unlock()
	}
	err := conn.Reboot(ctx, hub.ServerID, true)
	if err != nil {
		c.mu.Lock()
		c.conn = nil
		c.mu.Unlock()
	}
	return err
}
