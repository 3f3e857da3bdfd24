package fleet_test

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/moby/moby/client"

	"github.com/buttctl/buttctl/ops/engine"
	"github.com/buttctl/buttctl/ops/fleet"
	"github.com/buttctl/buttctl/ops/fleet/fleettest"
	"github.com/buttctl/buttctl/ops/testworld"
)

// The tests below run on the test world: hubs that are each their own
// Docker engine behind their own sshd, reached by buttctl over SSH exactly
// as real hubs are.

// newWorldFixture writes the world's inventory with the pubs pubsOf names
// (from the test's prefix) and opens it.
func newWorldFixture(t *testing.T, w *testworld.World, pubsOf func(prefix string) []testworld.Pub) *fixture {
	t.Helper()
	f := &fixture{t: t, prefix: fleettest.Prefix("fw")}
	f.api = raw(t)
	for _, h := range w.Hubs {
		api, err := h.DockerClient()
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { api.Close() })
		f.apis = append(f.apis, api)
	}
	f.path = filepath.Join(t.TempDir(), "buttctl.yaml")
	if err := w.WriteInventory(f.path, pubsOf(f.prefix)...); err != nil {
		t.Fatal(err)
	}
	f.reload()
	t.Cleanup(f.removeAll)
	return f
}

// setPub adds lines (YAML keys, indented as the world writes a pub's) to
// pub's entry in the inventory file, and reloads it.
func (f *fixture) setPub(pub string, lines ...string) {
	f.t.Helper()
	head := "  - name: " + pub + "\n"
	text := f.text()
	if !strings.Contains(text, head) {
		f.t.Fatalf("no pub %s in:\n%s", pub, text)
	}
	f.write(strings.Replace(text, head, head+"    "+strings.Join(lines, "\n    ")+"\n", 1))
}

func allocPorts(t *testing.T, w *testworld.World, n int) []int {
	t.Helper()
	out := make([]int, n)
	for i := range out {
		p, err := w.AllocPort()
		if err != nil {
			t.Fatal(err)
		}
		out[i] = p
	}
	return out
}

