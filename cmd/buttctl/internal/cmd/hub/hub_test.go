package hub

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/buttctl/buttctl/cmd/buttctl/internal/cmdutil"
	"github.com/buttctl/buttctl/cmd/buttctl/internal/iostreams"
	"github.com/buttctl/buttctl/cmd/buttctl/internal/output"
	"github.com/buttctl/buttctl/inventory"
	"github.com/buttctl/buttctl/ops/hubconn"
	"github.com/buttctl/buttctl/ops/hubconn/hubconntest"
	"github.com/buttctl/buttctl/ops/hubs"
)

// testFactory is a Factory on test streams whose hubs are inv's.
func testFactory(t *testing.T, inv *inventory.Inventory) (*cmdutil.Factory, *bytes.Buffer, *bytes.Buffer) {
	io, _, out, errOut := iostreams.Test()
	f := &cmdutil.Factory{IOStreams: io}
	var conns *hubconn.Conns
	f.Inventory = func() (*inventory.Inventory, error) { return inv, nil }
	f.Conns = func() (*hubconn.Conns, error) {
		if conns == nil {
			conns = hubconn.New(inv, hubconntest.Options())
			t.Cleanup(func() { conns.Close() })
		}
		return conns, nil
	}
	return f, out, errOut
}

func TestExecFlags(t *testing.T) {
	for _, c := range []struct {
		args    []string
		hubs    []string
		all     bool
		argv    []string
		usage   string
		timeout time.Duration
	}{
		{args: []string{"--all", "--", "uptime"}, all: true, argv: []string{"uptime"}},
		{args: []string{"hub-1", "hub-2", "--timeout", "5s", "--", "df", "-h", "/"}, hubs: []string{"hub-1", "hub-2"}, argv: []string{"df", "-h", "/"}, timeout: 5 * time.Second},
		{args: []string{"hub-1", "--", "sh", "-c", "echo $HOME; --all"}, hubs: []string{"hub-1"}, argv: []string{"sh", "-c", "echo $HOME; --all"}},
		{args: []string{"--all"}, usage: "no command"},
		{args: []string{"hub-1", "uptime"}, usage: "no command"},
		{args: []string{"--", "uptime"}, usage: "name the hubs"},
		{args: []string{"hub-1", "--all", "--", "uptime"}, usage: "not both"},
		{args: []string{"--all", "--parallel", "0", "--", "uptime"}, usage: "--parallel"},
	} {
		f, _, _ := testFactory(t, &inventory.Inventory{})
		var got *ExecOptions
		cmd := NewCmdExec(f, func(o *ExecOptions) error { got = o; return nil })
		cmd.SetArgs(c.args)
		cmd.SetOut(&bytes.Buffer{})
		cmd.SetErr(&bytes.Buffer{})
		err := cmd.Execute()
		if c.usage != "" {
			var ue *cmdutil.UsageError
			if !errors.As(err, &ue) || !strings.Contains(err.Error(), c.usage) {
				t.Errorf("%q: err = %v, want a usage error about %q", c.args, err, c.usage)
			}
			continue
		}
		if err != nil {
			t.Errorf("%q: %v", c.args, err)
			continue
		}
		if strings.Join(got.Hubs, ",") != strings.Join(c.hubs, ",") || got.All != c.all || strings.Join(got.Argv, "\x00") != strings.Join(c.argv, "\x00") ||
			got.Parallel != 32 || got.Timeout != c.timeout || got.Output != output.Table {
			t.Errorf("%q: options %+v", c.args, got)
		}
	}
}

func TestSSHFlags(t *testing.T) {
	f, _, _ := testFactory(t, &inventory.Inventory{})
	var got *SSHOptions
	cmd := NewCmdSSH(f, func(o *SSHOptions) error { got = o; return nil })
	cmd.SetArgs([]string{"hub-1", "--", "docker", "ps", "-a"})
	if err := cmd.Execute(); err != nil {
		t.Fatal(err)
	}
	if got.Hub != "hub-1" || strings.Join(got.Argv, " ") != "docker ps -a" {
		t.Errorf("options %+v", got)
	}
	cmd = NewCmdSSH(f, func(o *SSHOptions) error { got = o; return nil })
	cmd.SetArgs([]string{"hub-1", "uptime"})
	cmd.SetErr(&bytes.Buffer{})
	if err := cmd.Execute(); cmdutil.ExitCode(err) != cmdutil.ExitUsage || !strings.Contains(err.Error(), "put the command after --") {
		t.Errorf("command without --: err = %v", err)
	}
}

