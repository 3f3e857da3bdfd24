package watch

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"reflect"
	"sort"
	"sync"
	"time"

	"github.com/buttctl/buttctl/inventory"
	"github.com/buttctl/buttctl/ops/audit"
	"github.com/buttctl/buttctl/ops/engine"
	"github.com/buttctl/buttctl/ops/hubconn"
	"github.com/buttctl/buttctl/ops/pubs"
)

// LockName is the inventory's named lock a watcher holds while it runs:
// one watcher per inventory.
const LockName = "watch"

// Defaults of Config.
const (
	DefaultWorkers       = 8
	DefaultActionTimeout = 2 * time.Minute
	DefaultShutdownGrace = 15 * time.Second
	// Reconnects of a hub's event stream wait from ReconnectInitial,
	// doubling, up to ReconnectMax (with jitter).
	ReconnectInitial = 250 * time.Millisecond
	ReconnectMax     = 15 * time.Second
	// busyRetry is how soon a pub held by another operation is looked at again.
	busyRetry = 2 * time.Second
	// stateEvery is how often the state file is rewritten when it changed.
	stateEvery = 2 * time.Second
)

// Config says what a Watcher watches and how.
type Config struct {
	// InventoryPath is the inventory; it is read again when it changes.
	InventoryPath string
	// Hub restricts the watcher to one hub's pubs (agent mode); "" for all.
	Hub string
	// DryRun decides and records, but changes nothing.
	DryRun bool
	// Conn tunes the connections to the hubs.
	Conn hubconn.Options
	// Audit receives every action (nil: none).
	Audit *audit.Log
	// Log receives what the watcher has to say (nil: discarded).
	Log *slog.Logger
	// Metrics, if set, are kept up to date.
	Metrics *Metrics
	// Notifiers are told of kills, heals, quarantines, hubs down and up.
	Notifiers []Notifier
	// Identities keeps pubs' identities and restores pubs from them; nil:
	// no identities are recorded, and pubs whose volume is lost or whose
	// hub is down cannot be recreated.
	Identities Identities
	// Cloud reboots hubs' servers; nil when no cloud is configured.
	Cloud Rebooter
	// StatePath, if set, is where the State is written as it changes.
	StatePath string
	// Workers is how many pubs are acted on at once (DefaultWorkers).
	Workers int
	// ActionTimeout bounds one action on one pub (DefaultActionTimeout).
	ActionTimeout time.Duration
	// ShutdownGrace is how long actions under way may finish once the
	// watcher is asked to stop (DefaultShutdownGrace); then they are cancelled.
	ShutdownGrace time.Duration
	// Rand returns numbers in [0, 1) for jitter (math/rand by default).
	Rand func() float64
	// LockWait is how long to wait for another watcher's lock (0: fail at once).
	LockWait time.Duration
}

// Identities keeps pubs' identities (ops/identity's local store) and
// recreates pubs from them.
type Identities interface {
	// Record keeps the secret of c, pub's container on hub, if it is new
	// or changed; why is ReasonFirstSeen or ReasonChanged then, "" when
	// the store had it already. id is the pub's public id.
	Record(ctx context.Context, svc *pubs.Service, hub string, c engine.Container) (id, why string, err error)
	// Has reports whether an identity of pub is kept.
	Has(pub string) bool
	// Restore creates pub on hub from its kept identity, checks it
	// answers with it, and places it there in the inventory; the hubs in
	// assumeDown are known to be dead. It returns the pub's id.
	Restore(ctx context.Context, svc *pubs.Service, pub, hub string, assumeDown []string) (id string, err error)
	// Busy says why another operation holds pub (an unfinished move), or "".
	Busy(pub string) string
}

// Rebooter hard-reboots the cloud server of a hub.
type Rebooter interface {
	RebootHub(ctx context.Context, hub inventory.Hub) error
}

// Watcher keeps the pubs of one inventory running. Run it once.
type Watcher struct {
	cfg    Config
	log    *slog.Logger
	q      *queue
	notify *notifyQueue
	rand   func() float64
	// reload asks Run to read the inventory again if its file changed.
	reload chan struct{}

	genMu sync.RWMutex
	gen   *generation

	mu            sync.Mutex
	policy        Policy
	watchCfg      inventory.Watch
	pubs          map[string]*pubState
	hubs          map[string]*hubState
	reserved      map[string]int // pubs being reallocated to each hub
	lastReconcile time.Time
	stateDirty    bool
	saidNoCloud   bool
	invProblem    string
	once          bool
	// onRecord, if set, sees every record (Once collects them).
	onRecord func(audit.Record)
}

