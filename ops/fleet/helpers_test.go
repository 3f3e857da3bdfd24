package fleet_test

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/client"

	"github.com/buttctl/buttctl/inventory"
	"github.com/buttctl/buttctl/ops/fleet/fleettest"
	"github.com/buttctl/buttctl/ops/hubconn"
	"github.com/buttctl/buttctl/ops/hubconn/hubconntest"
	"github.com/buttctl/buttctl/ops/pubs"
	"github.com/buttctl/buttctl/ops/pubs/pubstest"
)

// fixture is a test's fleet on this machine's real Docker engine: an
// inventory file, the connections and pub operations over it, and a prefix
// that names every pub of the test (so that cleanup, and prune, touch only
// the test's own containers on an engine other tests share).
type fixture struct {
	t      *testing.T
	prefix string
	path   string
	inv    *inventory.Inventory
	conns  *hubconn.Conns
	svc    *pubs.Service
	// api is this machine's engine; apis are every engine of the fleet
	// (this one, or the test world's hubs').
	api  *client.Client
	apis []*client.Client
}

// newFixture writes an inventory of head (top-level sections such as ssh),
// hubsYAML and pubsYAML (where every "PFX" becomes the test's prefix) and
// opens it. The health check of the stand-in image is tuned fast.
func newFixture(t *testing.T, head, hubsYAML, pubsYAML string) *fixture {
	t.Helper()
	pubstest.Require(t)
	f := &fixture{t: t, prefix: fleettest.Prefix("ft")}
	f.api = raw(t)
	f.apis = []*client.Client{f.api}
	f.path = filepath.Join(t.TempDir(), "buttctl.yaml")
	text := fmt.Sprintf(`# the test's fleet
version: 1
%sdefaults:
  image: %s
  memory: 64m
  health: {interval: 1s, timeout: 3s, retries: 2}

hubs:
%s
# the pubs
pubs:
%s`, head, pubstest.Image, hubsYAML, pubsYAML)
	text = strings.ReplaceAll(text, "PFX", f.prefix)
	if err := os.WriteFile(f.path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	f.reload()
	t.Cleanup(f.removeAll)
	return f
}

// reload reads the inventory file again and rebuilds the operations on it.
func (f *fixture) reload() {
	f.t.Helper()
	inv, err := inventory.Load(f.path)
	if err != nil {
		f.t.Fatal(err)
	}
	f.close()
	f.inv = inv
	f.conns = hubconn.New(inv, hubconntest.Options())
	f.svc = pubs.New(inv, f.conns)
}

func (f *fixture) close() {
	if f.svc != nil {
		f.svc.Close()
		f.conns.Close()
	}
}

// removeAll removes every container and volume of the test's pubs.
func (f *fixture) removeAll() {
	f.close()
	for _, api := range f.apis {
		fleettest.Remove(api, f.prefix)
	}
}

// pub is the test's name for short name n.
func (f *fixture) pub(n string) string { return f.prefix + "-" + n }

// mine selects the test's own pubs.
func (f *fixture) mine(pub string) bool { return strings.HasPrefix(pub, f.prefix+"-") }

// write replaces the inventory file's text (PFX is the prefix) and reloads.
func (f *fixture) write(text string) {
	f.t.Helper()
	if err := os.WriteFile(f.path, []byte(strings.ReplaceAll(text, "PFX", f.prefix)), 0o644); err != nil {
		f.t.Fatal(err)
	}
	f.reload()
}

// text is the inventory file's text.
func (f *fixture) text() string {
	f.t.Helper()
	b, err := os.ReadFile(f.path)
	if err != nil {
		f.t.Fatal(err)
	}
	return string(b)
}

func raw(t *testing.T) *client.Client {
	t.Helper()
	api, err := client.New(client.WithHost("unix://" + pubstest.Socket))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { api.Close() })
	return api
}

func freePorts(t *testing.T, n int) []int { return fleettest.FreePorts(t, n) }

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	fleettest.WaitFor(t, time.Minute, what, cond)
}

// blackhole is a TCP listener that accepts connections and never answers:
// a hub that hangs.
func blackhole(t *testing.T) (string, int) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	var held []net.Conn
	go func() {
		defer close(done)
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			held = append(held, c)
		}
	}()
	t.Cleanup(func() {
		l.Close()
		<-done
		for _, c := range held {
			c.Close()
		}
	})
	return "127.0.0.1", l.Addr().(*net.TCPAddr).Port
}
