package fleetcmd

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/client"

	"github.com/buttctl/buttctl/cmd/buttctl/internal/iostreams"
	"github.com/buttctl/buttctl/inventory"
	"github.com/buttctl/buttctl/ops/fleet"
	"github.com/buttctl/buttctl/ops/fleet/fleettest"
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
	w := &world{t: t, prefix: fleettest.Prefix("fc"), path: filepath.Join(t.TempDir(), "buttctl.yaml")}
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
	t.Cleanup(func() { api.Close() })
	fleettest.RemoveAtCleanup(t, api, w.prefix)
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
	fleettest.WaitFor(t, time.Minute, fmt.Sprintf("%v to run healthy", names), func() bool {
		snap := fleet.Observe(context.Background(), svc, fleet.ObserveOptions{Timeout: 5 * time.Second})
		for _, n := range names {
			if p := snap.Pub(n); p == nil || p.Status != fleet.StatusRunning {
				return false
			}
		}
		return true
	})
}

func freePorts(t *testing.T, n int) []int { return fleettest.FreePorts(t, n) }
