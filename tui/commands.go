package tui

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/buttctl/buttctl/inventory"
	"github.com/buttctl/buttctl/ops/engine"
	"github.com/buttctl/buttctl/ops/fleet"
	"github.com/buttctl/buttctl/ops/hubs"
	"github.com/buttctl/buttctl/ops/live"
	"github.com/buttctl/buttctl/ops/pubs"
	"github.com/buttctl/buttctl/ops/watch"
)

// Commands: every I/O of the console, each bounded by a timeout. They
// capture what they need when made and never touch the model: they return
// messages, which Update applies.

// observeAll looks at every hub not already being looked at.
func (m *Model) observeAll() tea.Cmd {
	var cmds []tea.Cmd
	for _, name := range m.hubOrder {
		cmds = append(cmds, m.observeHub(name))
	}
	return tea.Batch(cmds...)
}

// observeHub looks at one hub, on its own: its containers, volumes and
// engine, within observeTimeout.
func (m *Model) observeHub(hub string) tea.Cmd {
	hs, ok := m.hubs[hub]
	if !ok || hs.inFlight {
		return nil
	}
	hs.inFlight, hs.since = true, m.now()
	b := m.be
	return tea.Batch(m.startSpinner(), func() tea.Msg {
		svc, err := b.hubService(hub)
		if err != nil {
			return hubObservedMsg{gen: b.gen, hub: hub, snap: &fleet.Snapshot{Hubs: []fleet.Hub{{Name: hub, Error: err.Error()}}}}
		}
		ctx, cancel := context.WithTimeout(context.Background(), observeTimeout+2*time.Second)
		defer cancel()
		snap := fleet.Observe(ctx, svc, fleet.ObserveOptions{Parallel: 1, Timeout: observeTimeout})
		return hubObservedMsg{gen: b.gen, hub: hub, snap: snap}
	})
}

// gatherFacts gathers each hub's facts (SSH latency, load, disk, Docker
// version), each hub in its own command.
func (m *Model) gatherFacts(names []string) tea.Cmd {
	b := m.be
	var cmds []tea.Cmd
	for _, hub := range names {
		cmds = append(cmds, func() tea.Msg {
			ctx, cancel := context.WithTimeout(context.Background(), factsTimeout+time.Second)
			defer cancel()
			f := hubs.Gather(ctx, b.conns, []string{hub}, hubs.FactsOptions{Parallel: 1, Timeout: factsTimeout})
			return hubFactsMsg{gen: b.gen, facts: f[0]}
		})
	}
	return tea.Batch(cmds...)
}

// followEvents opens every hub's Docker event stream.
func (m *Model) followEvents() tea.Cmd {
	b, hubNames := m.be, append([]string(nil), m.hubOrder...)
	if len(hubNames) == 0 {
		return nil
	}
	return func() tea.Msg {
		ctx, cancel := context.WithCancel(context.Background())
		ch := live.Events(ctx, b.svc, hubNames, live.StreamOptions{})
		return eventsStartedMsg{gen: b.gen, ch: ch, cancel: cancel}
	}
}

// waitEvents waits for the next engine events and takes every event
// already waiting with them: a burst is one message. It is re-armed after
// each batch.
func waitEvents(gen int, ch <-chan live.Event) tea.Cmd {
	return func() tea.Msg {
		ev, ok := <-ch
		if !ok {
			return nil
		}
		batch := []live.Event{ev}
		for len(batch) < 1024 {
			select {
			case ev, ok := <-ch:
				if !ok {
					return engineEventsMsg{gen: gen, events: batch, ch: ch}
				}
				batch = append(batch, ev)
				continue
			default:
			}
			break
		}
		return engineEventsMsg{gen: gen, events: batch, ch: ch}
	}
}

// followAudit tails the audit log.
func (m *Model) followAudit() tea.Cmd {
	path := m.opts.Audit.Path()
	if path == "" {
		return nil
	}
	return func() tea.Msg {
		ctx, cancel := context.WithCancel(context.Background())
		return auditStartedMsg{ch: live.Tail(ctx, path, live.TailOptions{}), cancel: cancel}
	}
}

