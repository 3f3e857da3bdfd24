package identity_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/moby/moby/client"

	"github.com/buttctl/buttctl/inventory"
	"github.com/buttctl/buttctl/ops/engine"
	"github.com/buttctl/buttctl/ops/hubconn"
	"github.com/buttctl/buttctl/ops/identity"
	"github.com/buttctl/buttctl/ops/pubs"
	"github.com/buttctl/buttctl/ops/pubs/pubstest"
	"github.com/buttctl/buttctl/ops/pubspec"
	"github.com/buttctl/buttctl/ops/testworld"
	"github.com/buttctl/buttctl/sshexec"
)

// worldFleet is a test world (hubs with their own sshd and dockerd), an
// inventory file of it with pubs, a store, and the pub operations as one
// buttctl command would have them.
type worldFleet struct {
	t     testing.TB
	w     *testworld.World
	path  string
	store *identity.Store
	svc   *pubs.Service
}

func newWorldFleet(t testing.TB, w *testworld.World, pubs ...testworld.Pub) *worldFleet {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, "buttctl.yaml")
	if err := w.WriteInventory(path, pubs...); err != nil {
		t.Fatal(err)
	}
	store, err := identity.OpenStore(filepath.Join(dir, "state"))
	if err != nil {
		t.Fatal(err)
	}
	f := &worldFleet{t: t, w: w, path: path, store: store}
	f.reload()
	t.Cleanup(func() {
		// Every container and volume of the test's pubs, on every hub, by label.
		var names []string
		for _, p := range pubs {
			names = append(names, p.Name)
		}
		for _, h := range w.Hubs {
			if api, err := h.DockerClient(); err == nil {
				pubstest.RemovePubs(api, names...)
				api.Close()
			}
		}
	})
	return f
}

// reload is the next command: the inventory file read again, new connections.
func (f *worldFleet) reload() *pubs.Service {
	f.t.Helper()
	inv, err := inventory.Load(f.path)
	if err != nil {
		f.t.Fatal(err)
	}
	conns := hubconn.New(inv, hubconn.Options{Pool: sshexec.PoolOptions{
		AgentSocket: sshexec.AgentNone, NoDefaultIdentities: true,
		// A powered-off hub is noticed within seconds.
		KeepAliveInterval: time.Second, KeepAliveCountMax: 3,
	}})
	svc := pubs.New(inv, conns)
	f.t.Cleanup(func() { svc.Close(); conns.Close() })
	f.svc = svc
	return svc
}

// running returns the hubs where pub has a running container, asking each
// hub's engine directly (not through buttctl). Unreachable hubs are skipped.
func (f *worldFleet) running(pub string) []string {
	f.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var on []string
	for _, h := range f.w.Hubs {
		api, err := h.DockerClient()
		if err != nil {
			continue
		}
		res, err := api.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: client.Filters{}.Add("label", engine.LabelPub+"="+pub)})
		api.Close()
		if err != nil {
			continue
		}
		for _, c := range res.Items {
			if c.State == "running" || c.State == "restarting" {
				on = append(on, h.Name)
			}
		}
	}
	return on
}

// hubInFile is where the inventory file places pub.
func (f *worldFleet) hubInFile(pub string) string {
	f.t.Helper()
	inv, err := inventory.Load(f.path)
	if err != nil {
		f.t.Fatal(err)
	}
	p, _ := inv.Pub(pub)
	return p.Hub
}

// whoamiOn asks the pub's container on hub, directly through the hub's engine.
func (f *worldFleet) whoamiOn(hub, pub string) string {
	f.t.Helper()
	var id string
	waitFor(f.t, "whoami of "+pub+" on "+hub, func() bool {
		res, err := f.w.Hub(hub).ExecIn(context.Background(), pubspec.ContainerName(pub), "sbot", "whoami")
		if err != nil {
			return false
		}
		id, err = pubs.ParseWhoami([]byte(res.Stdout))
		return err == nil
	})
	return id
}