// generation is one version of the inventory and what is built from it.
type generation struct {
	inv   *inventory.Inventory
	conns *hubconn.Conns
	svc   *pubs.Service
	stamp fileStamp
	users sync.WaitGroup
	// stopHubs stops the event streams of this generation's connections.
	stopHubs context.CancelFunc
}

type fileStamp struct {
	mod  time.Time
	size int64
}

func stampOf(path string) (fileStamp, error) {
	st, err := os.Stat(path)
	if err != nil {
		return fileStamp{}, err
	}
	return fileStamp{mod: st.ModTime(), size: st.Size()}, nil
}

// New returns a watcher of the inventory cfg names. Nothing is contacted
// until Run or Once.
func New(cfg Config) (*Watcher, error) {
	if cfg.InventoryPath == "" {
		return nil, errors.New("watch: no inventory")
	}
	if cfg.Workers <= 0 {
		cfg.Workers = DefaultWorkers
	}
	if cfg.ActionTimeout <= 0 {
		cfg.ActionTimeout = DefaultActionTimeout
	}
	if cfg.ShutdownGrace <= 0 {
		cfg.ShutdownGrace = DefaultShutdownGrace
	}
	log := cfg.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	r := cfg.Rand
	if r == nil {
		r = rand.Float64
	}
	w := &Watcher{
		cfg: cfg, log: log, q: newQueue(), rand: r, reload: make(chan struct{}, 1),
		pubs: map[string]*pubState{}, hubs: map[string]*hubState{}, reserved: map[string]int{},
	}
	if cfg.Metrics != nil {
		cfg.Metrics.reg.MustRegister(newStateCollector(w))
	}
	return w, nil
}

// load reads the inventory and builds a generation from it, reusing the
// connections of prev when the hubs and SSH settings are the same.
func (w *Watcher) load(prev *generation) (*generation, error) {
	stamp, err := stampOf(w.cfg.InventoryPath)
	if err != nil {
		return nil, fmt.Errorf("inventory: %w", err)
	}
	inv, err := inventory.Load(w.cfg.InventoryPath)
	if err != nil {
		return nil, err
	}
	if w.cfg.Hub != "" {
		if _, ok := inv.Hub(w.cfg.Hub); !ok {
			return nil, fmt.Errorf("hub %s is not in the inventory %s", w.cfg.Hub, w.cfg.InventoryPath)
		}
	}
	g := &generation{inv: inv, stamp: stamp}
	if prev != nil && sameHubs(prev.inv, inv) {
		g.conns = prev.conns
	} else {
		g.conns = hubconn.New(inv, w.cfg.Conn)
	}
	g.svc = pubs.New(inv, g.conns)
	g.svc.Operator = "buttctl watch"
	return g, nil
}

// sameHubs reports whether a and b reach the same hubs the same way.
func sameHubs(a, b *inventory.Inventory) bool {
	return reflect.DeepEqual(a.Hubs, b.Hubs) && reflect.DeepEqual(a.SSH, b.SSH)
}

// acquire returns the current generation, kept alive until release.
func (w *Watcher) acquire() *generation {
	w.genMu.RLock()
	defer w.genMu.RUnlock()
	w.gen.users.Add(1)
	return w.gen
}

func (g *generation) release() { g.users.Done() }

// install makes g the current generation and applies its watch settings;
// the previous one is closed once nothing uses it.
func (w *Watcher) install(g *generation) {
	w.genMu.Lock()
	prev := w.gen
	w.gen = g
	w.genMu.Unlock()
	w.mu.Lock()
	w.watchCfg = g.inv.Watch
	w.policy = PolicyOf(g.inv.Watch)
	for _, ps := range w.pubs {
		ps.tracker.policy = w.policy
	}
	w.stateDirty = true
	w.mu.Unlock()
	if prev != nil {
		go func() {
			prev.users.Wait()
			prev.svc.Close()
			if prev.conns != g.conns {
				if prev.stopHubs != nil {
					prev.stopHubs()
				}
				prev.conns.Close()
			}
		}()
	}
}