// TestWorldDriftConverges drifts pubs on three hubs in every way plan knows,
// converges them with one apply over SSH, and checks that a second apply
// changes nothing on any hub's engine.
func TestWorldDriftConverges(t *testing.T) {
	w := testworld.ForTest(t, 3)
	ports := allocPorts(t, w, 11)
	h1, h2, h3 := w.Hubs[0].Name, w.Hubs[1].Name, w.Hubs[2].Name
	names := []string{"missing", "stopped", "running", "image", "env", "port", "memory", "health", "orphan", "moved"}
	hubOf := map[string]string{"missing": h1, "stopped": h2, "running": h3, "image": h1, "env": h2, "port": h3, "memory": h1, "health": h2, "orphan": h3, "moved": h1}
	pubsOf := func(prefix string, change bool) []testworld.Pub {
		var out []testworld.Pub
		for i, n := range names {
			p := testworld.Pub{Name: prefix + "-" + n, Hub: hubOf[n], Port: ports[i]}
			if change {
				switch n {
				case "running":
					p.State = "stopped"
				case "image":
					p.Image = "buttctl/testpub" // the same image, by another reference
				case "port":
					p.Port = ports[10]
				case "moved":
					p.Hub = h2
				case "orphan":
					continue
				}
			}
			out = append(out, p)
		}
		return out
	}
	f := newWorldFixture(t, w, func(prefix string) []testworld.Pub { return pubsOf(prefix, false) })
	ctx := context.Background()
	for _, n := range names[1:] {
		if _, err := f.svc.Create(ctx, f.pub(n)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := f.svc.Stop(ctx, f.pub("stopped")); err != nil {
		t.Fatal(err)
	}
	recreated := []string{"image", "env", "port", "memory", "health"}
	ids := map[string]string{}
	waitFor(t, "the pubs to answer whoami", func() bool {
		for _, n := range recreated {
			id, err := f.svc.Whoami(ctx, f.pub(n))
			if err != nil {
				return false
			}
			ids[n] = id
		}
		return true
	})

	// The inventory changes under the running fleet.
	if err := w.WriteInventory(f.path, pubsOf(f.prefix, true)...); err != nil {
		t.Fatal(err)
	}
	f.reload()
	f.setPub(f.pub("env"), "env: {EXTRA: yes}")
	f.setPub(f.pub("memory"), "memory: 80m")
	f.setPub(f.pub("health"), "health: {interval: 3s, retries: 4}")

	mine := fleet.PlanOptions{Prune: true, Select: f.mine}
	plan, report := f.converge(mine, fleet.ApplyOptions{Wait: 2 * time.Minute})
	got := map[string]string{}
	for _, a := range plan.Actions {
		short := strings.TrimPrefix(a.Pub, f.prefix+"-")
		var fields []string
		for _, c := range a.Changes {
			fields = append(fields, c.Field)
		}
		got[short] = string(a.Kind) + "@" + a.Hub + strings.TrimSuffix(" "+strings.Join(fields, ","), " ")
		if a.Blocked != "" {
			got[short] += " blocked"
		}
	}
	want := map[string]string{
		"missing": "create@" + h1, "stopped": "start@" + h2, "running": "stop@" + h3,
		"image": "recreate@" + h1 + " image", "env": "recreate@" + h2 + " env.EXTRA", "port": "recreate@" + h3 + " env.ssb_port,port",
		"memory": "recreate@" + h1 + " memory", "health": "recreate@" + h2 + " health",
		"orphan": "remove@" + h3, "moved": "move@" + h2 + " blocked",
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: plan says %q, want %q", k, got[k], v)
		}
	}
	if len(got) != len(want) {
		t.Errorf("plan: %v", got)
	}
	if err := report.Err(); err != nil || report.Done != 9 || report.Blocked != 1 {
		t.Fatalf("apply: %v (done %d, blocked %d)", err, report.Done, report.Blocked)
	}

	// Converged, identities kept, the moved pub left where its data is.
	f.reload()
	snap := fleet.Observe(ctx, f.svc, fleet.ObserveOptions{})
	for _, n := range names {
		p := snap.Pub(f.pub(n))
		switch n {
		case "orphan":
			if p != nil {
				t.Errorf("orphan is in the inventory again: %+v", p)
			}
		case "moved":
			if p.Status != fleet.StatusMissing || snap.Hub(h1).Container(f.pub("moved")) == nil {
				t.Errorf("moved: %+v, and its container on %s should be kept", p, h1)
			}
		case "running":
			if p.Status != fleet.StatusStopped {
				t.Errorf("running (wanted stopped): %s", p.Status)
			}
		default:
			if p.Status != fleet.StatusRunning || p.Drift {
				t.Errorf("%s: %s drift %v", n, p.Status, p.Drift)
			}
		}
	}
	for _, n := range recreated {
		if id, err := f.svc.Whoami(ctx, f.pub(n)); err != nil || id != ids[n] {
			t.Errorf("%s: id %q (%v) after the recreate, %q before", n, id, err, ids[n])
		}
	}
	if c := snap.Pub(f.pub("port")).Container; c.Config.HostPort != ports[10] {
		t.Errorf("port: published on %d, want %d", c.Config.HostPort, ports[10])
	}

	// A second apply: only the blocked move, and not one change on any engine.
	since := time.Now()
	plan, report = f.converge(mine, fleet.ApplyOptions{})
	until := time.Now()
	if plan.Pending() != 0 || plan.Blocked() != 1 || report.Done != 0 {
		t.Errorf("second apply: %+v", plan.Actions)
	}
	if m := f.mutations(since, until); len(m) != 0 {
		t.Errorf("the second apply changed the hubs: %v", m)
	}
	// The hubs' event streams do show the test's changes.
	since = time.Now()
	if _, err := f.svc.Restart(ctx, f.pub("memory")); err != nil {
		t.Fatal(err)
	}
	if m := f.mutationsOn(f.apis[0], since, time.Now()); len(m) == 0 {
		t.Errorf("a restart on %s made no event the test could see", h1)
	}
}

// TestWorldHubKilledMidApply powers a hub off in the middle of an apply: the
// other hubs are done, the summary names what failed, the exit is a partial
// failure, the next plan shows what remains, and with the hub back an apply
// finishes the job.
func TestWorldHubKilledMidApply(t *testing.T) {
	w := testworld.Private(t, 3)
	victim := w.Hubs[1]
	f := newWorldFixture(t, w, func(prefix string) []testworld.Pub {
		var out []testworld.Pub
		for i := range 6 {
			h := w.Hubs[i%3]
			out = append(out, testworld.Pub{Name: fmt.Sprintf("%s-p%d", prefix, i+1), Hub: h.Name, Port: 8008 + i/3})
		}
		return out
	})
	ctx := context.Background()
	var once sync.Once
	kill := func(r fleet.Result) {
		if r.Action.Hub == victim.Name && r.Status == fleet.ResultDone {
			once.Do(func() {
				if err := victim.PowerOff(ctx); err != nil {
					t.Errorf("power off: %v", err)
				}
			})
		}
	}
	plan, report := f.converge(fleet.PlanOptions{}, fleet.ApplyOptions{PerHub: 1, ActionTimeout: time.Minute, OnResult: kill})
	if plan.Count(fleet.ActionCreate) != 6 {
		t.Fatalf("plan: %+v", plan.Actions)
	}
	if report.Done != 5 || report.Failed != 1 {
		t.Errorf("apply: %d done, %d failed: %+v", report.Done, report.Failed, report.Results)
	}
	err := report.Err()
	if err == nil || !strings.Contains(err.Error(), "1 of 6 actions failed") || !strings.Contains(err.Error(), " on "+victim.Name) {
		t.Errorf("report: %v", err)
	}
	var failed fleet.Result
	for _, r := range report.Results {
		if r.Status == fleet.ResultFailed {
			failed = r
		} else if r.Status != fleet.ResultDone {
			t.Errorf("result %+v", r)
		}
	}
	if failed.Action.Hub != victim.Name {
		t.Errorf("the failure is not on %s: %+v", victim.Name, failed)
	}

	// The next plan: the dead hub unreachable, nothing left on the others.
	f.reload()
	snap := fleet.Observe(ctx, f.svc, fleet.ObserveOptions{Timeout: 5 * time.Second})
	next := fleet.NewPlan(f.inv, snap, fleet.PlanOptions{})
	if !next.Empty() || !slices.Equal(next.Unreachable, []string{victim.Name}) {
		t.Errorf("plan with %s down: %+v unreachable %v", victim.Name, next.Actions, next.Unreachable)
	}

	// The hub is back: what remains is its pub that was not created (and a
	// start of the one that was, if its engine has not restarted it yet).
	if err := victim.PowerOn(ctx); err != nil {
		t.Fatal(err)
	}
	f.reload()
	plan, report = f.converge(fleet.PlanOptions{}, fleet.ApplyOptions{})
	var creates []string
	for _, a := range plan.Actions {
		switch a.Kind {
		case fleet.ActionCreate:
			creates = append(creates, a.Pub)
		case fleet.ActionStart:
		default:
			t.Errorf("after power on: unexpected %s", a)
		}
	}
	if !slices.Equal(creates, []string{failed.Action.Pub}) || report.Err() != nil {
		t.Errorf("after power on: %+v %v", plan.Actions, report.Err())
	}
	plan, _ = f.converge(fleet.PlanOptions{}, fleet.ApplyOptions{})
	if !plan.Empty() {
		t.Errorf("not converged: %+v", plan.Actions)
	}
}

// TestWorldPlacement places pubs without a hub on hubs with little capacity:
// spread, never beyond a capacity, one left unplaced, written back into the
// world's inventory with its comments.
func TestWorldPlacement(t *testing.T) {
	w := testworld.ForTest(t, 3)
	ports := allocPorts(t, w, 6)
	f := newWorldFixture(t, w, func(string) []testworld.Pub { return nil })
	text := f.text()
	for _, c := range []string{"1", "2", "2"} {
		text = strings.Replace(text, "    capacity: 20\n", "    capacity: "+c+" # small for the test\n", 1)
	}
	var pubs strings.Builder
	pubs.WriteString("pubs:\n  # placed by apply\n")
	for i, p := range ports {
		fmt.Fprintf(&pubs, "  - {name: %s-n%d, port: %d}\n", f.prefix, i+1, p)
	}
	f.write(strings.Replace(text, "pubs: []\n", pubs.String(), 1))
	before := f.text()

	plan, report := f.converge(fleet.PlanOptions{Select: f.mine}, fleet.ApplyOptions{})
	placed := map[string]string{}
	for _, a := range plan.Actions {
		if a.Kind == fleet.ActionPlace {
			placed[strings.TrimPrefix(a.Pub, f.prefix+"-")] = a.Hub
		}
	}
	h1, h2, h3 := w.Hubs[0].Name, w.Hubs[1].Name, w.Hubs[2].Name
	want := map[string]string{"n1": h1, "n2": h2, "n3": h3, "n4": h2, "n5": h3, "n6": ""}
	if fmt.Sprint(placed) != fmt.Sprint(want) {
		t.Errorf("placed %v, want %v", placed, want)
	}
	if report.Done != 10 || report.Blocked != 1 || report.Err() != nil {
		t.Errorf("apply: %d done, %d blocked, %v", report.Done, report.Blocked, report.Err())
	}
	for i, n := range []int{1, 2, 2} {
		res, err := f.apis[i].ContainerList(context.Background(), client.ContainerListOptions{All: true, Filters: client.Filters{}.Add("label", engine.LabelManaged+"=true")})
		if err != nil {
			t.Fatal(err)
		}
		got := 0
		for _, c := range res.Items {
			if f.mine(c.Labels[engine.LabelPub]) {
				got++
			}
		}
		if got != n {
			t.Errorf("%s runs %d of the test's pubs, want %d (its capacity)", w.Hubs[i].Name, got, n)
		}
	}
	// Only the hubs were written in: every other line, comments included, is
	// as it was.
	after := f.text()
	var added []string
	for _, l := range strings.Split(after, "\n") {
		if !strings.Contains(before, l+"\n") {
			added = append(added, l)
		}
	}
	for _, l := range strings.Split(before, "\n") {
		if strings.HasPrefix(strings.TrimSpace(l), "#") && !strings.Contains(after, l+"\n") {
			t.Errorf("the comment %q is gone", l)
		}
	}
	if len(added) != 5 {
		t.Errorf("lines changed by the placement: %q", added)
	}
	for _, l := range added {
		if !strings.Contains(l, "hub: ") {
			t.Errorf("placement changed %q", l)
		}
	}
}
