package fleet_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/moby/moby/api/types/events"
	"github.com/moby/moby/client"

	"github.com/buttctl/buttctl/inventory"
	"github.com/buttctl/buttctl/ops/fleet"
	"github.com/buttctl/buttctl/ops/pubs/pubstest"
	"github.com/buttctl/buttctl/ops/pubspec"
)

// converge observes, plans and applies once, holding the inventory's lock as
// the apply command does, and returns the plan and the report.
func (f *fixture) converge(popts fleet.PlanOptions, aopts fleet.ApplyOptions) (*fleet.Plan, *fleet.Report) {
	f.t.Helper()
	ctx := context.Background()
	unlock, err := inventory.Lock(ctx, f.path, inventory.LockOptions{Purpose: "test apply"})
	if err != nil {
		f.t.Fatal(err)
	}
	defer unlock()
	snap := fleet.Observe(ctx, f.svc, fleet.ObserveOptions{Timeout: 10 * time.Second})
	plan := fleet.NewPlan(f.inv, snap, popts)
	return plan, fleet.Apply(ctx, f.svc, plan, aopts)
}

// mutations are the engine's events, between since and until, that change
// one of the test's containers, volumes or their network links. Exec and
// health events are left out: the engine makes them itself, running the
// containers' health checks; so are reads of a container's files (Observe
// reads a stopped container's operator-stop record: archive-path, and the
// volume mount and unmount the engine does for the read).
func (f *fixture) mutations(since, until time.Time) []string {
	f.t.Helper()
	var out []string
	for _, api := range f.apis {
		out = append(out, f.mutationsOn(api, since, until)...)
	}
	return out
}

func (f *fixture) mutationsOn(api *client.Client, since, until time.Time) []string {
	f.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	res := api.Events(ctx, client.EventsListOptions{Since: ts(since), Until: ts(until)})
	var out []string
	for {
		select {
		case m, ok := <-res.Messages:
			if !ok {
				return out
			}
			if f.touches(m) && !strings.HasPrefix(string(m.Action), "exec_") && !strings.HasPrefix(string(m.Action), "health_status") && !readOnly(m) {
				out = append(out, fmt.Sprintf("%s %s %s", m.Type, m.Action, m.Actor.ID))
			}
		case err := <-res.Err:
			if err != nil && !strings.Contains(err.Error(), "EOF") {
				f.t.Fatalf("events: %v", err)
			}
			return out
		}
	}
}

func (f *fixture) touches(m events.Message) bool {
	a := m.Actor.Attributes
	return strings.HasPrefix(a["buttctl.pub"], f.prefix) || strings.Contains(a["name"], f.prefix) || strings.Contains(m.Actor.ID, f.prefix) || strings.Contains(a["container"], f.prefix)
}

// readOnly reports whether m is the engine reading a container's files.
func readOnly(m events.Message) bool {
	switch {
	case m.Type == events.ContainerEventType && m.Action == events.ActionArchivePath:
		return true
	case m.Type == events.VolumeEventType && (m.Action == events.ActionMount || m.Action == events.ActionUnmount):
		return true
	}
	return false
}

func ts(t time.Time) string { return fmt.Sprintf("%d.%09d", t.Unix(), t.Nanosecond()) }

