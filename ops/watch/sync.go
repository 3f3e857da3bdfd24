package watch

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"time"

	"github.com/moby/moby/api/types/container"

	"github.com/buttctl/buttctl/inventory"
	"github.com/buttctl/buttctl/ops/audit"
	"github.com/buttctl/buttctl/ops/engine"
	"github.com/buttctl/buttctl/ops/pubspec"
)

// pubState is what the watcher knows of one pub. Guarded by Watcher.mu.
type pubState struct {
	name    string
	tracker *Tracker

	phase, reason, err string
	since              time.Time
	nextAttempt        time.Time

	// unhealthySince is when it turned unhealthy (zero when it is not).
	unhealthySince time.Time
	// needSince is when watch learned it needed healing, for the latency.
	needSince   time.Time
	acting      bool
	quarantined bool

	containerID  string
	restartCount int
	// identityDone: its identity was recorded for the current container start.
	identityDone bool
	identityFor  string

	// staleOn are hubs where a copy of it may run though the inventory
	// places it elsewhere.
	staleOn map[string]bool

	lastAction, lastResult string
	lastActionAt           time.Time
}

func (ps *pubState) snapshot(now time.Time) PubState {
	s := PubState{Name: ps.name, Phase: ps.phase, Reason: ps.reason, Since: ps.since.UTC(), Error: ps.err,
		RestartsInWindow: ps.tracker.RestartsInWindow(now), LastAction: ps.lastAction, LastResult: ps.lastResult}
	if s.Phase == "" {
		s.Phase = PhaseUnknown
	}
	if !ps.nextAttempt.IsZero() && ps.nextAttempt.After(now) {
		t := ps.nextAttempt.UTC()
		s.NextAttempt = &t
	}
	if !ps.lastActionAt.IsZero() {
		t := ps.lastActionAt.UTC()
		s.LastActionAt = &t
	}
	return s
}

// pubLocked returns pub's state, made on first use. w.mu must be held.
func (w *Watcher) pubLocked(name string) *pubState {
	ps, ok := w.pubs[name]
	if !ok {
		ps = &pubState{name: name, tracker: NewTracker(w.policy, w.rand), staleOn: map[string]bool{}}
		w.pubs[name] = ps
	}
	return ps
}

// setPhase records the phase a pub is in, and why.
func (w *Watcher) setPhase(name, phase, reason, errText string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	ps := w.pubLocked(name)
	if ps.phase != phase {
		ps.since = time.Now()
	}
	if ps.phase != phase || ps.reason != reason || ps.err != errText {
		w.stateDirty = true
	}
	ps.phase, ps.reason, ps.err = phase, reason, errText
	if phase != PhaseBackoff && phase != PhaseQuarantined {
		ps.nextAttempt = time.Time{}
	}
}

// observation is a pub's container as the engine describes it now.
type observation struct {
	Exists       bool
	Container    engine.Container
	State        string
	Health       string
	RestartCount int
	OOMKilled    bool
	StartedAt    time.Time
	// UnhealthySince is when the health check turned unhealthy, as its log
	// tells (zero when healthy or unknown).
	UnhealthySince time.Time
	OperatorStop   bool
	// VolumeExists: the pub's data volume is on the hub (the container is not).
	VolumeExists bool
}

// observe asks the pub's hub for its container.
func observe(ctx context.Context, eng *engine.Engine, name string) (observation, error) {
	var o observation
	c, err := eng.PubContainer(ctx, name)
	if engine.IsNotFound(err) {
		o.VolumeExists, err = eng.VolumeExists(ctx, pubspec.VolumeName(name), name)
		return o, err
	}
	if err != nil {
		return o, err
	}
	o.Exists, o.Container, o.State, o.Health = true, c, c.State, c.Health
	ins, err := eng.Inspect(ctx, c)
	if err != nil {
		return o, err
	}
	o.RestartCount = ins.RestartCount
	if s := ins.State; s != nil {
		o.State = string(s.Status)
		o.OOMKilled = s.OOMKilled
		o.StartedAt, _ = time.Parse(time.RFC3339Nano, s.StartedAt)
		o.Health = ""
		if s.Health != nil {
			o.Health = string(s.Health.Status)
			if o.Health == "unhealthy" {
				retries := 3
				if ins.Config != nil && ins.Config.Healthcheck != nil && ins.Config.Healthcheck.Retries > 0 {
					retries = ins.Config.Healthcheck.Retries
				}
				o.UnhealthySince = unhealthySince(s.Health.Log, retries)
			}
		}
	}
	if o.State != "running" {
		rec, err := eng.OperatorStopOf(ctx, c)
		if err != nil {
			return o, err
		}
		o.OperatorStop = rec.Stopped
	}
	return o, nil
}