func TestListFlags(t *testing.T) {
	f, _, _ := testFactory(t, &inventory.Inventory{})
	var got *ListOptions
	cmd := NewCmdList(f, func(o *ListOptions) error { got = o; return nil })
	cmd.SetArgs([]string{"hub-2", "-o", "json", "--timeout", "3s", "--parallel", "4"})
	if err := cmd.Execute(); err != nil {
		t.Fatal(err)
	}
	if strings.Join(got.Hubs, ",") != "hub-2" || got.Output != output.JSON || got.Timeout != 3*time.Second || got.Parallel != 4 {
		t.Errorf("options %+v", got)
	}
}

// fleetInventory is two sshd hubs (sharing this machine's Docker socket), an
// unreachable hub and the local hub.
func fleetInventory(t *testing.T, dockerSocket string) *inventory.Inventory {
	fleet := hubconntest.Fleet(t, "hub", 2)
	ip, port := hubconntest.Unreachable(t)
	return hubconntest.Inventory(t,
		hubconntest.Hub{Name: "hub-1", Server: fleet[0], DockerSocket: dockerSocket},
		hubconntest.Hub{Name: "hub-2", Server: fleet[1], DockerSocket: dockerSocket},
		hubconntest.Hub{Name: "hub-down", Address: ip, Port: port},
		hubconntest.Hub{Name: "local", Local: true, DockerSocket: dockerSocket},
	)
}

func TestExecAcrossHubs(t *testing.T) {
	f, out, errOut := testFactory(t, fleetInventory(t, ""))
	opts := &ExecOptions{IO: f.IOStreams, Conns: f.Conns, All: true, Parallel: 32, Output: output.Table,
		Argv: []string{"sh", "-c", `echo "hello $1"; [ "$(hostname)" != "" ] && echo note >&2`, "sh", "it's; $(x)"}}
	err := execRun(opts)
	if cmdutil.ExitCode(err) != cmdutil.ExitError || err.Error() != "1 of 4 hubs did not succeed; unreachable: hub-down" {
		t.Fatalf("err = %v", err)
	}
	for _, want := range []string{"hub-1    | hello it's; $(x)\n", "hub-2    | hello it's; $(x)\n", "local    | hello it's; $(x)\n"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("stdout lacks %q:\n%s", want, out.String())
		}
	}
	if !strings.Contains(errOut.String(), "hub-1    | note\n") || !strings.Contains(errOut.String(), "hub-down | buttctl: hub-down: ssh: ") {
		t.Errorf("stderr:\n%s", errOut.String())
	}
}

func TestExecOneHubOffTTYIsRaw(t *testing.T) {
	f, out, _ := testFactory(t, fleetInventory(t, ""))
	err := execRun(&ExecOptions{IO: f.IOStreams, Conns: f.Conns, Hubs: []string{"hub-2"}, Parallel: 1, Argv: []string{"printf", "a\nb"}})
	if err != nil {
		t.Fatal(err)
	}
	if out.String() != "a\nb\n" {
		t.Errorf("stdout = %q", out.String())
	}
}

func TestExecJSONSaysFailedAndUnreachable(t *testing.T) {
	f, out, _ := testFactory(t, fleetInventory(t, ""))
	opts := &ExecOptions{IO: f.IOStreams, Conns: f.Conns, Hubs: []string{"hub-1", "hub-down", "hub-2"}, Parallel: 2, Output: output.JSON,
		Argv: []string{"sh", "-c", `echo out; echo err >&2; exit 2`}}
	err := execRun(opts)
	if cmdutil.ExitCode(err) != 1 || err.Error() != "3 of 3 hubs did not succeed; failed: hub-1 (exit 2), hub-2 (exit 2); unreachable: hub-down" {
		t.Fatalf("err = %v", err)
	}
	var got []map[string]any
	if err := json.Unmarshal(out.Bytes(), &got); err != nil {
		t.Fatalf("%v:\n%s", err, out.String())
	}
	if len(got) != 3 {
		t.Fatalf("%d results", len(got))
	}
	h1 := got[0]
	if h1["hub"] != "hub-1" || h1["status"] != "failed" || h1["exit"] != 2.0 || h1["stdout"] != "out\n" || h1["stderr"] != "err\n" {
		t.Errorf("hub-1: %v", h1)
	}
	if _, ok := h1["duration_ms"].(float64); !ok {
		t.Errorf("hub-1 has no duration_ms: %v", h1)
	}
	down := got[1]
	if down["hub"] != "hub-down" || down["status"] != "unreachable" || down["exit"] != nil || !strings.Contains(down["error"].(string), "connection refused") {
		t.Errorf("hub-down: %v", down)
	}
}

