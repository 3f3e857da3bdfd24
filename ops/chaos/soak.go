package chaos

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/moby/moby/client"

	"github.com/buttctl/buttctl/inventory"
	"github.com/buttctl/buttctl/ops/audit"
	"github.com/buttctl/buttctl/ops/engine"
	"github.com/buttctl/buttctl/ops/pubs"
	"github.com/buttctl/buttctl/ops/pubspec"
	"github.com/buttctl/buttctl/ops/testworld"
	"github.com/buttctl/buttctl/ops/watch"
)

// Options say what soak to run.
type Options struct {
	// Duration is how long faults are injected (checkpoints included); the
	// final check follows.
	Duration time.Duration
	// Seed drives every random choice: the same seed, the same faults.
	Seed uint64
	// Hubs and Pubs size the fleet (at least 3 and 12).
	Hubs, Pubs int
	// Dir holds the world, the inventory, logs and the report.
	Dir string
	// Buttctl is the buttctl binary under test.
	Buttctl string
	// Checkpoint is the time between checkpoints (default 60s).
	Checkpoint time.Duration
	// MeanGap is the mean time between two faults (default 6s).
	MeanGap time.Duration
	// Recover is how long the fleet gets to recover from a fault, and to
	// converge at a checkpoint (default 3m).
	Recover time.Duration
	// Logf receives progress lines.
	Logf func(format string, args ...any)
}

// The settings of watch in the soak's inventory: short, so that a few
// minutes hold many heals, hub-downs and reallocations.
const (
	hubDownAfter = 10 * time.Second
	watchSection = `
# chaos: watch tuned short, so that minutes hold many heals and reallocations.
watch:
  unhealthy_grace: 3s
  stop_timeout: 3s
  backoff: {initial: 1s, max: 10s, reset_after: 30s}
  hub_down_after: 10s
  reconcile: 10s
  crash_loop: {restarts: 5, window: 2m}
  reallocate: true
`
	// defaultsExtra: no engine restarts (reallocation needs restart "no":
	// a hub that comes back must not start stale copies), quick health checks.
	defaultsExtra = "  restart: \"no\"\n  health: {interval: 1s, timeout: 3s, retries: 2}\n"
	// marker is a comment every inventory edit must keep.
	marker = "# chaos: this comment must survive every edit of this file."
)

// Fault kinds, in the order the report lists them.
const (
	KindKillPub       = "kill-pub"         // SIGKILL of a pub's process
	KindWedgePub      = "unhealthy-pub"    // its health check fails until it restarts
	KindRemovePub     = "remove-container" // its container removed behind buttctl's back
	KindRestartEngine = "restart-engine"   // a hub's Docker engine restarted
	KindKillSSHD      = "kill-sshd"        // a hub's sshd killed, restarted a few seconds later
	KindCutNetwork    = "cut-network"      // a hub cut off the network, restored a few seconds later
	KindPowerOff      = "power-off"        // a hub off for longer than hub_down_after
	KindKillWatch     = "kill-watch"       // kill -9 of buttctl watch; restarted as systemd would
	KindApply         = "apply"            // buttctl apply --yes while watch runs
	KindEditInventory = "edit-inventory"   // a pub stopped or started in the inventory, then applied
)

// Kinds are every fault kind.
var Kinds = []string{KindKillPub, KindWedgePub, KindRemovePub, KindRestartEngine, KindKillSSHD,
	KindCutNetwork, KindPowerOff, KindKillWatch, KindApply, KindEditInventory}

func isHubKind(k string) bool {
	return k == KindRestartEngine || k == KindKillSSHD || k == KindCutNetwork || k == KindPowerOff
}

func isPubKind(k string) bool { return k == KindKillPub || k == KindWedgePub || k == KindRemovePub }

func isOperatorKind(k string) bool { return k == KindApply || k == KindEditInventory }

