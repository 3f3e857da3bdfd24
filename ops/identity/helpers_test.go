package identity_test

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/client"

	"github.com/buttctl/buttctl/inventory"
	"github.com/buttctl/buttctl/ops/hubconn"
	"github.com/buttctl/buttctl/ops/identity"
	"github.com/buttctl/buttctl/ops/pubs"
	"github.com/buttctl/buttctl/ops/pubs/pubstest"
	"github.com/buttctl/buttctl/sshexec"
)

func uniq(prefix string) string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return prefix + "-" + hex.EncodeToString(b)
}

func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// localFleet is an inventory file whose hub "local" is this machine's real
// Docker engine, plus extraHubs, with pubs, and the pub operations over it.
type localFleet struct {
	t     testing.TB
	path  string
	svc   *pubs.Service
	store *identity.Store
	api   *client.Client
}

func newLocalFleet(t testing.TB, extraHubs, pubsYAML string) *localFleet {
	t.Helper()
	pubstest.Require(t)
	dir := t.TempDir()
	path := filepath.Join(dir, "buttctl.yaml")
	text := fmt.Sprintf(`# test fleet
version: 1
defaults: {image: %q, health: {interval: 1s, timeout: 3s, retries: 2}}
hubs:
  - {name: local, local: true}
%spubs:
%s`, pubstest.Image, extraHubs, pubsYAML)
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	f := &localFleet{t: t, path: path}
	f.reload()
	store, err := identity.OpenStore(filepath.Join(dir, "state"))
	if err != nil {
		t.Fatal(err)
	}
	f.store = store
	api, err := client.New(client.WithHost("unix://" + pubstest.Socket))
	if err != nil {
		t.Fatal(err)
	}
	f.api = api
	inv := f.svc.Inventory()
	t.Cleanup(func() {
		var names []string
		for _, p := range inv.Pubs {
			names = append(names, p.Name)
		}
		pubstest.RemovePubs(api, names...)
		api.Close()
	})
	return f
}

// reload loads the inventory file again, as the next buttctl command would.
func (f *localFleet) reload() {
	f.t.Helper()
	inv, err := inventory.Load(f.path)
	if err != nil {
		f.t.Fatal(err)
	}
	conns := hubconn.New(inv, hubconn.Options{Pool: sshexec.PoolOptions{AgentSocket: sshexec.AgentNone, NoDefaultIdentities: true}})
	svc := pubs.New(inv, conns)
	f.t.Cleanup(func() { svc.Close(); conns.Close() })
	f.svc = svc
}

// waitWhoami waits for pub to answer whoami.
func waitWhoami(t testing.TB, svc *pubs.Service, pub string) string {
	t.Helper()
	var id string
	var err error
	waitFor(t, "whoami of "+pub, func() bool {
		id, err = svc.Whoami(context.Background(), pub)
		return err == nil
	})
	return id
}

// waitFor polls cond until it holds, failing the test after a deadline.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for delay := 10 * time.Millisecond; !cond(); delay = min(2*delay, 500*time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(delay)
	}
}

// writeData puts files into the pub's data directory through the engine.
func writeData(t testing.TB, svc *pubs.Service, pub string, files map[string][]byte) {
	t.Helper()
	p, _ := svc.Inventory().Pub(pub)
	e, err := svc.Engine(p.Hub)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	c, err := e.PubContainer(ctx, pub)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	for name, data := range files {
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(data)), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write(data); err != nil {
			t.Fatal(err)
		}
	}
	tw.Close()
	if err := e.WritePath(ctx, c, "/home/node/.ssb", &b); err != nil {
		t.Fatal(err)
	}
}

// readData reads a file of the pub's data directory on hub through the engine.
func readData(t testing.TB, svc *pubs.Service, hub, pub, name string) []byte {
	t.Helper()
	e, err := svc.Engine(hub)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	c, err := e.PubContainer(ctx, pub)
	if err != nil {
		t.Fatal(err)
	}
	rc, err := e.ReadPath(ctx, c, "/home/node/.ssb/"+name)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	tr := tar.NewReader(rc)
	if _, err := tr.Next(); err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(tr)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func mustContain(t testing.TB, what, got string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(got, w) {
			t.Errorf("%s = %q; want it to contain %q", what, got, w)
		}
	}
}

// tarBody is the content of the first file of a tar archive.
func tarBody(t testing.TB, archive []byte) []byte {
	t.Helper()
	tr := tar.NewReader(bytes.NewReader(archive))
	if _, err := tr.Next(); err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(tr)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
