package tui

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/buttctl/buttctl/inventory"
	"github.com/buttctl/buttctl/ops/cloud"
	"github.com/buttctl/buttctl/ops/identity"
	"github.com/buttctl/buttctl/ops/provision"
	"github.com/buttctl/buttctl/tui/render"
)

// Long actions (move, backup, the cloud's hub operations) say how far they
// are as they go: their steps are bridged into the program the way log
// lines are.

// progressMsg is a step of a long action, or its end.
type progressMsg struct {
	act  action
	text string
	done *actionDoneMsg
	open bool
	box  *mailbox[progressMsg]
}

// longTimeout bounds a long action (a hub's server booting, a pub's data
// copied between hubs).
const longTimeout = 30 * time.Minute

// runLong carries out work in its own goroutine, reporting its steps.
func runLong(gen int, a action, work func(ctx context.Context, report func(string)) (string, error)) tea.Cmd {
	box := newMailbox[progressMsg](256)
	return func() tea.Msg {
		go func() {
			defer box.close()
			ctx, cancel := context.WithTimeout(context.Background(), longTimeout)
			defer cancel()
			result, err := work(ctx, func(s string) { box.put(progressMsg{text: s}) })
			box.put(progressMsg{done: &actionDoneMsg{gen: gen, act: a, result: result, err: err}})
		}()
		return takeProgress(a, box)()
	}
}

func takeProgress(a action, box *mailbox[progressMsg]) tea.Cmd {
	return func() tea.Msg {
		items, _, open := box.take(context.Background())
		out := progressMsg{act: a, open: open, box: box}
		for _, it := range items {
			if it.text != "" {
				out.text = it.text
			}
			if it.done != nil {
				out.done = it.done
			}
		}
		return out
	}
}

// progressed shows a long action's step on its row.
func (m *Model) progressed(msg progressMsg) tea.Cmd {
	a := msg.act
	if msg.text != "" {
		text := a.verbing() + ": " + msg.text
		if ps := m.pubs[a.pub]; ps != nil && isPubAction(a.kind) {
			ps.busy = text
			m.updatePub(a.pub)
		} else if hs := m.hubs[a.hub]; hs != nil {
			hs.busy = text
			m.updateHub(a.hub)
		}
	}
	if msg.done != nil {
		return m.actionDone(*msg.done)
	}
	if msg.open {
		return takeProgress(a, msg.box)
	}
	return nil
}

func isPubAction(k actionKind) bool {
	switch k {
	case actNewHub, actDeleteHub, actReboot:
		return false
	}
	return true
}

// movePub moves a pub to another hub with its identity (ops/identity).
func (m *Model) movePub(a action) tea.Cmd {
	b, store := m.be, m.opts.IdentityStore
	return runLong(b.gen, a, func(ctx context.Context, report func(string)) (string, error) {
		st, err := openStore(store)
		if err != nil {
			return "", err
		}
		res, err := identity.Move(ctx, b.svc, st, a.pub, identity.MoveOptions{
			To:       a.to,
			Report:   func(step identity.Step, detail string) { report(strings.TrimSpace(string(step) + " " + detail)) },
			Progress: func(n int64) { report("copying data: " + render.Bytes(n)) },
		})
		if err != nil {
			return "", err
		}
		msg := fmt.Sprintf("moved pub %s from %s to %s with its identity %s", res.Pub, res.From, res.To, res.ID)
		if res.SourceVolume != "" && !res.SourcePurged {
			msg += "; its old volume " + res.SourceVolume + " stays on " + res.From
		}
		return msg, nil
	})
}

// backupPubNow writes a backup of a pub's data and identity to the
// console's backup directory (ops/identity).
func (m *Model) backupPubNow(a action) tea.Cmd {
	b, store, dir, version, now := m.be, m.opts.IdentityStore, m.opts.BackupDir, m.opts.Version, m.now
	return runLong(b.gen, a, func(ctx context.Context, report func(string)) (string, error) {
		st, err := openStore(store)
		if err != nil {
			return "", err
		}
		if dir == "" {
			return "", errors.New("no backup directory: the console was opened without one")
		}
		file := filepath.Join(dir, identity.DefaultBackupName(a.pub, now()))
		res, err := identity.BackupToFile(ctx, b.svc, st, a.pub, file, identity.BackupOptions{
			Version:  version,
			Progress: func(n int64) { report("read " + render.Bytes(n)) },
		})
		if err != nil {
			return "", err
		}
		return fmt.Sprintf("backed up pub %s (%s) to %s, %s", a.pub, res.Manifest.Identity, res.File, render.Bytes(res.Bytes)), nil
	})
}

func openStore(open func() (*identity.Store, error)) (*identity.Store, error) {
	if open == nil {
		return nil, errors.New("no identity store: the console was opened without one")
	}
	return open()
}