// driver is one soak.
type driver struct {
	opts       Options
	rng        *rand.Rand // the scheduler's; each fault gets a generator of its own
	world      *testworld.World
	hubs       map[string]*testworld.Hub
	apis       map[string]*client.Client
	invPath    string
	env        []string
	obs        *observer
	watch      *watchProc
	pubs       []string
	identities map[string]string // pub → its SSB id at the start
	comments   []string          // the inventory's comment lines at the start
	volumes    map[string]bool   // "hub/volume" seen at a check: must never vanish
	policy     watch.Policy

	mu          sync.Mutex
	busyHub     string          // the hub under a hub fault
	busyPubs    map[string]bool // pubs under a pub fault or edit
	operator    bool            // an apply or edit is running
	stoppedPub  string          // the pub an edit set to stopped ("" when none)
	faults      []*Fault
	inflight    sync.WaitGroup
	applyLog    *os.File
	applyLogMu  sync.Mutex
	checkpoints []Checkpoint
}

// Run runs a soak and returns its report; err is for a soak that could not
// run at all (the world did not start), not for a failed assertion.
func Run(ctx context.Context, opts Options) (*Report, error) {
	if opts.Hubs < 3 {
		opts.Hubs = 3
	}
	if opts.Pubs < 12 {
		opts.Pubs = 12
	}
	if opts.Checkpoint <= 0 {
		opts.Checkpoint = time.Minute
	}
	if opts.MeanGap <= 0 {
		opts.MeanGap = 6 * time.Second
	}
	if opts.Recover <= 0 {
		opts.Recover = 3 * time.Minute
	}
	if opts.Logf == nil {
		opts.Logf = func(string, ...any) {}
	}
	if err := os.MkdirAll(opts.Dir, 0o700); err != nil {
		return nil, err
	}
	// What an earlier soak in Dir left (its world is stopped by Start).
	for _, name := range []string{"buttctl.yaml", "buttctl.yaml.bak", "buttctl.yaml.lock", "buttctl.yaml.watch.lock",
		"audit.jsonl", "buttctl.log", "watch.log", "report.txt", "report.json", "home"} {
		if err := os.RemoveAll(filepath.Join(opts.Dir, name)); err != nil {
			return nil, err
		}
	}
	d := &driver{opts: opts, rng: newSchedulerRand(opts.Seed), hubs: map[string]*testworld.Hub{},
		apis: map[string]*client.Client{}, identities: map[string]string{}, volumes: map[string]bool{}, busyPubs: map[string]bool{}}
	rep := &Report{Seed: opts.Seed, Duration: opts.Duration.String(), Started: time.Now(), Hubs: opts.Hubs, Pubs: opts.Pubs}

	w, err := testworld.Start(ctx, testworld.Options{Hubs: opts.Hubs, Dir: filepath.Join(opts.Dir, "world"), Logf: opts.Logf})
	if err != nil {
		return nil, fmt.Errorf("starting the test world: %w", err)
	}
	d.world = w
	defer func() {
		sctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		if err := w.Stop(sctx); err != nil {
			opts.Logf("chaos: stopping the world: %v", err)
		}
	}()
	for _, h := range w.Hubs {
		api, err := h.DockerClient()
		if err != nil {
			return nil, err
		}
		defer api.Close()
		d.hubs[h.Name], d.apis[h.Name] = h, api
	}
	runCtx, stopObserving := context.WithCancel(ctx)
	defer stopObserving()
	d.obs = newObserver(d.apis)
	go d.obs.run(runCtx)

	err = d.setUp(ctx)
	if d.watch != nil {
		defer d.watch.stop() // also when setUp failed after starting it
	}
	if err != nil {
		return nil, err
	}
	go d.watch.supervise(runCtx)

	d.soak(ctx)

	d.watch.stop()
	stopObserving()
	rep.Ended = time.Now()
	d.mu.Lock()
	for _, f := range d.faults {
		rep.Faults = append(rep.Faults, *f)
	}
	d.mu.Unlock()
	rep.Checkpoints = d.checkpoints
	rep.summarize(Kinds)
	rep.Duplicates = d.obs.finish()
	rep.WatchStarts, rep.WatchCrashes = d.watch.starts, d.watch.crashes
	rep.Failures = append(rep.Failures, d.watch.crashLog...)
	d.audit(rep)
	for _, c := range rep.Checkpoints {
		if !c.Passed {
			rep.Failures = append(rep.Failures, fmt.Sprintf("checkpoint at %s: %s", c.At.Format(time.TimeOnly), strings.Join(c.Problems, "; ")))
		}
	}
	for _, f := range rep.Faults {
		if f.Error == "" && !f.Recovered {
			rep.Failures = append(rep.Failures, fmt.Sprintf("%s %s at %s never recovered: %s", f.Kind, f.Target, f.At.Format(time.TimeOnly), f.Problem))
		} else if f.Recovered && f.Problem != "" {
			rep.Failures = append(rep.Failures, fmt.Sprintf("%s %s at %s: %s", f.Kind, f.Target, f.At.Format(time.TimeOnly), f.Problem))
		}
	}
	if ctx.Err() != nil {
		rep.Failures = append(rep.Failures, "the soak was interrupted: "+ctx.Err().Error())
	}
	return rep, nil
}

