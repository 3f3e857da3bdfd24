package tuicmd

import (
	"errors"
	"strings"
	"testing"

	"github.com/buttctl/buttctl/cmd/buttctl/internal/cmdutil"
	"github.com/buttctl/buttctl/cmd/buttctl/internal/iostreams"
	"github.com/buttctl/buttctl/inventory"
)

func TestNewCmdTuiFlags(t *testing.T) {
	ios, _, _, _ := iostreams.Test()
	f := &cmdutil.Factory{IOStreams: ios}
	for args, want := range map[string]Options{
		"":                             {},
		"--read-only":                  {ReadOnly: true},
		"--audit-log /var/log/a.jsonl": {AuditLog: "/var/log/a.jsonl"},
	} {
		var got *Options
		cmd := NewCmdTui(f, func(o *Options) error { got = o; return nil })
		cmd.SetArgs(strings.Fields(args))
		if err := cmd.Execute(); err != nil {
			t.Fatalf("%q: %v", args, err)
		}
		if got.ReadOnly != want.ReadOnly || got.AuditLog != want.AuditLog {
			t.Errorf("%q: options %+v", args, got)
		}
	}
	cmd := NewCmdTui(f, func(*Options) error { return nil })
	cmd.SetArgs([]string{"extra"})
	cmd.SilenceErrors, cmd.SilenceUsage = true, true
	if err := cmd.Execute(); cmdutil.ExitCode(err) != 2 {
		t.Errorf("an argument is a usage error: %v", err)
	}
}

// Off a terminal the console refuses, as a usage error pointing at the
// subcommands, before it even reads the inventory.
func TestRunNeedsATerminal(t *testing.T) {
	ios, _, _, _ := iostreams.Test()
	read := false
	err := Run(&Options{IO: ios, Inventory: func() (*inventory.Inventory, error) { read = true; return nil, errors.New("no") }})
	if cmdutil.ExitCode(err) != 2 || !strings.Contains(err.Error(), "needs a terminal") || read {
		t.Errorf("err %v (exit %d), inventory read %v", err, cmdutil.ExitCode(err), read)
	}
}
