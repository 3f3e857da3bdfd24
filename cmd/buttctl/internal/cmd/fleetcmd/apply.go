package fleetcmd

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"os/signal"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/buttctl/buttctl/cmd/buttctl/internal/cmdutil"
	"github.com/buttctl/buttctl/cmd/buttctl/internal/iostreams"
	"github.com/buttctl/buttctl/cmd/buttctl/internal/output"
	"github.com/buttctl/buttctl/inventory"
	"github.com/buttctl/buttctl/ops/fleet"
)

// ApplyOptions is everything `buttctl apply` needs.
type ApplyOptions struct {
	IO   *iostreams.IOStreams
	Pubs Pubs
	// InventoryPath is the inventory file, locked before it is read.
	InventoryPath func() string
	Output        output.Format
	observeFlags
	planFlags
	Yes bool
	// Batch is --batch: a number of pubs, or a percentage ("25%").
	Batch         string
	Wait          time.Duration
	ActionTimeout time.Duration
	LockTimeout   time.Duration
}

// ApplyReport is `buttctl apply -o json`.
type ApplyReport struct {
	Plan   PlanReport    `json:"plan"`
	Report *fleet.Report `json:"report"`
}

// NewCmdApply builds `buttctl apply`; runF replaces the run in tests.
func NewCmdApply(f *cmdutil.Factory, runF func(*ApplyOptions) error) *cobra.Command {
	opts := &ApplyOptions{IO: f.IOStreams, Pubs: f.Pubs, InventoryPath: f.InventoryPath}
	cmd := &cobra.Command{
		Use:   "apply [--yes] [--prune [--purge]] [--pub GLOB]... [--batch N|P% --wait DUR]",
		Short: "Make the fleet match the inventory: carry out the plan",
		Long: `Take the inventory's lock (watch stands back while it is held), observe every
hub, show the plan (see 'buttctl plan --help'), ask for confirmation on a
terminal (off one, --yes is required), and carry it out:

- placements of pubs without a hub are written into the inventory first
  (atomically, comments kept);
- then every hub at once (--parallel), each hub's removes, stops, recreates,
  creates and starts in that order, a few pubs at a time; a pub's actions in
  order, and a failed one skips the pub's next ones;
- a hub that fails does not stop the others.

A recreate keeps the pub's data volume, and with it its identity; when the
pub answers whoami before and after (with --wait), the two ids must match.

--batch N (or P% of the recreates) rolls recreates across the fleet: N at a
time, each batch must run healthy within --wait (default 2m) before the next
begins, and the first batch that does not stops the rolling change.
Without --batch, --wait DUR waits at the end for every pub apply started.

Blocked actions (move, create-hub, no room to place) are reported, not
done. Exits 0 when everything was done, 1 when anything failed, was skipped
or blocked, or a hub could not be observed, naming each; 'buttctl plan' then
shows what remains. An apply right after an apply does nothing at all.`,
		Example: `  buttctl apply
  buttctl apply --yes --prune
  buttctl apply --yes --batch 25% --wait 3m`,
		Args: cmdutil.Args(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := errors.Join(opts.observeFlags.check(), opts.planFlags.check()); err != nil {
				return err
			}
			if _, _, err := parseBatch(opts.Batch); err != nil {
				return err
			}
			if opts.Wait < 0 || opts.ActionTimeout <= 0 || opts.LockTimeout < 0 {
				return cmdutil.Usagef("--wait and --lock-timeout must not be negative, --action-timeout must be more than 0")
			}
			if !opts.Yes && !opts.IO.CanPrompt() {
				return cmdutil.Usagef("apply changes the fleet: add --yes to confirm when not on a terminal")
			}
			if runF != nil {
				return runF(opts)
			}
			return applyRun(opts)
		},
	}
	output.AddFlag(cmd, &opts.Output, output.Table, output.JSON, output.YAML)
	opts.observeFlags.add(cmd)
	opts.planFlags.add(cmd)
	cmd.Flags().BoolVarP(&opts.Yes, "yes", "y", false, "do not ask for confirmation")
	cmd.Flags().StringVar(&opts.Batch, "batch", "", "recreate N pubs (or P% of them) at a time, each batch healthy before the next")
	cmd.Flags().DurationVar(&opts.Wait, "wait", 0, "how long a batch (or, without --batch, every pub started) has to become healthy")
	cmd.Flags().DurationVar(&opts.ActionTimeout, "action-timeout", fleet.DefaultActionTimeout, "time allowed for each action")
	cmd.Flags().DurationVar(&opts.LockTimeout, "lock-timeout", 0, "how long to wait for the inventory's lock (0: fail at once)")
	return cmd
}

// parseBatch reads --batch: "" (none), a number, or a percentage.
func parseBatch(s string) (n int, percent bool, err error) {
	if s == "" {
		return 0, false, nil
	}
	num, percent := strings.CutSuffix(s, "%")
	n, err = strconv.Atoi(num)
	if err != nil || n < 1 || percent && n > 100 {
		return 0, false, cmdutil.Usagef("--batch %q: write a number of pubs (3) or a percentage of them (25%%)", s)
	}
	return n, percent, nil
}

