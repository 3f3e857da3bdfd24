package fleet

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/moby/moby/api/types/container"

	"github.com/buttctl/buttctl/inventory"
	"github.com/buttctl/buttctl/ops/audit"
	"github.com/buttctl/buttctl/ops/engine"
	"github.com/buttctl/buttctl/ops/hubs"
	"github.com/buttctl/buttctl/ops/pubs"
	"github.com/buttctl/buttctl/ops/pubspec"
)

// Defaults of Apply.
const (
	// DefaultActionTimeout bounds one action (pulling an image included).
	DefaultActionTimeout = 5 * time.Minute
	// DefaultPerHub is how many pubs of one hub are worked on at once.
	DefaultPerHub = 4
	// healthPoll is how often Apply looks whether pubs became healthy.
	healthPoll = 500 * time.Millisecond
	// whoamiTimeout bounds asking a pub its id before it is recreated.
	whoamiTimeout = 15 * time.Second
)

// ApplyOptions tune Apply.
type ApplyOptions struct {
	// Parallel is how many hubs are worked on at once (hubs.DefaultParallel).
	Parallel int
	// PerHub is how many pubs of one hub are worked on at once (DefaultPerHub).
	PerHub int
	// ActionTimeout bounds each action (DefaultActionTimeout).
	ActionTimeout time.Duration
	// Batch, when more than 0, recreates drifted pubs that many at a time
	// across the fleet (a rolling change): each batch must become healthy
	// within Wait before the next begins, and the first that does not stops
	// the recreates.
	Batch int
	// Wait is how long a batch has to become healthy; without Batch, how
	// long every pub Apply started has, at the end (0: no waiting, unless
	// Batch is set, then DefaultWait).
	Wait time.Duration
	// Purpose is written into the inventory's lock file while placements
	// are saved ("buttctl apply").
	Purpose string
	// OnResult, when set, receives each result as it comes; calls may be
	// concurrent.
	OnResult func(Result)
	// Stop, when closed, ends the apply gracefully: actions in flight are
	// finished (a recreate is never left half done), the others are skipped.
	Stop <-chan struct{}
	// Now is the clock (time.Now).
	Now func() time.Time
}

// DefaultWait is how long a rolling batch has to become healthy unless told.
const DefaultWait = 2 * time.Minute

// ResultStatus says how an action fared.
type ResultStatus string

// Result statuses.
const (
	ResultDone    ResultStatus = "done"
	ResultFailed  ResultStatus = "failed"
	ResultSkipped ResultStatus = "skipped" // not tried: something it needed failed first
	ResultBlocked ResultStatus = "blocked" // needs someone (see the action's Blocked)
)

// Result is what became of one action.
type Result struct {
	Action     Action       `json:"action"`
	Status     ResultStatus `json:"status"`
	Error      string       `json:"error,omitempty"`
	DurationMS int64        `json:"duration_ms"`
}

// Report is what Apply did.
type Report struct {
	// Results are in the plan's order.
	Results    []Result `json:"results"`
	Done       int      `json:"done"`
	Failed     int      `json:"failed"`
	Skipped    int      `json:"skipped"`
	Blocked    int      `json:"blocked"`
	DurationMS int64    `json:"duration_ms"`
}

// Err is nil when every action Apply could carry out was done; otherwise
// it names each one that failed or was skipped, one a line.
func (r *Report) Err() error {
	var lines []string
	for _, res := range r.Results {
		switch res.Status {
		case ResultFailed:
			lines = append(lines, res.Error)
		case ResultSkipped:
			lines = append(lines, fmt.Sprintf("%s: skipped: %s", res.Action.target(), res.Error))
		}
	}
	if len(lines) == 0 {
		return nil
	}
	return fmt.Errorf("apply: %d of %d actions failed, %d skipped (run 'buttctl plan' to see what remains):\n%s",
		r.Failed, len(r.Results)-r.Blocked, r.Skipped, strings.Join(lines, "\n"))
}

func (a Action) target() string {
	if a.Pub == "" {
		return "hub " + a.Hub
	}
	if a.Hub == "" {
		return "pub " + a.Pub
	}
	return "pub " + a.Pub + " on " + a.Hub
}

