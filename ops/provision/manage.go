package provision

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/buttctl/buttctl/inventory"
	"github.com/buttctl/buttctl/ops/audit"
	"github.com/buttctl/buttctl/ops/cloud"
	"github.com/buttctl/buttctl/ops/engine"
	"github.com/buttctl/buttctl/ops/hubconn"
)

// WaitReady returns a CreateOptions.WaitReady that polls, every interval,
// until the hub answers over SSH (host key checked against known_hosts) and
// its Docker engine answers through the SSH connection. inv supplies the ssh
// section; the hub is not in it yet.
func WaitReady(inv *inventory.Inventory, interval time.Duration) func(context.Context, inventory.Hub) error {
	return func(ctx context.Context, hub inventory.Hub) error {
		with := *inv
		with.Hubs = append(append([]inventory.Hub(nil), inv.Hubs...), hub)
		if hub.DockerSocket == "" {
			with.Hubs[len(with.Hubs)-1].DockerSocket = inventory.DefaultDockerSocket
		}
		var last error
		err := pollUntil(ctx, interval, func() (bool, error) {
			conns := hubconn.New(&with, hubconn.Options{})
			defer conns.Close()
			if _, err := conns.Ping(ctx, hub.Name); err != nil {
				last = err
				return false, nil
			}
			e, err := engine.New(hub.Name, with.Hubs[len(with.Hubs)-1].DockerSocket, conns.DockerDialer(hub.Name))
			if err != nil {
				return false, err
			}
			defer e.Close()
			if _, err := e.Ping(ctx); err != nil {
				last = err
				return false, nil
			}
			return true, nil
		})
		if err != nil && last != nil {
			return fmt.Errorf("%w (last: %v)", err, last)
		}
		return err
	}
}

// RecordIn returns a CreateOptions.Record that adds the hub to the inventory
// file at path, under its lock, keeping its comments.
func RecordIn(path string) func(inventory.Hub) error {
	return func(h inventory.Hub) error {
		return inventory.Update(context.Background(), path, inventory.LockOptions{Wait: 30 * time.Second, Purpose: "buttctl hub create"}, func(e *inventory.Editor) error {
			return e.AddHub(h)
		})
	}
}

// serverOf returns the hub's server id or says why there is none.
func serverOf(h *inventory.Hub) (string, error) {
	if h.Local {
		return "", fmt.Errorf("hub %s is this machine (local: true), not a cloud server", h.Name)
	}
	if h.ServerID == "" {
		return "", fmt.Errorf("hub %s has no server_id in the inventory: it is not a cloud server buttctl knows; record one with 'buttctl hub adopt %s --server ID'", h.Name, h.Name)
	}
	return h.ServerID, nil
}

// RebootOptions tune Reboot.
type RebootOptions struct {
	// Hard power-cycles the server rather than rebooting its OS cleanly.
	Hard     bool
	Progress Progress
	// Audit receives the record of the reboot (nil: none).
	Audit *audit.Log
}

// Reboot reboots the hub's server and waits until it is ACTIVE again.
func Reboot(ctx context.Context, c Cloud, h *inventory.Hub, o RebootOptions) (err error) {
	defer o.Audit.Begin(audit.Record{Action: "reboot", Hub: h.Name}).End(&err)
	p := o.Progress
	id, err := serverOf(h)
	if err != nil {
		return err
	}
	if err := c.Reboot(ctx, id, o.Hard); err != nil {
		return fmt.Errorf("hub %s: %w", h.Name, err)
	}
	p.emit(h.Name, "reboot", "done", "reboot of server "+id+" accepted")
	_, err = c.WaitStatus(ctx, id, cloud.StatusActive, func(s cloud.Server) {
		p.emit(h.Name, "status", s.Status, "server "+id+" is "+s.Status)
	})
	if err != nil {
		return fmt.Errorf("hub %s: %w", h.Name, err)
	}
	return nil
}

// DeleteOptions tune Delete.
type DeleteOptions struct {
	// Force deletes a hub that still has pubs; they stay in the inventory without a hub.
	Force bool
	// InventoryPath is the inventory the hub is removed from once its server is gone.
	InventoryPath string
	Progress      Progress
	// Audit receives the record of the delete (nil: none).
	Audit *audit.Log
}

// ErrHasPubs says a hub still has pubs.
var ErrHasPubs = errors.New("the hub still has pubs")

// Delete deletes the hub's server, waits until the cloud no longer has it,
// and only then removes the hub from the inventory.
func Delete(ctx context.Context, c Cloud, inv *inventory.Inventory, name string, o DeleteOptions) (err error) {
	defer o.Audit.Begin(audit.Record{Action: "hub-delete", Hub: name}).End(&err)
	h, ok := inv.Hub(name)
	if !ok {
		return fmt.Errorf("hub %s is not in the inventory", name)
	}
	id, err := serverOf(h)
	if err != nil {
		return err
	}
	pubs := inv.PubsOn(name)
	if len(pubs) > 0 && !o.Force {
		names := ""
		for i, p := range pubs {
			if i > 0 {
				names += ", "
			}
			names += p.Name
		}
		return fmt.Errorf("hub %s still has pubs %s: move them ('buttctl pub move') or pass --force to delete it anyway: %w", name, names, ErrHasPubs)
	}
	if err := c.Delete(ctx, id); err != nil {
		return fmt.Errorf("hub %s: %w", name, err)
	}
	o.Progress.emit(name, "delete", "done", "delete of server "+id+" accepted")
	if err := c.WaitGone(ctx, id, func(s cloud.Server) {
		o.Progress.emit(name, "status", s.Status, "server "+id+" is "+s.Status)
	}); err != nil {
		return fmt.Errorf("hub %s: server %s is not gone yet, so the hub stays in the inventory: %w", name, id, err)
	}
	o.Progress.emit(name, "status", "deleted", "server "+id+" is gone")
	if o.InventoryPath == "" {
		return nil
	}
	err = inventory.Update(ctx, o.InventoryPath, inventory.LockOptions{Wait: 30 * time.Second, Purpose: "buttctl hub delete"}, func(e *inventory.Editor) error {
		for _, p := range e.Inventory().PubsOn(name) {
			if err := e.SetPubHub(p.Name, ""); err != nil {
				return err
			}
		}
		return e.RemoveHub(name)
	})
	if err != nil {
		return fmt.Errorf("hub %s: server %s is deleted but the inventory still lists the hub: %w", name, id, err)
	}
	o.Progress.emit(name, "inventory", "done", "removed from the inventory")
	return nil
}