// TestApplyConvergesAndIsIdempotent drifts pubs every way apply knows on
// this machine's real engine, converges them in one apply, and checks that a
// second apply finds nothing and makes no change at all on the engine.
func TestApplyConvergesAndIsIdempotent(t *testing.T) {
	ports := freePorts(t, 7)
	before := fmt.Sprintf(`  - {name: PFX-drift, hub: local, port: %d}
  - {name: PFX-start, hub: local, port: %d, state: stopped}
  - {name: PFX-stop, hub: local, port: %d}
  - {name: PFX-gone, hub: local, port: %d}
  - {name: PFX-health, hub: local, port: %d}
`, ports[0], ports[1], ports[2], ports[3], ports[4])
	f := newFixture(t, "", "  - {name: local, local: true, capacity: 50} # this machine\n", before)
	ctx := context.Background()
	for _, p := range []string{"drift", "start", "stop", "gone", "health"} {
		if _, err := f.svc.Create(ctx, f.pub(p)); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "the pubs to run healthy", func() bool {
		snap := fleet.Observe(ctx, f.svc, fleet.ObserveOptions{})
		for _, p := range []string{"drift", "stop", "health"} {
			if snap.Pub(f.pub(p)).Status != fleet.StatusRunning {
				return false
			}
		}
		return true
	})
	idBefore, err := f.svc.Whoami(ctx, f.pub("drift"))
	if err != nil {
		t.Fatal(err)
	}

	// The new inventory: drift's memory and image tag, start wanted running,
	// stop wanted stopped, gone removed (an orphan), health's health check,
	// missing new, placed without a hub.
	f.write(fmt.Sprintf(`# the test's fleet
version: 1
defaults:
  image: %s
  memory: 64m
  health: {interval: 1s, timeout: 3s, retries: 2}

hubs:
  - {name: local, local: true, capacity: 50} # this machine

# the pubs
pubs:
  - {name: PFX-drift, hub: local, port: %d, memory: 80m, env: {EXTRA: "1"}}
  - {name: PFX-start, hub: local, port: %d}
  - {name: PFX-stop, hub: local, port: %d, state: stopped}
  - {name: PFX-health, hub: local, port: %d, health: {interval: 2s, timeout: 3s, retries: 3}}
  - {name: PFX-missing, hub: local, port: %d}
  # placed by apply
  - {name: PFX-placed, port: %d}
`, pubstest.Image, ports[0], ports[1], ports[2], ports[4], ports[5], ports[6]))

	mine := func(p string) bool { return f.mine(p) }
	plan, report := f.converge(fleet.PlanOptions{Prune: true, Select: mine}, fleet.ApplyOptions{Wait: time.Minute})
	kinds := map[string]fleet.ActionKind{}
	for _, a := range plan.Actions {
		kinds[strings.TrimPrefix(a.Pub, f.prefix+"-")+"/"+string(a.Kind)] = a.Kind
	}
	for _, want := range []string{"drift/recreate", "health/recreate", "start/start", "stop/stop", "gone/remove", "missing/create", "placed/place", "placed/create"} {
		if _, ok := kinds[want]; !ok {
			t.Errorf("plan lacks %s: %v", want, kinds)
		}
	}
	if len(plan.Actions) != 8 {
		t.Errorf("plan has %d actions, want 8: %v", len(plan.Actions), kinds)
	}
	if err := report.Err(); err != nil || report.Done != 8 {
		t.Fatalf("apply: %v (%+v)", err, report)
	}
	for _, a := range plan.Actions {
		if a.Pub == f.pub("drift") {
			var fields []string
			for _, c := range a.Changes {
				fields = append(fields, c.Field)
			}
			if strings.Join(fields, ",") != "env.EXTRA,memory" {
				t.Errorf("drift's changes: %v", a.Changes)
			}
		}
	}

	// Everything as the inventory asks; the recreated pub kept its identity.
	f.reload()
	snap := fleet.Observe(ctx, f.svc, fleet.ObserveOptions{})
	for short, want := range map[string]fleet.PubStatus{"drift": fleet.StatusRunning, "start": fleet.StatusRunning, "stop": fleet.StatusStopped, "health": fleet.StatusRunning, "missing": fleet.StatusRunning, "placed": fleet.StatusRunning} {
		p := snap.Pub(f.pub(short))
		if p == nil || p.Status != want || p.Drift {
			t.Errorf("%s after apply: %+v", short, p)
		}
	}
	for _, o := range snap.Orphans {
		if f.mine(o.Container.Pub) {
			t.Errorf("orphan left: %+v", o)
		}
	}
	if c := snap.Pub(f.pub("drift")).Container; c.Config.Memory != 80<<20 {
		t.Errorf("drift's memory %d", c.Config.Memory)
	}
	if idAfter, err := f.svc.Whoami(ctx, f.pub("drift")); err != nil || idAfter != idBefore {
		t.Errorf("drift's id %q (%v) after the recreate, %q before", idAfter, err, idBefore)
	}
	// The placement is in the inventory file, its comments kept.
	text := f.text()
	for _, want := range []string{"# the test's fleet\n", "  - {name: local, local: true, capacity: 50} # this machine\n", "  # placed by apply\n", "# the pubs\n"} {
		if !strings.Contains(text, want) {
			t.Errorf("the inventory lost %q:\n%s", want, text)
		}
	}
	if p, _ := f.inv.Pub(f.pub("placed")); p.Hub != "local" {
		t.Errorf("placed is on %q in the inventory:\n%s", p.Hub, text)
	}

	// A second apply finds nothing to do and changes nothing on the engine.
	since := time.Now()
	plan, report = f.converge(fleet.PlanOptions{Prune: true, Select: mine}, fleet.ApplyOptions{})
	until := time.Now()
	if !plan.Empty() || len(report.Results) != 0 {
		t.Errorf("second plan:\n%+v", plan.Actions)
	}
	if m := f.mutations(since, until); len(m) != 0 {
		t.Errorf("the second apply changed the engine: %v", m)
	}
	// The engine's event stream does see the test's changes (the check above
	// could not pass by seeing nothing).
	since = time.Now()
	if _, err := f.svc.Restart(ctx, f.pub("start")); err != nil {
		t.Fatal(err)
	}
	if m := f.mutations(since, time.Now()); len(m) == 0 {
		t.Error("a restart made no event the test could see")
	}
}

