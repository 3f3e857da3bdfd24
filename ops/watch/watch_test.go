package watch_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/buttctl/buttctl/inventory"
	"github.com/buttctl/buttctl/ops/audit"
	"github.com/buttctl/buttctl/ops/watch"
)

// Agent mode (--hub local): the same loop heals the local hub's pubs, and
// knows nothing of the other hubs of the inventory.
func TestAgentHealsAKilledPubOfItsHub(t *testing.T) {
	t.Parallel()
	a, elsewhere := uniq("wt-kill"), uniq("wt-far")
	f := newFleet(t, "", "  - {name: local, local: true}\n  - {name: far, address: 127.0.0.1, port: 1}\n", "local", a)
	addPub(t, f, elsewhere, "far")
	f.create()
	r := f.start(watch.Config{Hub: "local"})
	r.waitPhase(t, 30*time.Second, a, watch.PhaseRunning)
	st := r.w.State()
	if len(st.Hubs) != 1 || st.Hubs[0].Name != "local" || st.Hub != "local" {
		t.Errorf("agent's hubs = %+v", st.Hubs)
	}
	for _, p := range st.Pubs {
		if p.Name == elsewhere {
			t.Errorf("the agent of local watches %s on far: %+v", elsewhere, p)
		}
	}
	_, _, before, _ := f.container(a)

	f.kill(a)
	rec := r.waitRecord(t, 30*time.Second, a, watch.ActionStart)
	if rec.Result != watch.ResultOK || rec.Reason != watch.ReasonExited || rec.Hub != "local" || rec.Attempt != 1 {
		t.Errorf("start record = %+v", rec)
	}
	waitFor(t, 30*time.Second, a+" running again", func() bool {
		state, _, started, _ := f.container(a)
		return state == "running" && started.After(before)
	})
	f.waitHealth(a, "healthy")
	r.waitPhase(t, 30*time.Second, a, watch.PhaseRunning)
	if n := len(find(r.records(t), a, watch.ActionStart)); n != 1 {
		t.Errorf("%d start records for one kill", n)
	}
}

func TestOperatorStopIsLeftStopped(t *testing.T) {
	t.Parallel()
	a, b := uniq("wt-opstop"), uniq("wt-other")
	f := localFleet(t, a, b)
	f.create()
	r := f.start(watch.Config{})
	r.waitPhase(t, 30*time.Second, a, watch.PhaseRunning)

	if _, err := f.svc.Stop(context.Background(), a); err != nil {
		t.Fatal(err)
	}
	r.waitPhase(t, 30*time.Second, a, watch.PhaseOperatorStopped)
	// A crash of another pub is healed meanwhile: watch is awake.
	f.kill(b)
	r.waitRecord(t, 30*time.Second, b, watch.ActionStart)
	// And a full reconcile (every 5s here) leaves the stopped one alone.
	st := r.w.State()
	if st.LastReconcile == nil {
		t.Log("no full reconcile yet; waiting for one")
	}
	since := time.Now()
	waitFor(t, 30*time.Second, "a full reconcile", func() bool {
		lr := r.w.State().LastReconcile
		return lr != nil && lr.After(since)
	})
	if state, _, _, _ := f.container(a); state != "exited" {
		t.Errorf("operator-stopped pub is %s", state)
	}
	if recs := find(r.records(t), a, watch.ActionStart); len(recs) != 0 {
		t.Errorf("watch started an operator-stopped pub: %+v", recs)
	}
	// pub start clears the record: watch keeps it running again.
	if _, err := f.svc.Start(context.Background(), a); err != nil {
		t.Fatal(err)
	}
	f.waitHealth(a, "healthy")
	f.kill(a)
	r.waitRecord(t, 30*time.Second, a, watch.ActionStart)
}