// AdoptOptions tune Adopt.
type AdoptOptions struct {
	Network       string // preferred network for the address
	SSHPort       int
	KnownHosts    string
	InventoryPath string
	Progress      Progress
	// Audit receives the record of the adoption (nil: none).
	Audit *audit.Log
}

// Adopt records an existing server as hub name: it tags the server with
// buttctl.hub metadata, records the host keys the console log verifies (if
// it shows them), and adds the hub to the inventory.
func Adopt(ctx context.Context, c Cloud, inv *inventory.Inventory, name, serverID string, o AdoptOptions) (_ *inventory.Hub, err error) {
	defer o.Audit.Begin(audit.Record{Action: "hub-adopt", Hub: name}).End(&err)
	if _, ok := inv.Hub(name); ok {
		return nil, fmt.Errorf("hub %s is already in the inventory: choose another name", name)
	}
	for _, h := range inv.Hubs {
		if h.ServerID == serverID {
			return nil, fmt.Errorf("server %s is already hub %s in the inventory", serverID, h.Name)
		}
	}
	s, err := c.Server(ctx, serverID)
	if err != nil {
		return nil, fmt.Errorf("hub adopt %s: %w", name, err)
	}
	if s.Hub != "" && s.Hub != name {
		return nil, fmt.Errorf("server %s is hub %q by its buttctl.hub metadata: adopt it under that name", serverID, s.Hub)
	}
	address := s.PublicAddress(o.Network)
	if address == "" {
		return nil, fmt.Errorf("server %s (%s) has no address yet: wait until it is ACTIVE", serverID, s.Status)
	}
	if err := c.SetHubMetadata(ctx, serverID, name); err != nil {
		return nil, fmt.Errorf("hub adopt %s: %w", name, err)
	}
	if log, err := c.ConsoleLog(ctx, serverID, 0); err == nil {
		if keys, err := cloud.HostKeysFromConsole(log); err == nil && o.KnownHosts != "" {
			if err := cloud.RecordHostKeys(o.KnownHosts, address, o.SSHPort, keys); err != nil {
				return nil, err
			}
			o.Progress.emit(name, "host-key", "done", fmt.Sprintf("%d host key(s) verified from the console log", len(keys)))
		} else {
			o.Progress.emit(name, "host-key", "skipped", "the console log shows no host keys: SSH will check known_hosts as usual")
		}
	}
	h := inventory.Hub{Name: name, Address: address, ServerID: serverID}
	if o.InventoryPath != "" {
		err := inventory.Update(ctx, o.InventoryPath, inventory.LockOptions{Wait: 30 * time.Second, Purpose: "buttctl hub adopt"}, func(e *inventory.Editor) error {
			return e.AddHub(h)
		})
		if err != nil {
			return nil, err
		}
		o.Progress.emit(name, "inventory", "done", "recorded in the inventory")
	}
	return &h, nil
}

// CloudHub is the cloud's view of one hub: an inventory hub with a server, or
// a stray (a server with buttctl.hub metadata the inventory lacks).
type CloudHub struct {
	Hub       string    `json:"hub"`
	ServerID  string    `json:"server_id"`
	Status    string    `json:"status"` // Nova's status, or "missing"
	Flavor    string    `json:"flavor,omitempty"`
	Addresses []string  `json:"addresses,omitempty"`
	Created   time.Time `json:"created,omitzero"`
	Stray     bool      `json:"stray,omitempty"`
}

// CloudState returns the cloud's view of inv's hubs that have a server_id
// (in inventory order), then the strays.
func CloudState(ctx context.Context, c Cloud, inv *inventory.Inventory) ([]CloudHub, error) {
	servers, err := c.HubServers(ctx)
	if err != nil {
		return nil, err
	}
	byID := map[string]cloud.Server{}
	for _, s := range servers {
		byID[s.ID] = s
	}
	known := map[string]bool{}
	var out []CloudHub
	for _, h := range inv.Hubs {
		if h.ServerID == "" {
			continue
		}
		known[h.ServerID] = true
		s, ok := byID[h.ServerID]
		if !ok { // not tagged: ask for it by id
			got, err := c.Server(ctx, h.ServerID)
			switch {
			case cloud.IsNotFound(err):
				out = append(out, CloudHub{Hub: h.Name, ServerID: h.ServerID, Status: cloud.StatusMissing})
				continue
			case err != nil:
				return nil, err
			}
			s = *got
		}
		out = append(out, cloudHub(h.Name, s, false))
	}
	for _, s := range servers {
		if !known[s.ID] {
			out = append(out, cloudHub(s.Hub, s, true))
		}
	}
	return out, nil
}

func cloudHub(name string, s cloud.Server, stray bool) CloudHub {
	ch := CloudHub{Hub: name, ServerID: s.ID, Status: s.Status, Flavor: s.Flavor, Created: s.Created, Stray: stray}
	for _, a := range s.Addresses {
		ch.Addresses = append(ch.Addresses, a.IP)
	}
	return ch
}