func waitAudit(ch <-chan live.Record) tea.Cmd {
	return func() tea.Msg {
		r, ok := <-ch
		if !ok {
			return nil
		}
		batch := []live.Record{r}
		for len(batch) < 512 {
			select {
			case r, ok := <-ch:
				if !ok {
					return auditMsg{records: batch, ch: ch}
				}
				batch = append(batch, r)
				continue
			default:
			}
			break
		}
		return auditMsg{records: batch, ch: ch}
	}
}

// waitNotices waits for the SSH pool's notices.
func (m *Model) waitNotices() tea.Cmd {
	box := m.notices
	return func() tea.Msg {
		items, _, open := box.take(context.Background())
		if !open && len(items) == 0 {
			return nil
		}
		return noticesMsg{notices: items, box: box}
	}
}

// statInventory checks whether the inventory file changed, who watches
// it, and how the watcher sees the pubs (its state file).
func (m *Model) statInventory() tea.Cmd {
	path, statePath := m.inv.Path, m.opts.WatchState
	if path == "" {
		return nil
	}
	return func() tea.Msg {
		st, err := os.Stat(path)
		if err != nil {
			return invStatMsg{err: err}
		}
		msg := invStatMsg{mod: st.ModTime(), watch: "off"}
		h, err := inventory.Holder(path, watch.LockName)
		switch {
		case err != nil:
			msg.watch = "?"
		case h != nil:
			msg.watch = fmt.Sprintf("on (pid %d)", h.PID)
			if statePath != "" {
				if ws, err := watch.ReadState(statePath); err == nil && ws.PID == h.PID {
					msg.pubs = map[string]watch.PubState{}
					for _, p := range ws.Pubs {
						msg.pubs[p.Name] = p
					}
					if ws.Hub != "" {
						msg.watch = fmt.Sprintf("on %s (pid %d)", ws.Hub, h.PID)
					}
				}
			}
		}
		return msg
	}
}

// reloadInventory reads the inventory file again.
func (m *Model) reloadInventory(why string) tea.Cmd {
	path := m.inv.Path
	if path == "" {
		return nil
	}
	return func() tea.Msg {
		inv, err := inventory.Load(path)
		return inventoryMsg{inv: inv, err: err, why: why}
	}
}

// fetchIdentities asks the running pubs of hub without a known id for it,
// a few at a time; a pub that fails is asked again a minute later at most.
func (m *Model) fetchIdentities(hub string) tea.Cmd {
	var names []string
	now := m.now()
	for _, name := range m.pubsOn(hub) {
		ps := m.pubs[name]
		if ps.identity != "" || ps.obs.Container == nil || ps.obs.Container.State != "running" {
			continue
		}
		if ps.obs.Status == fleet.StatusStarting || now.Sub(ps.idTried) < time.Minute {
			continue
		}
		ps.idTried = now
		names = append(names, name)
	}
	if len(names) == 0 {
		return nil
	}
	b := m.be
	return func() tea.Msg {
		ids := make([]string, len(names))
		pubs.Each(context.Background(), len(names), 4, func(ctx context.Context, i int) error {
			ctx, cancel := context.WithTimeout(ctx, queryTimeout)
			defer cancel()
			id, err := b.svc.Whoami(ctx, names[i])
			if err == nil {
				ids[i] = id
			}
			return err
		})
		msg := identitiesMsg{gen: b.gen, ids: map[string]string{}}
		for i, id := range ids {
			if id != "" {
				msg.ids[names[i]] = id
			} else {
				msg.failed = append(msg.failed, names[i])
			}
		}
		return msg
	}
}

// inspectPub asks a pub's engine about it, and the identity store about
// its identity and last backup, for the detail view.
func (m *Model) inspectPub(name string) tea.Cmd {
	b, store := m.be, m.opts.IdentityStore
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(context.Background(), queryTimeout)
		defer cancel()
		ins, err := b.svc.Inspect(ctx, name)
		msg := inspectMsg{gen: b.gen, pub: name, ins: ins, err: err}
		if store != nil {
			if st, err := store(); err == nil {
				if id, err := st.Get(name); err == nil {
					msg.recorded, msg.id, msg.backup = true, id.ID, id.LastBackup
				}
			}
		}
		return msg
	}
}

// whoamiPub asks a pub for its SSB id.
func (m *Model) whoamiPub(name string) tea.Cmd {
	b := m.be
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(context.Background(), queryTimeout)
		defer cancel()
		id, err := b.svc.Whoami(ctx, name)
		return whoamiMsg{pub: name, id: id, err: err}
	}
}

