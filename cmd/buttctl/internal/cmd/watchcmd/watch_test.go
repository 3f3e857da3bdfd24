package watchcmd

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/client"

	"github.com/buttctl/buttctl/cmd/buttctl/internal/cmdutil"
	"github.com/buttctl/buttctl/cmd/buttctl/internal/iostreams"
	"github.com/buttctl/buttctl/cmd/buttctl/internal/output"
	"github.com/buttctl/buttctl/inventory"
	"github.com/buttctl/buttctl/ops/audit"
	"github.com/buttctl/buttctl/ops/hubconn"
	"github.com/buttctl/buttctl/ops/identity"
	"github.com/buttctl/buttctl/ops/pubs"
	"github.com/buttctl/buttctl/ops/pubs/pubstest"
	"github.com/buttctl/buttctl/ops/pubspec"
	"github.com/buttctl/buttctl/ops/watch"
)

// parse runs `buttctl watch args` up to the run, and returns the options.
func parse(t *testing.T, args ...string) (*WatchOptions, error) {
	t.Helper()
	io, _, _, _ := iostreams.Test()
	f := &cmdutil.Factory{IOStreams: io}
	var got *WatchOptions
	cmd := NewCmdWatch(f, func(o *WatchOptions) error { got = o; return nil })
	cmd.SetArgs(args)
	cmd.SetOut(io.Out)
	cmd.SetErr(io.ErrOut)
	err := cmd.Execute()
	return got, err
}

func TestFlags(t *testing.T) {
	o, err := parse(t, "--hub", "hub-2", "--once", "--dry-run", "-o", "json", "--metrics-addr", "127.0.0.1:9310",
		"--notify-webhook", "https://hooks.example.org/x?token=y", "--notify-exec", `["/usr/local/bin/page", "on call"]`,
		"--notify-exec", "/usr/bin/logger -t buttctl", "--audit-log", "-", "--log-format", "json", "--log-level", "debug")
	if err != nil {
		t.Fatal(err)
	}
	if o.Hub != "hub-2" || !o.Once || !o.DryRun || o.Output != output.JSON || o.MetricsAddr != "127.0.0.1:9310" ||
		len(o.NotifyWebhooks) != 1 || len(o.NotifyExecs) != 2 || o.AuditLog != "-" || o.LogFormat != "json" || o.LogLevel != "debug" {
		t.Errorf("options = %+v", o)
	}
	o, err = parse(t)
	if err != nil || o.Hub != "" || o.Once || o.LogFormat != "auto" || o.LogLevel != "info" || o.Output != output.Table {
		t.Errorf("defaults = %+v, %v", o, err)
	}
	for _, bad := range [][]string{
		{"-o", "json"},
		{"--log-format", "xml"},
		{"--log-level", "loud"},
		{"--notify-webhook", "ftp://x"},
		{"--notify-exec", "  "},
		{"--notify-exec", `["unterminated`},
		{"--metrics-addr", "9310"},
		{"extra"},
	} {
		if _, err := parse(t, bad...); cmdutil.ExitCode(err) != cmdutil.ExitUsage {
			t.Errorf("%q: %v (exit %d); want a usage error", bad, err, cmdutil.ExitCode(err))
		}
	}
}

func TestParseArgv(t *testing.T) {
	for in, want := range map[string][]string{
		"/bin/x":                           {"/bin/x"},
		"  /bin/x  -a  b ":                 {"/bin/x", "-a", "b"},
		`["/bin/x", "two words", "$HOME"]`: {"/bin/x", "two words", "$HOME"},
		"/bin/x $(reboot) ;":               {"/bin/x", "$(reboot)", ";"},
	} {
		got, err := ParseArgv(in)
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("ParseArgv(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
}

// The example unit's ExecStart is a command line this buttctl accepts.
func TestSystemdUnitCommandLine(t *testing.T) {
	unit := readUnit(t)
	exec := unitValue(t, unit, "ExecStart")
	fields := strings.Fields(exec)
	i := indexOf(fields, "watch")
	if i < 0 || fields[0] != "/usr/local/bin/buttctl" {
		t.Fatalf("ExecStart %q does not run buttctl watch", exec)
	}
	if _, err := parse(t, fields[i+1:]...); err != nil {
		t.Errorf("ExecStart %q: %v", exec, err)
	}
	if unitValue(t, unit, "KillSignal") != "SIGTERM" {
		t.Error("the unit does not stop watch with SIGTERM")
	}
}

// systemd itself accepts the example unit (with a buttctl binary in place).
func TestSystemdUnitVerifies(t *testing.T) {
	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Fatalf("this test needs systemd-analyze (Debian package systemd, in TEST_DEBS): %v", err)
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "buttctl")
	if err := os.WriteFile(bin, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	unit := strings.ReplaceAll(readUnit(t), "/usr/local/bin/buttctl", bin)
	path := filepath.Join(dir, "buttctl-watch.service")
	if err := os.WriteFile(path, []byte(unit), 0o644); err != nil {
		t.Fatal(err)
	}
	out, _ := exec.Command(analyze, "verify", path).CombinedOutput()
	for _, line := range strings.Split(string(out), "\n") {
		if strings.Contains(line, "buttctl-watch.service") {
			t.Errorf("systemd-analyze verify: %s", line)
		}
	}
}

func readUnit(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("../../../../../ops/watch/systemd/buttctl-watch.service")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func unitValue(t *testing.T, unit, key string) string {
	t.Helper()
	sc := bufio.NewScanner(strings.NewReader(unit))
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), key+"="); ok {
			return v
		}
	}
	t.Fatalf("the unit has no %s=", key)
	return ""
}

