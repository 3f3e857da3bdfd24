package pub

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"

	"github.com/buttctl/buttctl/cmd/buttctl/internal/cmdutil"
	"github.com/buttctl/buttctl/cmd/buttctl/internal/iostreams"
	"github.com/buttctl/buttctl/cmd/buttctl/internal/output"
)

func testFactory() *cmdutil.Factory {
	io, _, _, _ := iostreams.Test()
	return &cmdutil.Factory{IOStreams: io}
}

// parse runs cmd on args and returns its error.
func parse(cmd *cobra.Command, args ...string) error {
	cmd.SetArgs(args)
	cmd.SetOut(&bytes.Buffer{})
	cmd.SetErr(&bytes.Buffer{})
	return cmd.Execute()
}

func wantUsage(t *testing.T, err error, about string) {
	t.Helper()
	var ue *cmdutil.UsageError
	if !errors.As(err, &ue) || !strings.Contains(err.Error(), about) {
		t.Errorf("err = %v, want a usage error about %q", err, about)
	}
}

func TestListFlags(t *testing.T) {
	var got *ListOptions
	cmd := NewCmdList(testFactory(), func(o *ListOptions) error { got = o; return nil })
	if err := parse(cmd, "--hub", "hub-1", "--hub", "hub-2", "-o", "json", "--no-identity", "--timeout", "30s"); err != nil {
		t.Fatal(err)
	}
	if strings.Join(got.Hubs, ",") != "hub-1,hub-2" || got.Output != output.JSON || !got.NoIdentity || got.Timeout != 30*time.Second {
		t.Errorf("options %+v", got)
	}
	if err := parse(NewCmdList(testFactory(), nil), "extra"); err == nil {
		t.Error("list accepted an argument")
	}
}

func TestActionFlags(t *testing.T) {
	for verb, build := range map[string]func(*cmdutil.Factory, func(*ActionOptions) error) *cobra.Command{
		"start": NewCmdStart, "stop": NewCmdStop, "restart": NewCmdRestart, "kill": NewCmdKill,
	} {
		var got *ActionOptions
		if err := parse(build(testFactory(), func(o *ActionOptions) error { got = o; return nil }), "a", "b"); err != nil {
			t.Fatalf("%s: %v", verb, err)
		}
		if strings.Join(got.Names, ",") != "a,b" || got.Timeout != DefaultTimeout {
			t.Errorf("%s: options %+v", verb, got)
		}
		if verb == "kill" && got.Signal != "SIGKILL" {
			t.Errorf("kill's default signal %q", got.Signal)
		}
		wantUsage(t, parse(build(testFactory(), nil)), "requires at least 1 arg")
		wantUsage(t, parse(build(testFactory(), nil), "a", "a"), "pub a is named twice")
	}
	var got *ActionOptions
	if err := parse(NewCmdKill(testFactory(), func(o *ActionOptions) error { got = o; return nil }), "-s", "SIGHUP", "a"); err != nil || got.Signal != "SIGHUP" {
		t.Errorf("kill -s: %+v %v", got, err)
	}
	var created *CreateOptions
	if err := parse(NewCmdCreate(testFactory(), func(o *CreateOptions) error { created = o; return nil }), "a", "b"); err != nil || strings.Join(created.Names, ",") != "a,b" {
		t.Errorf("create: %+v %v", created, err)
	}
}

func TestRmFlags(t *testing.T) {
	var got *RmOptions
	capture := func(o *RmOptions) error { got = o; return nil }
	if err := parse(NewCmdRm(testFactory(), capture), "a"); err != nil || got.Name != "a" || got.Purge {
		t.Errorf("rm a: %+v %v", got, err)
	}
	if err := parse(NewCmdRm(testFactory(), capture), "a", "--purge", "--yes"); err != nil || !got.Purge || !got.Yes {
		t.Errorf("rm --purge --yes: %+v %v", got, err)
	}
	// Off a terminal, --purge needs --yes.
	wantUsage(t, parse(NewCmdRm(testFactory(), capture), "a", "--purge"), "add --yes to confirm")
	wantUsage(t, parse(NewCmdRm(testFactory(), capture), "a", "--yes"), "--yes only confirms --purge")
	wantUsage(t, parse(NewCmdRm(testFactory(), capture), "a", "b"), "accepts 1 arg")
	// On one, it may ask.
	f := testFactory()
	f.IOStreams.SetTTY(true, true, true)
	if err := parse(NewCmdRm(f, capture), "a", "--purge"); err != nil || !got.Purge || got.Yes {
		t.Errorf("rm --purge on a terminal: %+v %v", got, err)
	}
}