// TestApplyRollingBatches recreates three drifted pubs one at a time: the
// first comes back unhealthy, so the rolling change stops there and the
// others are left as they were; the next apply, in batches of two, does them.
func TestApplyRollingBatches(t *testing.T) {
	ports := freePorts(t, 3)
	f := newFixture(t, "", "  - {name: local, local: true}\n", fmt.Sprintf(`  - {name: PFX-r1, hub: local, port: %d}
  - {name: PFX-r2, hub: local, port: %d}
  - {name: PFX-r3, hub: local, port: %d}
`, ports[0], ports[1], ports[2]))
	ctx := context.Background()
	for _, p := range []string{"r1", "r2", "r3"} {
		if _, err := f.svc.Create(ctx, f.pub(p)); err != nil {
			t.Fatal(err)
		}
	}
	text := f.text()
	text = strings.Replace(text, fmt.Sprintf("port: %d}", ports[0]), fmt.Sprintf(`port: %d, health: {test: ["CMD", "/bin/sbot", "no-such-command"]}}`, ports[0]), 1)
	text = strings.Replace(text, fmt.Sprintf("port: %d}", ports[1]), fmt.Sprintf("port: %d, memory: 72m}", ports[1]), 1)
	text = strings.Replace(text, fmt.Sprintf("port: %d}", ports[2]), fmt.Sprintf("port: %d, memory: 72m}", ports[2]), 1)
	f.write(text)

	mine := fleet.PlanOptions{Select: f.mine}
	plan, report := f.converge(mine, fleet.ApplyOptions{Batch: 1, Wait: 8 * time.Second})
	if plan.Count(fleet.ActionRecreate) != 3 {
		t.Fatalf("plan: %+v", plan.Actions)
	}
	status := map[string]fleet.ResultStatus{}
	for _, r := range report.Results {
		status[strings.TrimPrefix(r.Action.Pub, f.prefix+"-")] = r.Status
	}
	if status["r1"] != fleet.ResultFailed || status["r2"] != fleet.ResultSkipped || status["r3"] != fleet.ResultSkipped {
		t.Errorf("results %v", status)
	}
	err := report.Err()
	if err == nil || !strings.Contains(err.Error(), "pub "+f.pub("r1")+" on local did not become healthy in time") || !strings.Contains(err.Error(), "an earlier batch of the rolling change did not become healthy") {
		t.Errorf("report: %v", err)
	}
	// r2 and r3 were not touched: the next plan has them, and r1 is done.
	plan, report = f.converge(mine, fleet.ApplyOptions{Batch: 2, Wait: time.Minute})
	if plan.Count(fleet.ActionRecreate) != 2 || report.Done != 2 || report.Err() != nil {
		t.Errorf("second apply: %+v %v", plan.Actions, report.Err())
		for _, p := range []string{"r1", "r2", "r3"} {
			c, _ := f.api.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: client.Filters{}.Add("label", "buttctl.pub="+f.pub(p))})
			for _, x := range c.Items {
				ins, _ := f.api.ContainerInspect(ctx, x.ID, client.ContainerInspectOptions{})
				t.Logf("%s %s mounts %+v state %+v", p, x.ID[:8], ins.Container.Mounts, ins.Container.State)
				logs, _ := f.api.ContainerLogs(ctx, x.ID, client.ContainerLogsOptions{ShowStdout: true, ShowStderr: true})
				b := make([]byte, 4000)
				n, _ := logs.Read(b)
				t.Logf("%s logs %q", p, b[:n])
			}
		}
	}
}