func TestInventoryStoppedPubIsLeftAlone(t *testing.T) {
	a := uniq("wt-invstop")
	f := localFleet(t, a)
	f.create()
	f.kill(a)
	if err := inventory.Update(context.Background(), f.path, inventory.LockOptions{}, func(e *inventory.Editor) error {
		return e.SetPubState(a, inventory.StateStopped)
	}); err != nil {
		t.Fatal(err)
	}
	res, err := f.newWatcher(watch.Config{}).w.Once(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Records) != 0 {
		t.Errorf("once acted on a pub the inventory wants stopped: %+v", res.Records)
	}
	if state, _, _, _ := f.container(a); state != "exited" {
		t.Errorf("pub is %s", state)
	}
}

func TestCrashLoopIsQuarantinedAfterBoundedRestarts(t *testing.T) {
	t.Parallel()
	a := uniq("wt-crash")
	f := localFleet(t, a)
	f.create()
	r := f.start(watch.Config{})
	r.waitPhase(t, 30*time.Second, a, watch.PhaseRunning)

	f.exec(a, "sbot", "fault", "crash")
	q := r.waitRecord(t, 60*time.Second, a, watch.ActionQuarantine)
	if q.Reason != watch.ReasonCrashLoop || q.Result != watch.ResultOK {
		t.Errorf("quarantine record = %+v", q)
	}
	r.waitPhase(t, 10*time.Second, a, watch.PhaseQuarantined)
	heals := func() []audit.Record {
		var out []audit.Record
		for _, rec := range r.records(t) {
			if rec.Pub == a && (rec.Action == watch.ActionStart || rec.Action == watch.ActionRecreate) {
				out = append(out, rec)
			}
		}
		return out
	}
	before := len(heals())
	if before != 3 {
		t.Fatalf("%d heals before the quarantine; crash_loop.restarts is 3", before)
	}
	last := heals()[before-1]
	ps := r.phase(a)
	if ps.NextAttempt == nil || ps.NextAttempt.Sub(last.Time) < 4*time.Second {
		t.Errorf("quarantined pub's next attempt %v; want backoff.max (4s) after the last heal at %s", ps.NextAttempt, last.Time)
	}
	// From then on: retries at the cap only (4s apart), never a storm.
	waitFor(t, 30*time.Second, "a retry at the cap", func() bool { return len(heals()) > before })
	retry := heals()[before]
	if retry.Reason != watch.ReasonRetryAtCap || retry.Time.Sub(last.Time) < 4*time.Second {
		t.Errorf("retry = %+v; last heal at %s", retry, last.Time)
	}
	end := time.Now().Add(8 * time.Second)
	waitFor(t, 20*time.Second, "8 more seconds", func() bool { return time.Now().After(end) })
	if n := len(heals()) - before; n > 3 {
		t.Errorf("%d heals in ~10s of quarantine; want at most one per 4s", n)
	}
	ladder := heals()
	if len(ladder) >= 3 && ladder[2].Action != watch.ActionRecreate {
		t.Errorf("third heal %+v; the ladder recreates a pub still failing after two starts", ladder[2])
	}
}