// Apply carries out the plan over svc's inventory: placements first (saved
// into the inventory file, comments kept), then on every hub at once (at
// most opts.Parallel) each hub's removes, stops, recreates, creates and
// starts, in that order, a few pubs at a time; a pub's actions are done in
// order and one that fails skips the pub's next ones. With opts.Batch the
// recreates roll across the fleet batch by batch. A hub that fails does not
// stop the others. Blocked actions are reported, not tried.
//
// Each action's result is recorded in svc.Audit as it comes, as source
// apply (the pub operations an action is made of are not recorded again);
// blocked actions, not tried, are not recorded.
//
// The caller holds the inventory lock (inventory.Lock) from observing to
// the end of Apply; placements are saved under it.
func Apply(ctx context.Context, svc *pubs.Service, plan *Plan, opts ApplyOptions) *Report {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Parallel <= 0 {
		opts.Parallel = hubs.DefaultParallel
	}
	if opts.PerHub <= 0 {
		opts.PerHub = DefaultPerHub
	}
	if opts.ActionTimeout <= 0 {
		opts.ActionTimeout = DefaultActionTimeout
	}
	if opts.Batch > 0 && opts.Wait <= 0 {
		opts.Wait = DefaultWait
	}
	start := opts.Now()
	a := &applier{svc: svc.WithAudit(nil), audit: svc.Audit.As(audit.SourceApply), opts: opts, results: make([]Result, len(plan.Actions)), failedPubs: map[string]string{}}
	for i, act := range plan.Actions {
		a.results[i] = Result{Action: act}
	}
	var work []int
	for i, act := range plan.Actions {
		if act.Blocked != "" {
			a.finish(i, ResultBlocked, errors.New(act.Blocked), 0)
			continue
		}
		work = append(work, i)
	}
	a.place(ctx, kindOf(plan, work, ActionPlace))
	rest := slices.DeleteFunc(slices.Clone(work), func(i int) bool { return plan.Actions[i].Kind == ActionPlace })
	if opts.Batch > 0 {
		recreates := kindOf(plan, rest, ActionRecreate)
		before := filter(rest, func(i int) bool { return plan.Actions[i].Kind == ActionRemove || plan.Actions[i].Kind == ActionStop })
		after := filter(rest, func(i int) bool { return plan.Actions[i].Kind == ActionCreate || plan.Actions[i].Kind == ActionStart })
		a.byHub(ctx, before)
		a.rolling(ctx, recreates)
		a.byHub(ctx, after)
	} else {
		a.byHub(ctx, rest)
		if opts.Wait > 0 {
			a.waitFor(ctx, filter(rest, func(i int) bool { return a.results[i].Status == ResultDone && startsPub(plan.Actions[i].Kind) }))
		}
	}
	r := &Report{Results: a.results, DurationMS: opts.Now().Sub(start).Milliseconds()}
	for _, res := range r.Results {
		switch res.Status {
		case ResultDone:
			r.Done++
		case ResultFailed:
			r.Failed++
		case ResultSkipped:
			r.Skipped++
		case ResultBlocked:
			r.Blocked++
		}
	}
	return r
}

func startsPub(k ActionKind) bool {
	return k == ActionCreate || k == ActionRecreate || k == ActionStart
}

func kindOf(plan *Plan, idx []int, kind ActionKind) []int {
	return filter(idx, func(i int) bool { return plan.Actions[i].Kind == kind })
}

func filter(idx []int, keep func(int) bool) []int {
	var out []int
	for _, i := range idx {
		if keep(i) {
			out = append(out, i)
		}
	}
	return out
}

type applier struct {
	svc   *pubs.Service
	audit *audit.Log
	opts  ApplyOptions

	mu         sync.Mutex
	results    []Result
	failedPubs map[string]string // pub → what failed, for its next actions
}

func (a *applier) action(i int) Action {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.results[i].Action
}

func (a *applier) finish(i int, status ResultStatus, err error, took time.Duration) {
	a.mu.Lock()
	r := &a.results[i]
	r.Status, r.DurationMS = status, took.Milliseconds()
	if err != nil {
		r.Error = err.Error()
	}
	if status == ResultFailed && r.Action.Pub != "" {
		a.failedPubs[r.Action.Pub] = string(r.Action.Kind) + " failed"
	}
	res := *r
	a.mu.Unlock()
	a.record(res, took)
	if a.opts.OnResult != nil {
		a.opts.OnResult(res)
	}
}

// auditResults are the audit log's words for Apply's statuses.
var auditResults = map[ResultStatus]string{ResultDone: audit.ResultOK, ResultFailed: audit.ResultFailed, ResultSkipped: audit.ResultSkipped}

// record writes a result to the audit log.
func (a *applier) record(r Result, took time.Duration) {
	if r.Status == ResultBlocked {
		return
	}
	_ = a.audit.Write(audit.Record{Time: a.opts.Now().Add(-took), Hub: r.Action.Hub, Pub: r.Action.Pub, Action: string(r.Action.Kind),
		Reason: r.Action.Reason, Result: auditResults[r.Status], DurationMS: r.DurationMS, Error: r.Error})
}

// blockedBy says what earlier failure of the pub skips this action ("" none).
func (a *applier) blockedBy(pub string) string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.failedPubs[pub]
}