// askReload asks Run to read the inventory again if its file changed (a
// pub it does not know has appeared on a hub: it may have just been added).
func (w *Watcher) askReload() {
	select {
	case w.reload <- struct{}{}:
	default: // one is pending already
	}
}

// followInventory asks for a reload each time the inventory's file changes,
// until ctx is done. Without inotify, Docker events about pubs the watcher
// does not know and the periodic reconcile still read it again.
func (w *Watcher) followInventory(ctx context.Context) {
	changes, err := fileChanges(ctx, w.cfg.InventoryPath)
	if err != nil {
		w.log.Warn("the inventory's changes are noticed at the next reconcile, or when a new pub's container appears", "err", err)
		return
	}
	go func() {
		for range changes {
			w.askReload()
		}
	}()
}

// refresh reads the inventory again if its file changed, and reports
// whether it did. An invalid inventory is reported once and the previous
// one kept.
func (w *Watcher) refresh(ctx context.Context) bool {
	cur := w.current()
	stamp, err := stampOf(w.cfg.InventoryPath)
	if err != nil || stamp == cur.stamp {
		return false
	}
	g, err := w.load(cur)
	if err != nil {
		msg := err.Error()
		w.mu.Lock()
		said := w.invProblem == msg
		w.invProblem = msg
		w.mu.Unlock()
		if !said {
			w.log.Error("inventory changed but cannot be used; keeping the previous one", "err", msg)
		}
		return false
	}
	w.mu.Lock()
	w.invProblem = ""
	w.mu.Unlock()
	hubsChanged := g.conns != cur.conns
	if hubsChanged {
		g.stopHubs = nil
	} else {
		g.stopHubs = cur.stopHubs
	}
	w.install(g)
	w.log.Info("inventory changed; using it", "path", w.cfg.InventoryPath, "hubs", len(g.inv.Hubs), "pubs", len(g.inv.Pubs))
	if hubsChanged && !w.once {
		w.startHubs(ctx, g)
	}
	w.enqueueAll(g)
	return true
}

func (w *Watcher) current() *generation {
	w.genMu.RLock()
	defer w.genMu.RUnlock()
	return w.gen
}

// watchedHubs are the hubs of g the watcher follows.
func (w *Watcher) watchedHubs(g *generation) []inventory.Hub {
	if w.cfg.Hub != "" {
		h, _ := g.inv.Hub(w.cfg.Hub)
		return []inventory.Hub{*h}
	}
	return g.inv.Hubs
}

// enqueueAll queues every pub of the inventory that the watcher looks after.
func (w *Watcher) enqueueAll(g *generation) {
	for _, p := range g.inv.Pubs {
		if w.cfg.Hub == "" || p.Hub == w.cfg.Hub {
			w.q.Add(p.Name)
		}
	}
}

// lock takes the watcher's lock of the inventory.
func (w *Watcher) lock(ctx context.Context) (func() error, error) {
	purpose := "buttctl watch"
	if w.cfg.Hub != "" {
		purpose += " --hub " + w.cfg.Hub
	}
	return inventory.Lock(ctx, w.cfg.InventoryPath, inventory.LockOptions{Name: LockName, Purpose: purpose, Wait: w.cfg.LockWait})
}

