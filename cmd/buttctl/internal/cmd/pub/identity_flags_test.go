package pub

import (
	"testing"
	"time"

	"github.com/buttctl/buttctl/cmd/buttctl/internal/output"
)

func TestBackupFlags(t *testing.T) {
	var got *BackupOptions
	capture := func(o *BackupOptions) error { got = o; return nil }
	if err := parse(NewCmdBackup(testFactory(), capture), "p1"); err != nil {
		t.Fatal(err)
	}
	if got.Name != "p1" || got.File != "" || got.SecretOnly || got.Stop || got.Output != output.Table || got.Timeout != DefaultTransferTimeout {
		t.Errorf("defaults %+v", got)
	}
	if err := parse(NewCmdBackup(testFactory(), capture), "p1", "-f", "x.tar.gz", "--secret-only", "--stop", "-o", "json", "--timeout", "1m"); err != nil {
		t.Fatal(err)
	}
	if got.File != "x.tar.gz" || !got.SecretOnly || !got.Stop || got.Output != output.JSON || got.Timeout != time.Minute {
		t.Errorf("options %+v", got)
	}
	wantUsage(t, parse(NewCmdBackup(testFactory(), capture), "p1", "-f", "-", "-o", "json"), "-f - writes the backup to standard output")
	wantUsage(t, parse(NewCmdBackup(testFactory(), capture)), "accepts 1 arg")
	wantUsage(t, parse(NewCmdBackup(testFactory(), capture), "a", "b"), "accepts 1 arg")
	if err := parse(NewCmdBackup(testFactory(), capture), "p1", "-o", "wide"); err == nil {
		t.Error("backup took -o wide")
	}
	// -f - refuses a terminal: the backup holds the secret.
	f := testFactory()
	f.IOStreams.SetTTY(false, true, true)
	opts := &BackupOptions{IO: f.IOStreams, Name: "p1", File: "-"}
	wantUsage(t, backupRun(opts), "refusing to write a backup (it holds the pub's secret) to a terminal")
}

func TestRestoreFlags(t *testing.T) {
	var got *RestoreOptions
	capture := func(o *RestoreOptions) error { got = o; return nil }
	if err := parse(NewCmdRestore(testFactory(), capture), "p1", "-f", "b.tar.gz", "--to", "hub-2", "--force", "-o", "yaml"); err != nil {
		t.Fatal(err)
	}
	if got.Name != "p1" || got.File != "b.tar.gz" || got.To != "hub-2" || !got.Force || got.Output != output.YAML || got.Timeout != DefaultTransferTimeout {
		t.Errorf("options %+v", got)
	}
	wantUsage(t, parse(NewCmdRestore(testFactory(), capture), "p1"), "restore needs the backup: -f FILE")
	wantUsage(t, parse(NewCmdRestore(testFactory(), capture), "-f", "x"), "accepts 1 arg")
	// A file that is not there is the user's to fix.
	f := testFactory()
	wantUsage(t, restoreRun(&RestoreOptions{IO: f.IOStreams, Name: "p1", File: "/nonexistent/b.tar.gz"}), "/nonexistent/b.tar.gz")
}

func TestMoveFlags(t *testing.T) {
	var got *MoveOptions
	capture := func(o *MoveOptions) error { got = o; return nil }
	if err := parse(NewCmdMove(testFactory(), capture), "p1", "--to", "hub-2", "--purge-source"); err != nil {
		t.Fatal(err)
	}
	if got.Name != "p1" || got.To != "hub-2" || !got.PurgeSource || got.Output != output.Table || got.Timeout != DefaultTransferTimeout {
		t.Errorf("options %+v", got)
	}
	wantUsage(t, parse(NewCmdMove(testFactory(), capture), "p1"), "--to HUB")
	wantUsage(t, parse(NewCmdMove(testFactory(), capture), "--to", "hub-2"), "accepts 1 arg")
}
