package identity_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/client"

	"github.com/buttctl/buttctl/inventory"
	"github.com/buttctl/buttctl/ops/identity"
	"github.com/buttctl/buttctl/ops/pubspec"
	"github.com/buttctl/buttctl/ops/testworld"
)

// TestBackupRestoreAndMoveOnTheWorld drives a pub through backup, rm
// --purge, restore and moves between two hubs of the test world, each with
// its own sshd and dockerd, and checks its identity and data at each turn.
func TestBackupRestoreAndMoveOnTheWorld(t *testing.T) {
	w := testworld.ForTest(t, 2)
	port, err := w.AllocPort()
	if err != nil {
		t.Fatal(err)
	}
	pub := testworld.UniqueName("mv")
	f := newWorldFleet(t, w, testworld.Pub{Name: pub, Hub: "hub-1", Port: port})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	outputs := map[string]string{}
	keep := func(name string, v any, err error) {
		b, _ := json.Marshal(v)
		outputs[name] = string(b) + " " + fmt.Sprint(err)
	}

	if _, err := f.svc.Create(ctx, pub); err != nil {
		t.Fatal(err)
	}
	id := f.whoamiOn("hub-1", pub)
	blob := fillData(t, f.svc, pub, 5<<20)

	// backup → rm --purge → restore: same whoami, same data.
	file := filepath.Join(t.TempDir(), "b.tar.gz")
	bres, err := identity.BackupToFile(ctx, f.svc, f.store, pub, file, identity.BackupOptions{})
	keep("backup", bres, err)
	if err != nil {
		t.Fatal(err)
	}
	if bres.Manifest.Identity != id || bres.Manifest.Hub != "hub-1" || bres.Manifest.Consistency != "paused" || bres.Manifest.Image != testworld.PubImage {
		t.Errorf("manifest %+v", bres.Manifest)
	}
	rm, err := f.svc.Remove(ctx, pub, true)
	if err != nil || !rm.VolumeRemoved {
		t.Fatalf("rm --purge: %+v %v", rm, err)
	}
	if on := f.running(pub); len(on) != 0 {
		t.Fatalf("after rm the pub runs on %v", on)
	}
	rres, err := identity.Restore(ctx, f.svc, f.store, pub, mustOpen(t, file), identity.RestoreOptions{})
	keep("restore", rres, err)
	if err != nil {
		t.Fatal(err)
	}
	f.checkOneCopy(pub, id, "after restore")
	if got := readData(t, f.svc, "hub-1", pub, "blob"); !bytes.Equal(got, blob) {
		t.Error("restored data differs")
	}

	// move hub-1 → hub-2.
	key := f.privateKey("hub-1", pub)
	var rec recorder
	var copied int64
	var busy, moving bool
	mres, err := identity.Move(ctx, f.svc, f.store, pub, identity.MoveOptions{To: "hub-2", Report: rec.report, Progress: func(n int64) { copied = n },
		BeforeStep: func(s identity.Step) error {
			if s == identity.StepCopy {
				// What watch sees of a move under way.
				busy, moving = f.store.Busy(pub), f.store.Moving(pub)
			}
			return nil
		}})
	keep("move", mres, err)
	if err != nil {
		t.Fatal(err)
	}
	if mres.From != "hub-1" || mres.To != "hub-2" || mres.ID != id || mres.SourcePurged || mres.Bytes < 5<<20 || copied != mres.Bytes {
		t.Errorf("move result %+v (progress %d)", mres, copied)
	}
	f.checkOneCopy(pub, id, "after the move")
	if !busy || !moving {
		t.Errorf("during the move, the store said busy %v, moving %v", busy, moving)
	}
	if f.store.Busy(pub) || f.store.Moving(pub) {
		t.Error("the move's lock or journal outlived it")
	}
	f.reload()
	if got := readData(t, f.svc, "hub-2", pub, "blob"); !bytes.Equal(got, blob) {
		t.Error("moved data differs")
	}
	text, _ := os.ReadFile(f.path)
	if !strings.Contains(string(text), "# buttctl inventory of test world") || !strings.Contains(string(text), "hub: hub-2") {
		t.Errorf("inventory after the move (comments kept, hub-2):\n%s", text)
	}
	// The source container is gone, its volume kept.
	api1, err := w.Hub("hub-1").DockerClient()
	if err != nil {
		t.Fatal(err)
	}
	defer api1.Close()
	if _, err := api1.ContainerInspect(ctx, pubspec.ContainerName(pub), client.ContainerInspectOptions{}); err == nil {
		t.Error("the source container is still on hub-1")
	}
	if _, err := api1.VolumeInspect(ctx, pubspec.VolumeName(pub), client.VolumeInspectOptions{}); err != nil {
		t.Errorf("the source volume is gone from hub-1: %v", err)
	}
	// The restart policy is the spec's again on hub-2.
	e2, _ := f.svc.Engine("hub-2")
	c2, _ := e2.PubContainer(ctx, pub)
	if p, err := e2.GetRestartPolicy(ctx, c2); err != nil || p.Name != "unless-stopped" {
		t.Errorf("restart policy on hub-2: %+v %v", p, err)
	}
	if j, ok, _ := f.store.MoveJournal(pub); !ok || j.State != identity.JournalDone || len(j.KeptVolumes) != 1 || j.KeptVolumes[0].Hub != "hub-1" {
		t.Errorf("journal after the move: %+v %v", j, ok)
	}

	// The same command with --purge-source removes the old volume.
	pres, err := identity.Move(ctx, f.svc, f.store, pub, identity.MoveOptions{To: "hub-2", PurgeSource: true})
	keep("purge", pres, err)
	if err != nil || !pres.AlreadyThere || !pres.SourcePurged {
		t.Fatalf("move --purge-source again: %+v %v", pres, err)
	}
	if _, err := api1.VolumeInspect(ctx, pubspec.VolumeName(pub), client.VolumeInspectOptions{}); err == nil {
		t.Error("the source volume is still on hub-1 after --purge-source")
	}
	if _, ok, _ := f.store.MoveJournal(pub); ok {
		t.Error("the journal outlived the purge")
	}
	// And back, purging at once.
	back, err := identity.Move(ctx, f.svc, f.store, pub, identity.MoveOptions{To: "hub-1", PurgeSource: true})
	keep("back", back, err)
	if err != nil || !back.SourcePurged {
		t.Fatalf("move back: %+v %v", back, err)
	}
	f.checkOneCopy(pub, id, "after the move back")

	outputs["reports"] = rec.text()
	// The store's own records (all but the secret files) hold no secret.
	_ = filepath.Walk(f.store.Dir(), func(p string, info os.FileInfo, err error) error {
		if err == nil && !info.IsDir() && info.Name() != identity.SecretFile && !strings.HasSuffix(p, ".secret") {
			b, _ := os.ReadFile(p)
			outputs[p] = string(b)
		}
		return nil
	})
	noKey(t, key, outputs)
	noKey(t, key, f.logsOf(pub))
	if len(rec.lines) != len(identity.Steps)-1 {
		t.Errorf("reported steps: %v", rec.lines)
	}
}