// Run watches until ctx is done, then lets actions under way finish (within
// ShutdownGrace) and returns nil. It fails at once when another watcher of
// the inventory runs (an *inventory.LockedError) or the inventory is unusable.
func (w *Watcher) Run(ctx context.Context) error {
	unlock, err := w.lock(ctx)
	if err != nil {
		return err
	}
	defer unlock()
	g, err := w.load(nil)
	if err != nil {
		return err
	}
	w.install(g)
	defer func() {
		cur := w.current()
		if cur.stopHubs != nil {
			cur.stopHubs()
		}
		cur.users.Wait()
		cur.svc.Close()
		cur.conns.Close()
	}()
	w.notify = newNotifyQueue(w.cfg.Notifiers, func() { w.log.Warn("notifications fall behind; one was dropped") },
		func(err error) { w.log.Warn("notification failed", "err", err) })
	defer w.notify.close()
	w.log.Info("watching", "inventory", w.cfg.InventoryPath, "hub", w.cfg.Hub, "dry_run", w.cfg.DryRun,
		"hubs", len(w.watchedHubs(g)), "pubs", len(g.inv.Pubs), "reconcile", g.inv.Watch.Reconcile.D().String())

	// Actions get a context of their own: stopping the watcher lets them
	// finish (within the grace) rather than cutting them in half.
	actx, cancelActions := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelActions()
	workers := w.startWorkers(ctx, actx)
	w.followInventory(ctx)
	w.startHubs(ctx, g)
	w.enqueueAll(g)

	ticker := time.NewTicker(g.inv.Watch.Reconcile.D())
	defer ticker.Stop()
	stateTicker := time.NewTicker(stateEvery)
	defer stateTicker.Stop()
	period := g.inv.Watch.Reconcile.D()
	for {
		select {
		case <-ctx.Done():
			w.log.Info("stopping: letting actions under way finish", "grace", w.cfg.ShutdownGrace.String())
			w.q.Stop()
			done := make(chan struct{})
			go func() { workers.Wait(); close(done) }()
			select {
			case <-done:
			case <-time.After(w.cfg.ShutdownGrace):
				w.log.Warn("actions still under way after the grace: cancelling them")
				cancelActions()
				<-done
			}
			w.writeState(true)
			w.log.Info("stopped")
			return nil
		case <-w.reload:
			w.refresh(ctx)
		case <-ticker.C:
			w.refresh(ctx)
			w.reconcile(actx, w.current())
			if p := w.current().inv.Watch.Reconcile.D(); p != period {
				period = p
				ticker.Reset(p)
			}
		case <-stateTicker.C:
			w.writeState(false)
		}
	}
}

// startWorkers starts the workers that sync queued pubs until ctx is done.
func (w *Watcher) startWorkers(ctx, actx context.Context) *sync.WaitGroup {
	var wg sync.WaitGroup
	for range w.cfg.Workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				key, ok := w.q.Get(ctx)
				if !ok {
					return
				}
				w.sync(actx, key)
				w.q.Done(key)
			}
		}()
	}
	return &wg
}

// reconcile is the periodic safety net: it lists every connected hub's
// containers and queues the pubs that are not plainly fine, and the
// copies of pubs on hubs the inventory does not place them on.
func (w *Watcher) reconcile(ctx context.Context, g *generation) {
	start := time.Now()
	var wg sync.WaitGroup
	for _, h := range w.watchedHubs(g) {
		if !w.hubConnected(h.Name) {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			eng, err := g.svc.Engine(h.Name)
			if err != nil {
				return
			}
			rctx, cancel := context.WithTimeout(ctx, w.cfg.ActionTimeout)
			defer cancel()
			w.reconcileHub(rctx, g, h.Name, eng)
		}()
	}
	wg.Wait()
	// Pubs on hubs that are down are looked at too (reallocation).
	for _, p := range g.inv.Pubs {
		if p.Hub != "" && (w.cfg.Hub == "" || p.Hub == w.cfg.Hub) && w.hubDown(p.Hub) {
			w.q.Add(p.Name)
		}
	}
	now := time.Now()
	w.mu.Lock()
	w.lastReconcile = now
	w.stateDirty = true
	w.mu.Unlock()
	w.cfg.Metrics.reconciled(float64(now.UnixNano()) / 1e9)
	w.log.Debug("reconciled", "took", time.Since(start))
}

// reconcileHub lists hub's containers and queues what needs a look.
func (w *Watcher) reconcileHub(ctx context.Context, g *generation, hub string, eng *engine.Engine) {
	cs, err := eng.Containers(ctx)
	if err != nil {
		w.log.Warn("reconcile: cannot list containers", "hub", hub, "err", err)
		return
	}
	byPub := map[string]engine.Container{}
	for _, c := range cs {
		byPub[c.Pub] = c
	}
	now := time.Now()
	for _, p := range g.inv.PubsOn(hub) {
		c, ok := byPub[p.Name]
		if ok && p.State == inventory.StateRunning && c.State == "running" && (c.Health == "healthy" || c.Health == "") && w.plainlyFine(p.Name, c, now) {
			continue
		}
		w.q.Add(p.Name)
	}
	for _, c := range cs {
		p, ok := g.inv.Pub(c.Pub)
		if !ok || p.Hub == "" || p.Hub == hub || w.sameEngine(hub, p.Hub) {
			continue
		}
		if c.State != "removing" {
			w.markStale(c.Pub, hub)
			w.q.Add(c.Pub)
		}
	}
}