// createdGrace is how long a container created but never started is left
// to its creator.
const createdGrace = 20 * time.Second

// step is what the state of a pub calls for.
type step struct {
	Phase  string
	Reason string
	Error  string
	// Action is the heal to carry out ("" for none).
	Action string
	// Kill stops the running container first.
	Kill bool
	// Recheck is when to look again without an event (0: on the next event).
	Recheck time.Duration
}

// decide says what a pub the inventory wants running needs, from its
// observed container: a pure function of what was seen (and when), the
// grace an unhealthy pub gets, how many heals of its series came before,
// and whether watch keeps its identity.
func decide(o observation, now time.Time, grace time.Duration, consecutive int, hasIdentity bool) step {
	var s step
	switch {
	case !o.Exists && o.VolumeExists:
		s = step{Action: ActionRecreate, Reason: ReasonMissing}
	case !o.Exists && hasIdentity:
		s = step{Action: ActionRestore, Reason: ReasonVolumeLost}
	case !o.Exists:
		return step{Phase: PhaseFailed, Reason: ReasonVolumeLost, Error: "its container and its data volume are gone, and no identity of it is kept: restore it from a backup ('buttctl pub restore'), or create it anew with a new identity ('buttctl pub create')"}
	case o.State == "paused":
		return step{Phase: PhasePaused}
	case o.OperatorStop:
		return step{Phase: PhaseOperatorStopped}
	case o.State == "restarting":
		return step{Phase: PhaseRestarting}
	case o.State == "removing":
		return step{Phase: PhaseBusy, Reason: "removing"}
	case o.State == "created":
		// Left to whoever created it (they start what they create at once,
		// or hold a lock watch waits on); one still not started after
		// createdGrace has lost its creator.
		if left := o.Container.Created.Add(createdGrace).Sub(now); o.Container.Created.IsZero() || left > 0 {
			return step{Phase: PhaseFailed, Reason: ReasonNeverStarted, Recheck: max(left, 0),
				Error: fmt.Sprintf("its container was created but never started: watch leaves it to whoever created it for %s, then starts it; or start it with 'buttctl pub start'", createdGrace)}
		}
		s = step{Action: ActionStart, Reason: ReasonNeverStarted}
	case o.State == "running" && o.Health == "unhealthy":
		since := o.UnhealthySince
		if since.IsZero() {
			since = now
		}
		if left := since.Add(grace).Sub(now); left > 0 {
			return step{Phase: PhaseUnhealthy, Reason: ReasonUnhealthy, Recheck: left}
		}
		s = step{Action: ActionStart, Kill: true, Reason: ReasonUnhealthy}
	case o.State == "running" && o.Health == "starting":
		return step{Phase: PhaseStarting}
	case o.State == "running":
		return step{Phase: PhaseRunning}
	case o.State == "dead":
		// A dead container cannot be started again.
		s = step{Action: ActionRecreate, Reason: ReasonExited}
	default: // exited
		s = step{Action: ActionStart, Reason: ReasonExited}
		if o.OOMKilled {
			s.Reason = ReasonOOM
		}
	}
	// The heal ladder: a pub that kept failing after two starts is created
	// anew (same volume, same identity) on its third heal.
	if s.Action == ActionStart && consecutive == 2 && o.Exists {
		s.Action, s.Reason = ActionRecreate, ReasonStillFailing
	}
	s.Phase = PhaseHealing
	return s
}

// unhealthySince reads from a health check's log when it turned unhealthy:
// the end of the retries-th failure of the run of failures that ends the
// log. The log is short (5 probes), so this may be later than the truth,
// never earlier: an estimate that never kills early.
func unhealthySince(log []*container.HealthcheckResult, retries int) time.Time {
	n := 0
	for i := len(log) - 1; i >= 0 && log[i] != nil && log[i].ExitCode != 0; i-- {
		n++
	}
	if n == 0 {
		return time.Time{}
	}
	run := log[len(log)-n:]
	k := min(retries, n)
	return run[k-1].End
}

