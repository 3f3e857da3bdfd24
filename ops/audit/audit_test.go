package audit_test

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/buttctl/buttctl/ops/audit"
)

func TestWriteFillsInWhoAndWhen(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state", "inv-1234")
	path := filepath.Join(dir, "audit.jsonl")
	log := audit.File(path, audit.SourceCLI)
	defer log.Close()
	if _, err := os.Stat(path); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("the file is made at the first write, not before: %v", err)
	}
	began := time.Date(2026, 5, 1, 14, 0, 3, 500, time.FixedZone("CEST", 2*3600))
	if err := log.Write(audit.Record{Time: began, Hub: "hub-1", Pub: "scuttle-1", Action: "restart", Result: audit.ResultOK, DurationMS: 412}); err != nil {
		t.Fatal(err)
	}
	if err := log.As(audit.SourceApply).Write(audit.Record{Hub: "hub-1", Pub: "scuttle-2", Action: "recreate", Reason: "image changed", Result: audit.ResultOK}); err != nil {
		t.Fatal(err)
	}
	recs, err := audit.ReadFile(path)
	if err != nil || len(recs) != 2 {
		t.Fatalf("records: %+v, %v", recs, err)
	}
	r := recs[0]
	if r.Source != audit.SourceCLI || r.Actor != audit.Actor() || r.PID != os.Getpid() || !r.Time.Equal(began) || r.Time.Location() != time.UTC {
		t.Errorf("first record: %+v", r)
	}
	if recs[1].Source != audit.SourceApply || recs[1].Time.IsZero() || recs[1].Reason != "image changed" {
		t.Errorf("second record (As apply): %+v", recs[1])
	}
	if !strings.Contains(r.Actor, "@") {
		t.Errorf("actor %q is not user@host", r.Actor)
	}
	for p, want := range map[string]fs.FileMode{path: 0o600, dir: 0o700} {
		if st, err := os.Stat(p); err != nil || st.Mode().Perm() != want {
			t.Errorf("%s: mode %v, want %v (%v)", p, st.Mode().Perm(), want, err)
		}
	}
	b, _ := os.ReadFile(path)
	first := strings.SplitN(string(b), "\n", 2)[0]
	if !strings.HasPrefix(first, `{"time":"2026-05-01T12:00:03.0000005Z","source":"cli","actor":`) {
		t.Errorf("the format changed: %s", first)
	}
}

func TestBeginEnd(t *testing.T) {
	var buf bytes.Buffer
	log := audit.Writer(&buf, audit.SourceConsole)
	ok := func() (err error) {
		p := log.Begin(audit.Record{Action: "kill", Pub: "p"})
		defer p.End(&err)
		p.Hub = "hub-2"
		return nil
	}
	failed := func() (err error) {
		defer log.Begin(audit.Record{Action: "start", Pub: "p", Hub: "hub-2"}).End(&err)
		return errors.New("pub p on hub-2: port 8008 is already taken")
	}
	_ = ok()
	_ = failed()
	recs, err := audit.Read(&buf)
	if err != nil || len(recs) != 2 {
		t.Fatalf("%+v %v", recs, err)
	}
	if r := recs[0]; r.Action != "kill" || r.Hub != "hub-2" || r.Result != audit.ResultOK || r.Error != "" || r.Source != audit.SourceConsole {
		t.Errorf("ok: %+v", r)
	}
	if r := recs[1]; r.Result != audit.ResultFailed || !strings.Contains(r.Error, "port 8008") {
		t.Errorf("failed: %+v", r)
	}
	var nilLog *audit.Log
	func() (err error) { // a nil log records nothing and does not fail
		defer nilLog.Begin(audit.Record{Action: "x"}).End(&err)
		return nilLog.Write(audit.Record{Action: "y"})
	}()
}