// place writes every placement into the inventory file at once, and into
// the inventory in memory that svc works on.
func (a *applier) place(ctx context.Context, idx []int) {
	if len(idx) == 0 {
		return
	}
	start := a.opts.Now()
	inv := a.svc.Inventory()
	err := ctx.Err()
	if err == nil && inv.Path == "" {
		err = errors.New("the inventory has no file to write placements into")
	}
	var ed *inventory.Editor
	if err == nil {
		ed, err = inventory.Edit(inv.Path)
	}
	if err == nil {
		ed.Purpose = a.opts.Purpose
		for _, i := range idx {
			act := a.action(i)
			if err = ed.SetPubHub(act.Pub, act.Hub); err != nil {
				break
			}
		}
	}
	if err == nil {
		err = ed.Save()
	}
	for _, i := range idx {
		act := a.action(i)
		if err != nil {
			a.finish(i, ResultFailed, fmt.Errorf("pub %s: place on %s: %w", act.Pub, act.Hub, err), a.opts.Now().Sub(start))
			continue
		}
		if p, ok := inv.Pub(act.Pub); ok {
			p.Hub = act.Hub
		}
		a.finish(i, ResultDone, nil, a.opts.Now().Sub(start))
	}
}

// byHub carries out the actions idx, every hub at once, each hub's kinds in
// plan order and a few pubs of a kind at a time.
func (a *applier) byHub(ctx context.Context, idx []int) {
	var hubNames []string
	perHub := map[string][]int{}
	for _, i := range idx {
		h := a.action(i).Hub
		if _, ok := perHub[h]; !ok {
			hubNames = append(hubNames, h)
		}
		perHub[h] = append(perHub[h], i)
	}
	pubs.Each(ctx, len(hubNames), a.opts.Parallel, func(ctx context.Context, k int) error {
		mine := perHub[hubNames[k]]
		for _, kind := range kindOrder {
			group := filter(mine, func(i int) bool { return a.action(i).Kind == kind })
			pubs.Each(ctx, len(group), a.opts.PerHub, func(ctx context.Context, j int) error {
				a.run(ctx, group[j])
				return nil
			})
		}
		return nil
	})
}

// rolling recreates idx Batch at a time; each batch must become healthy
// within Wait, and the first that does not ends the rolling change.
func (a *applier) rolling(ctx context.Context, idx []int) {
	for len(idx) > 0 {
		n := min(a.opts.Batch, len(idx))
		batch := idx[:n]
		idx = idx[n:]
		a.byHub(ctx, batch)
		ok := true
		for _, i := range batch {
			if a.results[i].Status != ResultDone {
				ok = false
			}
		}
		if ok {
			ok = a.waitFor(ctx, batch)
		}
		if !ok {
			for _, i := range idx {
				a.finish(i, ResultSkipped, errors.New("an earlier batch of the rolling change did not become healthy"), 0)
			}
			return
		}
		if a.stopped() {
			for _, i := range idx {
				a.finish(i, ResultSkipped, errors.New("apply was interrupted"), 0)
			}
			return
		}
	}
}

// stopped reports whether the apply was asked to stop.
func (a *applier) stopped() bool {
	select {
	case <-a.opts.Stop:
		return true
	default:
		return false
	}
}

// run carries out one action, unless an earlier action of its pub failed.
func (a *applier) run(ctx context.Context, i int) {
	act := a.action(i)
	if why := a.blockedBy(act.Pub); why != "" && act.Pub != "" {
		a.finish(i, ResultSkipped, errors.New(why), 0)
		return
	}
	if err := ctx.Err(); err != nil {
		a.finish(i, ResultSkipped, err, 0)
		return
	}
	if a.stopped() {
		a.finish(i, ResultSkipped, errors.New("apply was interrupted"), 0)
		return
	}
	start := a.opts.Now()
	actx, cancel := context.WithTimeout(ctx, a.opts.ActionTimeout)
	defer cancel()
	err := a.do(actx, act)
	took := a.opts.Now().Sub(start)
	if err != nil {
		msg := err.Error()
		if !strings.Contains(msg, act.Pub) {
			msg = act.target() + ": " + msg
		}
		a.finish(i, ResultFailed, fmt.Errorf("%s: %s", act.Kind, msg), took)
		return
	}
	a.finish(i, ResultDone, nil, took)
}

func (a *applier) do(ctx context.Context, act Action) error {
	switch act.Kind {
	case ActionCreate:
		_, err := a.svc.Create(ctx, act.Pub)
		return err
	case ActionStart:
		_, err := a.svc.Start(ctx, act.Pub)
		return err
	case ActionStop:
		_, err := a.svc.Stop(ctx, act.Pub)
		return err
	case ActionRecreate:
		return a.recreate(ctx, act)
	case ActionRemove:
		return a.remove(ctx, act)
	}
	return fmt.Errorf("apply cannot %s", act.Kind)
}

