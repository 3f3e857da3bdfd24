package tui

import (
	"sort"
	"time"

	"github.com/buttctl/buttctl/inventory"
	"github.com/buttctl/buttctl/ops/fleet"
	"github.com/buttctl/buttctl/ops/hubs"
	"github.com/buttctl/buttctl/ops/live"
	"github.com/buttctl/buttctl/tui/render"
)

// slowAfter is how long an observation may take before its hub shows a
// spinner.
const slowAfter = 1500 * time.Millisecond

// hubState is what the console knows of one hub.
type hubState struct {
	inv      inventory.Hub
	obs      *fleet.Hub
	facts    *hubs.Facts
	orphans  []fleet.Orphan
	inFlight bool
	since    time.Time // when the observation under way began
	queued   bool      // an observation after events is scheduled
	stale    bool      // events came while it was being observed
	busy     string
	err      string
	cloud    string // the cloud server's status ("" without a cloud)
}

// pubState is what the console knows of one pub.
type pubState struct {
	inv      inventory.Pub
	obs      fleet.Pub
	identity string
	idTried  time.Time
	busy     string
	err      string
	marked   bool
	counted  fleet.PubStatus // the status the title bar's counts hold it under
	watch    string          // what the watcher is doing about it ("" nothing worth saying)
}

// setInventory takes a new version of the inventory: hubs and pubs that
// are still there keep what was observed of them.
func (m *Model) setInventory(inv *inventory.Inventory) {
	m.inv = inv
	hubsNow := make(map[string]*hubState, len(inv.Hubs))
	m.hubOrder = m.hubOrder[:0]
	m.hubRank = make(map[string]int, len(inv.Hubs))
	for i, h := range inv.Hubs {
		hs := m.hubs[h.Name]
		if hs == nil {
			hs = &hubState{}
		}
		hs.inv = h
		hubsNow[h.Name] = hs
		m.hubOrder = append(m.hubOrder, h.Name)
		m.hubRank[h.Name] = i
	}
	m.hubs = hubsNow
	pubsNow := make(map[string]*pubState, len(inv.Pubs))
	for _, p := range inv.Pubs {
		ps := m.pubs[p.Name]
		if ps == nil || ps.inv.Hub != p.Hub {
			old := ps
			ps = &pubState{obs: fleet.Pub{Name: p.Name, Hub: p.Hub}}
			if old != nil {
				ps.identity, ps.marked = old.identity, old.marked
			}
		}
		ps.inv = p
		ps.obs.Want = p.State
		if p.Hub == "" {
			ps.obs.Status = fleet.StatusUnplaced
		}
		pubsNow[p.Name] = ps
	}
	m.pubs = pubsNow
	m.rebuildRows()
}

// rebuildRows renders every hub and pub row anew.
func (m *Model) rebuildRows() {
	m.countDirty = true
	now := m.now()
	hrows := make([]render.Row, 0, len(m.hubs))
	for _, name := range m.hubOrder {
		hrows = append(hrows, m.hubRow(name))
	}
	m.hubTable.set(hrows)
	prows := make([]render.Row, 0, len(m.pubs))
	for name, ps := range m.pubs {
		if m.scope == "" || ps.inv.Hub == m.scope {
			prows = append(prows, render.PubRow(m.renderPub(name), now))
		}
	}
	m.pubTable.set(prows)
}

func (m *Model) hubRow(name string) render.Row {
	return render.HubRow(m.renderHub(name))
}

func (m *Model) renderHub(name string) render.Hub {
	hs := m.hubs[name]
	h := render.Hub{
		Name:     name,
		Address:  hs.inv.Address,
		Local:    hs.inv.Local,
		Capacity: hs.inv.Capacity,
		Placed:   len(m.inv.PubsOn(name)),
		Observed: hs.obs,
		Facts:    hs.facts,
		Busy:     hs.busy,
		Err:      hs.err,
		Spinner:  m.spinner(),
	}
	if hs.obs != nil {
		for _, c := range hs.obs.Containers {
			if c.State == "running" {
				h.Running++
			}
		}
		if hs.obs.Server != nil {
			h.Cloud = hs.obs.Server.Status
		}
	}
	if hs.cloud != "" {
		h.Cloud = hs.cloud
	}
	h.Slow = hs.inFlight && m.now().Sub(hs.since) > slowAfter
	return h
}

func (m *Model) renderPub(name string) render.Pub {
	ps := m.pubs[name]
	p := render.Pub{
		Pub:      ps.obs,
		Image:    ps.inv.Image,
		Port:     ps.inv.Port,
		Identity: ps.identity,
		Busy:     ps.busy,
		Err:      ps.err,
		Marked:   ps.marked,
		Watch:    ps.watch,
	}
	if ps.busy != "" {
		p.Spinner = m.spinner()
	}
	return p
}

// updatePub re-renders one pub's row.
func (m *Model) updatePub(name string) {
	ps, ok := m.pubs[name]
	if !ok {
		m.pubTable.remove(name)
		return
	}
	m.recount(ps)
	if m.scope != "" && ps.inv.Hub != m.scope {
		return
	}
	m.pubTable.upsert(render.PubRow(m.renderPub(name), m.now()))
}