// setUp writes the inventory, creates the fleet with buttctl apply, notes
// each pub's identity and starts watch.
func (d *driver) setUp(ctx context.Context) error {
	d.invPath = filepath.Join(d.opts.Dir, "buttctl.yaml")
	home := filepath.Join(d.opts.Dir, "home")
	if err := os.MkdirAll(home, 0o700); err != nil {
		return err
	}
	d.env = []string{"HOME=" + home, "PATH=" + os.Getenv("PATH"), "BUTTCTL_INVENTORY=" + d.invPath,
		"BUTTCTL_AUDIT_LOG=" + filepath.Join(d.opts.Dir, "audit.jsonl"), "NO_COLOR=1"}
	var err error
	if d.applyLog, err = os.OpenFile(filepath.Join(d.opts.Dir, "buttctl.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600); err != nil {
		return err
	}

	var ps []testworld.Pub
	for i := range d.opts.Pubs {
		port, err := d.world.AllocPort()
		if err != nil {
			return err
		}
		name := fmt.Sprintf("pub-%02d", i+1)
		d.pubs = append(d.pubs, name)
		ps = append(ps, testworld.Pub{Name: name, Hub: d.world.Hubs[i%len(d.world.Hubs)].Name, Port: port})
	}
	if err := d.world.WriteInventory(d.invPath, ps...); err != nil {
		return err
	}
	text, err := os.ReadFile(d.invPath)
	if err != nil {
		return err
	}
	patched := strings.Replace(string(text), "\ndefaults:\n", "\n"+marker+"\ndefaults:\n"+defaultsExtra, 1)
	if patched == string(text) {
		return errors.New("the world's inventory has no defaults section")
	}
	patched += watchSection
	if err := os.WriteFile(d.invPath, []byte(patched), 0o644); err != nil {
		return err
	}
	inv, err := inventory.Load(d.invPath)
	if err != nil {
		return err
	}
	d.policy = watch.PolicyOf(inv.Watch)
	for _, line := range strings.Split(patched, "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "#") {
			d.comments = append(d.comments, strings.TrimSpace(line))
		}
	}

	d.opts.Logf("chaos: creating %d pubs on %d hubs with buttctl apply", len(d.pubs), len(d.hubs))
	if code, out := d.buttctl(ctx, "apply", "--yes", "--wait", "2m"); code != 0 {
		return fmt.Errorf("buttctl apply (creating the fleet) exited %d:\n%s", code, out)
	}
	if err := d.waitConverged(ctx, time.Now(), 2*time.Minute); err != nil {
		return fmt.Errorf("the fleet did not come up: %w", err)
	}
	for _, p := range d.pubs {
		pb, _ := inv.Pub(p)
		id, err := d.whoami(ctx, pb.Hub, p)
		if err != nil {
			return err
		}
		d.identities[p] = id
	}
	for hub := range d.hubs {
		vols, err := d.volumesOn(ctx, hub)
		if err != nil {
			return err
		}
		for _, v := range vols {
			d.volumes[hub+"/"+v] = true
		}
	}

	addr, err := freeAddr()
	if err != nil {
		return err
	}
	d.watch = &watchProc{argv: []string{d.opts.Buttctl, "watch", "--log-format", "json", "--metrics-addr", addr},
		env: d.env, logPath: filepath.Join(d.opts.Dir, "watch.log"), healthz: addr}
	if err := d.watch.start(); err != nil {
		return err
	}
	// Faults begin once watch keeps every identity (it records each pub's
	// secret when it first sees it; reallocation needs it).
	deadline := time.Now().Add(2 * time.Minute)
	for {
		missing := d.unrecorded()
		if len(missing) == 0 {
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("watch did not record the identities of %s within 2m (see %s)", strings.Join(missing, ", "), d.watch.logPath)
		}
		if err := pause(ctx, 500*time.Millisecond); err != nil {
			return err
		}
	}
	d.opts.Logf("chaos: fleet up, identities recorded; faults begin (seed %d)", d.opts.Seed)
	return nil
}