// checkOneCopy asserts the invariant of every move: exactly one running
// copy, answering with id, on the hub the inventory names.
func (f *worldFleet) checkOneCopy(pub, id, what string) string {
	f.t.Helper()
	on := f.running(pub)
	if len(on) != 1 {
		f.t.Fatalf("%s: pub %s runs on %v, want exactly one hub", what, pub, on)
	}
	if got := f.whoamiOn(on[0], pub); got != id {
		f.t.Errorf("%s: pub %s on %s answers %s, want %s", what, pub, on[0], got, id)
	}
	if inFile := f.hubInFile(pub); inFile != on[0] {
		f.t.Errorf("%s: pub %s runs on %s but the inventory names %s", what, pub, on[0], inFile)
	}
	return on[0]
}

// fillData writes n random bytes into the pub's data directory.
func fillData(t testing.TB, svc *pubs.Service, pub string, n int) []byte {
	t.Helper()
	blob := make([]byte, n)
	_, _ = rand.Read(blob)
	writeData(t, svc, pub, map[string][]byte{"blob": blob})
	return blob
}

// secretsOf returns the private key of pub, from its hub, for the searches
// of outputs and logs.
func (f *worldFleet) privateKey(hub, pub string) string {
	f.t.Helper()
	e, err := f.svc.Engine(hub)
	if err != nil {
		f.t.Fatal(err)
	}
	c, err := e.PubContainer(context.Background(), pub)
	if err != nil {
		f.t.Fatal(err)
	}
	rc, err := e.ReadPath(context.Background(), c, "/home/node/.ssb/secret")
	if err != nil {
		f.t.Fatal(err)
	}
	defer rc.Close()
	var b bytes.Buffer
	_, _ = b.ReadFrom(rc)
	key := identity.PrivateKey(tarBody(f.t, b.Bytes()))
	if len(key) < 80 {
		f.t.Fatalf("private key of %s: %d chars", pub, len(key))
	}
	return key
}

// logsOf gathers what the world logged: every hub's sshd, dockerd and boot
// logs, and the logs of the pub's containers.
func (f *worldFleet) logsOf(pub string) map[string]string {
	f.t.Helper()
	out := map[string]string{}
	for _, h := range f.w.Hubs {
		_ = filepath.Walk(filepath.Join(h.Dir, "log"), func(p string, info os.FileInfo, err error) error {
			if err == nil && !info.IsDir() {
				b, _ := os.ReadFile(p)
				out[p] = string(b)
			}
			return nil
		})
		api, err := h.DockerClient()
		if err != nil {
			continue
		}
		ctx := context.Background()
		res, err := api.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: client.Filters{}.Add("label", engine.LabelPub+"="+pub)})
		if err == nil {
			for _, c := range res.Items {
				rc, err := api.ContainerLogs(ctx, c.ID, client.ContainerLogsOptions{ShowStdout: true, ShowStderr: true})
				if err == nil {
					var b bytes.Buffer
					_, _ = b.ReadFrom(rc)
					rc.Close()
					out[h.Name+"/"+c.ID[:12]] = b.String()
				}
			}
		}
		api.Close()
	}
	if len(out) == 0 {
		f.t.Fatal("no logs found to search")
	}
	return out
}

// noKey fails the test if any text holds the private key.
func noKey(t testing.TB, key string, texts map[string]string) {
	t.Helper()
	for name, text := range texts {
		if strings.Contains(text, key) || strings.Contains(text, key[:40]) {
			t.Errorf("%s shows the private key", name)
		}
	}
}

// recorder keeps every line a move reports, for the search for secrets.
type recorder struct {
	mu    sync.Mutex
	lines []string
}

func (r *recorder) report(step identity.Step, detail string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.lines = append(r.lines, string(step)+" "+detail)
}

func (r *recorder) text() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return strings.Join(r.lines, "\n")
}

// objectsOn counts the containers and volumes of pub on hub.
func (f *worldFleet) objectsOn(hub, pub string) int {
	f.t.Helper()
	api, err := f.w.Hub(hub).DockerClient()
	if err != nil {
		f.t.Fatal(err)
	}
	defer api.Close()
	ctx := context.Background()
	res, err := api.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: client.Filters{}.Add("label", engine.LabelPub+"="+pub)})
	if err != nil {
		f.t.Fatal(err)
	}
	n := len(res.Items)
	if _, err := api.VolumeInspect(ctx, pubspec.VolumeName(pub), client.VolumeInspectOptions{}); err == nil {
		n++
	}
	return n
}