// sync looks at one pub and does what it needs: the heart of the watcher.
func (w *Watcher) sync(ctx context.Context, name string) {
	g := w.acquire()
	defer g.release()
	p, ok := g.inv.Pub(name)
	if !ok {
		w.mu.Lock()
		delete(w.pubs, name)
		w.stateDirty = true
		w.mu.Unlock()
		return
	}
	if busy := w.busy(name); busy != "" {
		w.setPhase(name, PhaseBusy, busy, "")
		w.q.AddAfter(name, busyRetry)
		return
	}
	w.stopStaleCopies(ctx, g, *p)
	if w.cfg.Hub != "" && p.Hub != w.cfg.Hub {
		return
	}
	switch {
	case p.Hub == "":
		w.setPhase(name, PhaseUnplaced, "", "")
		return
	case p.State == inventory.StateStopped:
		w.setPhase(name, PhaseStopped, "", "")
		return
	case !w.hubConnected(p.Hub):
		if w.hubDown(p.Hub) && w.cfg.Hub == "" && g.inv.Watch.Reallocate {
			w.reallocate(ctx, g, *p)
			return
		}
		if w.hubDown(p.Hub) {
			w.setPhase(name, PhaseHubDown, ReasonHubDown, "")
		}
		return
	}
	eng, err := g.svc.Engine(p.Hub)
	if err != nil {
		w.setPhase(name, PhaseFailed, "", err.Error())
		return
	}
	octx, cancel := context.WithTimeout(ctx, w.cfg.ActionTimeout)
	defer cancel()
	o, err := observe(octx, eng, name)
	if err != nil {
		if engine.IsUnreachable(err) {
			// The event stream notices too, and reconciles when it is back;
			// a blip that did not reach the stream is looked at again.
			w.q.AddAfter(name, busyRetry)
			return
		}
		w.setPhase(name, PhaseFailed, "", err.Error())
		w.q.AddAfter(name, g.inv.Watch.Backoff.Initial.D())
		return
	}
	now := time.Now()
	d, requarantine := w.learn(name, o, now)
	if o.Exists && o.State == "running" && o.Health != "unhealthy" && o.Health != "starting" {
		w.recordIdentity(octx, g, p.Hub, name, o)
	}
	if requarantine {
		w.quarantine(octx, g, eng, *p, o, d)
		return
	}

	w.mu.Lock()
	ps := w.pubLocked(name)
	consecutive := ps.tracker.Consecutive(now)
	if !ps.unhealthySince.IsZero() && (o.UnhealthySince.IsZero() || ps.unhealthySince.Before(o.UnhealthySince)) && o.Health == "unhealthy" {
		o.UnhealthySince = ps.unhealthySince
	}
	w.mu.Unlock()
	hasIdentity := w.cfg.Identities != nil && w.cfg.Identities.Has(name)
	s := decide(o, now, g.inv.Watch.UnhealthyGrace.D(), consecutive, hasIdentity)
	if s.Action == "" {
		reason := s.Reason
		if d.CrashLoop && reason == "" {
			reason = ReasonCrashLoop
		}
		w.setPhase(name, s.Phase, reason, s.Error)
		if s.Recheck > 0 {
			w.q.AddAfter(name, s.Recheck)
		}
		return
	}
	w.mu.Lock()
	if ps.needSince.IsZero() {
		ps.needSince = now
	}
	w.mu.Unlock()

	if d.CrashLoop && !w.isQuarantined(name) {
		w.quarantine(octx, g, eng, *p, o, d)
		return
	}
	if d.Wait > 0 {
		phase := PhaseBackoff
		if d.CrashLoop {
			phase = PhaseQuarantined
		}
		w.setPhase(name, phase, d.Reason, "")
		w.mu.Lock()
		ps.nextAttempt = d.At
		w.mu.Unlock()
		w.q.AddAfter(name, d.Wait)
		return
	}
	if holder := w.applyRunning(); holder != "" {
		w.setPhase(name, PhaseBusy, holder, "")
		w.q.AddAfter(name, busyRetry)
		return
	}
	if d.CrashLoop {
		s.Reason = ReasonRetryAtCap
	}
	w.heal(ctx, g, eng, *p, o, s, d.Attempt)
}