func indexOf(xs []string, x string) int {
	for i, v := range xs {
		if v == x {
			return i
		}
	}
	return -1
}

// localPub writes an inventory with the local hub (this machine's real
// Docker engine) and one pub of the stand-in image, creates it, and
// removes it (by name) when the test ends.
func localPub(t *testing.T) (path, name string, api *client.Client) {
	t.Helper()
	pubstest.Require(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	name = fmt.Sprintf("wc-%d", time.Now().UnixNano()%1_000_000_000)
	path = filepath.Join(t.TempDir(), "buttctl.yaml")
	text := fmt.Sprintf("version: 1\ndefaults: {image: %q, restart: \"no\"}\nhubs:\n  - {name: local, local: true}\npubs:\n  - {name: %s, hub: local, port: %d}\nwatch: {reconcile: 2s}\n", pubstest.Image, name, port)
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	inv, err := inventory.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	conns := hubconn.New(inv, hubconn.Options{})
	svc := pubs.New(inv, conns)
	defer conns.Close()
	defer svc.Close()
	api, err = client.New(client.WithHost("unix://" + pubstest.Socket))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx := context.Background()
		_, _ = api.ContainerRemove(ctx, pubspec.ContainerName(name), client.ContainerRemoveOptions{Force: true})
		_, _ = api.VolumeRemove(ctx, pubspec.VolumeName(name), client.VolumeRemoveOptions{Force: true})
		api.Close()
	})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if _, err := svc.Create(ctx, name); err != nil {
		t.Fatal(err)
	}
	return path, name, api
}

func runOptions(t *testing.T, path string) (*WatchOptions, *bytes.Buffer, *bytes.Buffer) {
	ios, _, out, errOut := iostreams.Test()
	state := filepath.Join(t.TempDir(), "state")
	return &WatchOptions{
		IO: ios, InventoryPath: func() string { return path }, StateDir: state,
		IdentityStore: func() (*identity.Store, error) { return identity.OpenStore(state) },
		LogFormat:     "auto", LogLevel: "info", Output: output.Table,
	}, out, errOut
}

func TestOnceStartsAKilledPubAndPrintsWhatItDid(t *testing.T) {
	path, name, api := localPub(t)
	if _, err := api.ContainerKill(context.Background(), pubspec.ContainerName(name), client.ContainerKillOptions{Signal: "SIGKILL"}); err != nil {
		t.Fatal(err)
	}
	opts, out, _ := runOptions(t, path)
	opts.Once, opts.Output = true, output.JSON
	if err := watchRun(opts); err != nil {
		t.Fatal(err)
	}
	var res watch.OnceResult
	if err := json.Unmarshal(out.Bytes(), &res); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	var started bool
	for _, r := range res.Records {
		if r.Pub == name && r.Action == watch.ActionStart && r.Result == watch.ResultOK && r.Reason == watch.ReasonExited {
			started = true
		}
	}
	if !started {
		t.Errorf("records = %+v; want the pub started", res.Records)
	}
	ins, err := api.ContainerInspect(context.Background(), pubspec.ContainerName(name), client.ContainerInspectOptions{})
	if err != nil || !ins.Container.State.Running {
		t.Errorf("after --once the pub is not running: %v", err)
	}
	// The audit log is where the state directory says.
	paths := watch.DefaultPaths(opts.StateDir, path)
	recs, err := audit.ReadFile(paths.Audit)
	if err != nil || len(find(recs, name, watch.ActionStart)) != 1 {
		t.Errorf("audit log %s: %+v, %v", paths.Audit, recs, err)
	}
	if st, err := os.Stat(paths.Audit); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("audit log mode: %v %v", st.Mode(), err)
	}
}

func TestRunServesMetricsAndStopsOnCancel(t *testing.T) {
	path, name, api := localPub(t)
	opts, _, errOut := runOptions(t, path)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	opts.MetricsAddr = addr
	ctx, cancel := context.WithCancel(context.Background())
	opts.Context = func() (context.Context, context.CancelFunc) { return ctx, cancel }
	done := make(chan error, 1)
	go func() { done <- watchRun(opts) }()
	get := func(p string) (int, string) {
		res, err := http.Get("http://" + addr + p)
		if err != nil {
			return 0, err.Error()
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		code, body := get("/metrics")
		if code == 200 && strings.Contains(body, `buttctl_watch_hub_up{hub="local"} 1`) && strings.Contains(body, `buttctl_watch_pubs{phase="running"} 1`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("metrics never showed the hub up and the pub running:\n%s", body)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if _, err := api.ContainerKill(context.Background(), pubspec.ContainerName(name), client.ContainerKillOptions{Signal: "SIGKILL"}); err != nil {
		t.Fatal(err)
	}
	for {
		_, body := get("/metrics")
		if strings.Contains(body, `buttctl_watch_actions_total{action="start",result="ok"} 1`) && strings.Contains(body, "buttctl_watch_heal_latency_seconds_count 1") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("metrics never counted the heal:\n%s", body)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if code, body := get("/healthz"); code != 200 || body != "ok\n" {
		t.Errorf("/healthz = %d %q", code, body)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("watch ended with %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("watch did not stop on cancel")
	}
	logs := errOut.String()
	// Off a terminal, the log is JSON lines.
	for _, line := range strings.Split(strings.TrimSpace(logs), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Errorf("log line is not JSON: %q", line)
		}
	}
	if !strings.Contains(logs, `"msg":"stopped"`) {
		t.Errorf("no clean stop in the log:\n%s", logs)
	}
}

func find(recs []audit.Record, pub, action string) []audit.Record {
	var out []audit.Record
	for _, r := range recs {
		if r.Pub == pub && r.Action == action {
			out = append(out, r)
		}
	}
	return out
}
