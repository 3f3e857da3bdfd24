package engine_test

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"

	"github.com/buttctl/buttctl/ops/engine"
	"github.com/buttctl/buttctl/ops/pubs/pubstest"
)

// eventLog collects the events of one stream for a test.
type eventLog struct {
	mu     sync.Mutex
	events []engine.Event
	seen   chan struct{}
}

func newEventLog() *eventLog { return &eventLog{seen: make(chan struct{}, 1)} }

func (l *eventLog) add(ev engine.Event) {
	l.mu.Lock()
	l.events = append(l.events, ev)
	l.mu.Unlock()
	select {
	case l.seen <- struct{}{}:
	default:
	}
}

// waitFor waits until an event matching ok arrived, and returns it.
func (l *eventLog) waitFor(t *testing.T, what string, ok func(engine.Event) bool) engine.Event {
	t.Helper()
	deadline := time.After(30 * time.Second)
	for {
		l.mu.Lock()
		for _, ev := range l.events {
			if ok(ev) {
				l.mu.Unlock()
				return ev
			}
		}
		l.mu.Unlock()
		select {
		case <-l.seen:
		case <-deadline:
			t.Fatalf("no %s event within 30s; got %+v", what, l.events)
		}
	}
}

func (l *eventLog) any(ok func(engine.Event) bool) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, ev := range l.events {
		if ok(ev) {
			return true
		}
	}
	return false
}

func TestEventsOfManagedContainersOnly(t *testing.T) {
	e := local(t)
	api := raw(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	net := testNetwork(t, e, api)

	log := newEventLog()
	connected := make(chan struct{})
	streamCtx, stopStream := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		done <- e.Events(streamCtx, engine.EventsOptions{Connected: func() { close(connected) }}, log.add)
	}()
	select {
	case <-connected:
	case err := <-done:
		t.Fatalf("Events ended before it connected: %v", err)
	}

	// A container without buttctl's labels: its events never show.
	stranger, err := api.ContainerCreate(ctx, client.ContainerCreateOptions{
		Config:     &container.Config{Image: pubstest.Image, Labels: map[string]string{"someone.else": "x"}},
		HostConfig: &container.HostConfig{NetworkMode: container.NetworkMode(net)},
	})
	if err != nil {
		t.Fatal(err)
	}
	removeLater(t, api, stranger.ID, "")
	if _, err := api.ContainerStart(ctx, stranger.ID, client.ContainerStartOptions{}); err != nil {
		t.Fatal(err)
	}

	pub := uniq("et-events")
	vol := "buttctl-pub-" + pub + "-data"
	removeLater(t, api, "", vol)
	cfg, host := pubConfig(pub, vol, net)
	c, err := e.Create(ctx, "buttctl-pub-"+pub, cfg, host)
	if err != nil {
		t.Fatal(err)
	}
	removeLater(t, api, c.ID, "")
	if err := e.Start(ctx, c); err != nil {
		t.Fatal(err)
	}
	start := log.waitFor(t, "start", func(ev engine.Event) bool { return ev.Action == engine.EventStart && ev.Pub == pub })
	if start.ContainerID != c.ID || start.Container != "buttctl-pub-"+pub || start.Time.IsZero() {
		t.Errorf("start event = %+v", start)
	}
	healthy := log.waitFor(t, "health_status", func(ev engine.Event) bool { return ev.Action == engine.EventHealth && ev.Pub == pub })
	if healthy.Health != "healthy" {
		t.Errorf("health event = %+v; want healthy", healthy)
	}
	if err := e.Kill(ctx, c, ""); err != nil {
		t.Fatal(err)
	}
	die := log.waitFor(t, "die", func(ev engine.Event) bool { return ev.Action == engine.EventDie && ev.Pub == pub })
	if die.ExitCode != 137 {
		t.Errorf("die event exit code %d; want 137", die.ExitCode)
	}
	if err := e.Remove(ctx, c); err != nil {
		t.Fatal(err)
	}
	log.waitFor(t, "destroy", func(ev engine.Event) bool { return ev.Action == engine.EventDestroy && ev.Pub == pub })
	if log.any(func(ev engine.Event) bool { return ev.ContainerID == stranger.ID }) {
		t.Error("an event of a container without buttctl's labels came through")
	}
	stopStream()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("Events after cancel = %v; want context.Canceled", err)
	}
}