// unrecorded lists the pubs watch has not recorded the identity of yet.
func (d *driver) unrecorded() []string {
	recs, _ := audit.ReadFile(filepath.Join(d.opts.Dir, "audit.jsonl"))
	done := map[string]bool{}
	for _, r := range recs {
		if r.Action == watch.ActionRecordIdentity && r.Result == watch.ResultOK {
			done[r.Pub] = true
		}
	}
	var missing []string
	for _, p := range d.pubs {
		if !done[p] {
			missing = append(missing, p)
		}
	}
	return missing
}

// soak injects faults until Duration is over, with checkpoints, then the
// final check.
func (d *driver) soak(ctx context.Context) {
	start := time.Now()
	end := start.Add(d.opts.Duration)
	nextCheckpoint := start.Add(d.opts.Checkpoint)
	var deck []string
	n := uint64(0)
	for ctx.Err() == nil && time.Now().Before(end) {
		if !time.Now().Before(nextCheckpoint) {
			d.checkpoint(ctx, false)
			nextCheckpoint = time.Now().Add(d.opts.Checkpoint)
			continue
		}
		gap := time.Duration(d.rng.ExpFloat64() * float64(d.opts.MeanGap))
		gap = max(time.Second, min(gap, 4*d.opts.MeanGap))
		if pause(ctx, gap) != nil {
			break
		}
		if len(deck) == 0 {
			deck = append([]string(nil), Kinds...)
			d.rng.Shuffle(len(deck), func(i, j int) { deck[i], deck[j] = deck[j], deck[i] })
		}
		// The first kind of the deck that can run now (one hub fault and one
		// apply at a time; a pub fault needs a pub nothing else is doing).
		for i, k := range deck {
			n++
			f, ok := d.begin(k, rand.New(rand.NewPCG(d.opts.Seed, n)))
			if !ok {
				continue
			}
			deck = append(deck[:i], deck[i+1:]...)
			d.inflight.Add(1)
			go func() {
				defer d.inflight.Done()
				d.run(ctx, f)
			}()
			break
		}
	}
	d.checkpoint(ctx, true)
}

// plan is a fault chosen, and what it needs to run.
type plan struct {
	fault *Fault
	r     *rand.Rand
	inv   *inventory.Inventory
}