// learn updates what the watcher knows of a pub from an observation: its
// engine's own restarts (its restart policy) count as restarts, and health
// starts or ends a stretch of health. It returns the restart decision, and
// whether a quarantined pub's engine restarted it again (stop it again).
func (w *Watcher) learn(name string, o observation, now time.Time) (Decision, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	ps := w.pubLocked(name)
	engineRestarts := 0
	if o.Exists {
		if o.Container.ID == ps.containerID && o.RestartCount > ps.restartCount {
			engineRestarts = o.RestartCount - ps.restartCount
		}
		if o.Container.ID != ps.containerID {
			ps.identityDone = false
		}
		ps.containerID, ps.restartCount = o.Container.ID, o.RestartCount
	}
	for range engineRestarts {
		ps.tracker.Restarted(now)
	}
	healthy := o.Exists && o.State == "running" && (o.Health == "healthy" || o.Health == "")
	if healthy {
		ps.tracker.Healthy(now)
		ps.unhealthySince = time.Time{}
		ps.needSince = time.Time{}
	} else {
		ps.tracker.NotHealthy(now)
	}
	if o.Health != "unhealthy" {
		ps.unhealthySince = time.Time{}
	}
	w.leaveQuarantineLocked(ps, now)
	d := ps.tracker.Next(now)
	again := engineRestarts > 0 && ps.quarantined && (o.State == "running" || o.State == "restarting")
	return d, again
}

// leaveQuarantineLocked lets a quarantined pub that stayed healthy go.
func (w *Watcher) leaveQuarantineLocked(ps *pubState, now time.Time) {
	if !ps.quarantined || ps.tracker.CrashLooping(now) {
		return
	}
	ps.quarantined = false
	w.stateDirty = true
	go w.record(audit.Record{Time: now, Hub: w.hubOfLocked(ps.name), Pub: ps.name, Action: ActionRecover, Reason: ReasonStayedHealthy, Result: ResultOK})
}

func (w *Watcher) hubOfLocked(pub string) string {
	g := w.current()
	if p, ok := g.inv.Pub(pub); ok {
		return p.Hub
	}
	return ""
}

func (w *Watcher) isQuarantined(name string) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.pubLocked(name).quarantined
}

// busy says why another buttctl operation holds pub ("" when none does):
// a backup, restore or move under way (ops/identity's lock of the pub), or
// an unfinished move.
func (w *Watcher) busy(name string) string {
	if w.cfg.Identities != nil {
		return w.cfg.Identities.Busy(name)
	}
	return ""
}

// applyRunning says who holds the inventory's writers' lock (apply, an
// edit), if another process does: watch changes nothing meanwhile.
func (w *Watcher) applyRunning() string {
	h, err := inventory.Holder(w.cfg.InventoryPath, "")
	if err != nil || h == nil || h.PID == os.Getpid() {
		return ""
	}
	if h.Purpose != "" {
		return h.Purpose
	}
	return "inventory locked by pid " + fmt.Sprint(h.PID)
}