// connectCloud reaches the inventory's cloud (clouds.yaml, OS_* variables).
func connectCloud(ctx context.Context, inv *inventory.Inventory) (provision.Cloud, error) {
	if inv.Cloud == nil || inv.Cloud.Name == "" {
		where := inv.Path
		if where == "" {
			where = "the inventory"
		}
		return nil, fmt.Errorf("no cloud is configured in %s: add 'cloud: {name: ENTRY}' (ENTRY from your clouds.yaml)", where)
	}
	return cloud.Connect(ctx, cloud.Config{Name: inv.Cloud.Name, Region: inv.Cloud.Region})
}

func provisionReport(report func(string)) provision.Progress {
	return func(e provision.Event) { report(e.Message) }
}

// rebootHub hard-reboots a hub's server through the cloud.
func (m *Model) rebootHub(a action) tea.Cmd {
	b := m.be
	return runLong(b.gen, a, func(ctx context.Context, report func(string)) (string, error) {
		h, ok := b.inv.Hub(a.hub)
		if !ok {
			return "", fmt.Errorf("hub %s is not in the inventory", a.hub)
		}
		c, err := connectCloud(ctx, b.inv)
		if err != nil {
			return "", err
		}
		if err := provision.Reboot(ctx, c, h, provision.RebootOptions{Hard: true, Progress: provisionReport(report), Audit: b.audit}); err != nil {
			return "", err
		}
		return fmt.Sprintf("hub %s rebooted: server %s is ACTIVE", a.hub, h.ServerID), nil
	})
}

// deleteHub deletes a hub: with a cloud and a server, its server first
// (provision.Delete removes it from the inventory once the server is gone);
// otherwise it only leaves the inventory.
func (m *Model) deleteHub(a action) tea.Cmd {
	b := m.be
	return runLong(b.gen, a, func(ctx context.Context, report func(string)) (string, error) {
		h, ok := b.inv.Hub(a.hub)
		if !ok {
			return "", fmt.Errorf("hub %s is not in the inventory", a.hub)
		}
		if b.inv.Cloud == nil || h.ServerID == "" {
			err := b.editInventory(ctx, "remove-hub", a.hub, "", func(e *inventory.Editor) error { return e.RemoveHub(a.hub) }, nil)
			return "removed hub " + a.hub + " from the inventory (nothing on the server was touched)", err
		}
		c, err := connectCloud(ctx, b.inv)
		if err != nil {
			return "", err
		}
		err = provision.Delete(ctx, c, b.inv, a.hub, provision.DeleteOptions{InventoryPath: b.inv.Path, Progress: provisionReport(report), Audit: b.audit})
		return fmt.Sprintf("hub %s deleted: server %s is gone and the hub is out of the inventory", a.hub, h.ServerID), err
	})
}

// createHub boots a new hub on the cloud (the command layer knows the local
// SSH key and the server template; see Options.CreateHub).
func (m *Model) createHub(a action) tea.Cmd {
	b, create := m.be, m.opts.CreateHub
	return runLong(b.gen, a, func(ctx context.Context, report func(string)) (string, error) {
		if create == nil {
			return "", errors.New("hub create is not available in this console")
		}
		made, err := create(ctx, b.inv, a.hub, provisionReport(report))
		if err != nil {
			return "", err
		}
		return fmt.Sprintf("hub %s created: server %s at %s, recorded in the inventory", a.hub, made.ServerID, made.Hub.Address), nil
	})
}

// cloudServersMsg is the cloud's view of the hubs' servers.
type cloudServersMsg struct {
	gen    int
	status map[string]string // hub -> server status
	err    error
}

// cloudStatus asks the inventory's cloud for its hub servers (with the
// facts, every 30s).
func (m *Model) cloudStatus() tea.Cmd {
	b := m.be
	if b.inv.Cloud == nil || b.inv.Cloud.Name == "" {
		return nil
	}
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(context.Background(), factsTimeout)
		defer cancel()
		c, err := connectCloud(ctx, b.inv)
		if err != nil {
			return cloudServersMsg{gen: b.gen, err: err}
		}
		lister, ok := c.(interface {
			HubServers(context.Context) ([]cloud.Server, error)
		})
		if !ok {
			return nil
		}
		servers, err := lister.HubServers(ctx)
		if err != nil {
			return cloudServersMsg{gen: b.gen, err: err}
		}
		msg := cloudServersMsg{gen: b.gen, status: map[string]string{}}
		for _, h := range b.inv.Hubs {
			for _, s := range servers {
				if (h.ServerID != "" && s.ID == h.ServerID) || (h.ServerID == "" && s.Hub == h.Name) {
					msg.status[h.Name] = s.Status
				}
			}
		}
		return msg
	}
}

// applyCloud takes the cloud's statuses.
func (m *Model) applyCloud(msg cloudServersMsg) {
	if msg.gen != m.gen {
		return
	}
	if msg.err != nil {
		m.fail(fmt.Errorf("cloud: %w", msg.err))
		return
	}
	for name, hs := range m.hubs {
		st := msg.status[name]
		if st == "" && hs.inv.ServerID != "" {
			st = "GONE"
		}
		if hs.cloud != st {
			hs.cloud = st
			m.updateHub(name)
		}
	}
}
