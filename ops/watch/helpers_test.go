package watch_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/moby/moby/client"

	"github.com/buttctl/buttctl/inventory"
	"github.com/buttctl/buttctl/ops/audit"
	"github.com/buttctl/buttctl/ops/engine"
	"github.com/buttctl/buttctl/ops/hubconn"
	"github.com/buttctl/buttctl/ops/hubconn/hubconntest"
	"github.com/buttctl/buttctl/ops/pubs"
	"github.com/buttctl/buttctl/ops/pubs/pubstest"
	"github.com/buttctl/buttctl/ops/pubspec"
	"github.com/buttctl/buttctl/ops/watch"
)

const socket = "/var/run/docker.sock"

func uniq(prefix string) string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return prefix + "-" + hex.EncodeToString(b)
}

// freePort returns a TCP port nothing listens on right now.
func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// fleet is a test inventory on this machine's real Docker engine, with
// pubs of the stand-in image created for real, removed (container and
// volume, by name) when the test ends.
type fleet struct {
	t     testing.TB
	path  string
	inv   *inventory.Inventory
	conns *hubconn.Conns
	svc   *pubs.Service
	// clients reach each hub's engine behind buttctl's back, for arranging
	// and checking.
	clients map[string]*client.Client
	pubs    []string
	// tune, when set, adjusts each watcher's config last.
	tune func(*watch.Config)
}

// watchSection is the test's watch settings: short timings.
const watchSection = `watch:
  unhealthy_grace: 2s
  stop_timeout: 2s
  backoff: {initial: 500ms, max: 4s, reset_after: 1m}
  hub_down_after: 5s
  reconcile: 5s
  crash_loop: {restarts: 3, window: 1m}
`

// newFleet writes an inventory with hubsYAML (list items), sshYAML (an ssh
// section or ""), and the named pubs on hub, each on a free port.
func newFleet(t testing.TB, sshYAML, hubsYAML, hub string, names ...string) *fleet {
	t.Helper()
	pubstest.Require(t)
	var ps strings.Builder
	for _, n := range names {
		fmt.Fprintf(&ps, "  - {name: %s, hub: %s, port: %d}\n", n, hub, freePort(t))
	}
	text := fmt.Sprintf("version: 1\n%sdefaults: {image: %q, restart: \"no\", health: {interval: 1s, timeout: 3s, retries: 2}}\nhubs:\n%spubs:\n%s%s",
		sshYAML, pubstest.Image, hubsYAML, ps.String(), watchSection)
	f := &fleet{t: t, path: filepath.Join(t.TempDir(), "buttctl.yaml"), pubs: names}
	if err := os.WriteFile(f.path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	f.reload()
	api, err := client.New(client.WithHost("unix://" + socket))
	if err != nil {
		t.Fatal(err)
	}
	f.clients = map[string]*client.Client{hub: api}
	f.removeLater()
	return f
}

// removeLater removes the fleet's pubs (containers and volumes, by name)
// from every hub when the test ends, and closes the clients.
func (f *fleet) removeLater() {
	f.t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		for _, api := range f.clients {
			for _, n := range f.pubs {
				_, _ = api.ContainerRemove(ctx, pubspec.ContainerName(n), client.ContainerRemoveOptions{Force: true})
				_, _ = api.VolumeRemove(ctx, pubspec.VolumeName(n), client.VolumeRemoveOptions{Force: true})
			}
			api.Close()
		}
	})
}

// api is the Docker client of the hub the inventory places pub on.
func (f *fleet) api(name string) *client.Client {
	f.t.Helper()
	return f.clients[f.hubOf(name)]
}

// localFleet is a fleet on the local hub.
func localFleet(t testing.TB, names ...string) *fleet {
	return newFleet(t, "", "  - {name: local, local: true}\n", "local", names...)
}

// reload reads the inventory file again (after watch changed it).
func (f *fleet) reload() {
	f.t.Helper()
	inv, err := inventory.Load(f.path)
	if err != nil {
		f.t.Fatal(err)
	}
	if f.conns != nil {
		f.svc.Close()
		f.conns.Close()
	}
	f.inv = inv
	f.conns = hubconn.New(inv, hubconntest.Options())
	f.svc = pubs.New(inv, f.conns)
	f.t.Cleanup(func() { f.svc.Close(); f.conns.Close() })
}

// create creates and starts every pub, and waits until each is healthy.
func (f *fleet) create() {
	f.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	for _, n := range f.pubs {
		if _, err := f.svc.Create(ctx, n); err != nil {
			f.t.Fatal(err)
		}
	}
	for _, n := range f.pubs {
		f.waitHealth(n, "healthy")
	}
}

// container returns the engine's view of pub's container (by name).
func (f *fleet) container(name string) (state, health string, started time.Time, restarts int) {
	f.t.Helper()
	return f.containerOn(f.hubOf(name), name)
}

// containerOn is containerOf pub on a given hub.
func (f *fleet) containerOn(hub, name string) (state, health string, started time.Time, restarts int) {
	f.t.Helper()
	res, err := f.clients[hub].ContainerInspect(context.Background(), pubspec.ContainerName(name), client.ContainerInspectOptions{})
	if err != nil {
		return "missing", "", time.Time{}, 0
	}
	s := res.Container.State
	if s.Health != nil {
		health = string(s.Health.Status)
	}
	started, _ = time.Parse(time.RFC3339Nano, s.StartedAt)
	return string(s.Status), health, started, res.Container.RestartCount
}

func (f *fleet) waitHealth(name, health string) {
	f.t.Helper()
	waitFor(f.t, 60*time.Second, name+" "+health, func() bool {
		state, h, _, _ := f.container(name)
		return state == "running" && h == health
	})
}

