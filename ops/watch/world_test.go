package watch_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/client"

	"github.com/buttctl/buttctl/inventory"
	"github.com/buttctl/buttctl/ops/identity"
	"github.com/buttctl/buttctl/ops/pubspec"
	"github.com/buttctl/buttctl/ops/testworld"
	"github.com/buttctl/buttctl/ops/watch"
)

// worldFleet writes an inventory of world w's hubs with pubs (each on a
// port of the world's), restart "no" and the test's watch settings plus
// extraWatch lines, and creates the pubs through buttctl, over SSH.
func worldFleet(t *testing.T, w *testworld.World, extraWatch string, ps ...testworld.Pub) *fleet {
	t.Helper()
	for i := range ps {
		port, err := w.AllocPort()
		if err != nil {
			t.Fatal(err)
		}
		ps[i].Port = port
	}
	f := &fleet{t: t, path: filepath.Join(t.TempDir(), "buttctl.yaml"), clients: map[string]*client.Client{}}
	if err := w.WriteInventory(f.path, ps...); err != nil {
		t.Fatal(err)
	}
	text, err := os.ReadFile(f.path)
	if err != nil {
		t.Fatal(err)
	}
	patched := strings.Replace(string(text), "\ndefaults:\n", "\ndefaults:\n  restart: \"no\"\n", 1)
	if patched == string(text) {
		t.Fatalf("the world's inventory has no defaults section:\n%s", text)
	}
	patched += "\n" + watchSection + extraWatch
	if err := os.WriteFile(f.path, []byte(patched), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, p := range ps {
		f.pubs = append(f.pubs, p.Name)
	}
	for _, h := range w.Hubs {
		api, err := h.DockerClient()
		if err != nil {
			t.Fatal(err)
		}
		f.clients[h.Name] = api
	}
	f.reload()
	f.removeLater()
	f.create()
	return f
}

// whoamiOn asks pub's container on hub for its id, behind buttctl's back.
func whoamiOn(t *testing.T, w *testworld.World, hub, pub string) string {
	t.Helper()
	var id string
	waitFor(t, 60*time.Second, pub+" on "+hub+" to answer whoami", func() bool {
		res, err := w.Hub(hub).ExecIn(context.Background(), pubspec.ContainerName(pub), "sbot", "whoami")
		if err != nil || res.ExitCode != 0 {
			return false
		}
		var who struct{ ID string }
		if json.Unmarshal([]byte(res.Stdout), &who) != nil || who.ID == "" {
			return false
		}
		id = who.ID
		return true
	})
	return id
}

// On the test world's hubs, over SSH: a pub killed with SIGKILL runs again,
// one failing its health check is killed and restarted, one an operator
// stopped stays stopped, and one crash-looping is quarantined after a
// bounded number of restarts.
func TestWorldKillHealStopAndQuarantine(t *testing.T) {
	t.Parallel()
	w := testworld.ForTest(t, 1)
	hub := w.Hubs[0].Name
	killed, sick, stopped, looping := testworld.UniqueName("wk"), testworld.UniqueName("ws"), testworld.UniqueName("wo"), testworld.UniqueName("wl")
	f := worldFleet(t, w, "", testworld.Pub{Name: killed, Hub: hub}, testworld.Pub{Name: sick, Hub: hub},
		testworld.Pub{Name: stopped, Hub: hub}, testworld.Pub{Name: looping, Hub: hub})
	r := f.start(watch.Config{})
	for _, p := range f.pubs {
		r.waitPhase(t, 60*time.Second, p, watch.PhaseRunning)
	}
	_, _, before, _ := f.container(killed)

	f.kill(killed)
	faulted := time.Now()
	f.exec(sick, "sbot", "fault", "unhealthy")
	if _, err := f.svc.Stop(context.Background(), stopped); err != nil {
		t.Fatal(err)
	}
	f.exec(looping, "sbot", "fault", "crash")

	// kill -9 → running again.
	start := r.waitRecord(t, 60*time.Second, killed, watch.ActionStart)
	if start.Result != watch.ResultOK || start.Reason != watch.ReasonExited || start.Hub != hub {
		t.Errorf("start of the killed pub = %+v", start)
	}
	waitFor(t, 60*time.Second, killed+" running again", func() bool {
		state, _, started, _ := f.container(killed)
		return state == "running" && started.After(before)
	})

	// Unhealthy → killed (after Docker's retries and the grace) and restarted.
	kill := r.waitRecord(t, 60*time.Second, sick, watch.ActionKill)
	if kill.Result != watch.ResultOK || kill.Reason != watch.ReasonUnhealthy || kill.Time.Sub(faulted) < 2*time.Second {
		t.Errorf("kill of the unhealthy pub = %+v, %s after the fault (grace 2s)", kill, kill.Time.Sub(faulted))
	}
	restart := r.waitRecord(t, 60*time.Second, sick, watch.ActionStart)
	if restart.Result != watch.ResultOK || restart.Time.Before(kill.Time) {
		t.Errorf("start of the unhealthy pub = %+v", restart)
	}
	waitFor(t, 60*time.Second, sick+" running after the kill", func() bool {
		state, _, _, _ := f.container(sick)
		return state == "running"
	})
	f.exec(sick, "sbot", "fault", "clear")

	// Crash loop → bounded restarts, then quarantine.
	q := r.waitRecord(t, 90*time.Second, looping, watch.ActionQuarantine)
	heals := 0
	for _, rec := range r.records(t) {
		if rec.Pub == looping && (rec.Action == watch.ActionStart || rec.Action == watch.ActionRecreate) && !rec.Time.After(q.Time) {
			heals++
		}
	}
	if heals != 3 {
		t.Errorf("%d heals before the quarantine; crash_loop.restarts is 3", heals)
	}
	r.waitPhase(t, 10*time.Second, looping, watch.PhaseQuarantined)

	// The operator-stopped pub was left alone all along.
	r.waitPhase(t, 10*time.Second, stopped, watch.PhaseOperatorStopped)
	if state, _, _, _ := f.container(stopped); state != "exited" {
		t.Errorf("the operator-stopped pub is %s", state)
	}
	if recs := find(r.records(t), stopped, watch.ActionStart); len(recs) != 0 {
		t.Errorf("watch started the operator-stopped pub: %+v", recs)
	}
}

// A hub's sshd killed: its event stream drops; a pub that dies meanwhile is
// healed once sshd is back and the stream reconnects.
func TestWorldSSHDKilledAndRestarted(t *testing.T) {
	t.Parallel()
	w := testworld.Private(t, 1)
	h := w.Hubs[0]
	a := testworld.UniqueName("wd")
	f := worldFleet(t, w, "", testworld.Pub{Name: a, Hub: h.Name})
	r := f.start(watch.Config{})
	r.waitPhase(t, 60*time.Second, a, watch.PhaseRunning)
	ctx := context.Background()

	if err := h.KillSSHD(ctx); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 30*time.Second, "the event stream to drop", func() bool { return !r.hub(h.Name).Connected })
	f.kill(a) // behind buttctl's back, through the hub's engine directly
	if state, _, _, _ := f.container(a); state != "exited" {
		t.Fatalf("killed pub is %s", state)
	}
	if err := h.StartSSHD(ctx); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 60*time.Second, "the event stream to reconnect", func() bool {
		hs := r.hub(h.Name)
		return hs.Connected && hs.Reconnects >= 1
	})
	rec := r.waitRecord(t, 60*time.Second, a, watch.ActionStart)
	if rec.Result != watch.ResultOK || rec.Reason != watch.ReasonExited {
		t.Errorf("start record = %+v", rec)
	}
	waitFor(t, 60*time.Second, a+" running again", func() bool {
		state, _, _, _ := f.container(a)
		return state == "running"
	})
	if r.hub(h.Name).Down {
		t.Error("the hub was marked down for a short sshd outage")
	}
}