// begin picks the target of a fault of kind k and reserves it; false when
// none is free.
func (d *driver) begin(k string, r *rand.Rand) (*plan, bool) {
	inv, err := inventory.Load(d.invPath)
	if err != nil {
		return nil, false
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	f := &Fault{Kind: k}
	switch {
	case isHubKind(k):
		if d.busyHub != "" {
			return nil, false
		}
		// A hub with pubs to lose, when there is one: pubs gather on the
		// hubs that stay up.
		var names, withPubs []string
		for _, h := range d.world.Hubs {
			names = append(names, h.Name)
			for _, p := range inv.PubsOn(h.Name) {
				if p.State != "stopped" {
					withPubs = append(withPubs, h.Name)
					break
				}
			}
		}
		if len(withPubs) > 0 {
			names = withPubs
		}
		f.Target = names[r.IntN(len(names))]
		d.busyHub = f.Target
		for _, p := range inv.PubsOn(f.Target) {
			if p.State != "stopped" {
				f.Pubs = append(f.Pubs, p.Name)
			}
		}
	case isPubKind(k):
		var ok bool
		if f.Target, ok = d.pickPub(inv, r, func(p inventory.Pub) bool { return p.State != "stopped" && p.Hub != d.busyHub }); !ok {
			return nil, false
		}
		f.Pubs = []string{f.Target}
		d.busyPubs[f.Target] = true
	case isOperatorKind(k):
		if d.operator {
			return nil, false
		}
		if k == KindEditInventory {
			f.Target = d.stoppedPub
			if f.Target == "" {
				var ok bool
				if f.Target, ok = d.pickPub(inv, r, func(inventory.Pub) bool { return true }); !ok {
					return nil, false
				}
			}
			f.Pubs = []string{f.Target}
			d.busyPubs[f.Target] = true
		}
		d.operator = true
	}
	f.At = time.Now()
	d.faults = append(d.faults, f)
	return &plan{fault: f, r: r, inv: inv}, true
}

// pickPub picks at random a pub of inv that nothing else is doing and that
// ok accepts. d.mu must be held.
func (d *driver) pickPub(inv *inventory.Inventory, r *rand.Rand, ok func(inventory.Pub) bool) (string, bool) {
	var free []string
	for _, p := range inv.Pubs {
		if !d.busyPubs[p.Name] && ok(p) {
			free = append(free, p.Name)
		}
	}
	if len(free) == 0 {
		return "", false
	}
	return free[r.IntN(len(free))], true
}

// end releases what begin reserved.
func (d *driver) end(f *Fault) {
	d.mu.Lock()
	defer d.mu.Unlock()
	switch {
	case isHubKind(f.Kind):
		d.busyHub = ""
	case isPubKind(f.Kind):
		delete(d.busyPubs, f.Target)
	case isOperatorKind(f.Kind):
		d.operator = false
		if f.Kind == KindEditInventory {
			delete(d.busyPubs, f.Target)
		}
	}
}

// run injects one fault, undoes it when it is a temporary one, and waits
// until the fleet has recovered from it.
func (d *driver) run(ctx context.Context, p *plan) {
	f := p.fault
	defer d.end(f)
	d.opts.Logf("chaos: %s %s", f.Kind, f.Target)
	recovered, from, err := d.inject(ctx, p)
	if err != nil {
		d.setFault(f, func() { f.Error = err.Error() })
		d.opts.Logf("chaos: %s %s: injection failed: %v", f.Kind, f.Target, err)
		return
	}
	deadline := time.Now().Add(d.opts.Recover)
	for {
		problem := recovered(ctx)
		if problem == "" {
			d.setFault(f, func() {
				if !f.Recovered { // a power-off's pubs may have recovered while it lasted
					f.Recovered, f.RecoverS = true, time.Since(from).Seconds()
				}
			})
			d.opts.Logf("chaos: %s %s recovered in %.1fs", f.Kind, f.Target, f.RecoverS)
			break
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			d.setFault(f, func() { f.Problem, f.Recovered = problem, false })
			d.opts.Logf("chaos: %s %s did not recover: %s", f.Kind, f.Target, problem)
			return
		}
		pause(ctx, 500*time.Millisecond)
	}
	// Recovered pubs must still be who they were.
	for _, pub := range f.Pubs {
		if problem := d.identityProblem(ctx, pub); problem != "" {
			d.setFault(f, func() { f.Problem = problem })
		}
	}
}

func (d *driver) setFault(f *Fault, set func()) {
	d.mu.Lock()
	defer d.mu.Unlock()
	set()
}

// inject carries out the fault and returns the test of its recovery (""
// when recovered, else what is still wrong) and the time recovery is
// counted from: the injection, or for a cut or an sshd outage the moment it
// was undone (the time it lasted is HoldS). A power-off counts from the
// power-off: its pubs are to run again elsewhere while it lasts.
func (d *driver) inject(ctx context.Context, p *plan) (func(context.Context) string, time.Time, error) {
	f := p.fault
	switch f.Kind {
	case KindKillPub, KindWedgePub, KindRemovePub:
		pb, _ := p.inv.Pub(f.Target)
		hub, name := pb.Hub, pubspec.ContainerName(f.Target)
		before, err := d.apis[hub].ContainerInspect(ctx, name, client.ContainerInspectOptions{})
		if err != nil {
			return nil, time.Time{}, err
		}
		switch f.Kind {
		case KindKillPub:
			st := before.Container.State
			if st == nil || !st.Running || st.Pid == 0 {
				return nil, time.Time{}, fmt.Errorf("%s on %s is not running", f.Target, hub)
			}
			if _, err := d.hubs[hub].Exec(ctx, "kill", "-9", fmt.Sprint(st.Pid)); err != nil {
				return nil, time.Time{}, err
			}
		case KindWedgePub:
			res, err := d.hubs[hub].ExecIn(ctx, name, "sbot", "fault", "wedge")
			if err != nil {
				return nil, time.Time{}, err
			}
			if res.ExitCode != 0 {
				return nil, time.Time{}, fmt.Errorf("sbot fault wedge: exit %d: %s", res.ExitCode, res.Stderr)
			}
		case KindRemovePub:
			if _, err := d.apis[hub].ContainerRemove(ctx, before.Container.ID, client.ContainerRemoveOptions{Force: true}); err != nil {
				return nil, time.Time{}, err
			}
		}
		at := time.Now()
		return func(ctx context.Context) string {
			return d.pubRecovered(ctx, f.Target, at, before.Container.ID)
		}, f.At, nil

	case KindRestartEngine, KindKillSSHD, KindCutNetwork, KindPowerOff:
		h := d.hubs[f.Target]
		var hold time.Duration
		switch f.Kind {
		case KindRestartEngine:
			if err := h.RestartEngine(ctx); err != nil {
				return nil, time.Time{}, err
			}
		case KindKillSSHD, KindCutNetwork:
			// Shorter than hub_down_after: longer is a partition (see doc.go).
			hold = 2*time.Second + time.Duration(p.r.Int64N(int64(hubDownAfter/2-2*time.Second)))
			down, up := h.KillSSHD, h.StartSSHD
			if f.Kind == KindCutNetwork {
				down, up = h.CutNetwork, h.RestoreNetwork
			}
			if err := down(ctx); err != nil {
				return nil, time.Time{}, err
			}
			pause(ctx, hold)
			if err := up(ctx); err != nil {
				return nil, time.Time{}, fmt.Errorf("undoing %s: %w", f.Kind, err)
			}
		case KindPowerOff:
			hold = hubDownAfter + 20*time.Second + time.Duration(p.r.Int64N(int64(10*time.Second)))
			if err := h.PowerOff(ctx); err != nil {
				return nil, time.Time{}, err
			}
			d.whileOff(ctx, f, hold)
			if !d.isRecovered(f) && len(f.Pubs) > 0 {
				// Reallocation is the point of watch.reallocate: a hub that
				// stays down for hub_down_after + 20s loses its pubs to others.
				d.setFault(f, func() {
					f.Problem = fmt.Sprintf("NOT REALLOCATED: the pubs of %s did not all run elsewhere within the %s it was off (hub_down_after %s)", f.Target, hold.Round(time.Second), hubDownAfter)
				})
			}
			if err := h.PowerOn(ctx); err != nil {
				return nil, time.Time{}, fmt.Errorf("powering on: %w", err)
			}
		}
		d.setFault(f, func() { f.HoldS = hold.Seconds() })
		at := time.Now()
		from := at
		if f.Kind == KindRestartEngine || f.Kind == KindPowerOff {
			from = f.At
		}
		return func(ctx context.Context) string { return d.hubRecovered(ctx, f, at) }, from, nil

	case KindKillWatch:
		pid, err := d.watch.kill9()
		if err != nil {
			return nil, time.Time{}, err
		}
		return func(ctx context.Context) string {
			if now := d.watch.pid(); now == 0 || now == pid || !d.watch.healthy(ctx) {
				return "buttctl watch is not back (killed pid " + fmt.Sprint(pid) + ")"
			}
			return ""
		}, f.At, nil

	case KindApply:
		return func(ctx context.Context) string { return d.applyOnce(ctx, f) }, f.At, nil

	case KindEditInventory:
		state := "stopped"
		if d.stoppedPubIs(f.Target) {
			state = "running"
		}
		err := inventory.Update(ctx, d.invPath, inventory.LockOptions{Wait: time.Minute, Purpose: "chaos: inventory edit"},
			func(e *inventory.Editor) error { return e.SetPubState(f.Target, state) })
		if err != nil {
			return nil, time.Time{}, err
		}
		d.mu.Lock()
		if state == "stopped" {
			d.stoppedPub = f.Target
		} else {
			d.stoppedPub = ""
		}
		f.Note = "set " + state
		d.mu.Unlock()
		applied := false
		return func(ctx context.Context) string {
			if !applied {
				if problem := d.applyOnce(ctx, f); problem != "" {
					return problem
				}
				applied = true
			}
			return d.pubRecovered(ctx, f.Target, time.Time{}, "")
		}, f.At, nil
	}
	return nil, time.Time{}, fmt.Errorf("unknown fault kind %q", f.Kind)
}

func (d *driver) stoppedPubIs(pub string) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.stoppedPub == pub
}