func applyRun(opts *ApplyOptions) error {
	ctx := context.Background()
	path := opts.InventoryPath()
	// The fleet is observed before the lock is taken: a hub that does not
	// answer costs its whole timeout, and watch (re-allocating that hub's
	// pubs) must not wait on it. The plan is made under the lock, from the
	// inventory as it is then, observed again if it changed meanwhile.
	svc, err := opts.Pubs()
	if err != nil {
		return err
	}
	defer svc.Close()
	snap := opts.observe(ctx, svc)
	unlock, err := inventory.Lock(ctx, path, inventory.LockOptions{Wait: opts.LockTimeout, Purpose: "buttctl apply"})
	if err != nil {
		return err
	}
	defer unlock()
	now, err := inventory.Load(path)
	if err != nil {
		return err
	}
	if was := svc.Inventory(); !reflect.DeepEqual(now, was) {
		if !reflect.DeepEqual(now.Hubs, was.Hubs) || !reflect.DeepEqual(now.SSH, was.SSH) {
			return fmt.Errorf("%s: its hubs changed while apply observed the fleet: run apply again", path)
		}
		svc = svc.WithInventory(now)
		snap = opts.observe(ctx, svc)
	}

	plan := fleet.NewPlan(svc.Inventory(), snap, opts.planFlags.options())
	unreachable := unreachableError(snap)
	machine := opts.Output.IsMachine()
	if !machine {
		if err := renderPlan(opts.IO.Out, plan, opts.IO.ColorEnabled()); err != nil {
			return err
		}
	}
	if plan.Pending() == 0 {
		report := fleet.Apply(ctx, svc, plan, fleet.ApplyOptions{})
		if machine {
			if err := output.Export(opts.IO.Out, opts.Output, ApplyReport{Plan: PlanReport{Plan: plan, Blocked: plan.Blocked()}, Report: report}); err != nil {
				return err
			}
		}
		return errors.Join(blockedError(plan), unreachable)
	}
	if !opts.Yes {
		fmt.Fprintf(opts.IO.ErrOut, "\nApply these %d actions? Only 'yes' is accepted: ", plan.Pending())
		answer, _ := bufio.NewReader(opts.IO.In).ReadString('\n')
		if strings.TrimSpace(answer) != "yes" {
			return errors.New("apply cancelled: nothing was changed")
		}
	}
	n, percent, _ := parseBatch(opts.Batch)
	if percent {
		n = int(math.Ceil(float64(plan.Count(fleet.ActionRecreate)) * float64(n) / 100))
		n = max(n, 1)
	}
	var mu sync.Mutex
	onResult := func(r fleet.Result) {
		if machine {
			return
		}
		mu.Lock()
		defer mu.Unlock()
		printResult(opts.IO, r)
	}
	if !machine {
		fmt.Fprintln(opts.IO.Out)
	}
	stop := make(chan struct{})
	signals := make(chan os.Signal, 1)
	signal.Notify(signals, os.Interrupt, syscall.SIGTERM)
	go func() {
		if _, ok := <-signals; ok {
			// A second signal ends buttctl at once.
			signal.Stop(signals)
			fmt.Fprintln(opts.IO.ErrOut, "buttctl: interrupted: finishing the actions in flight, skipping the rest (again to stop at once)")
			close(stop)
		}
	}()
	report := fleet.Apply(ctx, svc, plan, fleet.ApplyOptions{
		Parallel: opts.Parallel, ActionTimeout: opts.ActionTimeout, Batch: n, Wait: opts.Wait,
		Purpose: "buttctl apply", OnResult: onResult, Stop: stop,
	})
	signal.Stop(signals)
	close(signals)
	if machine {
		if err := output.Export(opts.IO.Out, opts.Output, ApplyReport{Plan: PlanReport{Pending: plan.Pending(), Blocked: plan.Blocked(), Plan: plan}, Report: report}); err != nil {
			return err
		}
	} else {
		fmt.Fprintf(opts.IO.Out, "\nApply: %d done, %d failed, %d skipped, %d blocked in %s.\n",
			report.Done, report.Failed, report.Skipped, report.Blocked, (time.Duration(report.DurationMS) * time.Millisecond).Round(time.Millisecond))
	}
	return errors.Join(report.Err(), blockedError(plan), unreachable)
}

// printResult writes one line per action as it finishes (blocked ones are
// in the plan already).
func printResult(io *iostreams.IOStreams, r fleet.Result) {
	if r.Status == fleet.ResultBlocked {
		return
	}
	color := io.ColorEnabled()
	code := green
	switch r.Status {
	case fleet.ResultFailed:
		code = red
	case fleet.ResultSkipped:
		code = grey
	}
	a := r.Action
	what := a.Pub
	if a.Pub == "" {
		what = "hub " + a.Hub
	} else if a.Hub != "" {
		what += " on " + a.Hub
	}
	line := fmt.Sprintf("%s %s %s", paint(fmt.Sprintf("%-7s", r.Status), code, color), a.Kind, what)
	if r.Status == fleet.ResultDone {
		line += fmt.Sprintf(" (%s)", (time.Duration(r.DurationMS) * time.Millisecond).Round(time.Millisecond))
	} else if r.Error != "" {
		line += ": " + r.Error
	}
	fmt.Fprintln(io.Out, line)
}

// blockedError names the actions that need someone, one a line.
func blockedError(p *fleet.Plan) error {
	var lines []string
	for _, a := range p.Actions {
		if a.Blocked != "" {
			lines = append(lines, fmt.Sprintf("%s %s: %s", a.Kind, strings.TrimSpace(a.Pub+" "+a.Hub), a.Blocked))
		}
	}
	if len(lines) == 0 {
		return nil
	}
	return fmt.Errorf("%d action(s) need you:\n%s", len(lines), strings.Join(lines, "\n"))
}
