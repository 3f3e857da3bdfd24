package watch_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/buttctl/buttctl/inventory"
	"github.com/buttctl/buttctl/ops/hubconn"
	"github.com/buttctl/buttctl/ops/hubconn/hubconntest"
	"github.com/buttctl/buttctl/ops/pubs"
	"github.com/buttctl/buttctl/ops/watch"
)

// slowReconcile makes f's full reconcile hourly: what the watcher learns
// sooner, it learned from an event.
func slowReconcile(t *testing.T, f *fleet) {
	t.Helper()
	text, err := os.ReadFile(f.path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(f.path, []byte(strings.Replace(string(text), "reconcile: 5s", "reconcile: 1h", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	f.reload()
}

// A pub added to the inventory while watch runs (as the console's n does:
// saved, then created) is watched at once, not at the next reconcile: the
// save is noticed (inotify on the inventory's directory; TestFileChanges
// tells it alone), and a kill of the new pub is healed.
func TestPubAddedToTheInventoryIsWatchedAtOnce(t *testing.T) {
	t.Parallel()
	a, b := uniq("wt-before"), uniq("wt-added")
	f := localFleet(t, a)
	slowReconcile(t, f)
	f.create()
	r := f.start(watch.Config{})
	r.waitPhase(t, 30*time.Second, a, watch.PhaseRunning)

	addPub(t, f, b, "local")
	f.pubs = append(f.pubs, b)
	waitFor(t, 10*time.Second, "the watcher to know "+b+" (no container yet)", func() bool { return r.phase(b).Name == b })
	if _, err := f.svc.Create(context.Background(), b); err != nil {
		t.Fatal(err)
	}
	f.waitHealth(b, "healthy")
	f.kill(b)
	rec := r.waitRecord(t, 30*time.Second, b, watch.ActionStart)
	if rec.Result != watch.ResultOK || rec.Reason != watch.ReasonExited {
		t.Errorf("heal of the added pub: %+v", rec)
	}
	if st := r.w.State(); st.LastReconcile != nil {
		t.Errorf("a full reconcile ran (%v): the test proves nothing", st.LastReconcile)
	}
}

// An edit the kernel does not report on the inventory's directory (here
// written through a hard link elsewhere, as an edit from another NFS client
// would be) is read when a container of the pub it adds appears on a hub:
// an event naming a pub the watcher does not know makes it read the
// inventory again.
func TestUnknownPubsEventReloadsTheInventory(t *testing.T) {
	t.Parallel()
	a, b := uniq("wt-known"), uniq("wt-unseen")
	f := localFleet(t, a)
	slowReconcile(t, f)
	f.create()
	r := f.start(watch.Config{})
	r.waitPhase(t, 30*time.Second, a, watch.PhaseRunning)

	e, err := inventory.Edit(f.path)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.AddPub(inventory.Pub{Name: b, Hub: "local", Port: freePort(t)}); err != nil {
		t.Fatal(err)
	}
	elsewhere := filepath.Join(t.TempDir(), "link.yaml")
	if err := os.Link(f.path, elsewhere); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(elsewhere, e.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	f.pubs = append(f.pubs, b)
	inv, err := inventory.Load(f.path)
	if err != nil {
		t.Fatal(err)
	}
	conns := hubconn.New(inv, hubconntest.Options())
	defer conns.Close()
	svc := pubs.New(inv, conns)
	defer svc.Close()
	if _, err := svc.Create(context.Background(), b); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "the watcher to know "+b, func() bool { return r.phase(b).Name == b })
	f.reload()
	f.waitHealth(b, "healthy")
	f.kill(b)
	r.waitRecord(t, 30*time.Second, b, watch.ActionStart)
	if st := r.w.State(); st.LastReconcile != nil {
		t.Errorf("a full reconcile ran (%v): the test proves nothing", st.LastReconcile)
	}
}