// applyOnce runs buttctl apply --yes: "" when it succeeds. A failed apply
// (a hub down at the time, say) is retried by the recovery loop, as an
// operator would.
func (d *driver) applyOnce(ctx context.Context, f *Fault) string {
	// No --wait: apply holds the inventory lock while it waits, and watch
	// (reallocation included) waits for the lock (README: watch).
	code, out := d.buttctl(ctx, "apply", "--yes", "--lock-timeout", "1m")
	if code == 0 {
		return ""
	}
	d.setFault(f, func() { f.Note = strings.TrimSpace(f.Note + " apply retried") })
	lines := strings.Split(strings.TrimSpace(out), "\n")
	// As an operator (or a script) would: again after a while, not at once.
	pause(ctx, applyRetry)
	return fmt.Sprintf("buttctl apply exited %d: %s", code, lines[len(lines)-1])
}

// applyRetry is the wait before a failed apply is run again.
const applyRetry = 10 * time.Second

// pubRecovered says what keeps pub from being as the inventory wants it,
// and, for a pub that was hit, from having restarted since at (a new
// container when oldID is given).
func (d *driver) pubRecovered(ctx context.Context, pub string, at time.Time, oldID string) string {
	inv, s, problem := d.seen(ctx, at)
	if problem != "" {
		return problem
	}
	if problem := s.pubProblem(inv, pub); problem != "" {
		return problem
	}
	pb, _ := inv.Pub(pub)
	if at.IsZero() || pb.State == "stopped" {
		return ""
	}
	insp, err := d.apis[pb.Hub].ContainerInspect(ctx, pubspec.ContainerName(pub), client.ContainerInspectOptions{})
	if err != nil {
		return err.Error()
	}
	if insp.Container.ID == oldID && insp.Container.State != nil {
		started, _ := time.Parse(time.RFC3339Nano, insp.Container.State.StartedAt)
		if !started.After(at) {
			return pub + " has not restarted since the fault"
		}
	}
	return ""
}