// invitePub creates a one-use invite on a pub.
func (m *Model) invitePub(name string) tea.Cmd {
	b := m.be
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(context.Background(), queryTimeout)
		defer cancel()
		code, err := b.svc.Invite(ctx, name, 1)
		return inviteMsg{pub: name, code: code, err: err}
	}
}

// lockOptions is how the console takes the inventory lock to edit it.
var lockOptions = inventory.LockOptions{Wait: 10 * time.Second, Purpose: "buttctl console"}

// run carries an action out on the fleet.
func (m *Model) run(a action) tea.Cmd {
	switch a.kind {
	case actMove:
		return m.movePub(a)
	case actBackup:
		return m.backupPubNow(a)
	case actReboot:
		return m.rebootHub(a)
	case actDeleteHub:
		return m.deleteHub(a)
	case actNewHub:
		if a.onCloud {
			return m.createHub(a)
		}
	}
	b := m.be
	path := m.inv.Path
	missing := false
	if ps := m.pubs[a.pub]; ps != nil && ps.obs.Status == fleet.StatusMissing {
		missing = true
	}
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(context.Background(), actionTimeout)
		defer cancel()
		done := func(result string, err error) tea.Msg {
			return actionDoneMsg{gen: b.gen, act: a, result: result, err: err}
		}
		switch a.kind {
		case actRestart:
			r, err := b.svc.Restart(ctx, a.pub)
			return done(fmt.Sprintf("restarted pub %s on %s", a.pub, r.Hub), err)
		case actStart:
			if missing {
				_, err := b.svc.Create(ctx, a.pub)
				return done("created pub "+a.pub+" from the inventory", err)
			}
			r, err := b.svc.Start(ctx, a.pub)
			return done(fmt.Sprintf("started pub %s on %s", a.pub, r.Hub), err)
		case actStop:
			r, err := b.svc.Stop(ctx, a.pub)
			return done(fmt.Sprintf("stopped pub %s on %s", a.pub, r.Hub), err)
		case actKill:
			r, err := b.svc.Kill(ctx, a.pub, "")
			return done(fmt.Sprintf("killed pub %s on %s", a.pub, r.Hub), err)
		case actCreate:
			_, err := b.svc.Create(ctx, a.pub)
			return done("created pub "+a.pub, err)
		case actDelete:
			r, err := b.svc.Remove(ctx, a.pub, false)
			if err != nil && !engine.IsNotFound(err) {
				return done("", err)
			}
			err = b.editInventory(ctx, "remove-pub", r.Hub, a.pub, func(e *inventory.Editor) error { return e.RemovePub(a.pub) }, nil)
			msg := "deleted pub " + a.pub + " (container removed, and from the inventory)"
			if r.VolumeExists {
				msg += "; its volume " + r.Volume + " keeps its identity"
			}
			return done(msg, err)
		case actNewPub:
			// The pub is created under the inventory's lock: a watcher that
			// learns of it meanwhile stands back rather than make it too.
			var added, pulled bool
			err := b.editInventory(ctx, "add-pub", a.newPub.Hub, a.newPub.Name, func(e *inventory.Editor) error { return e.AddPub(a.newPub) }, func() error {
				added = true
				inv, err := inventory.Load(path)
				if err != nil {
					return err
				}
				svc := pubs.New(inv, b.conns)
				defer svc.Close()
				svc.Audit = b.audit
				res, err := svc.Create(ctx, a.newPub.Name)
				pulled = res.Pulled
				return err
			})
			switch {
			case err != nil && added:
				return done("", fmt.Errorf("%w (it is in the inventory: s creates it once the cause is fixed)", err))
			case err != nil:
				return done("", err)
			}
			what := "created pub " + a.newPub.Name + " on " + a.newPub.Hub
			if pulled {
				what += " (image pulled)"
			}
			return done(what, nil)
		case actNewHub:
			err := b.editInventory(ctx, "add-hub", a.newHub.Name, "", func(e *inventory.Editor) error { return e.AddHub(a.newHub) }, nil)
			return done("added hub "+a.newHub.Name+" to the inventory", err)
		}
		return done("", errors.New(string(a.kind)+" is not available in this buttctl yet"))
	}
}