func TestExecTimeout(t *testing.T) {
	f, _, errOut := testFactory(t, fleetInventory(t, ""))
	err := execRun(&ExecOptions{IO: f.IOStreams, Conns: f.Conns, Hubs: []string{"hub-1"}, Parallel: 1, Timeout: 2 * time.Second, Argv: []string{"sleep", "60"}})
	if err == nil || err.Error() != "1 of 1 hubs did not succeed; failed: hub-1 (timed out)" {
		t.Fatalf("err = %v", err)
	}
	if !strings.Contains(errOut.String(), "timed out after 2s") {
		t.Errorf("stderr: %s", errOut.String())
	}
}

func TestListShowsEveryHub(t *testing.T) {
	sock := hubconntest.RequireDocker(t)
	inv := fleetInventory(t, sock)
	f, out, errOut := testFactory(t, inv)
	opts := &ListOptions{IO: f.IOStreams, Conns: f.Conns, Output: output.JSON, Parallel: 32, Timeout: 30 * time.Second}
	if err := listRun(opts); err != nil {
		t.Fatal(err)
	}
	var facts []hubs.Facts
	if err := json.Unmarshal(out.Bytes(), &facts); err != nil {
		t.Fatal(err)
	}
	if len(facts) != 4 {
		t.Fatalf("%d hubs listed, want 4", len(facts))
	}
	for _, fa := range facts {
		switch fa.Hub {
		case "hub-down":
			if fa.Reachable || fa.Error == "" {
				t.Errorf("hub-down: %+v", fa)
			}
		default:
			if !fa.Reachable || fa.DockerVersion == "" || fa.OS == "" || fa.Local != (fa.Hub == "local") {
				t.Errorf("%s: %+v", fa.Hub, fa)
			}
		}
	}

	out.Reset()
	opts.Output = output.Table
	if err := listRun(opts); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 5 || lines[0] != "HUB\tSTATUS\tLATENCY\tOS\tUPTIME\tLOAD\tDISK FREE\tDOCKER" {
		t.Fatalf("table:\n%s", out.String())
	}
	if !strings.HasPrefix(lines[3], "hub-down\tunreachable\t-") || !strings.HasPrefix(lines[4], "local\tlocal\t-\t") {
		t.Errorf("table:\n%s", out.String())
	}
	if !strings.Contains(errOut.String(), "buttctl: hub-down: ssh: ") {
		t.Errorf("stderr should say why hub-down is unreachable: %s", errOut.String())
	}
}

func TestSSHRunsCommandAndPassesExitStatus(t *testing.T) {
	f, out, _ := testFactory(t, fleetInventory(t, ""))
	f.IOStreams.In.(*bytes.Buffer).WriteString("typed\n")
	err := sshRun(&SSHOptions{IO: f.IOStreams, Conns: f.Conns, Hub: "hub-1", Argv: []string{"sh", "-c", "cat; exit 42"}})
	if cmdutil.ExitCode(err) != 42 {
		t.Fatalf("err = %v (exit %d), want exit 42", err, cmdutil.ExitCode(err))
	}
	if out.String() != "typed\n" {
		t.Errorf("stdout = %q", out.String())
	}
	err = sshRun(&SSHOptions{IO: f.IOStreams, Conns: f.Conns, Hub: "local"})
	if err == nil || !strings.Contains(err.Error(), "local: a local hub is this machine") {
		t.Errorf("ssh to the local hub: %v", err)
	}
}

func TestFormatting(t *testing.T) {
	for in, want := range map[int64]string{512: "512B", 1536: "1.5K", 14 << 30: "14G", 150 << 20: "150M", 1<<40 + 1<<39: "1.5T"} {
		if got := formatBytes(in); got != want {
			t.Errorf("formatBytes(%d) = %s, want %s", in, got, want)
		}
	}
	for in, want := range map[int64]string{59: "0m", 3600*5 + 60*12: "5h12m", 86400*3 + 3600*4 + 5: "3d4h"} {
		if got := formatUptime(in); got != want {
			t.Errorf("formatUptime(%d) = %s, want %s", in, got, want)
		}
	}
}