// TestRestoreFromStoreRecreatesALostPub is watch's re-allocation: the
// identity kept while the pub ran, the pub lost with its volume, then
// recreated on another hub from the store alone, owner and mode of its
// secret kept (the test pub runs as uid 1000 and must read it).
func TestRestoreFromStoreRecreatesALostPub(t *testing.T) {
	w := testworld.ForTest(t, 2)
	port, err := w.AllocPort()
	if err != nil {
		t.Fatal(err)
	}
	pub := testworld.UniqueName("keep")
	f := newWorldFleet(t, w, testworld.Pub{Name: pub, Hub: "hub-1", Port: port})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if _, err := f.svc.Create(ctx, pub); err != nil {
		t.Fatal(err)
	}
	id := f.whoamiOn("hub-1", pub)
	kept, err := identity.Keep(ctx, f.svc, f.store, pub)
	if err != nil || kept.ID != id {
		t.Fatalf("keep: %+v %v", kept, err)
	}
	if kept.Owner == nil || kept.Owner.UID != 1000 || kept.Owner.Mode&0o077 != 0 {
		t.Errorf("recorded owner %+v", kept.Owner)
	}

	// Secret-only backup and restore keep the owner too.
	var small bytes.Buffer
	if _, err := identity.Backup(ctx, f.svc, f.store, pub, &small, identity.BackupOptions{SecretOnly: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Remove(ctx, pub, true); err != nil {
		t.Fatal(err)
	}
	if _, err := identity.Restore(ctx, f.svc, f.store, pub, &small, identity.RestoreOptions{}); err != nil {
		t.Fatal(err)
	}
	f.checkOneCopy(pub, id, "restored from its secret alone")

	// Lost with its volume; recreated on hub-2 from the store.
	if _, err := f.svc.Remove(ctx, pub, true); err != nil {
		t.Fatal(err)
	}
	res, err := identity.RestoreFromStore(ctx, f.svc, f.store, pub, identity.RestoreOptions{To: "hub-2"})
	if err != nil || res.ID != id || !res.InventoryUpdated {
		t.Fatalf("restore from the store: %+v %v", res, err)
	}
	if where := f.checkOneCopy(pub, id, "recreated from the store"); where != "hub-2" {
		t.Errorf("recreated on %s", where)
	}
	// A second recreation is refused: the identity runs on hub-2.
	_, err = identity.RestoreFromStore(ctx, f.reload(), f.store, pub, identity.RestoreOptions{To: "hub-1"})
	if !errors.Is(err, identity.ErrIdentityElsewhere) {
		t.Errorf("second recreation: %v", err)
	}
}

// keptPubOnHub1 creates a pub named prefix-… on hub-1 of the shared world
// and keeps its identity in the fleet's store.
func keptPubOnHub1(t *testing.T, prefix string) (f *worldFleet, pub, id string) {
	t.Helper()
	w := testworld.ForTest(t, 2)
	port, err := w.AllocPort()
	if err != nil {
		t.Fatal(err)
	}
	pub = testworld.UniqueName(prefix)
	f = newWorldFleet(t, w, testworld.Pub{Name: pub, Hub: "hub-1", Port: port})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if _, err := f.svc.Create(ctx, pub); err != nil {
		t.Fatal(err)
	}
	id = f.whoamiOn("hub-1", pub)
	if _, err := identity.Keep(ctx, f.svc, f.store, pub); err != nil {
		t.Fatal(err)
	}
	return f, pub, id
}

// A pub recreated from the store on a hub that still has its own stopped
// copy (left by an earlier reallocation) keeps that copy's volume and data:
// the identity there is the one being restored.
func TestRestoreFromStoreReusesThePubsOwnStaleCopy(t *testing.T) {
	f, pub, id := keptPubOnHub1(t, "back")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	res, err := f.w.Hub("hub-1").ExecIn(ctx, pubspec.ContainerName(pub), "sbot", "invite.create", "1")
	if err != nil || res.ExitCode != 0 {
		t.Fatalf("invite.create: %+v %v", res, err)
	}
	data := readData(t, f.svc, "hub-1", pub, "invites.jsonl")
	if _, err := f.svc.Stop(ctx, pub); err != nil {
		t.Fatal(err)
	}
	// The inventory has since placed it on hub-2, which is down now.
	ed, err := inventory.Edit(f.path)
	if err != nil {
		t.Fatal(err)
	}
	if err := ed.SetPubHub(pub, "hub-2"); err != nil {
		t.Fatal(err)
	}
	if err := ed.Save(); err != nil {
		t.Fatal(err)
	}
	got, err := identity.RestoreFromStore(ctx, f.reload(), f.store, pub, identity.RestoreOptions{To: "hub-1", AssumeDown: []string{"hub-2"}})
	if err != nil || got.ID != id || got.Replaced != nil || !got.InventoryUpdated {
		t.Fatalf("restore onto its own stale copy: %+v %v", got, err)
	}
	if where := f.checkOneCopy(pub, id, "restored onto its own stale copy"); where != "hub-1" {
		t.Errorf("restored on %s", where)
	}
	if kept := readData(t, f.svc, "hub-1", pub, "invites.jsonl"); !bytes.Equal(kept, data) {
		t.Errorf("the copy's data was not kept: invites.jsonl %q, was %q", kept, data)
	}
}

// A hub assumed dead (watch re-allocating its pubs) is not asked before a
// restore elsewhere; but if the pub runs there when the new copy is about
// to start (the hub came back, and apply started it), the restore stands
// back and removes what it made.
func TestRestoreStandsBackWhenTheOldCopyRunsAgain(t *testing.T) {
	f, pub, id := keptPubOnHub1(t, "again")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	_, err := identity.RestoreFromStore(ctx, f.svc, f.store, pub, identity.RestoreOptions{To: "hub-2", AssumeDown: []string{"hub-1"}})
	if !errors.Is(err, identity.ErrIdentityElsewhere) || !strings.Contains(err.Error(), "runs again on hub-1") {
		t.Fatalf("restore while the old copy runs: %v", err)
	}
	if n := f.objectsOn("hub-2", pub); n != 0 {
		t.Errorf("the refused restore left %d objects on hub-2", n)
	}
	if where := f.checkOneCopy(pub, id, "after the refused restore"); where != "hub-1" {
		t.Errorf("the pub runs on %s", where)
	}
}

// TestRestoreRefusesASecondLiveCopy restores a running pub's backup as
// another pub on another hub: refused, naming where the identity runs,
// also when it is stopped there, and refused while a hub cannot be asked;
// --force overrides both.
func TestRestoreRefusesASecondLiveCopy(t *testing.T) {
	w := testworld.ForTest(t, 2)
	pa, err := w.AllocPort()
	if err != nil {
		t.Fatal(err)
	}
	pb, err := w.AllocPort()
	if err != nil {
		t.Fatal(err)
	}
	a, b := testworld.UniqueName("live-a"), testworld.UniqueName("live-b")
	f := newWorldFleet(t, w, testworld.Pub{Name: a, Hub: "hub-1", Port: pa}, testworld.Pub{Name: b, Hub: "hub-2", Port: pb})
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	if _, err := f.svc.Create(ctx, a); err != nil {
		t.Fatal(err)
	}
	id := f.whoamiOn("hub-1", a)
	var backup bytes.Buffer
	if _, err := identity.Backup(ctx, f.svc, f.store, a, &backup, identity.BackupOptions{SecretOnly: true}); err != nil {
		t.Fatal(err)
	}

	_, err = identity.Restore(ctx, f.svc, f.store, b, bytes.NewReader(backup.Bytes()), identity.RestoreOptions{})
	if !errors.Is(err, identity.ErrIdentityElsewhere) {
		t.Fatalf("restore of a live identity: %v", err)
	}
	mustContain(t, "error", err.Error(), "pub "+b+" on hub-2: ", "identity "+id+" already exists as pub "+a+" on hub-1 (running)", "never two live copies", "--force")
	if strings.Contains(err.Error(), "\n") {
		t.Errorf("multi-line error: %q", err)
	}
	// A stopped copy blocks too: it could be started.
	if _, err := f.svc.Stop(ctx, a); err != nil {
		t.Fatal(err)
	}
	_, err = identity.Restore(ctx, f.svc, f.store, b, bytes.NewReader(backup.Bytes()), identity.RestoreOptions{})
	if !errors.Is(err, identity.ErrIdentityElsewhere) || !strings.Contains(err.Error(), "pub "+a+" on hub-1 (exited)") {
		t.Errorf("restore of a stopped identity: %v", err)
	}
	if n := f.objectsOn("hub-2", b); n != 0 {
		t.Errorf("refused restores left %d objects of %s on hub-2", n, b)
	}

	// A hub that cannot be asked could hold the identity: refused, saying so.
	text, err := os.ReadFile(f.path)
	if err != nil {
		t.Fatal(err)
	}
	dead := "  - name: dead\n    address: 127.0.0.1\n    port: " + fmt.Sprint(closedPort(t)) + "\n"
	text = []byte(strings.Replace(string(text), "\npubs:\n", "\n"+dead+"\npubs:\n", 1))
	if err := os.WriteFile(f.path, text, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Remove(ctx, a, true); err != nil {
		t.Fatal(err)
	}
	_, err = identity.Restore(ctx, f.reload(), f.store, b, bytes.NewReader(backup.Bytes()), identity.RestoreOptions{})
	if !errors.Is(err, identity.ErrCannotProveUnique) {
		t.Fatalf("restore with a hub down: %v", err)
	}
	mustContain(t, "error", err.Error(), "cannot prove identity "+id+" runs nowhere else, as dead (", "retry when it answers, or add --force")
	// Known dead (watch), or forced: restored.
	res, err := identity.Restore(ctx, f.svc, f.store, b, bytes.NewReader(backup.Bytes()), identity.RestoreOptions{AssumeDown: []string{"dead"}})
	if err != nil || res.ID != id || len(res.Overridden) != 0 {
		t.Fatalf("restore with the dead hub assumed down: %+v %v", res, err)
	}
	f.checkOneCopy(b, id, "restored as "+b)
	if _, err := f.svc.Remove(ctx, b, true); err != nil {
		t.Fatal(err)
	}
	res, err = identity.Restore(ctx, f.svc, f.store, b, bytes.NewReader(backup.Bytes()), identity.RestoreOptions{Force: true})
	if err != nil || len(res.Overridden) != 1 || !strings.HasPrefix(res.Overridden[0], "unreachable: dead (") {
		t.Errorf("forced restore: %+v %v", res, err)
	}
}

// closedPort is a loopback port nothing listens on.
func closedPort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	return port
}
