package fleetcmd

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/buttctl/buttctl/cmd/buttctl/internal/cmdutil"
	"github.com/buttctl/buttctl/cmd/buttctl/internal/iostreams"
	"github.com/buttctl/buttctl/cmd/buttctl/internal/output"
)

func TestStatusFlags(t *testing.T) {
	cases := []struct {
		args     string
		want     StatusOptions
		wantCode int
	}{
		{"", StatusOptions{Output: output.Table, observeFlags: observeFlags{Parallel: 32, Timeout: 15 * time.Second}}, 0},
		{"-o json --parallel 4 --timeout 3s", StatusOptions{Output: output.JSON, observeFlags: observeFlags{Parallel: 4, Timeout: 3 * time.Second}}, 0},
		{"--parallel 0", StatusOptions{}, 2},
		{"--timeout 0s", StatusOptions{}, 2},
		{"extra", StatusOptions{}, 2},
		{"-o csv", StatusOptions{}, 2},
	}
	for _, c := range cases {
		io, _, _, _ := iostreams.Test()
		var got *StatusOptions
		cmd := NewCmdStatus(&cmdutil.Factory{IOStreams: io}, func(o *StatusOptions) error { got = o; return nil })
		args := strings.Fields(c.args)
		cmd.SetArgs(args)
		cmd.SetOut(io.Out)
		cmd.SetErr(io.ErrOut)
		err := cmd.Execute()
		if err != nil && cmdutil.IsCobraUsage(err) {
			err = &cmdutil.UsageError{Err: err}
		}
		if code := cmdutil.ExitCode(err); code != c.wantCode {
			t.Errorf("%q: exit %d (%v), want %d", c.args, code, err, c.wantCode)
			continue
		}
		if c.wantCode != 0 {
			continue
		}
		if got.Output != c.want.Output || got.Parallel != c.want.Parallel || got.Timeout != c.want.Timeout {
			t.Errorf("%q: %+v, want %+v", c.args, got, c.want)
		}
	}
}

func TestStatusRun(t *testing.T) {
	ports := freePorts(t, 2)
	w := newWorld(t, deadHubs, fmt.Sprintf("  - {name: PFX-up, hub: local, port: %d}\n  - {name: PFX-miss, hub: local, port: %d}\n  - {name: PFX-lost, hub: dead}\n", ports[0], ports[1]))
	_, _, _, ps := w.streams()
	svc, _ := ps()
	if _, err := svc.Create(context.Background(), w.pub("up")); err != nil {
		t.Fatal(err)
	}
	waitHealthy(t, svc, w.pub("up"))

	// The table: hubs, the pubs that need attention, the summary line; exit 1
	// naming the dead hub.
	io, out, _, ps := w.streams()
	err := statusRun(&StatusOptions{IO: io, Pubs: ps, Output: output.Table, observeFlags: observeFlags{Parallel: 4, Timeout: 5 * time.Second}, Now: time.Now})
	if err == nil || cmdutil.ExitCode(err) != 1 || !strings.Contains(err.Error(), "1 of 2 hubs could not be observed:\ndead: Docker engine unreachable") {
		t.Errorf("status: %v", err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if lines[0] != "HUB\tSTATUS\tENGINE\tPUBS UP\tCAPACITY\tTOOK" || !strings.HasPrefix(lines[1], "local\tup\t") || !strings.HasPrefix(lines[2], "dead\tdown\t-\t?/1\t1/-\t") {
		t.Errorf("hub table:\n%s", out)
	}
	for _, want := range []string{w.pub("miss") + "\tlocal\tmissing\trunning\t-\t-\tno", w.pub("lost") + "\tdead\tunknown\trunning\t-\t-\tno"} {
		if !strings.Contains(out.String(), want+"\n") {
			t.Errorf("no row %q in:\n%s", want, out)
		}
	}
	if strings.Contains(out.String(), w.pub("up")+"\t") {
		t.Errorf("a running pub is listed without -o wide:\n%s", out)
	}
	last := lines[len(lines)-1]
	if !strings.HasPrefix(last, "hubs=2 hubs_up=1 hubs_down=1 pubs=3 ") || !strings.Contains(last, " missing=1 unknown=1 ") {
		t.Errorf("summary line %q", last)
	}

	// -o json: the summary and the snapshot's documented fields.
	io, out, _, ps = w.streams()
	err = statusRun(&StatusOptions{IO: io, Pubs: ps, Output: output.JSON, observeFlags: observeFlags{Parallel: 4, Timeout: 5 * time.Second}, Now: time.Now})
	if cmdutil.ExitCode(err) != 1 {
		t.Errorf("status -o json: %v", err)
	}
	var got map[string]any
	if err := json.Unmarshal(out.Bytes(), &got); err != nil {
		t.Fatalf("%v:\n%s", err, out)
	}
	for _, k := range []string{"summary", "taken", "duration_ms", "hubs", "pubs", "orphans"} {
		if _, ok := got[k]; !ok {
			t.Errorf("no %q in the JSON", k)
		}
	}
	sum := got["summary"].(map[string]any)
	if sum["hubs_down"] != 1.0 || sum["missing"] != 1.0 || sum["capacity"] != 5.0 || sum["placed"] != 2.0 {
		t.Errorf("summary %v", sum)
	}
	hub := got["hubs"].([]any)[0].(map[string]any)
	for _, k := range []string{"name", "capacity", "placed", "reachable", "duration_ms", "engine", "containers", "volumes"} {
		if _, ok := hub[k]; !ok {
			t.Errorf("no %q in a hub: %v", k, hub)
		}
	}
	pub := got["pubs"].([]any)[0].(map[string]any)
	for _, k := range []string{"name", "hub", "want", "status", "container", "has_volume", "spec_hash", "drift"} {
		if _, ok := pub[k]; !ok {
			t.Errorf("no %q in a pub: %v", k, pub)
		}
	}
}
