package watch

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/buttctl/buttctl/inventory"
	"github.com/buttctl/buttctl/ops/audit"
)

// reallocate recreates pub p, whose hub is down, on a healthy hub with room
// for it, from the identity watch keeps; identity.Restore checks that it
// answers with its identity and places it there in the inventory (an
// atomic edit). The copy left on the dead hub is stopped when that hub
// comes back, before anything starts it (pubs there have restart "no").
func (w *Watcher) reallocate(ctx context.Context, g *generation, p inventory.Pub) {
	from := p.Hub
	if w.cfg.Identities == nil || !w.cfg.Identities.Has(p.Name) {
		w.setPhase(p.Name, PhaseHubDown, ReasonHubDown, "cannot reallocate: no identity of it is kept (watch records the identities of the pubs it sees running)")
		return
	}
	now := time.Now()
	w.mu.Lock()
	ps := w.pubLocked(p.Name)
	d := ps.tracker.Next(now)
	if ps.needSince.IsZero() {
		ps.needSince = now
	}
	w.mu.Unlock()
	if d.Wait > 0 {
		w.setPhase(p.Name, PhaseBackoff, d.Reason, "")
		w.q.AddAfter(p.Name, d.Wait)
		return
	}
	to, ok := w.reserveHub(g, p)
	if !ok {
		w.setPhase(p.Name, PhaseHubDown, ReasonHubDown, fmt.Sprintf("cannot reallocate: no other hub is up with room and port %d free", p.Port))
		w.q.AddAfter(p.Name, g.inv.Watch.Reconcile.D())
		return
	}
	defer w.unreserve(to)
	if holder := w.applyRunning(); holder != "" {
		w.setPhase(p.Name, PhaseBusy, holder, "")
		w.q.AddAfter(p.Name, busyRetry)
		return
	}
	lctx, cancel := context.WithTimeout(ctx, w.cfg.ActionTimeout)
	defer cancel()
	w.mu.Lock()
	ps.tracker.Restarted(now)
	ps.acting = true
	needSince := ps.needSince
	w.mu.Unlock()
	defer func() {
		w.mu.Lock()
		ps.acting = false
		w.mu.Unlock()
	}()
	w.setPhase(p.Name, PhaseHealing, ReasonHubDown, "")
	var id string
	r := w.act(audit.Record{Hub: to, From: from, Pub: p.Name, Action: ActionReallocate, Reason: ReasonHubDown, Attempt: d.Attempt}, func() error {
		var err error
		id, err = w.cfg.Identities.Restore(lctx, g.svc, p.Name, to, w.downHubs())
		return err
	})
	w.mu.Lock()
	ps.lastAction, ps.lastResult, ps.lastActionAt = r.Action, r.Result, r.Time
	w.mu.Unlock()
	if r.Result == ResultFailed {
		w.afterFailure(p.Name, r)
		return
	}
	if r.Result == ResultDryRun {
		w.setPhase(p.Name, PhaseHubDown, ReasonHubDown, "")
		w.q.AddAfter(p.Name, max(time.Second, w.nextWait(p.Name)))
		return
	}
	w.cfg.Metrics.healed(time.Since(needSince).Seconds())
	w.mu.Lock()
	ps.needSince = time.Time{}
	w.mu.Unlock()
	w.log.Info("reallocated", "pub", p.Name, "from", from, "to", to, "identity", id)
	w.setPhase(p.Name, PhaseStarting, ReasonHubDown, "")
	w.refresh(ctx)
	w.q.Add(p.Name)
}

func (w *Watcher) nextWait(name string) time.Duration {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.pubLocked(name).tracker.Next(time.Now()).Wait
}

// reserveHub picks the hub p goes to: up (its event stream connected),
// with room (capacity, counting reallocations under way), and p's port
// free there; the least loaded first, then in inventory order.
func (w *Watcher) reserveHub(g *generation, p inventory.Pub) (string, bool) {
	placed := map[string]int{}
	ports := map[string]map[int]bool{}
	for _, q := range g.inv.Pubs {
		if q.Hub == "" || q.Name == p.Name {
			continue
		}
		placed[q.Hub]++
		if ports[q.Hub] == nil {
			ports[q.Hub] = map[int]bool{}
		}
		ports[q.Hub][q.Port] = true
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	type cand struct {
		name  string
		load  int
		order int
	}
	var cs []cand
	for i, h := range g.inv.Hubs {
		hs, ok := w.hubs[h.Name]
		if h.Name == p.Hub || !ok || !hs.connected || hs.down || ports[h.Name][p.Port] {
			continue
		}
		load := placed[h.Name] + w.reserved[h.Name]
		if h.Capacity > 0 && load >= h.Capacity {
			continue
		}
		cs = append(cs, cand{h.Name, load, i})
	}
	if len(cs) == 0 {
		return "", false
	}
	sort.Slice(cs, func(i, j int) bool {
		if cs[i].load != cs[j].load {
			return cs[i].load < cs[j].load
		}
		return cs[i].order < cs[j].order
	})
	w.reserved[cs[0].name]++
	return cs[0].name, true
}

func (w *Watcher) unreserve(hub string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.reserved[hub]--
	if w.reserved[hub] <= 0 {
		delete(w.reserved, hub)
	}
}