// whileOff waits out a power-off of hold, noting when every pub the hub
// had runs again, healthy, elsewhere (reallocated by watch).
func (d *driver) whileOff(ctx context.Context, f *Fault, hold time.Duration) {
	end := time.Now().Add(hold)
	for time.Now().Before(end) && ctx.Err() == nil {
		if !d.isRecovered(f) && d.pubsBack(ctx, f) {
			d.setFault(f, func() { f.Recovered, f.RecoverS = true, time.Since(f.At).Seconds() })
			d.opts.Logf("chaos: %s %s: its pubs run elsewhere after %.1fs", f.Kind, f.Target, f.RecoverS)
		}
		pause(ctx, min(500*time.Millisecond, time.Until(end)))
	}
}

func (d *driver) isRecovered(f *Fault) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return f.Recovered
}

// pubsBack reports whether every pub f's hub had runs as the inventory wants.
func (d *driver) pubsBack(ctx context.Context, f *Fault) bool {
	inv, s, problem := d.seen(ctx, time.Now())
	if problem != "" {
		return false
	}
	for _, pub := range f.Pubs {
		if s.pubProblem(inv, pub) != "" {
			return false
		}
	}
	return true
}

// seen is the inventory now and the first snapshot of the fleet taken
// after at; problem says why there is none.
func (d *driver) seen(ctx context.Context, at time.Time) (inv *inventory.Inventory, s *snapshot, problem string) {
	inv, err := inventory.Load(d.invPath)
	if err != nil {
		return nil, nil, "the inventory does not load: " + err.Error()
	}
	if s, err = d.obs.next(ctx, at); err != nil {
		return nil, nil, err.Error()
	}
	return inv, s, ""
}

