package watch_test

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/buttctl/buttctl/inventory"
	"github.com/buttctl/buttctl/ops/audit"
	"github.com/buttctl/buttctl/ops/watch"
)

func TestWebhookPostsTheRecord(t *testing.T) {
	var (
		mu   sync.Mutex
		got  []audit.Record
		ctyp string
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var rec audit.Record
		body, _ := io.ReadAll(r.Body)
		if err := json.Unmarshal(body, &rec); err != nil || r.Method != http.MethodPost {
			http.Error(w, "bad", http.StatusBadRequest)
			return
		}
		mu.Lock()
		got, ctyp = append(got, rec), r.Header.Get("Content-Type")
		mu.Unlock()
		if rec.Pub == "refuse" {
			http.Error(w, "no", http.StatusInternalServerError)
		}
	}))
	defer srv.Close()
	hook := watch.Webhook{URL: srv.URL + "/hook?token=secret"}
	rec := audit.Record{Time: time.Now(), Hub: "hub-1", Pub: "p", Action: watch.ActionKill, Reason: watch.ReasonUnhealthy, Result: watch.ResultOK}
	if err := hook.Notify(context.Background(), rec); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	if len(got) != 1 || got[0].Action != watch.ActionKill || got[0].Pub != "p" || ctyp != "application/json" {
		t.Errorf("received %+v (%s)", got, ctyp)
	}
	mu.Unlock()
	rec.Pub = "refuse"
	err := hook.Notify(context.Background(), rec)
	if err == nil || !strings.Contains(err.Error(), "500") || strings.Contains(err.Error(), "secret") {
		t.Errorf("a 500 answer: %v (and the URL's token must not show)", err)
	}
}

func TestExecRunsTheProgramWithoutAShell(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	script := filepath.Join(dir, "notify")
	// The program gets the record on stdin and in variables; its
	// arguments arrive as given, never through a shell.
	if err := os.WriteFile(script, []byte("#!/bin/sh\n{ printf '%s|%s|%s|%s\\n' \"$BUTTCTL_WATCH_ACTION\" \"$BUTTCTL_WATCH_PUB\" \"$1\" \"$2\"; cat; } > \""+out+"\"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	x := watch.Exec{Argv: []string{script, "two words", "$(touch " + filepath.Join(dir, "pwned") + ")"}}
	rec := audit.Record{Time: time.Now(), Hub: "hub-1", Pub: "p", Action: watch.ActionQuarantine, Reason: watch.ReasonCrashLoop, Result: watch.ResultOK}
	if err := x.Notify(context.Background(), rec); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.SplitN(string(b), "\n", 2)
	if lines[0] != "quarantine|p|two words|$(touch "+filepath.Join(dir, "pwned")+")" {
		t.Errorf("first line %q", lines[0])
	}
	var got audit.Record
	if err := json.Unmarshal([]byte(lines[1]), &got); err != nil || got.Action != watch.ActionQuarantine {
		t.Errorf("stdin %q: %v", lines[1], err)
	}
	if _, err := os.Stat(filepath.Join(dir, "pwned")); err == nil {
		t.Error("an argument went through a shell")
	}
	if err := (watch.Exec{Argv: []string{"/bin/false"}}).Notify(context.Background(), rec); err == nil {
		t.Error("a failing program is not an error")
	}
}

// A heal notifies: the webhook gets the start record of a killed pub.
func TestHealIsNotified(t *testing.T) {
	a := uniq("wt-notify")
	f := localFleet(t, a)
	f.create()
	got := make(chan audit.Record, 10)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var rec audit.Record
		if json.NewDecoder(r.Body).Decode(&rec) == nil {
			got <- rec
		}
	}))
	defer srv.Close()
	f.kill(a)
	if _, err := f.newWatcher(watch.Config{Notifiers: []watch.Notifier{watch.Webhook{URL: srv.URL}}}).w.Once(context.Background()); err != nil {
		t.Fatal(err)
	}
	select {
	case rec := <-got:
		if rec.Pub != a || rec.Action != watch.ActionStart || rec.Result != watch.ResultOK {
			t.Errorf("notified %+v", rec)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no notification of the heal")
	}
}

// While another process holds the inventory's writers' lock (apply runs),
// watch changes nothing; once it is released, it heals.
func TestApplyLockHoldsWatchBack(t *testing.T) {
	a := uniq("wt-apply")
	f := localFleet(t, a)
	f.create()
	f.kill(a)

	holder := exec.Command(os.Args[0])
	holder.Env = append(os.Environ(), "BUTTCTL_TEST_HOLD_LOCK="+f.path)
	stdin, err := holder.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := holder.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := holder.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { stdin.Close(); _ = holder.Wait() }()
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || strings.TrimSpace(line) != "locked" {
		t.Fatalf("the lock holder said %q, %v", line, err)
	}

	res, err := f.newWatcher(watch.Config{}).w.Once(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Records) != 0 {
		t.Errorf("watch acted while apply held the inventory: %+v", res.Records)
	}
	for _, p := range res.State.Pubs {
		if p.Name == a && (p.Phase != watch.PhaseBusy || p.Reason != "buttctl apply") {
			t.Errorf("pub held back as %+v; want busy, buttctl apply", p)
		}
	}
	if state, _, _, _ := f.container(a); state != "exited" {
		t.Errorf("pub is %s", state)
	}

	stdin.Close()
	if err := holder.Wait(); err != nil {
		t.Fatal(err)
	}
	res, err = f.newWatcher(watch.Config{}).w.Once(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Records) != 1 || res.Records[0].Action != watch.ActionStart || res.Records[0].Result != watch.ResultOK {
		t.Errorf("after apply: %+v", res.Records)
	}
}

// TestMain doubles as the lock holder of TestApplyLockHoldsWatchBack: run
// with BUTTCTL_TEST_HOLD_LOCK, the test binary holds that inventory's
// writers' lock as `buttctl apply` does, until its standard input closes.
func TestMain(m *testing.M) {
	if path := os.Getenv("BUTTCTL_TEST_HOLD_LOCK"); path != "" {
		unlock, err := inventory.Lock(context.Background(), path, inventory.LockOptions{Purpose: "buttctl apply"})
		if err != nil {
			os.Stderr.WriteString(err.Error() + "\n")
			os.Exit(1)
		}
		os.Stdout.WriteString("locked\n")
		_, _ = io.Copy(io.Discard, os.Stdin)
		_ = unlock()
		os.Exit(0)
	}
	os.Exit(m.Run())
}