func TestSecretsNeverWritten(t *testing.T) {
	pub, priv, _ := ed25519.GenerateKey(nil)
	secret := base64.StdEncoding.EncodeToString(priv) + ".ed25519"
	id := "@" + base64.StdEncoding.EncodeToString(pub) + ".ed25519"
	seed := base64.StdEncoding.EncodeToString(priv[:32])
	invite := "pub.example.org:8008:" + id + "~" + seed
	var buf bytes.Buffer
	log := audit.Writer(&buf, audit.SourceCLI)
	if err := log.Write(audit.Record{Action: "restore", Pub: "p", Identity: id,
		Error: `secret {"curve":"ed25519","public":"` + id[1:] + `","private":"` + secret + `"} does not match; invite ` + invite + strings.Repeat(" and more", 500)}); err != nil {
		t.Fatal(err)
	}
	line := buf.String()
	if strings.Contains(line, secret[:40]) || strings.Contains(line, seed) {
		t.Fatalf("a secret reached the log: %s", line)
	}
	if !strings.Contains(line, id) || !strings.Contains(line, "[secret removed]") {
		t.Errorf("the public id is kept, the secret replaced: %s", line)
	}
	if len(line) > 3000 {
		t.Errorf("a long error is cut: %d bytes", len(line))
	}
}

// TestConcurrentAppendsFromProcesses has several processes append to one
// log at once; every line read back is one whole record.
func TestConcurrentAppendsFromProcesses(t *testing.T) {
	const procs, each = 6, 400
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	var cmds []*exec.Cmd
	for i := range procs {
		cmd := exec.Command(os.Args[0])
		cmd.Env = append(os.Environ(), "AUDIT_HELPER_PATH="+path, "AUDIT_HELPER_ID="+strconv.Itoa(i), "AUDIT_HELPER_N="+strconv.Itoa(each))
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		cmds = append(cmds, cmd)
	}
	for _, cmd := range cmds {
		if err := cmd.Wait(); err != nil {
			t.Fatal(err)
		}
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
	if len(lines) != procs*each {
		t.Fatalf("%d lines, want %d", len(lines), procs*each)
	}
	seen := map[string]bool{}
	pids := map[int]bool{}
	for n, l := range lines {
		var r audit.Record
		if err := json.Unmarshal([]byte(l), &r); err != nil {
			t.Fatalf("line %d is not one record (lines interleaved?): %v: %.200s", n+1, err, l)
		}
		seen[r.Pub+"/"+r.Reason] = true
		pids[r.PID] = true
	}
	if len(seen) != procs*each || len(pids) != procs {
		t.Errorf("%d distinct records from %d processes, want %d from %d", len(seen), len(pids), procs*each, procs)
	}
}

// TestMain runs as one of the appending processes of
// TestConcurrentAppendsFromProcesses when that test starts it.
func TestMain(m *testing.M) {
	if path := os.Getenv("AUDIT_HELPER_PATH"); path != "" {
		if err := appendRecords(path, os.Getenv("AUDIT_HELPER_ID"), os.Getenv("AUDIT_HELPER_N")); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func appendRecords(path, id, count string) error {
	n, err := strconv.Atoi(count)
	if err != nil {
		return err
	}
	log := audit.File(path, audit.SourceCLI)
	defer log.Close()
	pad := strings.Repeat("x", 1500) // lines of ~1.7 KiB: several per page
	for i := range n {
		if err := log.Write(audit.Record{Pub: "proc-" + id, Action: "restart", Reason: fmt.Sprint(i), Result: audit.ResultFailed, Error: pad}); err != nil {
			return err
		}
	}
	return nil
}

func TestDefaultPathIsPerInventory(t *testing.T) {
	a := audit.DefaultPath("/state", "/etc/buttctl/fleet.yaml")
	b := audit.DefaultPath("/state", "/home/x/fleet.yaml")
	if a == b || !strings.HasPrefix(a, "/state/watch/fleet-") || filepath.Base(a) != "audit.jsonl" || filepath.Dir(a) != audit.Dir("/state", "/etc/buttctl/fleet.yaml") {
		t.Errorf("%s, %s", a, b)
	}
}