// A stream that drops (here: a relay to the engine's socket goes away) ends with
// an error matching ErrUnreachable, and a new stream connects once the
// engine is back.
func TestEventStreamEndsUnreachableWhenTheEngineGoes(t *testing.T) {
	local(t)
	dir := t.TempDir()
	sock := filepath.Join(dir, "docker.sock")
	relay := startRelay(t, sock)
	e, err := engine.NewLocal("hub-relay", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	connected := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- e.Events(ctx, engine.EventsOptions{Connected: func() { close(connected) }}, func(engine.Event) {})
	}()
	select {
	case <-connected:
	case err := <-done:
		t.Fatalf("Events ended before it connected: %v", err)
	}
	relay.stop()
	err = <-done
	if !engine.IsUnreachable(err) || !strings.HasPrefix(err.Error(), "hub-relay: ") {
		t.Fatalf("Events after the engine went = %v; want an unreachable error naming the hub", err)
	}
	if err := e.Events(ctx, engine.EventsOptions{}, func(engine.Event) {}); !engine.IsUnreachable(err) {
		t.Fatalf("Events with the engine gone = %v; want unreachable", err)
	}
	startRelay(t, sock)
	again := make(chan struct{})
	streamCtx, stop := context.WithCancel(ctx)
	go func() {
		done <- e.Events(streamCtx, engine.EventsOptions{Connected: func() { close(again) }}, func(engine.Event) {})
	}()
	select {
	case <-again:
	case err := <-done:
		t.Fatalf("Events did not connect again: %v", err)
	}
	stop()
	<-done
}

// relay serves this machine's Docker socket at another path, and can go
// away as an engine (or the connection to it) does: it closes its listener
// and every connection it relays.
type relay struct {
	ln    net.Listener
	mu    sync.Mutex
	conns []net.Conn
	once  sync.Once
}

// startRelay relays sock to the real Docker socket until stop or cleanup.
func startRelay(t *testing.T, sock string) *relay {
	t.Helper()
	_ = os.Remove(sock)
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	r := &relay{ln: ln}
	t.Cleanup(r.stop)
	go func() {
		for {
			in, err := ln.Accept()
			if err != nil {
				return
			}
			out, err := net.Dial("unix", socket)
			if err != nil {
				in.Close()
				continue
			}
			r.mu.Lock()
			r.conns = append(r.conns, in, out)
			r.mu.Unlock()
			go func() { _, _ = io.Copy(out, in); out.Close() }()
			go func() { _, _ = io.Copy(in, out); in.Close() }()
		}
	}()
	return r
}

func (r *relay) stop() {
	r.once.Do(func() {
		r.ln.Close()
		r.mu.Lock()
		defer r.mu.Unlock()
		for _, c := range r.conns {
			c.Close()
		}
	})
}

func TestOperatorStopRecordTravelsWithTheContainer(t *testing.T) {
	e := local(t)
	api := raw(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	net := testNetwork(t, e, api)
	pub := uniq("et-opstop")
	vol := "buttctl-pub-" + pub + "-data"
	removeLater(t, api, "", vol)
	cfg, host := pubConfig(pub, vol, net)
	c, err := e.Create(ctx, "buttctl-pub-"+pub, cfg, host)
	if err != nil {
		t.Fatal(err)
	}
	removeLater(t, api, c.ID, "")

	if s, err := e.OperatorStopOf(ctx, c); err != nil || s.Stopped {
		t.Fatalf("a new container's record = %+v, %v; want none", s, err)
	}
	if err := e.Start(ctx, c); err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	if err := e.SetOperatorStop(ctx, c, engine.OperatorStop{Stopped: true, By: "ops@console", At: at}); err != nil {
		t.Fatal(err)
	}
	if err := e.Stop(ctx, c, nil); err != nil {
		t.Fatal(err)
	}
	s, err := e.OperatorStopOf(ctx, c)
	if err != nil || !s.Stopped || s.By != "ops@console" || !s.At.Equal(at) {
		t.Fatalf("record of the stopped container = %+v, %v", s, err)
	}
	if err := e.SetOperatorStop(ctx, c, engine.OperatorStop{At: at.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if s, err := e.OperatorStopOf(ctx, c); err != nil || s.Stopped {
		t.Fatalf("cleared record = %+v, %v", s, err)
	}
	// The record is in the container, not in the pub's data volume.
	if _, err := api.ContainerStatPath(ctx, c.ID, client.ContainerStatPathOptions{Path: "/home/node/.ssb/.buttctl-operator-stop"}); err == nil {
		t.Error("the record landed in the data volume")
	}
}
