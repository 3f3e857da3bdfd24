package tui

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/colorprofile"
	"github.com/charmbracelet/x/ansi"
	"github.com/charmbracelet/x/exp/teatest/v2"
	"github.com/moby/moby/client"

	"github.com/buttctl/buttctl/inventory"
	"github.com/buttctl/buttctl/ops/audit"
	"github.com/buttctl/buttctl/ops/identity"
	"github.com/buttctl/buttctl/ops/pubspec"
	"github.com/buttctl/buttctl/ops/testworld"
)

// TestEveryoneRecordsInOneAuditLog has apply, the command line, watch and
// the console act on one pub of the real test world, each in its own
// process as a user would (the console as a model under teatest): every
// action lands in the one audit log of the inventory, from its source, and
// the console's Events view shows them all. The pub's secret never reaches
// the log.
func TestEveryoneRecordsInOneAuditLog(t *testing.T) {
	name, inv, hub, docker := worldPub(t, testworld.ForTest(t, 2), 0)
	bin := buildButtctl(t)
	state := t.TempDir()
	logPath := audit.DefaultPath(filepath.Join(state, "buttctl"), inv)
	buttctl := func(args ...string) {
		t.Helper()
		cmd := exec.Command(bin, append([]string{"-i", inv}, args...)...)
		cmd.Env = append(os.Environ(), "XDG_STATE_HOME="+state, "BUTTCTL_AUDIT_LOG=")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("buttctl %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	buttctl("apply", "--yes")
	buttctl("pub", "restart", name)
	buttctl("pub", "backup", name, "--secret-only", "-f", filepath.Join(t.TempDir(), "backup.tar.gz"))
	if _, err := docker.ContainerKill(context.Background(), pubspec.ContainerName(name), client.ContainerKillOptions{Signal: "KILL"}); err != nil {
		t.Fatal(err)
	}
	poll(t, "the killed pub to be down", 30*time.Second, func() (bool, string) {
		_, running := startedAt(t, docker, name)
		return !running, "running"
	})
	buttctl("watch", "--once")

	// The console: its own process's log, the inventory's default file.
	loaded, err := inventory.Load(inv)
	if err != nil {
		t.Fatal(err)
	}
	console := audit.File(logPath, audit.SourceConsole)
	defer console.Close()
	m := New(loaded, Options{Audit: console, Dark: ptr(true), Refresh: time.Hour})
	t.Cleanup(func() { m.Close() })
	tm := teatest.NewTestModel(t, m, teatest.WithInitialTermSize(150, 40),
		teatest.WithProgramOptions(tea.WithColorProfile(colorprofile.Ascii)))
	waitOutput(t, tm, "running", 60*time.Second)
	tm.Type("r")
	waitOutput(t, tm, "Restart pub "+name, 10*time.Second)
	tm.Type("y")
	var recs []audit.Record
	poll(t, "the console's restart in the audit log", 60*time.Second, func() (bool, string) {
		recs, _ = audit.ReadFile(logPath)
		return len(of(recs, audit.SourceConsole, "restart")) == 1, recordLines(recs)
	})
	tm.Type(":events")
	tm.Send(tea.KeyPressMsg{Code: tea.KeyEnter})
	tm.Type("/!engine") // the records only, not the engines' own events
	tm.Send(tea.KeyPressMsg{Code: tea.KeyEnter})
	waitOutput(t, tm, "console", 10*time.Second)
	tm.Type("q")
	final := tm.FinalModel(t, teatest.WithFinalTimeout(10*time.Second)).(*Model)
	final.quitting = false // the screen it showed last
	screen := ansi.Strip(final.Render())

	want := []struct{ source, action string }{
		{audit.SourceApply, "create"}, {audit.SourceCLI, "restart"}, {audit.SourceCLI, "backup"},
		{audit.SourceWatch, "start"}, {audit.SourceConsole, "restart"},
	}
	for _, rec := range want {
		got := of(recs, rec.source, rec.action)
		if len(got) != 1 || got[0].Pub != name || got[0].Hub != hub.Name || got[0].Result != audit.ResultOK || got[0].Actor != audit.Actor() || got[0].PID == 0 {
			t.Errorf("%s %s: %+v\nlog:\n%s", rec.source, rec.action, got, recordLines(recs))
		}
		if !shows(screen, rec.source, name, rec.action) {
			t.Errorf("the Events view does not show %s's %s:\n%s", rec.source, rec.action, screen)
		}
	}
	if b := of(recs, audit.SourceCLI, "backup"); len(b) == 1 && !strings.HasPrefix(b[0].Identity, "@") {
		t.Errorf("the backup's record names the identity: %+v", b[0])
	}

	// The secret is in the identity store (the backup kept it), never in the log.
	store, err := identity.OpenStore(filepath.Join(state, "buttctl"))
	if err != nil {
		t.Fatal(err)
	}
	secret, _, err := store.SecretOf(name)
	if err != nil {
		t.Fatal(err)
	}
	private := regexp.MustCompile(`"private":\s*"([A-Za-z0-9+/=]{80,})`).FindSubmatch(secret)
	if private == nil {
		t.Fatal("the secret kept has no private key")
	}
	text, _ := os.ReadFile(logPath)
	if strings.Contains(string(text), string(private[1][:40])) {
		t.Errorf("the pub's secret is in the audit log:\n%s", text)
	}
	for p, mode := range map[string]os.FileMode{logPath: 0o600, filepath.Dir(logPath): 0o700} {
		if st, err := os.Stat(p); err != nil || st.Mode().Perm() != mode {
			t.Errorf("%s: %v, want %v (%v)", p, st.Mode().Perm(), mode, err)
		}
	}
}

// of returns the records of source with action.
func of(recs []audit.Record, source, action string) []audit.Record {
	var out []audit.Record
	for _, r := range recs {
		if r.Source == source && r.Action == action {
			out = append(out, r)
		}
	}
	return out
}

func recordLines(recs []audit.Record) string {
	var b strings.Builder
	for _, r := range recs {
		b.WriteString(r.Source + " " + r.Pub + " " + r.Action + " " + r.Result + " " + r.Error + "\n")
	}
	return b.String()
}

// shows says whether the Events view's screen has a row of source about
// pub with action (columns TIME SOURCE HUB PUB ACTION DETAIL).
func shows(screen, source, pub, action string) bool {
	for _, l := range strings.Split(screen, "\n") {
		f := strings.Fields(strings.Trim(l, "│ "))
		if len(f) >= 5 && f[1] == source && f[3] == pub && f[4] == action {
			return true
		}
	}
	return false
}
