package live_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/api/types/events"

	"github.com/buttctl/buttctl/inventory"
	"github.com/buttctl/buttctl/ops/engine"
	"github.com/buttctl/buttctl/ops/hubconn"
	"github.com/buttctl/buttctl/ops/live"
	"github.com/buttctl/buttctl/ops/pubs"
	"github.com/buttctl/buttctl/ops/pubs/pubstest"
	"github.com/buttctl/buttctl/ops/pubspec"
)

func TestFromDocker(t *testing.T) {
	ev := live.FromDocker("hub-1", events.Message{
		Type: events.ContainerEventType, Action: "health_status: unhealthy", TimeNano: 1_700_000_000_123_000_000,
		Actor: events.Actor{ID: "abc", Attributes: map[string]string{"name": "buttctl-pub-p", engine.LabelPub: "p"}},
	})
	if ev.Action != live.ActionHealthStatus || ev.Health != "unhealthy" || ev.Pub != "p" || ev.Container != "buttctl-pub-p" || ev.Hub != "hub-1" || ev.ID != "abc" {
		t.Errorf("%+v", ev)
	}
	if !ev.Time.Equal(time.Unix(0, 1_700_000_000_123_000_000)) {
		t.Errorf("time %v", ev.Time)
	}
	die := live.FromDocker("h", events.Message{Action: "die", Time: 1_700_000_000, Actor: events.Actor{Attributes: map[string]string{"exitCode": "137"}}})
	if die.ExitCode == nil || *die.ExitCode != 137 || !die.Time.Equal(time.Unix(1_700_000_000, 0)) {
		t.Errorf("%+v", die)
	}
	kill := live.FromDocker("h", events.Message{Action: "kill", Actor: events.Actor{Attributes: map[string]string{"signal": "9"}}})
	if kill.Signal != "9" || kill.ExitCode != nil {
		t.Errorf("%+v", kill)
	}
}

func TestParseRecord(t *testing.T) {
	r, err := live.ParseRecord([]byte(`{"time":"2026-05-01T12:00:00.5Z","source":"watch","hub":"hub-1","pub":"p","action":"kill","reason":"unhealthy past grace","result":"ok","duration_ms":1250}`))
	if err != nil {
		t.Fatal(err)
	}
	if r.Source != "watch" || r.Hub != "hub-1" || r.Pub != "p" || r.Action != "kill" || r.Reason != "unhealthy past grace" || r.Result != "ok" || r.Duration != 1250*time.Millisecond {
		t.Errorf("%+v", r)
	}
	if !r.Time.Equal(time.Date(2026, 5, 1, 12, 0, 0, 5e8, time.UTC)) {
		t.Errorf("time %v", r.Time)
	}
	alt, err := live.ParseRecord([]byte(`{"ts":"2026-05-01T12:00:00Z","by":"apply","event":"create","outcome":"error","err":"hub-2: boom","duration":"2s","exit":3}`))
	if err != nil {
		t.Fatal(err)
	}
	if alt.Source != "apply" || alt.Action != "create" || alt.Result != "error" || alt.Error != "hub-2: boom" || alt.Duration != 2*time.Second {
		t.Errorf("%+v", alt)
	}
	if _, err := live.ParseRecord([]byte(`not json`)); err == nil {
		t.Error("a line that is not JSON must be an error")
	}
}

// next waits for the next record, failing after a deadline.
func next(t *testing.T, ch <-chan live.Record) live.Record {
	t.Helper()
	select {
	case r, ok := <-ch:
		if !ok {
			t.Fatal("tail ended")
		}
		return r
	case <-time.After(10 * time.Second):
		t.Fatal("no record within 10s")
	}
	return live.Record{}
}

