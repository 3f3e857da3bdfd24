package identity_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/buttctl/buttctl/ops/identity"
	"github.com/buttctl/buttctl/ops/pubs"
)

// TestBackupRemoveRestoreOnTheLocalEngine backs a pub up from this
// machine's real Docker engine, removes it with its volume, restores it and
// checks its identity and data came back.
func TestBackupRemoveRestoreOnTheLocalEngine(t *testing.T) {
	pub := uniq("it-br")
	f := newLocalFleet(t, "", fmt.Sprintf("  - {name: %s, hub: local, port: %d}\n", pub, freePort(t)))
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	if _, err := f.svc.Create(ctx, pub); err != nil {
		t.Fatal(err)
	}
	id := waitWhoami(t, f.svc, pub)
	blob := make([]byte, 1<<20)
	_, _ = rand.Read(blob)
	writeData(t, f.svc, pub, map[string][]byte{"blob": blob, "gossip.json": []byte(`[{"host":"a"}]`)})

	// Backup: paused for the copy, then running again with the same id.
	file := filepath.Join(t.TempDir(), "new-dir", identity.DefaultBackupName(pub, time.Now()))
	var progressed int64
	res, err := identity.BackupToFile(ctx, f.svc, f.store, pub, file, identity.BackupOptions{Version: "test", Progress: func(n int64) { progressed = n }})
	if err != nil {
		t.Fatal(err)
	}
	m := res.Manifest
	if m.Pub != pub || m.Hub != "local" || m.Identity != id || m.Consistency != "paused" || m.SecretOnly || m.DataDir != "/home/node/.ssb" || m.Buttctl != "test" || len(m.SecretSHA256) != 64 {
		t.Errorf("manifest %+v", m)
	}
	if progressed < 1<<20 || res.DataBytes != progressed || res.File != file {
		t.Errorf("progress %d, result %+v", progressed, res)
	}
	if st, err := os.Stat(file); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("backup file: %v %v", st.Mode(), err)
	}
	if st, err := os.Stat(filepath.Dir(file)); err != nil || st.Mode().Perm() != 0o700 {
		t.Errorf("backup directory made by buttctl: %v %v", st.Mode(), err)
	}
	if leftovers, _ := filepath.Glob(filepath.Join(filepath.Dir(file), ".*partial*")); len(leftovers) != 0 {
		t.Errorf("partial files left: %v", leftovers)
	}
	if got := waitWhoami(t, f.svc, pub); got != id {
		t.Errorf("after the backup the pub is %s, was %s", got, id)
	}
	st := statusOf(t, f.svc, pub)
	if st.State != "running" {
		t.Errorf("after the backup: %+v", st)
	}
	// The store has the identity and the backup.
	known, err := f.store.Get(pub)
	if err != nil || known.ID != id || known.LastBackup == nil || known.LastBackup.File != file || known.SHA256 != m.SecretSHA256 {
		t.Errorf("store: %+v %v", known, err)
	}
	// A second backup to the same file is refused.
	if _, err := identity.BackupToFile(ctx, f.svc, f.store, pub, file, identity.BackupOptions{}); err == nil || !strings.Contains(err.Error(), "does not overwrite") {
		t.Errorf("overwrite: %v", err)
	}

	// Restore over the existing pub is refused without --force.
	if _, err := identity.Restore(ctx, f.svc, f.store, pub, mustOpen(t, file), identity.RestoreOptions{}); err == nil || !strings.Contains(err.Error(), "already has a container (running) and volume") {
		t.Errorf("restore over the pub: %v", err)
	}

	// rm --purge, then restore: same identity, same data.
	if _, err := f.svc.Remove(ctx, pub, true); err != nil {
		t.Fatal(err)
	}
	rres, err := identity.Restore(ctx, f.svc, f.store, pub, mustOpen(t, file), identity.RestoreOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if rres.ID != id || !rres.Started || rres.Hub != "local" || rres.InventoryUpdated || rres.DataBytes < 1<<20 {
		t.Errorf("restore result %+v", rres)
	}
	if got := waitWhoami(t, f.svc, pub); got != id {
		t.Errorf("restored pub is %s, was %s", got, id)
	}
	if got := readData(t, f.svc, "local", pub, "blob"); !bytes.Equal(got, blob) {
		t.Errorf("restored blob differs (%d bytes)", len(got))
	}
	// The restored container is the spec's: its restart policy is back.
	e, _ := f.svc.Engine("local")
	c, _ := e.PubContainer(ctx, pub)
	if p, err := e.GetRestartPolicy(ctx, c); err != nil || p.Name != "unless-stopped" {
		t.Errorf("restart policy %+v %v", p, err)
	}
	if st := statusOf(t, f.svc, pub); st.Drift {
		t.Errorf("restored pub drifts from the inventory: %+v", st)
	}

	// Secret-only, with the pub running: small, and it never pauses.
	var small bytes.Buffer
	sres, err := identity.Backup(ctx, f.svc, f.store, pub, &small, identity.BackupOptions{SecretOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	if sres.Manifest.Consistency != "secret only" || !sres.Manifest.SecretOnly || small.Len() > 4096 || sres.Manifest.SecretSHA256 != m.SecretSHA256 {
		t.Errorf("secret-only: %+v, %d bytes", sres.Manifest, small.Len())
	}
	// --stop: a clean stop for the copy, and a start after.
	sres, err = identity.Backup(ctx, f.svc, f.store, pub, &bytes.Buffer{}, identity.BackupOptions{Stop: true})
	if err != nil || sres.Manifest.Consistency != "stopped" {
		t.Errorf("backup --stop: %+v %v", sres.Manifest, err)
	}
	if got := waitWhoami(t, f.svc, pub); got != id {
		t.Errorf("after backup --stop: %s", got)
	}

	// The secret-only backup restores the identity alone.
	if _, err := f.svc.Remove(ctx, pub, true); err != nil {
		t.Fatal(err)
	}
	if _, err := identity.Restore(ctx, f.svc, f.store, pub, bytes.NewReader(small.Bytes()), identity.RestoreOptions{}); err != nil {
		t.Fatal(err)
	}
	if got := waitWhoami(t, f.svc, pub); got != id {
		t.Errorf("restored from the secret alone: %s, was %s", got, id)
	}
}

func mustOpen(t *testing.T, path string) *os.File {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

func statusOf(t *testing.T, svc *pubs.Service, pub string) pubs.Status {
	t.Helper()
	p, _ := svc.Inventory().Pub(pub)
	rows, _ := svc.List(context.Background(), pubs.ListOptions{Hubs: []string{p.Hub}})
	for _, r := range rows {
		if r.Name == pub {
			return r
		}
	}
	t.Fatalf("pub %s not listed", pub)
	return pubs.Status{}
}

// TestKeepReadsAVolumeWithoutContainer keeps the identity of a pub whose
// container was removed (its volume left), through a container that never
// starts and is removed again.
func TestKeepReadsAVolumeWithoutContainer(t *testing.T) {
	pub := uniq("it-keep")
	f := newLocalFleet(t, "", fmt.Sprintf("  - {name: %s, hub: local, port: %d}\n", pub, freePort(t)))
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if _, err := identity.Keep(ctx, f.svc, f.store, pub); !identity.IsNoSecret(err) {
		t.Errorf("keep of a pub that is nowhere: %v", err)
	}
	if _, err := f.svc.Create(ctx, pub); err != nil {
		t.Fatal(err)
	}
	id := waitWhoami(t, f.svc, pub)
	if _, err := f.svc.Remove(ctx, pub, false); err != nil {
		t.Fatal(err)
	}
	kept, err := identity.Keep(ctx, f.svc, f.store, pub)
	if err != nil || kept.ID != id || kept.Hub != "local" {
		t.Fatalf("keep = %+v, %v", kept, err)
	}
	if st := statusOf(t, f.svc, pub); st.State != pubs.StateMissing {
		t.Errorf("keep left a container: %+v", st)
	}
	if secret, _, err := f.store.SecretOf(pub); err != nil || identity.PrivateKey(secret) == "" {
		t.Errorf("stored secret: %v", err)
	}
}