// TestApplyRecreateNeedsTheDataVolume: a drifted container whose pub has no
// data volume keeps its identity somewhere else (an anonymous volume, the
// container itself): apply refuses to recreate it, and leaves it as it is.
func TestApplyRecreateNeedsTheDataVolume(t *testing.T) {
	ports := freePorts(t, 1)
	f := newFixture(t, "", "  - {name: local, local: true}\n", fmt.Sprintf("  - {name: PFX-a, hub: local, port: %d}\n", ports[0]))
	ctx := context.Background()
	// A container with buttctl's labels but without the data volume, as an
	// older tool (or a person) might have made it.
	spec, err := pubspec.Build(f.inv, f.inv.Pubs[0])
	if err != nil {
		t.Fatal(err)
	}
	cfg, host := spec.Docker()
	host.Mounts = nil
	e, err := f.svc.Engine("local")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.EnsureNetwork(ctx, spec.Network); err != nil {
		t.Fatal(err)
	}
	made, err := f.api.ContainerCreate(ctx, client.ContainerCreateOptions{Name: spec.ContainerName, Config: cfg, HostConfig: host})
	if err != nil {
		t.Fatal(err)
	}
	f.write(strings.Replace(f.text(), "memory: 64m", "memory: 72m", 1))
	plan, report := f.converge(fleet.PlanOptions{Select: f.mine}, fleet.ApplyOptions{})
	if plan.Count(fleet.ActionRecreate) != 1 || report.Failed != 1 {
		t.Fatalf("plan %+v, report %+v", plan.Actions, report.Results)
	}
	if err := report.Err(); err == nil || !strings.Contains(err.Error(), "has no data volume buttctl-pub-"+f.pub("a")+"-data: its identity is not where buttctl keeps it") {
		t.Errorf("report: %v", err)
	}
	if _, err := f.api.ContainerInspect(ctx, made.ID, client.ContainerInspectOptions{}); err != nil {
		t.Errorf("the container is gone: %v", err)
	}
}

// TestApplyStop: asked to stop (SIGINT in the command), apply finishes the
// action in flight and skips the rest, which the next plan shows.
func TestApplyStop(t *testing.T) {
	ports := freePorts(t, 3)
	f := newFixture(t, "", "  - {name: local, local: true}\n", fmt.Sprintf("  - {name: PFX-a, hub: local, port: %d}\n  - {name: PFX-b, hub: local, port: %d}\n  - {name: PFX-c, hub: local, port: %d}\n", ports[0], ports[1], ports[2]))
	stop := make(chan struct{})
	var once sync.Once
	plan, report := f.converge(fleet.PlanOptions{Select: f.mine}, fleet.ApplyOptions{PerHub: 1, Stop: stop, OnResult: func(fleet.Result) { once.Do(func() { close(stop) }) }})
	if plan.Count(fleet.ActionCreate) != 3 || report.Done != 1 || report.Skipped != 2 {
		t.Fatalf("plan %+v, report %+v", plan.Actions, report.Results)
	}
	if err := report.Err(); err == nil || !strings.Contains(err.Error(), "skipped: apply was interrupted") {
		t.Errorf("report: %v", err)
	}
	next, _ := f.converge(fleet.PlanOptions{Select: f.mine}, fleet.ApplyOptions{})
	if next.Count(fleet.ActionCreate) != 2 {
		t.Errorf("the next plan: %+v", next.Actions)
	}
}