// kill sends SIGKILL to pub's container behind buttctl's back, as a crash would.
func (f *fleet) kill(name string) {
	f.t.Helper()
	if _, err := f.api(name).ContainerKill(context.Background(), pubspec.ContainerName(name), client.ContainerKillOptions{Signal: "SIGKILL"}); err != nil {
		f.t.Fatal(err)
	}
}

// exec runs argv in pub's container behind buttctl's back.
func (f *fleet) exec(name string, argv ...string) {
	f.t.Helper()
	e, err := f.svc.Engine(f.hubOf(name))
	if err != nil {
		f.t.Fatal(err)
	}
	c, err := e.PubContainer(context.Background(), name)
	if err != nil {
		f.t.Fatal(err)
	}
	if _, stderr, code, err := e.Output(context.Background(), c, argv); err != nil || code != 0 {
		f.t.Fatalf("%v in %s: code %d, %v: %s", argv, name, code, err, stderr)
	}
}

func (f *fleet) hubOf(name string) string {
	p, ok := f.inv.Pub(name)
	if !ok {
		f.t.Fatalf("no pub %s", name)
	}
	return p.Hub
}

// running is a watcher running in the background for a test.
type running struct {
	w      *watch.Watcher
	audit  string
	logs   *syncBuffer
	cancel context.CancelFunc
	done   chan error
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// start runs a watcher of f with cfg (InventoryPath, Audit and Log filled
// in), and stops it when the test ends.
func (f *fleet) start(cfg watch.Config) *running {
	f.t.Helper()
	r := f.newWatcher(cfg)
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	r.done = make(chan error, 1)
	go func() { r.done <- r.w.Run(ctx) }()
	f.t.Cleanup(func() {
		r.stop(f.t)
		if f.t.Failed() {
			f.t.Logf("watch's log:\n%s", r.logs.String())
		}
	})
	return r
}

func (f *fleet) newWatcher(cfg watch.Config) *running {
	f.t.Helper()
	r := &running{audit: filepath.Join(f.t.TempDir(), "audit.jsonl"), logs: &syncBuffer{}}
	cfg.InventoryPath = f.path
	log := audit.File(r.audit, audit.SourceWatch)
	if err := log.Open(); err != nil {
		f.t.Fatal(err)
	}
	f.t.Cleanup(func() { log.Close() })
	cfg.Audit = log
	cfg.Log = slog.New(slog.NewTextHandler(r.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	cfg.Conn = hubconntest.Options()
	// Silent connections (a hub powered off) are noticed within seconds.
	cfg.Conn.Pool.KeepAliveInterval = time.Second
	cfg.Conn.Pool.KeepAliveCountMax = 2
	cfg.Conn.Pool.DialTimeout = 3 * time.Second
	if f.tune != nil {
		f.tune(&cfg)
	}
	w, err := watch.New(cfg)
	if err != nil {
		f.t.Fatal(err)
	}
	r.w = w
	return r
}

func (r *running) stop(t testing.TB) {
	if r.cancel == nil {
		return
	}
	r.cancel()
	r.cancel = nil
	select {
	case err := <-r.done:
		if err != nil {
			t.Errorf("watch ended with %v", err)
		}
	case <-time.After(time.Minute):
		t.Error("watch did not stop within a minute of being asked")
	}
}

// records reads the audit log.
func (r *running) records(t testing.TB) []audit.Record {
	t.Helper()
	recs, err := audit.ReadFile(r.audit)
	if err != nil {
		t.Fatal(err)
	}
	return recs
}

// find returns the records of pub with action (any pub when pub is "").
func find(recs []audit.Record, pub, action string) []audit.Record {
	var out []audit.Record
	for _, r := range recs {
		if (pub == "" || r.Pub == pub) && r.Action == action {
			out = append(out, r)
		}
	}
	return out
}

// waitRecord waits until the audit log holds a record of pub with action.
func (r *running) waitRecord(t testing.TB, timeout time.Duration, pub, action string) audit.Record {
	t.Helper()
	var got []audit.Record
	waitFor(t, timeout, "a "+action+" record of "+pub, func() bool {
		got = find(r.records(t), pub, action)
		return len(got) > 0
	})
	return got[0]
}

// phase is pub's phase in the watcher's state.
func (r *running) phase(name string) watch.PubState {
	for _, p := range r.w.State().Pubs {
		if p.Name == name {
			return p
		}
	}
	return watch.PubState{}
}

func (r *running) waitPhase(t testing.TB, timeout time.Duration, name, phase string) {
	t.Helper()
	waitFor(t, timeout, name+" in phase "+phase, func() bool { return r.phase(name).Phase == phase })
}

func (r *running) hub(name string) watch.HubState {
	for _, h := range r.w.State().Hubs {
		if h.Name == name {
			return h
		}
	}
	return watch.HubState{}
}

// waitFor polls cond until it holds, failing the test after timeout.
func waitFor(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for delay := 10 * time.Millisecond; !cond(); delay = min(2*delay, 250*time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(delay)
	}
}

var _ = engine.EventDie

// addPub adds pub name on hub to the fleet's inventory (not created).
func addPub(t testing.TB, f *fleet, name, hub string) {
	t.Helper()
	if err := inventory.Update(context.Background(), f.path, inventory.LockOptions{}, func(e *inventory.Editor) error {
		return e.AddPub(inventory.Pub{Name: name, Hub: hub, Port: freePort(t)})
	}); err != nil {
		t.Fatal(err)
	}
	f.reload()
}