// updateHub re-renders one hub's row.
func (m *Model) updateHub(name string) {
	if _, ok := m.hubs[name]; ok {
		m.hubTable.upsert(m.hubRow(name))
	}
}

// applyObservation takes one hub's observation.
func (m *Model) applyObservation(hub string, snap *fleet.Snapshot) {
	hs, ok := m.hubs[hub]
	if !ok || snap == nil {
		return
	}
	hs.inFlight = false
	if h := snap.Hub(hub); h != nil {
		hc := *h
		hs.obs = &hc
	}
	hs.orphans = hs.orphans[:0]
	for _, o := range snap.Orphans {
		if p, ok := m.inv.Pub(o.Container.Pub); ok && p.Hub != hub {
			o.InInventory = true
		}
		hs.orphans = append(hs.orphans, o)
	}
	for _, p := range snap.Pubs {
		ps, ok := m.pubs[p.Name]
		if !ok || ps.inv.Hub != hub {
			continue
		}
		ps.obs = p
		if p.Status != fleet.StatusRunning && p.Status != fleet.StatusUnhealthy && p.Status != fleet.StatusStarting {
			ps.idTried = time.Time{}
		}
		m.updatePub(p.Name)
	}
	m.updateHub(hub)
	m.planDirty = true
}

// applyFacts takes one hub's facts.
func (m *Model) applyFacts(f hubs.Facts) {
	hs, ok := m.hubs[f.Hub]
	if !ok {
		return
	}
	hs.facts = &f
	m.updateHub(f.Hub)
}

// applyEngineEvent brings a pub's state up to date with what its engine
// said, at once, before the next observation confirms it.
func (m *Model) applyEngineEvent(ev live.Event) {
	ps, ok := m.pubs[ev.Pub]
	if !ok || ps.inv.Hub != ev.Hub || ps.obs.Container == nil {
		return
	}
	c := *ps.obs.Container
	switch ev.Action {
	case "start", "restart", "unpause":
		c.State = "running"
		if ev.Action != "unpause" {
			t := ev.Time
			c.StartedAt = &t
			if c.Health != "" {
				c.Health = "starting"
			}
		}
	case "die":
		c.State = "exited"
	case "pause":
		c.State = "paused"
	case live.ActionHealthStatus:
		c.Health = ev.Health
	case "destroy":
		ps.obs.Container = nil
		ps.obs.Status = fleet.StatusMissing
		m.updatePub(ev.Pub)
		return
	default:
		return
	}
	ps.obs.Container = &c
	ps.obs.Status = statusOf(c, ps.obs.Want)
	m.updatePub(ev.Pub)
}

// statusOf sums a container up as fleet.Observe does.
func statusOf(c fleet.Container, want string) fleet.PubStatus {
	if c.State == "running" {
		switch c.Health {
		case "unhealthy":
			return fleet.StatusUnhealthy
		case "starting":
			return fleet.StatusStarting
		}
		return fleet.StatusRunning
	}
	if want == inventory.StateStopped {
		return fleet.StatusStopped
	}
	return fleet.StatusDown
}

// pubsOn lists the pubs the inventory places on hub, by name.
func (m *Model) pubsOn(hub string) []string {
	var out []string
	for _, p := range m.inv.PubsOn(hub) {
		out = append(out, p.Name)
	}
	sort.Strings(out)
	return out
}

// counts sums the pubs up for the title bar.
type counts struct {
	running, starting, unhealthy, bad, stopped, pending int
	hubsDown                                            int
}

// count sums the pubs up: counted again in full after the inventory
// changed, else kept up to date pub by pub (a burst of events must not
// count 2,000 pubs per event).
func (m *Model) count() counts {
	if m.countDirty {
		m.countDirty = false
		m.counted = counts{}
		for _, ps := range m.pubs {
			ps.counted = ps.obs.Status
			m.counted.tally(ps.counted, 1)
		}
	}
	c := m.counted
	for _, hs := range m.hubs {
		if hs.obs != nil && !hs.obs.Reachable {
			c.hubsDown++
		}
	}
	return c
}

// recount moves a pub to the count of its current status.
func (m *Model) recount(ps *pubState) {
	if m.countDirty || ps.counted == ps.obs.Status {
		return
	}
	m.counted.tally(ps.counted, -1)
	ps.counted = ps.obs.Status
	m.counted.tally(ps.counted, 1)
}

func (c *counts) tally(s fleet.PubStatus, n int) {
	switch s {
	case fleet.StatusRunning:
		c.running += n
	case fleet.StatusStarting:
		c.starting += n
	case fleet.StatusUnhealthy:
		c.unhealthy += n
	case fleet.StatusStopped, fleet.StatusUnplaced:
		c.stopped += n
	case "":
		c.pending += n
	default:
		c.bad += n
	}
}

// unreachable lists the hubs whose last observation failed, in inventory
// order, with their errors: the console never hides them.
func (m *Model) unreachable() []*hubState {
	var out []*hubState
	for _, name := range m.hubOrder {
		if hs := m.hubs[name]; hs.obs != nil && !hs.obs.Reachable {
			out = append(out, hs)
		}
	}
	return out
}