func TestLogsFlags(t *testing.T) {
	var got *LogsOptions
	capture := func(o *LogsOptions) error { got = o; return nil }
	if err := parse(NewCmdLogs(testFactory(), capture), "a", "-f", "--since", "10m", "--tail", "5", "--grep", "err|warn", "-t"); err != nil {
		t.Fatal(err)
	}
	if got.Name != "a" || !got.Follow || got.Since != "10m" || got.Tail != 5 || got.Grep != "err|warn" || !got.Timestamps {
		t.Errorf("options %+v", got)
	}
	wantUsage(t, parse(NewCmdLogs(testFactory(), capture), "a", "--grep", "("), "--grep \"(\" is not a regular expression")
	wantUsage(t, parse(NewCmdLogs(testFactory(), capture), "a", "--tail", "-3"), "--tail -3")
	if err := parse(NewCmdLogs(testFactory(), capture), "a", "--tail", "many"); err == nil || !cmdutil.IsCobraUsage(err) {
		t.Errorf("--tail many: %v", err)
	}
}

func TestExecFlags(t *testing.T) {
	var got *ExecOptions
	capture := func(o *ExecOptions) error { got = o; return nil }
	if err := parse(NewCmdExec(testFactory(), capture), "a", "-T", "--", "sh", "-c", "echo $HOME; --all"); err != nil {
		t.Fatal(err)
	}
	if got.Name != "a" || !got.NoTTY || fmt.Sprintf("%q", got.Argv) != `["sh" "-c" "echo $HOME; --all"]` {
		t.Errorf("options %+v", got)
	}
	wantUsage(t, parse(NewCmdExec(testFactory(), capture), "a", "sbot", "whoami"), "put the command after --")
	wantUsage(t, parse(NewCmdExec(testFactory(), capture), "a", "--"), "put the command after --")
	wantUsage(t, parse(NewCmdExec(testFactory(), capture)), "name the pub")
}

func TestInspectWhoamiInviteFlags(t *testing.T) {
	var ins *InspectOptions
	if err := parse(NewCmdInspect(testFactory(), func(o *InspectOptions) error { ins = o; return nil }), "a"); err != nil || ins.Output != output.JSON {
		t.Errorf("inspect: %+v %v", ins, err)
	}
	if err := parse(NewCmdInspect(testFactory(), nil), "a", "-o", "table"); err == nil || !cmdutil.IsCobraUsage(err) {
		t.Errorf("inspect -o table: %v", err)
	}
	var who *WhoamiOptions
	if err := parse(NewCmdWhoami(testFactory(), func(o *WhoamiOptions) error { who = o; return nil }), "a", "-o", "json"); err != nil || who.Name != "a" || who.Output != output.JSON {
		t.Errorf("whoami: %+v %v", who, err)
	}
	var inv *InviteOptions
	if err := parse(NewCmdInvite(testFactory(), func(o *InviteOptions) error { inv = o; return nil }), "a"); err != nil || inv.Uses != 1 {
		t.Errorf("invite: %+v %v", inv, err)
	}
	if err := parse(NewCmdInvite(testFactory(), func(o *InviteOptions) error { inv = o; return nil }), "a", "--uses", "20"); err != nil || inv.Uses != 20 {
		t.Errorf("invite --uses: %+v %v", inv, err)
	}
	wantUsage(t, parse(NewCmdInvite(testFactory(), nil), "a", "--uses", "0"), "--uses 0")
}