// hubRecovered: the hub answers over SSH, and every pub it had runs,
// healthy, where the inventory now places it.
func (d *driver) hubRecovered(ctx context.Context, f *Fault, at time.Time) string {
	if err := d.hubs[f.Target].SSHUp(ctx); err != nil {
		return f.Target + " does not answer over SSH: " + err.Error()
	}
	inv, s, problem := d.seen(ctx, at)
	if problem != "" {
		return problem
	}
	moved := 0
	for _, pub := range f.Pubs {
		if problem := s.pubProblem(inv, pub); problem != "" {
			return problem
		}
		if pb, _ := inv.Pub(pub); pb.Hub != f.Target {
			moved++
		}
	}
	if moved > 0 {
		d.setFault(f, func() { f.Note = fmt.Sprintf("%d of its %d pubs reallocated", moved, len(f.Pubs)) })
	}
	return ""
}

// identityProblem whoamis pub where it runs: "" when it is who it was.
func (d *driver) identityProblem(ctx context.Context, pub string) string {
	s, err := d.obs.next(ctx, time.Now())
	if err != nil {
		return err.Error()
	}
	for _, c := range s.running(pub) {
		id, err := d.whoami(ctx, c.Hub, pub)
		if err != nil {
			return err.Error()
		}
		if id != d.identities[pub] {
			return fmt.Sprintf("IDENTITY CHANGED: %s on %s answers %s; it was %s", pub, c.Hub, id, d.identities[pub])
		}
	}
	return ""
}

// whoami asks pub's container on hub for its id, behind buttctl's back.
func (d *driver) whoami(ctx context.Context, hub, pub string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	res, err := d.hubs[hub].ExecIn(ctx, pubspec.ContainerName(pub), "sbot", "whoami")
	if err != nil {
		return "", fmt.Errorf("whoami %s on %s: %w", pub, hub, err)
	}
	id, err := pubs.ParseWhoami([]byte(res.Stdout))
	if res.ExitCode != 0 || err != nil {
		return "", fmt.Errorf("whoami %s on %s: exit %d: %s", pub, hub, res.ExitCode, strings.TrimSpace(res.Stderr))
	}
	return id, nil
}

func (d *driver) volumesOn(ctx context.Context, hub string) ([]string, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	res, err := d.apis[hub].VolumeList(ctx, client.VolumeListOptions{})
	if err != nil {
		return nil, fmt.Errorf("volumes on %s: %w", hub, err)
	}
	var out []string
	for _, v := range res.Items {
		if v.Labels[engine.LabelPub] != "" {
			out = append(out, v.Name)
		}
	}
	return out, nil
}

// buttctl runs the binary under test with the soak's environment, its
// output appended to buttctl.log, and returns its exit code and output.
func (d *driver) buttctl(ctx context.Context, args ...string) (int, string) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, d.opts.Buttctl, args...)
	cmd.Env = d.env
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		code = -1
		out.WriteString(err.Error())
	}
	d.applyLogMu.Lock()
	fmt.Fprintf(d.applyLog, "=== %s buttctl %s → exit %d\n%s\n", time.Now().Format(time.TimeOnly), strings.Join(args, " "), code, out.String())
	d.applyLogMu.Unlock()
	return code, out.String()
}

// newSchedulerRand is the generator of the scheduler's choices.
func newSchedulerRand(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, 0x5eed)) }

// pause waits for d or the end of ctx.
func pause(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
