package tui

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/client"

	"github.com/buttctl/buttctl/ops/pubs/pubstest"
	"github.com/buttctl/buttctl/ops/pubspec"
	"github.com/buttctl/buttctl/ops/testworld"
)

// worldPub is a pub of this test on the n-th hub of the shared test world,
// in an inventory of its own; its container and volume are removed at the
// end (found by buttctl's labels on that hub's engine, removed by id).
func worldPub(t *testing.T, w *testworld.World, n int) (name, inv string, hub *testworld.Hub, docker *client.Client) {
	t.Helper()
	hub = w.Hubs[n]
	name = testworld.UniqueName("tui")
	port, err := w.AllocPort()
	if err != nil {
		t.Fatal(err)
	}
	inv = filepath.Join(t.TempDir(), "buttctl.yaml")
	if err := w.WriteInventory(inv, testworld.Pub{Name: name, Hub: hub.Name, Port: port}); err != nil {
		t.Fatal(err)
	}
	docker, err = hub.DockerClient()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		pubstest.RemovePubs(docker, name)
		docker.Close()
	})
	return name, inv, hub, docker
}

// startedAt is when the pub's container last started, and whether it runs.
func startedAt(t *testing.T, docker *client.Client, name string) (string, bool) {
	t.Helper()
	res, err := docker.ContainerInspect(context.Background(), pubspec.ContainerName(name), client.ContainerInspectOptions{})
	if err != nil || res.Container.State == nil {
		return "", false
	}
	return res.Container.State.StartedAt, res.Container.State.Running
}

// poll waits for cond, failing the test with what it last saw.
func poll(t *testing.T, what string, timeout time.Duration, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for delay := 50 * time.Millisecond; ; delay = min(2*delay, time.Second) {
		ok, seen := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s; last seen:\n%s", timeout, what, seen)
		}
		time.Sleep(delay)
	}
}

// buildButtctl builds the real binary for the test.
func buildButtctl(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "buttctl")
	_, self, _, _ := runtime.Caller(0)
	build := exec.Command("go", "build", "-o", bin, "./cmd/buttctl")
	build.Dir = filepath.Join(filepath.Dir(self), "..")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v: %s", err, out)
	}
	return bin
}

// tmux drives one session on a tmux server of the test's own (its own
// socket: other tmux servers on this machine are left alone).
type tmux struct {
	t              *testing.T
	socket, target string
}

func (x tmux) run(args ...string) string {
	x.t.Helper()
	out, err := exec.Command("tmux", append([]string{"-L", x.socket}, args...)...).CombinedOutput()
	if err != nil {
		x.t.Fatalf("tmux %s: %v: %s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

func (x tmux) screen() string { return x.run("capture-pane", "-p", "-t", x.target) }

func (x tmux) keys(keys ...string) {
	x.t.Helper()
	for _, k := range keys { // one at a time, like a person: no key is read as part of an escape sequence
		x.run("send-keys", "-t", x.target, k)
		time.Sleep(150 * time.Millisecond)
	}
}

func (x tmux) waitFor(what string, timeout time.Duration, ok func(screen string) bool) string {
	x.t.Helper()
	var s string
	poll(x.t, what, timeout, func() (bool, string) {
		s = x.screen()
		return ok(s), s
	})
	return s
}

// TestConsoleEndToEnd runs the real binary in tmux against the real test
// world: the console shows a pub of a hub reached over SSH as missing,
// creates it with s, and restarts it with r (confirmed with y); the
// container really restarted on the hub's engine (StartedAt changed), and
// the console showed each step.
func TestConsoleEndToEnd(t *testing.T) {
	if _, err := exec.LookPath("tmux"); err != nil {
		t.Fatalf("this test needs tmux (Debian package tmux; make test installs it): %v", err)
	}
	w := testworld.ForTest(t, 2)
	name, inv, hub, docker := worldPub(t, w, 0)
	bin := buildButtctl(t)

	b := make([]byte, 4)
	_, _ = rand.Read(b)
	x := tmux{t: t, socket: "buttctl-e2e-" + hex.EncodeToString(b), target: "console"}
	state := t.TempDir()
	x.run("new-session", "-d", "-s", "console", "-x", "140", "-y", "35",
		"env", "TERM=xterm-256color", "BUTTCTL_INVENTORY="+inv, "XDG_STATE_HOME="+state, "HOME="+os.Getenv("HOME"), bin)
	t.Cleanup(func() { _ = exec.Command("tmux", "-L", x.socket, "kill-server").Run() })

	x.waitFor(name+" missing on "+hub.Name, 60*time.Second, func(s string) bool {
		return strings.Contains(lineOf(s, name), "missing") && strings.Contains(lineOf(s, name), hub.Name)
	})
	x.keys("s")
	x.waitFor(name+" running and healthy", 90*time.Second, func(s string) bool {
		l := lineOf(s, name)
		return strings.Contains(l, "running") && strings.Contains(l, "healthy")
	})
	before, running := startedAt(t, docker, name)
	if !running {
		t.Fatalf("the console says running, the engine of %s does not", hub.Name)
	}

	x.keys("r")
	x.waitFor("the confirmation", 10*time.Second, func(s string) bool {
		return strings.Contains(s, "Restart pub "+name+" on hub "+hub.Name+"?")
	})
	x.keys("y")
	poll(t, "the container to start again", 60*time.Second, func() (bool, string) {
		after, running := startedAt(t, docker, name)
		return running && after != before, "StartedAt " + after + " (was " + before + ")"
	})
	s := x.waitFor("the console to say so", 30*time.Second, func(s string) bool {
		return strings.Contains(s, "restarted pub "+name+" on "+hub.Name) && strings.Contains(lineOf(s, name), "running")
	})
	if strings.Contains(s, "✗ "+hub.Name) {
		t.Errorf("the hub was reported unreachable:\n%s", s)
	}
	// the engine's own events reached the console: restart shows in Events
	x.keys(":")
	for _, r := range "events" {
		x.keys(string(r))
	}
	x.keys("Enter")
	x.waitFor("the restart's engine events", 20*time.Second, func(s string) bool {
		return strings.Contains(s, "Events") && eventLine(s, name, "start") && eventLine(s, name, "die")
	})
	x.keys("q")
	poll(t, "the console to quit", 10*time.Second, func() (bool, string) {
		out, err := exec.Command("tmux", "-L", x.socket, "list-panes", "-t", "console", "-F", "#{pane_dead} #{pane_current_command}").CombinedOutput()
		return err != nil || !strings.Contains(string(out), "buttctl"), string(out)
	})
}

func lineOf(screen, s string) string {
	for _, l := range strings.Split(screen, "\n") {
		if strings.Contains(l, s) {
			return l
		}
	}
	return ""
}

func eventLine(screen, pub, action string) bool {
	for _, l := range strings.Split(screen, "\n") {
		f := strings.Fields(l)
		if len(f) >= 5 && f[1] == "engine" && f[3] == pub && f[4] == action {
			return true
		}
	}
	return false
}
