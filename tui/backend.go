package tui

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"time"

	"github.com/buttctl/buttctl/inventory"
	"github.com/buttctl/buttctl/ops/audit"
	"github.com/buttctl/buttctl/ops/hubconn"
	"github.com/buttctl/buttctl/ops/pubs"
)

// Connector makes the connections to an inventory's hubs; logf receives the
// SSH pool's notices (a host key recorded by accept-new...), which the
// console shows as events.
type Connector func(inv *inventory.Inventory, logf func(format string, args ...any)) *hubconn.Conns

// backend is what the console's commands reach the fleet through, for one
// version of the inventory: the hub connections, the pub operations, and one
// pub service per hub so that each hub is observed on its own (a slow hub
// never holds the others' rows back).
type backend struct {
	gen   int
	inv   *inventory.Inventory
	conns *hubconn.Conns
	svc   *pubs.Service
	hub   map[string]*pubs.Service
	// audit records the console's actions (svc's, and its edits of the
	// inventory).
	audit *audit.Log
	// ownConns: close conns with the backend (it made them).
	ownConns bool
}

// openBackend builds the backend of inv; conns are reused from prev when
// the inventory reaches its hubs the same way.
func openBackend(inv *inventory.Inventory, gen int, prev *backend, connect Connector, logf func(string, ...any), log *audit.Log) *backend {
	b := &backend{gen: gen, inv: inv, hub: map[string]*pubs.Service{}, audit: log}
	if prev != nil && sameHubs(prev.inv, inv) {
		b.conns = prev.conns
		b.ownConns = prev.ownConns
		prev.ownConns = false
	} else {
		if connect == nil {
			connect = func(inv *inventory.Inventory, _ func(string, ...any)) *hubconn.Conns {
				return hubconn.New(inv, hubconn.Options{})
			}
		}
		b.conns = connect(inv, logf)
		b.ownConns = true
	}
	b.svc = pubs.New(inv, b.conns)
	b.svc.Audit = log
	for _, h := range inv.Hubs {
		sub := *inv
		sub.Hubs = []inventory.Hub{h}
		sub.Pubs = inv.PubsOn(h.Name)
		b.hub[h.Name] = pubs.New(&sub, b.conns)
	}
	return b
}

func sameHubs(a, b *inventory.Inventory) bool {
	return reflect.DeepEqual(a.Hubs, b.Hubs) && reflect.DeepEqual(a.SSH, b.SSH) && a.Path == b.Path
}

// editInventory changes the inventory file under its lock, and records the
// change as action on hub or pub. then, if not nil, runs once the change is
// saved, still under the lock.
func (b *backend) editInventory(ctx context.Context, action, hub, pub string, edit func(*inventory.Editor) error, then func() error) error {
	var unlock func() error
	err := func() (err error) {
		defer b.audit.Begin(audit.Record{Action: action, Hub: hub, Pub: pub, Reason: "inventory"}).End(&err)
		if unlock, err = inventory.Lock(ctx, b.inv.Path, lockOptions); err != nil {
			return err
		}
		e, err := inventory.Edit(b.inv.Path)
		if err != nil {
			return err
		}
		e.Purpose = lockOptions.Purpose
		if err := edit(e); err != nil {
			return err
		}
		return e.Save()
	}()
	if unlock != nil {
		defer unlock()
	}
	if err != nil || then == nil {
		return err
	}
	return then()
}

// close releases the engine clients, and the connections if they are the
// backend's own.
func (b *backend) close() error {
	var errs []error
	errs = append(errs, b.svc.Close())
	for _, s := range b.hub {
		errs = append(errs, s.Close())
	}
	if b.ownConns {
		errs = append(errs, b.conns.Close())
	}
	return errors.Join(errs...)
}

// hubService is the pub service that observes one hub.
func (b *backend) hubService(hub string) (*pubs.Service, error) {
	s, ok := b.hub[hub]
	if !ok {
		return nil, fmt.Errorf("hub %s is not in the inventory", hub)
	}
	return s, nil
}

// Timeouts of the console's I/O: nothing waits longer, so input never waits
// on a hub.
const (
	observeTimeout = 10 * time.Second
	factsTimeout   = 10 * time.Second
	actionTimeout  = 2 * time.Minute
	queryTimeout   = 20 * time.Second
)
