package pub

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/buttctl/buttctl/cmd/buttctl/internal/cmdutil"
	"github.com/buttctl/buttctl/cmd/buttctl/internal/output"
	"github.com/buttctl/buttctl/ops/identity"
)

// TestBackupRestoreCommandsOnTheLocalHub runs backup, list, rm --purge and
// restore as a user would, on this machine's real Docker engine, and
// searches everything they printed for the pub's private key.
func TestBackupRestoreCommandsOnTheLocalHub(t *testing.T) {
	a := uniq("ct-bk")
	// No unreachable hub: restore could not prove the identity is not there.
	w := newWorldOf(t, "  - {name: local, local: true}\n", fmt.Sprintf("  - {name: %s, hub: local, port: %d}\n", a, freePort(t)))
	storeDir := filepath.Join(t.TempDir(), "state")
	store := func() (*identity.Store, error) { return identity.OpenStore(storeDir) }
	var printed []string // everything every command wrote
	keep := func(bufs ...*bytes.Buffer) {
		for _, b := range bufs {
			printed = append(printed, b.String())
		}
	}

	io, out, errOut, ps := w.streams()
	if err := createRun(&CreateOptions{IO: io, Pubs: ps, Names: []string{a}, Timeout: time.Minute}); err != nil {
		t.Fatal(err)
	}
	keep(out, errOut)
	var id string
	deadline := time.Now().Add(time.Minute)
	for id == "" && time.Now().Before(deadline) {
		io, out, errOut, ps = w.streams()
		if whoamiRun(&WhoamiOptions{IO: io, Pubs: ps, Name: a, Output: output.Table}) == nil {
			id = strings.TrimSpace(out.String())
		}
	}
	if id == "" {
		t.Fatal("the pub never answered whoami")
	}

	// backup, default name in the working directory, as a table line.
	dir := t.TempDir()
	t.Chdir(dir)
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	io, out, errOut, ps = w.streams()
	if err := backupRun(&BackupOptions{IO: io, Pubs: ps, Store: store, Name: a, Now: func() time.Time { return now }, Timeout: time.Minute}); err != nil {
		t.Fatal(err)
	}
	keep(out, errOut)
	file := filepath.Join(dir, a+"-20260501T120000Z.tar.gz")
	if !strings.HasPrefix(out.String(), "backed up data of "+a+" on local ("+id+", paused) to "+file+": ") {
		t.Errorf("backup printed %q", out)
	}
	if st, err := os.Stat(file); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("backup file %v %v", st, err)
	}
	// -f - to a pipe, -o json on stdout is refused; the summary goes to stderr.
	io, out, errOut, ps = w.streams()
	if err := backupRun(&BackupOptions{IO: io, Pubs: ps, Store: store, Name: a, File: "-", SecretOnly: true, Now: time.Now, Timeout: time.Minute}); err != nil {
		t.Fatal(err)
	}
	keep(errOut)
	if b, err := identity.OpenBackup(bytes.NewReader(out.Bytes())); err != nil || b.Manifest.Identity != id || !b.Manifest.SecretOnly {
		t.Errorf("backup to stdout: %v", err)
	}
	if !strings.Contains(errOut.String(), "backed up secret of "+a) || !strings.Contains(errOut.String(), "to standard output") {
		t.Errorf("summary on stderr: %q", errOut)
	}

	// list shows the identity and the backup.
	io, out, errOut, ps = w.streams()
	_ = listRun(&ListOptions{IO: io, Pubs: ps, Store: store, Hubs: []string{"local"}, Output: output.JSON, Timeout: time.Minute})
	keep(out, errOut)
	var all, rows []map[string]any
	if err := json.Unmarshal(out.Bytes(), &all); err != nil {
		t.Fatal(err)
	}
	// Other tests' pubs run on this engine too: only a's row counts.
	for _, r := range all {
		if r["name"] == a {
			rows = append(rows, r)
		}
	}
	if len(rows) != 1 || rows[0]["known_identity"] != id || rows[0]["identity"] != id || rows[0]["last_backup"] == nil || rows[0]["identity_changed"] != nil {
		t.Errorf("list rows %v", rows)
	}

	// rm --purge; restore: same identity.
	io, out, errOut, ps = w.streams()
	if err := rmRun(&RmOptions{IO: io, Pubs: ps, Store: store, Name: a, Purge: true, Yes: true, Timeout: time.Minute}); err != nil {
		t.Fatal(err)
	}
	keep(out, errOut)
	if !strings.Contains(out.String(), "(identity "+id+" deleted from the hub; a copy is kept in the local identity store)") {
		t.Errorf("rm --purge printed %q", out)
	}
	io, out, errOut, ps = w.streams()
	_ = listRun(&ListOptions{IO: io, Pubs: ps, Store: store, Hubs: []string{"local"}, Output: output.Table, Timeout: time.Minute})
	keep(out, errOut)
	lines := []string{""}
	for _, l := range strings.Split(out.String(), "\n") {
		if strings.HasPrefix(l, a+"\t") {
			lines = append(lines, l)
		}
	}
	if len(lines) != 2 || !strings.Contains(lines[1], "missing") || !strings.Contains(lines[1], id) || !lastBackupRecent(lines[1]) {
		t.Errorf("list of the removed pub (its recorded identity and backup):\n%s", out)
	}
	io, out, errOut, ps = w.streams()
	if err := restoreRun(&RestoreOptions{IO: io, Pubs: ps, Store: store, Name: a, File: file, Timeout: time.Minute}); err != nil {
		t.Fatal(err)
	}
	keep(out, errOut)
	if want := "restored " + a + " on local from " + file + ": running, answers whoami as " + id + "\n"; out.String() != want {
		t.Errorf("restore printed %q, want %q", out, want)
	}
	// A second restore over it is refused, exit 1, one line naming pub and hub.
	io, out, errOut, ps = w.streams()
	err := restoreRun(&RestoreOptions{IO: io, Pubs: ps, Store: store, Name: a, File: file, Timeout: time.Minute})
	keep(out, errOut)
	if err == nil || cmdutil.ExitCode(err) != 1 || !strings.HasPrefix(err.Error(), "pub "+a+" on local: already has a container (running)") || strings.Contains(err.Error(), "\n") {
		t.Errorf("restore over a running pub: %v", err)
	}
	printed = append(printed, fmt.Sprint(err))

	// The secret was printed nowhere, nor logged by the pub.
	secret, _, err := mustStore(t, store).SecretOf(a)
	if err != nil {
		t.Fatal(err)
	}
	key := identity.PrivateKey(secret)
	if len(key) < 80 {
		t.Fatalf("private key %d chars", len(key))
	}
	io, out, errOut, ps = w.streams()
	if err := logsRun(&LogsOptions{IO: io, Pubs: ps, Name: a, Timeout: time.Minute}); err != nil {
		t.Fatal(err)
	}
	keep(out, errOut)
	for i, p := range printed {
		if strings.Contains(p, key) || strings.Contains(p, key[:32]) {
			t.Errorf("output %d shows the private key", i)
		}
	}
}

func mustStore(t *testing.T, open func() (*identity.Store, error)) *identity.Store {
	t.Helper()
	s, err := open()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// lastBackupRecent reports whether a table row's last cell is a time of
// the last minute (the stdout backup, the pub's last).
func lastBackupRecent(row string) bool {
	cells := strings.Split(row, "\t")
	t, err := time.Parse(time.RFC3339, cells[len(cells)-1])
	return err == nil && time.Since(t) < time.Minute
}
