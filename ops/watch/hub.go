package watch

import (
	"context"
	"net"
	"slices"
	"time"

	"github.com/buttctl/buttctl/inventory"
	"github.com/buttctl/buttctl/ops/audit"
	"github.com/buttctl/buttctl/ops/engine"
)

// hubState is what the watcher knows of one hub. Guarded by Watcher.mu.
type hubState struct {
	name      string
	connected bool
	everUp    bool
	down      bool
	lostAt    time.Time
	err       string
	engineID  string

	reconnects int
	lastReboot time.Time
}

func (h *hubState) snapshot() HubState {
	hs := HubState{Name: h.name, Connected: h.connected, Down: h.down, Reconnects: h.reconnects, Error: h.err}
	if !h.lostAt.IsZero() && !h.connected {
		t := h.lostAt.UTC()
		hs.UnreachableSince = &t
	}
	if !h.lastReboot.IsZero() {
		t := h.lastReboot.UTC()
		hs.LastReboot = &t
	}
	return hs
}

// hubLocked returns hub's state, made on first use. w.mu must be held.
func (w *Watcher) hubLocked(name string) *hubState {
	h, ok := w.hubs[name]
	if !ok {
		h = &hubState{name: name, lostAt: time.Now()}
		w.hubs[name] = h
	}
	return h
}

func (w *Watcher) hubConnected(name string) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	h, ok := w.hubs[name]
	return ok && h.connected
}

func (w *Watcher) hubDown(name string) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	h, ok := w.hubs[name]
	return ok && h.down
}

// downHubs lists the hubs marked down.
func (w *Watcher) downHubs() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []string
	for _, h := range w.hubs {
		if h.down {
			out = append(out, h.name)
		}
	}
	slices.Sort(out)
	return out
}

// sameEngine reports whether hubs a and b are known to reach one Docker
// engine (the same engine id): then a container seen on one is the other's.
func (w *Watcher) sameEngine(a, b string) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	ha, okA := w.hubs[a]
	hb, okB := w.hubs[b]
	return okA && okB && ha.engineID != "" && ha.engineID == hb.engineID
}

// startHubs follows the event stream of every watched hub of g until ctx
// is done or g's hubs are replaced.
func (w *Watcher) startHubs(ctx context.Context, g *generation) {
	hctx, cancel := context.WithCancel(ctx)
	g.stopHubs = cancel
	w.mu.Lock()
	keep := map[string]bool{}
	for _, h := range w.watchedHubs(g) {
		keep[h.Name] = true
		w.hubLocked(h.Name)
	}
	for name := range w.hubs {
		if !keep[name] {
			delete(w.hubs, name)
		}
	}
	w.mu.Unlock()
	for _, h := range w.watchedHubs(g) {
		go w.followHub(hctx, g, h)
	}
}

// newEngine returns a Docker client of hub h over g's connections, apart
// from the one pub operations use, for the event stream.
func newEngine(g *generation, h inventory.Hub) (*engine.Engine, error) {
	socket := h.DockerSocket
	if socket == "" {
		socket = inventory.DefaultDockerSocket
	}
	conns := g.conns
	return engine.New(h.Name, socket, func(ctx context.Context) (net.Conn, error) {
		return conns.DialUnix(ctx, h.Name, socket)
	})
}

