package version

import (
	"encoding/json"
	"runtime"
	"strings"
	"testing"

	"github.com/buttctl/buttctl/cmd/buttctl/internal/cmdutil"
	"github.com/buttctl/buttctl/cmd/buttctl/internal/iostreams"
	"github.com/buttctl/buttctl/cmd/buttctl/internal/output"
)

func TestNewCmdVersionFlags(t *testing.T) {
	ios, _, _, _ := iostreams.Test()
	f := &cmdutil.Factory{IOStreams: ios, Version: "1.2.3", Commit: "abc"}
	for args, want := range map[string]output.Format{"": output.Table, "-o json": output.JSON, "--output yaml": output.YAML} {
		var got *Options
		cmd := NewCmdVersion(f, func(o *Options) error { got = o; return nil })
		cmd.SetArgs(strings.Fields(args))
		if err := cmd.Execute(); err != nil {
			t.Fatalf("%q: %v", args, err)
		}
		if got.Output != want || got.Version != "1.2.3" || got.Commit != "abc" {
			t.Errorf("%q: options %+v", args, got)
		}
	}
	cmd := NewCmdVersion(f, func(*Options) error { return nil })
	cmd.SetArgs([]string{"-o", "wide"})
	cmd.SilenceErrors, cmd.SilenceUsage = true, true
	if err := cmd.Execute(); err == nil {
		t.Error("-o wide accepted")
	}
}

func TestRun(t *testing.T) {
	ios, _, out, _ := iostreams.Test()
	if err := Run(&Options{IO: ios, Version: "1.2.3", Commit: "abc", Output: output.Table}); err != nil {
		t.Fatal(err)
	}
	if want := "buttctl 1.2.3 (commit abc, " + runtime.Version(); !strings.HasPrefix(out.String(), want) {
		t.Errorf("got %q", out.String())
	}
	out.Reset()
	if err := Run(&Options{IO: ios, Version: "1.2.3", Commit: "abc", Output: output.JSON}); err != nil {
		t.Fatal(err)
	}
	var info map[string]string
	if err := json.Unmarshal(out.Bytes(), &info); err != nil {
		t.Fatal(err)
	}
	if info["version"] != "1.2.3" || info["commit"] != "abc" || info["go_version"] != runtime.Version() || info["platform"] != runtime.GOOS+"/"+runtime.GOARCH {
		t.Errorf("json = %v", info)
	}
}