// recreate removes the pub's container and creates it anew from the
// inventory. The data volume, which holds the identity, is never removed: it
// must exist before (else the identity lives elsewhere, and nothing is
// touched), Create must find it, and when the pub can tell its id before
// and after (with Wait), the two must be the same.
func (a *applier) recreate(ctx context.Context, act Action) error {
	e, err := a.svc.Engine(act.Hub)
	if err != nil {
		return err
	}
	volume := pubspec.VolumeName(act.Pub)
	if ok, err := e.VolumeExists(ctx, volume, act.Pub); err != nil {
		return err
	} else if !ok {
		return fmt.Errorf("pub %s on %s has no data volume %s: its identity is not where buttctl keeps it, so it is not recreated; back it up first ('buttctl pub backup %s')", act.Pub, act.Hub, volume, act.Pub)
	}
	before := ""
	wctx, cancel := context.WithTimeout(ctx, whoamiTimeout)
	if id, err := a.svc.Whoami(wctx, act.Pub); err == nil {
		before = id
	}
	cancel()
	if _, err := a.svc.Remove(ctx, act.Pub, false); err != nil && !engine.IsNotFound(err) {
		return err
	}
	res, err := a.svc.Create(ctx, act.Pub)
	if err != nil {
		return err
	}
	if res.NewVolume {
		return fmt.Errorf("pub %s on %s: its data volume %s was gone when it was created anew: its identity may be lost; look for it on the hub before anything else", act.Pub, act.Hub, volume)
	}
	if before == "" || !res.Started || a.opts.Wait <= 0 {
		return nil
	}
	wctx, cancel = context.WithTimeout(ctx, a.opts.Wait)
	defer cancel()
	if err := a.waitHealthy(wctx, act.Pub); err != nil {
		return err
	}
	after, err := a.svc.Whoami(ctx, act.Pub)
	if err != nil {
		return fmt.Errorf("pub %s on %s: recreated, but it does not say its id to check it kept its identity: %w", act.Pub, act.Hub, err)
	}
	if after != before {
		return fmt.Errorf("pub %s on %s: its id changed from %s to %s when it was recreated on the same data volume %s: stop it and restore its identity ('buttctl pub restore')", act.Pub, act.Hub, before, after, volume)
	}
	return nil
}

// remove removes an orphan container, found by its id among the hub's
// managed containers, and with a Volume its data volume.
func (a *applier) remove(ctx context.Context, act Action) error {
	e, err := a.svc.Engine(act.Hub)
	if err != nil {
		return err
	}
	if act.Container != "" {
		cs, err := e.Containers(ctx)
		if err != nil {
			return err
		}
		i := slices.IndexFunc(cs, func(c engine.Container) bool { return c.ID == act.Container })
		if i >= 0 {
			if err := e.Remove(ctx, cs[i]); err != nil {
				return err
			}
		}
	}
	if act.Volume != "" {
		return e.RemoveVolume(ctx, act.Volume, act.Pub)
	}
	return nil
}

// waitFor waits, within Wait, until the pubs of the actions idx run healthy
// (or are stopped, as their inventory asks); it fails each that does not.
func (a *applier) waitFor(ctx context.Context, idx []int) bool {
	wctx, cancel := context.WithTimeout(ctx, a.opts.Wait)
	defer cancel()
	errs := pubs.Each(wctx, len(idx), len(idx), func(ctx context.Context, k int) error {
		return a.waitHealthy(ctx, a.action(idx[k]).Pub)
	})
	ok := true
	for k, err := range errs {
		if err != nil {
			ok = false
			a.finish(idx[k], ResultFailed, err, time.Duration(a.results[idx[k]].DurationMS)*time.Millisecond)
		}
	}
	return ok
}

// waitHealthy polls until pub runs healthy (or without a health check), or
// is not running as its inventory asks, or ctx ends.
func (a *applier) waitHealthy(ctx context.Context, pub string) error {
	ip, ok := a.svc.Inventory().Pub(pub)
	if !ok {
		return nil
	}
	e, err := a.svc.Engine(ip.Hub)
	if err != nil {
		return err
	}
	t := time.NewTicker(healthPoll)
	defer t.Stop()
	last := "no container"
	for {
		c, err := e.PubContainer(ctx, pub)
		if err == nil {
			last = c.State
			if c.Health != "" {
				last += ", " + c.Health
			}
			running := c.State == string(container.StateRunning)
			if ip.State == inventory.StateStopped && !running || running && (c.Health == "" || c.Health == string(container.Healthy)) {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("pub %s on %s did not become healthy in time (%s)", pub, ip.Hub, last)
		case <-t.C:
		}
	}
}