// followHub keeps hub h's event stream open: it reconnects with backoff
// when it drops, reconciles the hub each time it connects, and marks the
// hub down when it stays unreachable for watch.hub_down_after.
func (w *Watcher) followHub(ctx context.Context, g *generation, h inventory.Hub) {
	eng, err := newEngine(g, h)
	if err != nil {
		w.hubLost(h.Name, err)
		return
	}
	defer eng.Close()
	delay := ReconnectInitial
	for {
		var connectedAt time.Time
		// A dial to a powered-off server hangs until its timeout: the hub
		// is marked down at hub_down_after all the same.
		downCheck := time.AfterFunc(w.untilDown(h.Name), func() { w.checkDown(ctx, h.Name) })
		err := eng.Events(ctx, engine.EventsOptions{Connected: func() {
			downCheck.Stop()
			connectedAt = time.Now()
			w.hubUp(ctx, h.Name, eng)
		}}, func(ev engine.Event) { w.onEvent(h.Name, ev) })
		downCheck.Stop()
		if ctx.Err() != nil {
			return
		}
		w.hubLost(h.Name, err)
		if !connectedAt.IsZero() && time.Since(connectedAt) > ReconnectMax {
			delay = ReconnectInitial
		}
		wait := delay + time.Duration(float64(delay)*0.2*w.rand())
		if until := w.untilDown(h.Name); until > 0 && until < wait {
			wait = until
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		w.checkDown(ctx, h.Name)
		delay = min(2*delay, ReconnectMax)
	}
}

// hubUp notes that hub's event stream is connected: a hub marked down is
// up again, and the hub is reconciled (what happened while it was away).
func (w *Watcher) hubUp(ctx context.Context, hub string, eng *engine.Engine) {
	id := ""
	if info, err := eng.Info(ctx); err == nil {
		id = info.ID
	}
	w.mu.Lock()
	h := w.hubLocked(hub)
	wasDown, lostAt, again := h.down, h.lostAt, h.everUp
	h.connected, h.down, h.everUp, h.err, h.lostAt = true, false, true, "", time.Time{}
	if id != "" {
		h.engineID = id
	}
	if again {
		h.reconnects++
	}
	w.stateDirty = true
	w.mu.Unlock()
	if again {
		w.cfg.Metrics.reconnect(hub)
		w.log.Info("event stream connected again", "hub", hub, "after", time.Since(lostAt).Round(time.Millisecond))
	} else {
		w.log.Debug("event stream connected", "hub", hub)
	}
	if wasDown {
		w.record(audit.Record{Hub: hub, Action: ActionHubUp, Reason: ReasonHubAnswers, Result: ResultOK,
			DurationMS: time.Since(lostAt).Milliseconds()})
	}
	g := w.acquire()
	defer g.release()
	w.reconcileHub(ctx, g, hub, eng)
}

// hubLost notes that hub's event stream dropped or could not connect.
func (w *Watcher) hubLost(hub string, err error) {
	w.mu.Lock()
	h := w.hubLocked(hub)
	was := h.connected
	h.connected = false
	if was || h.lostAt.IsZero() {
		h.lostAt = time.Now()
	}
	if err != nil {
		h.err = err.Error()
	}
	w.stateDirty = true
	w.mu.Unlock()
	if was {
		w.log.Warn("event stream lost; reconnecting", "hub", hub, "err", err)
	}
}

// untilDown is how long until hub, unreachable, is marked down (0: it is,
// or it is connected).
func (w *Watcher) untilDown(hub string) time.Duration {
	w.mu.Lock()
	defer w.mu.Unlock()
	h := w.hubLocked(hub)
	if h.connected || h.down {
		return 0
	}
	return max(0, time.Until(h.lostAt.Add(w.watchCfg.HubDownAfter.D())))
}

// checkDown marks hub down once it has been unreachable for
// watch.hub_down_after, then reboots it (watch.reboot_hubs) at most once a
// backoff.max, and queues its pubs for reallocation (watch.reallocate).
func (w *Watcher) checkDown(ctx context.Context, hub string) {
	w.mu.Lock()
	h := w.hubLocked(hub)
	if h.connected {
		w.mu.Unlock()
		return
	}
	newlyDown := false
	if !h.down && time.Since(h.lostAt) >= w.watchCfg.HubDownAfter.D() {
		h.down, newlyDown = true, true
		w.stateDirty = true
	}
	down, lostAt, errText := h.down, h.lostAt, h.err
	cfg := w.watchCfg
	w.mu.Unlock()
	if !down {
		return
	}
	if newlyDown {
		w.record(audit.Record{Hub: hub, Action: ActionHubDown, Reason: ReasonHubUnreachable, Result: ResultOK,
			DurationMS: time.Since(lostAt).Milliseconds(), Error: errText})
	}
	if w.cfg.Hub != "" {
		// An agent has nowhere else to go, and no cloud to call.
		return
	}
	if cfg.RebootHubs {
		w.maybeReboot(ctx, hub)
	}
	if newlyDown && cfg.Reallocate {
		g := w.acquire()
		for _, p := range g.inv.PubsOn(hub) {
			w.q.Add(p.Name)
		}
		g.release()
	}
}

// maybeReboot hard-reboots a down hub's server, at most once per backoff.max.
func (w *Watcher) maybeReboot(ctx context.Context, hub string) {
	if w.cfg.Cloud == nil {
		w.mu.Lock()
		said := w.saidNoCloud
		w.saidNoCloud = true
		w.mu.Unlock()
		if !said {
			w.log.Warn("watch.reboot_hubs is on, but no cloud is configured (the inventory's cloud section, clouds.yaml): down hubs are not rebooted")
		}
		return
	}
	g := w.acquire()
	defer g.release()
	h, ok := g.inv.Hub(hub)
	if !ok {
		return
	}
	w.mu.Lock()
	hs := w.hubLocked(hub)
	window := w.watchCfg.Backoff.Max.D()
	if !hs.lastReboot.IsZero() && time.Since(hs.lastReboot) < window {
		w.mu.Unlock()
		return
	}
	hs.lastReboot = time.Now()
	w.stateDirty = true
	w.mu.Unlock()
	rec := audit.Record{Hub: hub, Action: ActionReboot, Reason: ReasonHubDown}
	if h.ServerID == "" {
		rec.Result, rec.Error = ResultSkipped, "the hub has no server_id in the inventory: reboot it by hand"
		w.record(rec)
		return
	}
	if w.cfg.DryRun {
		rec.Result = ResultDryRun
		w.record(rec)
		return
	}
	start := time.Now()
	rctx, cancel := context.WithTimeout(ctx, w.cfg.ActionTimeout)
	err := w.cfg.Cloud.RebootHub(rctx, *h)
	cancel()
	rec.DurationMS = time.Since(start).Milliseconds()
	rec.Result = ResultOK
	if err != nil {
		rec.Result, rec.Error = ResultFailed, err.Error()
	}
	w.record(rec)
}

// onEvent takes an event of hub's stream: it updates what the watcher
// knows of the pub and queues it.
func (w *Watcher) onEvent(hub string, ev engine.Event) {
	g := w.acquire()
	p, ok := g.inv.Pub(ev.Pub)
	g.release()
	if !ok {
		// Perhaps added to the inventory just now: the reload queues it.
		w.askReload()
		return
	}
	w.cfg.Metrics.event(ev.Action)
	w.mu.Lock()
	ps := w.pubLocked(ev.Pub)
	switch ev.Action {
	case engine.EventHealth:
		switch ev.Health {
		case "unhealthy":
			if ps.unhealthySince.IsZero() {
				ps.unhealthySince = ev.Time
			}
		case "healthy":
			ps.unhealthySince = time.Time{}
			if p.Hub == hub {
				ps.tracker.Healthy(ev.Time)
			}
		}
	case engine.EventDie, engine.EventOOM, engine.EventDestroy, engine.EventStop:
		if p.Hub == hub {
			ps.tracker.NotHealthy(ev.Time)
			ps.unhealthySince = time.Time{}
			if ps.needSince.IsZero() && !ps.acting {
				ps.needSince = ev.Time
			}
		}
	}
	w.mu.Unlock()
	if p.Hub != hub && p.Hub != "" {
		if w.sameEngine(hub, p.Hub) {
			// The same container, seen through another hub on its engine.
			return
		}
		if ev.Action == engine.EventStart || ev.Action == engine.EventUnpause {
			w.markStale(ev.Pub, hub)
		}
	}
	w.q.Add(ev.Pub)
}

func (w *Watcher) markStale(pub, hub string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.pubLocked(pub).staleOn[hub] = true
}
