package fleetcmd

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"

	"github.com/buttctl/buttctl/cmd/buttctl/internal/cmdutil"
	"github.com/buttctl/buttctl/cmd/buttctl/internal/iostreams"
	"github.com/buttctl/buttctl/cmd/buttctl/internal/output"
	"github.com/buttctl/buttctl/inventory"
)

// execute runs cmd with args and returns the error as root.Main sees it.
func execute(cmd *cobra.Command, io *iostreams.IOStreams, args string) error {
	cmd.SetArgs(strings.Fields(args))
	cmd.SetOut(io.Out)
	cmd.SetErr(io.ErrOut)
	err := cmd.Execute()
	if err != nil && cmdutil.IsCobraUsage(err) {
		err = &cmdutil.UsageError{Err: err}
	}
	return err
}

func TestPlanAndApplyFlags(t *testing.T) {
	io, _, _, _ := iostreams.Test()
	f := &cmdutil.Factory{IOStreams: io, InventoryFlag: "x.yaml"}
	var p *PlanOptions
	plan := func() *cobra.Command { return NewCmdPlan(f, func(o *PlanOptions) error { p = o; return nil }) }
	var a *ApplyOptions
	apply := func() *cobra.Command { return NewCmdApply(f, func(o *ApplyOptions) error { a = o; return nil }) }

	err := execute(plan(), io, "--prune --purge --pub a-* --pub b --detailed-exitcode -o json")
	if err != nil || !p.Prune || !p.Purge || !p.DetailedExitCode || p.Output != output.JSON || strings.Join(p.Only, ",") != "a-*,b" {
		t.Errorf("plan flags: %+v, %v", p, err)
	}
	for _, bad := range []string{"--purge", "--pub [", "x", "-o wide"} {
		if err := execute(plan(), io, bad); cmdutil.ExitCode(err) != 2 {
			t.Errorf("plan %s: %v, want a usage error", bad, err)
		}
	}
	err = execute(apply(), io, "--yes --batch 25% --wait 1m --prune")
	if err != nil || !a.Yes || a.Batch != "25%" || a.Wait != time.Minute || !a.Prune || a.InventoryPath() != "x.yaml" || a.ActionTimeout != 5*time.Minute {
		t.Errorf("apply flags: %+v, %v", a, err)
	}
	for _, bad := range []string{"", "--yes --batch 0", "--yes --batch x", "--yes --batch 120%", "--yes --wait -1s", "--yes --purge"} {
		if err := execute(apply(), io, bad); cmdutil.ExitCode(err) != 2 {
			t.Errorf("apply %q: %v, want a usage error", bad, err)
		}
	}
	if err := execute(apply(), io, ""); err == nil || !strings.Contains(err.Error(), "add --yes") {
		t.Errorf("apply off a terminal without --yes: %v", err)
	}
	// On a terminal apply may ask instead.
	io.SetTTY(true, true, true)
	if err := execute(apply(), io, ""); err != nil {
		t.Errorf("apply on a terminal: %v", err)
	}
}

