package fleetcmd

import (
	"bytes"
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

	"github.com/moby/moby/client"

	"github.com/buttctl/buttctl/cmd/buttctl/internal/iostreams"
	"github.com/buttctl/buttctl/inventory"
	"github.com/buttctl/buttctl/ops/engine"
	"github.com/buttctl/buttctl/ops/fleet"
	"github.com/buttctl/buttctl/ops/hubconn"
	"github.com/buttctl/buttctl/ops/hubconn/hubconntest"
	"github.com/buttctl/buttctl/ops/pubs"
	"github.com/buttctl/buttctl/ops/pubs/pubstest"
)

// world is an inventory file on this machine's real Docker engine (hub
// "local") and a hub whose engine does not exist ("dead"). Every pub is
// named with the world's prefix, and only those are removed at the end.
type world struct {
	t      *testing.T
	prefix string
	path   string
}

// deadHubs are the hubs of a world: this machine's engine, and one that
// does not exist.
const deadHubs = `  - {name: local, local: true, capacity: 5}
  - {name: dead, local: true, docker_socket: /nonexistent/buttctl-test/docker.sock}
`

// liveHubs are the hubs of a world where every hub answers.
const liveHubs = "  - {name: local, local: true, capacity: 5}\n"

func newWorld(t *testing.T, hubsYAML, pubsYAML string) *world {
	t.Helper()
	pubstest.Require(t)
	b := make([]byte, 3)
	_, _ = rand.Read(b)
	w := &world{t: t, prefix: "fc" + hex.EncodeToString(b), path: filepath.Join(t.TempDir(), "buttctl.yaml")}
	w.write(fmt.Sprintf(`# fleet command tests
version: 1
defaults:
  image: %s
  memory: 64m
  health: {interval: 1s, timeout: 3s, retries: 2}
hubs:
%spubs:
%s`, pubstest.Image, hubsYAML, pubsYAML))
	api, err := client.New(client.WithHost("unix://" + pubstest.Socket))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		defer api.Close()
		ctx := context.Background()
		managed := client.Filters{}.Add("label", engine.LabelManaged+"=true")
		if res, err := api.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: managed}); err == nil {
			for _, c := range res.Items {
				if strings.HasPrefix(c.Labels[engine.LabelPub], w.prefix) {
					_, _ = api.ContainerRemove(ctx, c.ID, client.ContainerRemoveOptions{Force: true})
				}
			}
		}
		if res, err := api.VolumeList(ctx, client.VolumeListOptions{Filters: managed}); err == nil {
			for _, v := range res.Items {
				if strings.HasPrefix(v.Labels[engine.LabelPub], w.prefix) {
					_, _ = api.VolumeRemove(ctx, v.Name, client.VolumeRemoveOptions{Force: true})
				}
			}
		}
	})
	return w
}

// write replaces the inventory's text; PFX stands for the world's prefix.
func (w *world) write(text string) {
	w.t.Helper()
	if err := os.WriteFile(w.path, []byte(strings.ReplaceAll(text, "PFX", w.prefix)), 0o644); err != nil {
		w.t.Fatal(err)
	}
}

// text is the inventory's text now.
func (w *world) text() string {
	w.t.Helper()
	b, err := os.ReadFile(w.path)
	if err != nil {
		w.t.Fatal(err)
	}
	return string(b)
}

func (w *world) pub(n string) string { return w.prefix + "-" + n }

// inventory loads the inventory as it is now.
func (w *world) inventory() *inventory.Inventory {
	w.t.Helper()
	inv, err := inventory.Load(w.path)
	if err != nil {
		w.t.Fatal(err)
	}
	return inv
}

// streams returns fresh test streams and the pub operations over the
// inventory as it is now.
func (w *world) streams() (*iostreams.IOStreams, *bytes.Buffer, *bytes.Buffer, Pubs) {
	io, _, out, errOut := iostreams.Test()
	inv := w.inventory()
	conns := hubconn.New(inv, hubconntest.Options())
	w.t.Cleanup(func() { conns.Close() })
	return io, out, errOut, func() (*pubs.Service, error) { return pubs.New(inv, conns), nil }
}

// waitHealthy polls until every pub named runs healthy.
func waitHealthy(t *testing.T, svc *pubs.Service, names ...string) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for delay := 10 * time.Millisecond; ; delay = min(2*delay, 500*time.Millisecond) {
		snap := fleet.Observe(context.Background(), svc, fleet.ObserveOptions{Timeout: 5 * time.Second})
		healthy := 0
		for _, n := range names {
			if p := snap.Pub(n); p != nil && p.Status == fleet.StatusRunning {
				healthy++
			}
		}
		if healthy == len(names) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %v to run healthy", names)
		}
		time.Sleep(delay)
	}
}

func freePorts(t *testing.T, n int) []int {
	t.Helper()
	var out []int
	var ls []net.Listener
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		ls = append(ls, l)
		out = append(out, l.Addr().(*net.TCPAddr).Port)
	}
	for _, l := range ls {
		l.Close()
	}
	return out
}