func TestTailFollowsAppendsAndTruncation(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	var old strings.Builder
	for i := range 5 {
		fmt.Fprintf(&old, `{"action":"old-%d"}`+"\n", i)
	}
	if err := os.WriteFile(path, []byte(old.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ch := live.Tail(ctx, path, live.TailOptions{Last: 2, Poll: 20 * time.Millisecond})
	if a, b := next(t, ch).Action, next(t, ch).Action; a != "old-3" || b != "old-4" {
		t.Fatalf("the last 2 records first: got %s, %s", a, b)
	}
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	// a record written in two pieces arrives once, whole
	if _, err := f.WriteString(`{"action":"new`); err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString(`-1","pub":"p"}` + "\nnot json\n"); err != nil {
		t.Fatal(err)
	}
	f.Close()
	if r := next(t, ch); r.Action != "new-1" || r.Pub != "p" {
		t.Fatalf("appended record: %+v", r)
	}
	if r := next(t, ch); r.Action != "?" || r.Raw != "not json" {
		t.Fatalf("a bad line is delivered raw: %+v", r)
	}
	// rotated: the file starts again
	if err := os.WriteFile(path, []byte(`{"action":"rotated"}`+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if r := next(t, ch); r.Action != "rotated" {
		t.Fatalf("after truncation: %+v", r)
	}
	cancel()
	for range ch { // the channel closes once ctx is done
	}
}

func TestTailWaitsForTheFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "later.jsonl")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ch := live.Tail(ctx, path, live.TailOptions{Poll: 20 * time.Millisecond})
	if err := os.WriteFile(path, []byte(`{"action":"first"}`+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if r := next(t, ch); r.Action != "first" {
		t.Fatalf("%+v", r)
	}
}

func uniq(prefix string) string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return prefix + "-" + hex.EncodeToString(b)
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// TestEventsFromTheRealEngine follows this machine's Docker engine while a
// pub is created, killed and removed, and a hub whose engine does not
// exist: its stream is reported down, with its error, and retried.
func TestEventsFromTheRealEngine(t *testing.T) {
	pubstest.Require(t)
	name := uniq("live")
	inv, err := inventory.Parse("test.yaml", []byte(fmt.Sprintf(`version: 1
defaults: {image: %q, health: {interval: 1s, timeout: 3s, retries: 2}}
hubs:
  - {name: local, local: true}
  - {name: dead, local: true, docker_socket: /nonexistent/buttctl-live/docker.sock}
pubs:
  - {name: %s, hub: local, port: %d}
`, pubstest.Image, name, freePort(t))))
	if err != nil {
		t.Fatal(err)
	}
	conns := hubconn.New(inv, hubconn.Options{})
	svc := pubs.New(inv, conns)
	t.Cleanup(func() {
		ctx := context.Background()
		_, _ = svc.Remove(ctx, name, true)
		svc.Close()
		conns.Close()
	})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ch := live.Events(ctx, svc, []string{"local", "dead"}, live.StreamOptions{Initial: 50 * time.Millisecond, Max: 200 * time.Millisecond})

	deadNamed := false
	want := func(what string, ok func(live.Event) bool) live.Event {
		t.Helper()
		deadline := time.After(45 * time.Second)
		for {
			select {
			case ev := <-ch:
				if ev.Hub == "dead" && ev.Action == live.ActionDisconnected && strings.Contains(ev.Err, "/nonexistent/buttctl-live/docker.sock") {
					deadNamed = true
				}
				if ok(ev) {
					return ev
				}
			case <-deadline:
				t.Fatalf("no %s event within 45s", what)
			}
		}
	}
	want("local connected", func(ev live.Event) bool { return ev.Hub == "local" && ev.Action == live.ActionConnected })
	if _, err := svc.Create(context.Background(), name); err != nil {
		t.Fatal(err)
	}
	start := want("start", func(ev live.Event) bool { return ev.Pub == name && ev.Action == "start" })
	if start.Container != pubspec.ContainerName(name) || start.ID == "" {
		t.Errorf("start event: %+v", start)
	}
	want("healthy", func(ev live.Event) bool {
		return ev.Pub == name && ev.Action == live.ActionHealthStatus && ev.Health == "healthy"
	})
	if _, err := svc.Kill(context.Background(), name, ""); err != nil {
		t.Fatal(err)
	}
	die := want("die", func(ev live.Event) bool { return ev.Pub == name && ev.Action == "die" })
	if die.ExitCode == nil || *die.ExitCode != 137 {
		t.Errorf("die after SIGKILL: exit code %v", die.ExitCode)
	}
	if _, err := svc.Remove(context.Background(), name, false); err != nil {
		t.Fatal(err)
	}
	want("destroy", func(ev live.Event) bool { return ev.Pub == name && ev.Action == "destroy" })
	// the dead hub keeps being retried, each time reported with its error
	downs := 0
	want("the dead hub retried", func(ev live.Event) bool {
		if ev.Hub == "dead" && ev.Action == live.ActionDisconnected {
			downs++
		}
		return downs >= 2
	})
	if !deadNamed {
		t.Error("the dead hub's stream error does not name its socket")
	}
	cancel()
	for range ch { // closes once every stream has ended
	}
}