func TestPlanAndApplyRun(t *testing.T) {
	ports := freePorts(t, 2)
	w := newWorld(t, deadHubs, fmt.Sprintf("  - {name: PFX-a, hub: local, port: %d}\n  - {name: PFX-b, hub: dead}\n", ports[0]))
	flags := observeFlags{Parallel: 4, Timeout: 5 * time.Second}
	only := planFlags{Only: []string{w.prefix + "-*"}}

	// plan: the create, a warning for the dead hub, exit 1 naming it.
	io, out, _, ps := w.streams()
	err := planRun(&PlanOptions{IO: io, Pubs: ps, Output: output.Table, observeFlags: flags, planFlags: only, DetailedExitCode: true})
	want := fmt.Sprintf("buttctl will:\n  +   create    %s on local: new on this hub\n", w.pub("a"))
	want = strings.Replace(want, "new on this hub", "missing", 1)
	if !strings.HasPrefix(out.String(), want) || !strings.Contains(out.String(), "Warning: hub dead could not be observed") || !strings.Contains(out.String(), "\nPlan: 0 to place, 1 to create, 0 to recreate, 0 to start, 0 to stop, 0 to remove.\n") {
		t.Errorf("plan printed:\n%s", out)
	}
	if cmdutil.ExitCode(err) != 1 || !strings.Contains(err.Error(), "dead: Docker engine unreachable") {
		t.Errorf("plan: %v", err)
	}

	// apply while someone holds the lock: refused, naming the holder.
	unlock, err := inventory.Lock(context.Background(), w.path, inventory.LockOptions{Purpose: "a test"})
	if err != nil {
		t.Fatal(err)
	}
	io, _, _, ps = w.streams()
	err = applyRun(&ApplyOptions{IO: io, Pubs: ps, InventoryPath: func() string { return w.path }, Output: output.Table, observeFlags: flags, planFlags: only, Yes: true, ActionTimeout: time.Minute})
	if err == nil || !strings.Contains(err.Error(), "is locked by pid") || !strings.Contains(err.Error(), "(a test)") {
		t.Errorf("apply under someone else's lock: %v", err)
	}
	unlock()

	// apply on a terminal, answered "no": nothing changes.
	io, out, _, ps = w.streams()
	io.SetTTY(true, true, true)
	io.In.(*bytes.Buffer).WriteString("no\n")
	err = applyRun(&ApplyOptions{IO: io, Pubs: ps, InventoryPath: func() string { return w.path }, Output: output.Table, observeFlags: flags, planFlags: only, ActionTimeout: time.Minute})
	if err == nil || err.Error() != "apply cancelled: nothing was changed" {
		t.Errorf("apply answered no: %v", err)
	}

	// apply --yes: the create is done; the dead hub makes it exit 1.
	io, out, _, ps = w.streams()
	err = applyRun(&ApplyOptions{IO: io, Pubs: ps, InventoryPath: func() string { return w.path }, Output: output.Table, observeFlags: flags, planFlags: only, Yes: true, ActionTimeout: time.Minute})
	if !strings.Contains(out.String(), "\ndone    create "+w.pub("a")+" on local (") || !strings.Contains(out.String(), "\nApply: 1 done, 0 failed, 0 skipped, 0 blocked in ") {
		t.Errorf("apply printed:\n%s", out)
	}
	if cmdutil.ExitCode(err) != 1 || !strings.Contains(err.Error(), "dead:") {
		t.Errorf("apply: %v", err)
	}

	// Without the dead hub: no changes, exit 0 even with --detailed-exitcode.
	w.write(strings.Replace(w.text(), "  - {name: dead, local: true, docker_socket: /nonexistent/buttctl-test/docker.sock}\n", "", 1))
	w.write(strings.Replace(w.text(), "  - {name: "+w.pub("b")+", hub: dead}\n", "", 1))
	io, out, _, ps = w.streams()
	err = planRun(&PlanOptions{IO: io, Pubs: ps, Output: output.Table, observeFlags: flags, planFlags: only, DetailedExitCode: true})
	if err != nil || out.String() != "No changes: the fleet matches the inventory.\n" {
		t.Errorf("plan after apply: %v\n%s", err, out)
	}

	// Drift: exit 2 with --detailed-exitcode, the change explained.
	w.write(strings.Replace(w.text(), "memory: 64m", "memory: 80m", 1))
	io, out, _, ps = w.streams()
	err = planRun(&PlanOptions{IO: io, Pubs: ps, Output: output.Table, observeFlags: flags, planFlags: only, DetailedExitCode: true})
	if cmdutil.ExitCode(err) != 2 || !strings.Contains(out.String(), "  -/+ recreate  "+w.pub("a")+" on local: spec drift: memory\n        memory: 64m → 80m\n") {
		t.Errorf("plan of a drift: %v\n%s", err, out)
	}
	// plan -o json
	io, out, _, ps = w.streams()
	_ = planRun(&PlanOptions{IO: io, Pubs: ps, Output: output.JSON, observeFlags: flags, planFlags: only})
	var pr struct {
		Pending int `json:"pending"`
		Actions []struct {
			Kind    string `json:"kind"`
			Pub     string `json:"pub"`
			Hub     string `json:"hub"`
			Changes []struct{ Field, From, To string }
		} `json:"actions"`
		Unreachable []string `json:"unreachable"`
	}
	if err := json.Unmarshal(out.Bytes(), &pr); err != nil || pr.Pending != 1 || len(pr.Actions) != 1 || pr.Actions[0].Kind != "recreate" || pr.Actions[0].Changes[0].To != "80m" || pr.Unreachable == nil {
		t.Errorf("plan -o json: %v\n%s", err, out)
	}
	// apply -o json: the plan and the report.
	io, out, _, ps = w.streams()
	err = applyRun(&ApplyOptions{IO: io, Pubs: ps, InventoryPath: func() string { return w.path }, Output: output.JSON, observeFlags: flags, planFlags: only, Yes: true, ActionTimeout: time.Minute})
	var ar struct {
		Plan   map[string]any `json:"plan"`
		Report struct {
			Done    int `json:"done"`
			Results []struct {
				Status string `json:"status"`
			} `json:"results"`
		} `json:"report"`
	}
	if err != nil || json.Unmarshal(out.Bytes(), &ar) != nil || ar.Report.Done != 1 || ar.Report.Results[0].Status != "done" || ar.Plan["pending"] != 1.0 {
		t.Errorf("apply -o json: %v\n%s", err, out)
	}
}