// heal carries out step s on pub p: kill first if asked, then start,
// recreate or restore.
func (w *Watcher) heal(ctx context.Context, g *generation, eng *engine.Engine, p inventory.Pub, o observation, s step, attempt int) {
	now := time.Now()
	w.mu.Lock()
	ps := w.pubLocked(p.Name)
	ps.tracker.Restarted(now)
	ps.acting = true
	needSince := ps.needSince
	w.mu.Unlock()
	defer func() {
		w.mu.Lock()
		ps.acting = false
		w.mu.Unlock()
	}()
	w.setPhase(p.Name, PhaseHealing, s.Reason, "")
	actx, cancel := context.WithTimeout(ctx, w.cfg.ActionTimeout)
	defer cancel()

	if s.Kill {
		timeout := int(g.inv.Watch.StopTimeout.D().Round(time.Second) / time.Second)
		r := w.act(audit.Record{Hub: p.Hub, Pub: p.Name, Action: ActionKill, Reason: s.Reason, Attempt: attempt}, func() error {
			return eng.Stop(actx, o.Container, &timeout)
		})
		if r.Result == ResultFailed {
			w.afterFailure(p.Name, r)
			return
		}
	}
	var err error
	rec := audit.Record{Hub: p.Hub, Pub: p.Name, Action: s.Action, Reason: s.Reason, Attempt: attempt}
	r := w.act(rec, func() error {
		switch s.Action {
		case ActionStart:
			err = eng.Start(actx, o.Container)
		case ActionRecreate:
			if o.Exists {
				if err = eng.Remove(actx, o.Container); err != nil {
					return err
				}
			}
			_, err = g.svc.Create(actx, p.Name)
		case ActionRestore:
			if w.cfg.Identities == nil {
				return errors.New("no identity store")
			}
			_, err = w.cfg.Identities.Restore(actx, g.svc, p.Name, p.Hub, nil)
		}
		return err
	})
	if r.Result == ResultFailed {
		w.afterFailure(p.Name, r)
		return
	}
	w.mu.Lock()
	ps.lastAction, ps.lastResult, ps.lastActionAt = r.Action, r.Result, r.Time
	if r.Result == ResultOK {
		ps.needSince = time.Time{}
	}
	w.mu.Unlock()
	if r.Result == ResultOK && !needSince.IsZero() {
		w.cfg.Metrics.healed(time.Since(needSince).Seconds())
	}
	phase := PhaseStarting
	if r.Result == ResultDryRun {
		phase = PhaseBackoff
	}
	w.setPhase(p.Name, phase, s.Reason, "")
	if r.Result == ResultDryRun {
		// Nothing changed: look again when the next heal would be due.
		w.mu.Lock()
		d := ps.tracker.Next(time.Now())
		ps.nextAttempt = d.At
		w.mu.Unlock()
		w.q.AddAfter(p.Name, max(d.Wait, time.Second))
	}
}

// act runs do as the action r describes (unless dry-run), and records it.
func (w *Watcher) act(r audit.Record, do func() error) audit.Record {
	r.Time = time.Now()
	if w.cfg.DryRun {
		r.Result = ResultDryRun
		w.record(r)
		return r
	}
	err := do()
	r.DurationMS = time.Since(r.Time).Milliseconds()
	r.Result = ResultOK
	if err != nil {
		r.Result, r.Error = ResultFailed, err.Error()
	}
	w.record(r)
	return r
}

// afterFailure notes a failed action and looks again after the backoff.
func (w *Watcher) afterFailure(name string, r audit.Record) {
	w.mu.Lock()
	ps := w.pubLocked(name)
	ps.lastAction, ps.lastResult, ps.lastActionAt = r.Action, r.Result, r.Time
	d := ps.tracker.Next(time.Now())
	ps.nextAttempt = d.At
	w.mu.Unlock()
	w.setPhase(name, PhaseBackoff, r.Reason, r.Error)
	w.q.AddAfter(name, max(d.Wait, time.Second))
}

// quarantine puts a crash-looping pub in quarantine: its container is
// stopped if its engine keeps restarting it, and it is retried every
// backoff.max until it stays healthy for backoff.reset_after.
func (w *Watcher) quarantine(ctx context.Context, g *generation, eng *engine.Engine, p inventory.Pub, o observation, d Decision) {
	now := time.Now()
	w.mu.Lock()
	ps := w.pubLocked(p.Name)
	ps.quarantined = true
	ps.nextAttempt = d.At
	n := ps.tracker.RestartsInWindow(now)
	w.mu.Unlock()
	rec := audit.Record{Hub: p.Hub, Pub: p.Name, Action: ActionQuarantine, Reason: ReasonCrashLoop,
		Error: fmt.Sprintf("%d restarts within %s; next try at %s", n, g.inv.Watch.CrashLoop.Window.D(), d.At.UTC().Format(time.RFC3339))}
	running := o.Exists && (o.State == "running" || o.State == "restarting")
	r := w.act(rec, func() error {
		if !running {
			return nil
		}
		timeout := int(g.inv.Watch.StopTimeout.D().Round(time.Second) / time.Second)
		return eng.Stop(ctx, o.Container, &timeout)
	})
	w.mu.Lock()
	ps.lastAction, ps.lastResult, ps.lastActionAt = r.Action, r.Result, r.Time
	w.mu.Unlock()
	w.setPhase(p.Name, PhaseQuarantined, ReasonCrashLoop, r.Error)
	w.mu.Lock()
	ps.nextAttempt = d.At
	w.mu.Unlock()
	w.q.AddAfter(p.Name, max(time.Until(d.At), time.Second))
}