// plainlyFine notes a pub seen running and healthy by a reconcile, and
// reports whether watch has nothing else pending for it.
func (w *Watcher) plainlyFine(name string, c engine.Container, now time.Time) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	ps, ok := w.pubs[name]
	if !ok || ps.containerID != c.ID || ps.phase != PhaseRunning || len(ps.staleOn) > 0 || !ps.identityDone {
		return false
	}
	ps.tracker.Healthy(now)
	w.leaveQuarantineLocked(ps, now)
	return true
}

// State is what the watcher knows now.
func (w *Watcher) State() State {
	g := w.current()
	w.mu.Lock()
	defer w.mu.Unlock()
	now := time.Now()
	st := State{Updated: now.UTC(), PID: os.Getpid(), Inventory: w.cfg.InventoryPath, Hub: w.cfg.Hub, DryRun: w.cfg.DryRun,
		Hubs: []HubState{}, Pubs: []PubState{}}
	if !w.lastReconcile.IsZero() {
		t := w.lastReconcile.UTC()
		st.LastReconcile = &t
	}
	if g == nil {
		return st
	}
	for _, h := range w.watchedHubs(g) {
		hs := HubState{Name: h.Name}
		if s, ok := w.hubs[h.Name]; ok {
			hs = s.snapshot()
		}
		st.Hubs = append(st.Hubs, hs)
	}
	for _, p := range g.inv.Pubs {
		if w.cfg.Hub != "" && p.Hub != w.cfg.Hub {
			continue
		}
		ps := PubState{Name: p.Name, Hub: p.Hub, Phase: PhaseUnknown}
		if s, ok := w.pubs[p.Name]; ok {
			ps = s.snapshot(now)
		}
		ps.Hub = p.Hub
		if p.State == inventory.StateStopped && ps.Phase == PhaseUnknown {
			ps.Phase = PhaseStopped
		}
		if h, ok := w.hubs[p.Hub]; ok && !h.connected && ps.Phase != PhaseStopped {
			if h.down {
				ps.Phase, ps.Reason = PhaseHubDown, ReasonHubDown
			} else {
				ps.Reason = ReasonHubUnreachable
			}
		}
		st.Pubs = append(st.Pubs, ps)
	}
	sort.Slice(st.Pubs, func(i, j int) bool { return st.Pubs[i].Name < st.Pubs[j].Name })
	return st
}

// writeState writes the state file if it changed (or when forced).
func (w *Watcher) writeState(force bool) {
	if w.cfg.StatePath == "" {
		return
	}
	w.mu.Lock()
	dirty := w.stateDirty
	w.stateDirty = false
	w.mu.Unlock()
	if !dirty && !force {
		return
	}
	st := w.State()
	if err := writeState(w.cfg.StatePath, &st); err != nil {
		w.log.Warn("cannot write the state file", "path", w.cfg.StatePath, "err", err)
	}
}

// Healthy says whether the watcher's loop is alive: nil when its last full
// reconcile is recent (within three periods), else why not.
func (w *Watcher) Healthy() error {
	g := w.current()
	if g == nil {
		return errors.New("not started")
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	period := w.watchCfg.Reconcile.D()
	if w.lastReconcile.IsZero() {
		return nil
	}
	if age := time.Since(w.lastReconcile); age > 3*period {
		return fmt.Errorf("last reconcile %s ago (period %s)", age.Round(time.Second), period)
	}
	return nil
}

// record writes r to the audit log, counts it, and notifies.
func (w *Watcher) record(r audit.Record) {
	if r.Time.IsZero() {
		r.Time = time.Now()
	}
	r.Source = audit.SourceWatch
	if err := w.cfg.Audit.Write(r); err != nil {
		w.log.Error("cannot write the audit log", "err", err)
	}
	w.cfg.Metrics.action(r.Action, r.Result)
	w.notify.send(r)
	if w.onRecord != nil {
		w.onRecord(r)
	}
	attrs := []any{"action", r.Action, "hub", r.Hub, "reason", r.Reason, "result", r.Result, "duration_ms", r.DurationMS}
	if r.Pub != "" {
		attrs = append(attrs, "pub", r.Pub)
	}
	if r.From != "" {
		attrs = append(attrs, "from", r.From)
	}
	if r.Error != "" {
		attrs = append(attrs, "err", r.Error)
	}
	switch r.Result {
	case ResultFailed:
		w.log.Warn(r.Action, attrs...)
	default:
		w.log.Info(r.Action, attrs...)
	}
}