func TestOnceHealsAndDryRunOnlyTells(t *testing.T) {
	a := uniq("wt-once")
	f := localFleet(t, a)
	f.create()
	f.kill(a)

	dry, err := f.newWatcher(watch.Config{DryRun: true}).w.Once(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(dry.Records) != 1 || dry.Records[0].Action != watch.ActionStart || dry.Records[0].Result != watch.ResultDryRun {
		t.Fatalf("dry run records = %+v", dry.Records)
	}
	if state, _, _, _ := f.container(a); state != "exited" {
		t.Fatalf("dry run changed the pub: %s", state)
	}

	res, err := f.newWatcher(watch.Config{}).w.Once(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Records) != 1 || res.Records[0].Action != watch.ActionStart || res.Records[0].Result != watch.ResultOK {
		t.Fatalf("once records = %+v", res.Records)
	}
	if state, _, _, _ := f.container(a); state != "running" {
		t.Errorf("after once: %s", state)
	}
	if actions, hubs := res.Failed(); actions != 0 || hubs != 0 {
		t.Errorf("once failed %d actions, %d hubs", actions, hubs)
	}
}

func TestOneWatcherPerInventory(t *testing.T) {
	a := uniq("wt-lock")
	f := localFleet(t, a)
	r := f.start(watch.Config{})
	waitFor(t, 30*time.Second, "the first watcher to run", func() bool { return r.hub("local").Connected })
	_, err := f.newWatcher(watch.Config{}).w.Once(context.Background())
	var locked *inventory.LockedError
	if !errors.As(err, &locked) || locked.Purpose != "buttctl watch" || locked.PID == 0 {
		t.Fatalf("second watcher: %v; want the lock error naming the first", err)
	}
}

// A hub unreachable for hub_down_after is marked down; with reboot_hubs and
// no cloud configured, the log says so once, however long it stays down.
func TestHubDownWithoutACloudSaysSoOnce(t *testing.T) {
	t.Parallel()
	a := uniq("wt-gone")
	addr := fmt.Sprintf("  - {name: local, local: true}\n  - {name: gone, address: 127.0.0.1, port: %d}\n", freePort(t))
	f := newFleet(t, "", addr, "local", a)
	addPub(t, f, uniq("wt-strand"), "gone")
	edit := func(old, new string) {
		text, err := os.ReadFile(f.path)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(f.path, []byte(strings.Replace(string(text), old, new, 1)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	edit("hub_down_after: 5s", "hub_down_after: 2s\n  reboot_hubs: true")
	r := f.start(watch.Config{})
	down := r.waitRecord(t, 30*time.Second, "", watch.ActionHubDown)
	if down.Hub != "gone" || down.Result != watch.ResultOK || down.Reason != watch.ReasonHubUnreachable || down.Error == "" {
		t.Errorf("hub-down record = %+v", down)
	}
	if hs := r.hub("gone"); !hs.Down || hs.Connected || hs.UnreachableSince == nil {
		t.Errorf("hub state = %+v", hs)
	}
	// Several reconnect attempts later: still one hub-down, one notice, no reboot.
	waitFor(t, 30*time.Second, "more reconnect attempts", func() bool {
		return strings.Count(r.logs.String(), "no cloud is configured") == 1 && time.Since(down.Time) > 5*time.Second
	})
	if n := strings.Count(r.logs.String(), "no cloud is configured"); n != 1 {
		t.Errorf("the no-cloud notice was logged %d times", n)
	}
	if n := len(find(r.records(t), "", watch.ActionHubDown)); n != 1 {
		t.Errorf("%d hub-down records", n)
	}
	if n := len(find(r.records(t), "", watch.ActionReboot)); n != 0 {
		t.Errorf("%d reboot records without a cloud", n)
	}
}

// A hub whose server lost power does not refuse connections: they hang.
// It is marked down at hub_down_after all the same, while the dial still
// hangs, not once the connect gives up.
func TestHubDownWhileTheDialHangs(t *testing.T) {
	t.Parallel()
	silent, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	accepted := make(chan net.Conn, 100)
	go func() {
		for {
			c, err := silent.Accept() // and never a word back: no SSH banner
			if err != nil {
				return
			}
			accepted <- c
		}
	}()
	t.Cleanup(func() {
		silent.Close()
		close(accepted)
		for c := range accepted {
			c.Close()
		}
	})
	port := silent.Addr().(*net.TCPAddr).Port
	f := newFleet(t, "", fmt.Sprintf("  - {name: local, local: true}\n  - {name: silent, address: 127.0.0.1, port: %d}\n", port), "local", uniq("wt-near"))
	addPub(t, f, uniq("wt-far"), "silent")
	text, err := os.ReadFile(f.path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(f.path, []byte(strings.Replace(string(text), "hub_down_after: 5s", "hub_down_after: 2s", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	f.tune = func(c *watch.Config) { c.Conn.Pool.DialTimeout = time.Hour }
	r := f.start(watch.Config{})
	down := r.waitRecord(t, 60*time.Second, "", watch.ActionHubDown)
	if down.Hub != "silent" || down.Result != watch.ResultOK {
		t.Errorf("hub-down record = %+v", down)
	}
	// Without the timer it came when the stream's connect gave up, 20s in.
	if lag := time.Duration(down.DurationMS) * time.Millisecond; lag > 2*time.Second+10*time.Second {
		t.Errorf("marked down %s after the hub was lost; hub_down_after is 2s", lag)
	}
}