// recordIdentity keeps the identity of a running pub, once per container
// start, if watch has an identity store (and is not a dry run).
func (w *Watcher) recordIdentity(ctx context.Context, g *generation, hub, name string, o observation) {
	key := o.Container.ID + "@" + o.StartedAt.String()
	w.mu.Lock()
	ps := w.pubLocked(name)
	done := ps.identityFor == key
	w.mu.Unlock()
	if done || w.cfg.Identities == nil || w.cfg.DryRun {
		w.mu.Lock()
		ps.identityDone = true
		w.mu.Unlock()
		return
	}
	start := time.Now()
	id, why, err := w.cfg.Identities.Record(ctx, g.svc, hub, o.Container)
	if err != nil {
		w.log.Warn("cannot record the identity", "pub", name, "hub", hub, "err", err)
		return
	}
	w.mu.Lock()
	ps.identityFor, ps.identityDone = key, true
	w.mu.Unlock()
	if why != "" {
		w.record(audit.Record{Time: start, Hub: hub, Pub: name, Action: ActionRecordIdentity, Reason: why,
			Result: ResultOK, DurationMS: time.Since(start).Milliseconds(), Identity: id})
	}
}

// stopStaleCopies stops copies of pub p on hubs the inventory does not
// place it on, and removes their containers, keeping their data volumes:
// never two live copies of one identity, nor a stopped one that could be
// started again.
func (w *Watcher) stopStaleCopies(ctx context.Context, g *generation, p inventory.Pub) {
	w.mu.Lock()
	ps := w.pubLocked(p.Name)
	var hubs []string
	for h := range ps.staleOn {
		hubs = append(hubs, h)
	}
	w.mu.Unlock()
	slices.Sort(hubs)
	for _, hub := range hubs {
		done := w.clearStaleCopy(ctx, g, p, hub)
		if done {
			w.mu.Lock()
			delete(ps.staleOn, hub)
			w.mu.Unlock()
		} else {
			w.q.AddAfter(p.Name, busyRetry)
		}
	}
}

// clearStaleCopy stops p's copy on hub if it runs there, then removes its
// container; done says there is nothing more to do about it.
func (w *Watcher) clearStaleCopy(ctx context.Context, g *generation, p inventory.Pub, hub string) (done bool) {
	if p.Hub == hub || p.Hub == "" {
		return true
	}
	if w.cfg.Hub != "" && hub != w.cfg.Hub {
		return true
	}
	if !w.hubConnected(hub) {
		// Looked at again when the hub connects.
		return true
	}
	switch {
	case w.sameEngine(hub, p.Hub):
		return true
	case !w.hubConnected(p.Hub) && !w.hubDown(p.Hub) && w.cfg.Hub == "":
		// Until the pub's own hub says which engine it is, the copy might be
		// its very container, seen through another hub.
		return false
	}
	eng, err := g.svc.Engine(hub)
	if err != nil {
		return true
	}
	sctx, cancel := context.WithTimeout(ctx, w.cfg.ActionTimeout)
	defer cancel()
	c, err := eng.PubContainer(sctx, p.Name)
	if engine.IsNotFound(err) {
		return true
	}
	if err != nil {
		return false
	}
	if c.State == "created" {
		// Never started: a move or restore may be filling it (it cannot
		// start on its own).
		return true
	}
	if w.applyRunning() != "" {
		return false
	}
	if c.State == "running" || c.State == "restarting" || c.State == "paused" {
		timeout := int(g.inv.Watch.StopTimeout.D().Round(time.Second) / time.Second)
		r := w.act(audit.Record{Hub: hub, Pub: p.Name, Action: ActionStopStale, Reason: ReasonStaleCopy}, func() error {
			if c.State == "paused" {
				return eng.Kill(sctx, c, "")
			}
			return eng.Stop(sctx, c, &timeout)
		})
		if r.Result == ResultFailed {
			return false
		}
	}
	r := w.act(audit.Record{Hub: hub, Pub: p.Name, Action: ActionRemoveStale, Reason: ReasonStaleCopy}, func() error {
		return eng.Remove(sctx, c)
	})
	return r.Result != ResultFailed
}