// A hub powered off, with reallocate: its pubs run on the other hub with
// the same identity and the inventory says so; when the hub comes back,
// its stale copies are never started: never two live copies.
func TestWorldHubPoweredOffPubsReallocated(t *testing.T) {
	t.Parallel()
	w := testworld.Private(t, 2)
	dead, alive := w.Hubs[0], w.Hubs[1]
	a, b := testworld.UniqueName("wr"), testworld.UniqueName("wr")
	f := worldFleet(t, w, "  reallocate: true\n", testworld.Pub{Name: a, Hub: dead.Name}, testworld.Pub{Name: b, Hub: dead.Name})
	ids := map[string]string{a: whoamiOn(t, w, dead.Name, a), b: whoamiOn(t, w, dead.Name, b)}
	store, err := identity.OpenStore(filepath.Join(t.TempDir(), "state"))
	if err != nil {
		t.Fatal(err)
	}
	r := f.start(watch.Config{Identities: &watch.StoreIdentities{Store: store}})
	for _, p := range []string{a, b} {
		rec := r.waitRecord(t, 60*time.Second, p, watch.ActionRecordIdentity)
		if rec.Identity != ids[p] || rec.Reason != watch.ReasonFirstSeen {
			t.Errorf("identity record of %s = %+v; want %s", p, rec, ids[p])
		}
	}
	ctx := context.Background()
	poweredOff := time.Now()
	if err := dead.PowerOff(ctx); err != nil {
		t.Fatal(err)
	}
	down := r.waitRecord(t, 60*time.Second, "", watch.ActionHubDown)
	if down.Hub != dead.Name || down.Time.Sub(poweredOff) < 5*time.Second {
		t.Errorf("hub-down record = %+v, %s after the power-off (hub_down_after 5s)", down, down.Time.Sub(poweredOff))
	}
	for _, p := range []string{a, b} {
		rec := r.waitRecord(t, 120*time.Second, p, watch.ActionReallocate)
		if rec.Result != watch.ResultOK || rec.Hub != alive.Name || rec.From != dead.Name {
			t.Fatalf("reallocation of %s = %+v", p, rec)
		}
		if got := whoamiOn(t, w, alive.Name, p); got != ids[p] {
			t.Errorf("%s answers %s on %s; it was %s", p, got, alive.Name, ids[p])
		}
	}
	inv, err := inventory.Load(f.path)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{a, b} {
		if pb, _ := inv.Pub(p); pb == nil || pb.Hub != alive.Name {
			t.Errorf("the inventory places %s on %v; want %s", p, pb, alive.Name)
		}
	}

	// The dead hub comes back: its copies never run; their containers are
	// removed (a stopped copy could be started, and would block the next
	// reallocation), their volumes kept.
	if err := dead.PowerOn(ctx); err != nil {
		t.Fatal(err)
	}
	r.waitRecord(t, 60*time.Second, "", watch.ActionHubUp)
	for _, p := range []string{a, b} {
		rec := r.waitRecord(t, 60*time.Second, p, watch.ActionRemoveStale)
		if rec.Result != watch.ResultOK || rec.Hub != dead.Name || rec.Reason != watch.ReasonStaleCopy {
			t.Errorf("removal of the stale copy of %s = %+v", p, rec)
		}
		if state, _, _, _ := f.containerOn(dead.Name, p); state != "missing" {
			t.Errorf("the stale copy of %s on %s is %s", p, dead.Name, state)
		}
		if _, err := f.clients[dead.Name].VolumeInspect(ctx, pubspec.VolumeName(p), client.VolumeInspectOptions{}); err != nil {
			t.Errorf("the stale copy's volume of %s on %s: %v", p, dead.Name, err)
		}
		if state, _, _, _ := f.containerOn(alive.Name, p); state != "running" {
			t.Errorf("%s on %s is %s", p, alive.Name, state)
		}
	}
	if recs := find(r.records(t), "", watch.ActionStart); len(recs) != 0 {
		t.Errorf("watch started copies: %+v", recs)
	}
	if recs := find(r.records(t), "", watch.ActionStopStale); len(recs) != 0 {
		t.Errorf("copies ran, and were stopped: %+v", recs)
	}

	// Now the other hub dies: the pubs go back, onto their old volumes.
	if err := alive.PowerOff(ctx); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{a, b} {
		waitFor(t, 120*time.Second, p+" reallocated back to "+dead.Name, func() bool {
			for _, rec := range find(r.records(t), p, watch.ActionReallocate) {
				if rec.Hub == dead.Name && rec.Result == watch.ResultOK {
					return true
				}
			}
			return false
		})
		if got := whoamiOn(t, w, dead.Name, p); got != ids[p] {
			t.Errorf("%s answers %s on %s; it was %s", p, got, dead.Name, ids[p])
		}
	}
}
