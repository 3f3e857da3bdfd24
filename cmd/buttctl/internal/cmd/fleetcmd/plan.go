package fleetcmd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"

	"github.com/spf13/cobra"

	"github.com/buttctl/buttctl/cmd/buttctl/internal/cmdutil"
	"github.com/buttctl/buttctl/cmd/buttctl/internal/iostreams"
	"github.com/buttctl/buttctl/cmd/buttctl/internal/output"
	"github.com/buttctl/buttctl/ops/fleet"
)

// PlanOptions is everything `buttctl plan` needs.
type PlanOptions struct {
	IO     *iostreams.IOStreams
	Pubs   Pubs
	Output output.Format
	observeFlags
	planFlags
	// DetailedExitCode exits 2 when changes are pending.
	DetailedExitCode bool
}

// planFlags are the flags plan and apply share: what to plan for.
type planFlags struct {
	Prune bool
	Purge bool
	// Only are glob patterns (path.Match) of the pubs to plan for.
	Only []string
}

func (p *planFlags) add(cmd *cobra.Command) {
	cmd.Flags().BoolVar(&p.Prune, "prune", false, "also remove orphan containers (buttctl's, of pubs the inventory does not place there); their data volumes stay")
	cmd.Flags().BoolVar(&p.Purge, "purge", false, "with --prune, also delete the data volumes (and identities) of orphans the inventory does not know at all")
	cmd.Flags().StringSliceVar(&p.Only, "pub", nil, "only the pubs matching this glob pattern, orphans included (repeatable)")
}

func (p *planFlags) check() error {
	if p.Purge && !p.Prune {
		return cmdutil.Usagef("--purge goes with --prune")
	}
	for _, g := range p.Only {
		if _, err := path.Match(g, ""); err != nil {
			return cmdutil.Usagef("--pub %q is not a glob pattern: %v", g, err)
		}
	}
	return nil
}

func (p *planFlags) options() fleet.PlanOptions {
	o := fleet.PlanOptions{Prune: p.Prune, Purge: p.Purge}
	if len(p.Only) > 0 {
		only := p.Only
		o.Select = func(pub string) bool {
			for _, g := range only {
				if ok, _ := path.Match(g, pub); ok {
					return true
				}
			}
			return false
		}
	}
	return o
}

// PlanReport is `buttctl plan -o json`.
type PlanReport struct {
	// Pending counts the actions apply would carry out; Blocked those that
	// need someone.
	Pending int `json:"pending"`
	Blocked int `json:"blocked"`
	*fleet.Plan
}

// NewCmdPlan builds `buttctl plan`; runF replaces the run in tests.
func NewCmdPlan(f *cmdutil.Factory, runF func(*PlanOptions) error) *cobra.Command {
	opts := &PlanOptions{IO: f.IOStreams, Pubs: f.Pubs}
	cmd := &cobra.Command{
		Use:   "plan [--prune [--purge]] [--pub GLOB]... [--detailed-exitcode]",
		Short: "Show what apply would change to make the fleet match the inventory",
		Long: `Observe every hub at once and show, in the order apply would carry them out,
the actions that would make the fleet match the inventory:

  + create     a pub's container is missing on its hub (its data volume is kept)
  ~ start      its container is stopped, the inventory wants it running
  ~ stop       it runs, the inventory wants it stopped
  -/+ recreate its container was made from another spec (image, env, port,
               memory, health, ...): the fields that changed are listed;
               the data volume, and the pub's identity, are kept
  - remove     an orphan container (with --prune; its volume only with --purge)
  ~ place      a pub has no hub: the hub it would be placed on
  ! move       a pub's data (identity) is on another hub than the inventory's:
               'buttctl pub move' moves it; apply does not
  + create-hub its hub's server is missing in the cloud: 'buttctl hub create'

Nothing is changed. Exits 1 when a hub could not be observed (what its pubs
need is unknown), naming it. With --detailed-exitcode: 0 no changes, 1
error, 2 changes pending (Terraform's convention).

-o json: {pending, blocked, actions[], kept[], unreachable[], warnings[]}.`,
		Example: `  buttctl plan
  buttctl plan --prune --detailed-exitcode >/dev/null; echo $?
  buttctl plan -o json | jq '.actions[] | select(.kind == "recreate") | .changes'`,
		Args: cmdutil.Args(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := errors.Join(opts.observeFlags.check(), opts.planFlags.check()); err != nil {
				return err
			}
			if runF != nil {
				return runF(opts)
			}
			return planRun(opts)
		},
	}
	output.AddFlag(cmd, &opts.Output, output.Table, output.JSON, output.YAML)
	opts.observeFlags.add(cmd)
	opts.planFlags.add(cmd)
	cmd.Flags().BoolVar(&opts.DetailedExitCode, "detailed-exitcode", false, "exit 0 with no changes, 2 with changes pending, 1 on error")
	return cmd
}

func planRun(opts *PlanOptions) error {
	svc, err := opts.Pubs()
	if err != nil {
		return err
	}
	defer svc.Close()
	snap := opts.observe(context.Background(), svc)
	plan := fleet.NewPlan(svc.Inventory(), snap, opts.planFlags.options())
	if opts.Output.IsMachine() {
		if err := output.Export(opts.IO.Out, opts.Output, PlanReport{Pending: plan.Pending(), Blocked: plan.Blocked(), Plan: plan}); err != nil {
			return err
		}
	} else if err := renderPlan(opts.IO.Out, plan, opts.IO.ColorEnabled()); err != nil {
		return err
	}
	if err := unreachableError(snap); err != nil {
		return err
	}
	if opts.DetailedExitCode && !plan.Empty() {
		return &cmdutil.ExitCodeError{Code: cmdutil.ExitChanges}
	}
	return nil
}

// ANSI colours of the plan's markers.
const (
	green  = "32"
	red    = "31"
	yellow = "33"
	grey   = "90"
)

func paint(s, code string, color bool) string {
	if !color || code == "" {
		return s
	}
	return "\x1b[" + code + "m" + s + "\x1b[0m"
}

func markerColor(k fleet.ActionKind) string {
	switch k.Marker() {
	case "+":
		return green
	case "-", "!":
		return red
	}
	return yellow
}

// renderPlan writes the plan for people: one line per action with its
// marker, the changes of a recreate under it, then what was kept, the
// warnings and a count.
func renderPlan(w io.Writer, p *fleet.Plan, color bool) error {
	var b strings.Builder
	if p.Empty() {
		b.WriteString("No changes: the fleet matches the inventory")
		if len(p.Unreachable) > 0 {
			b.WriteString(" as far as it could be observed")
		}
		b.WriteString(".\n")
	} else {
		b.WriteString("buttctl will:\n")
		for _, a := range p.Actions {
			b.WriteString(actionLine(a, color))
		}
	}
	if len(p.Kept) > 0 {
		fmt.Fprintf(&b, "\nKept %d orphan container(s) (apply --prune removes them; data volumes stay):\n", len(p.Kept))
		for _, o := range p.Kept {
			fmt.Fprintf(&b, "  %s on %s (%s)\n", o.Container.Pub, o.Hub, o.Container.State)
		}
	}
	if len(p.Warnings) > 0 {
		b.WriteString("\n")
		for _, warn := range p.Warnings {
			fmt.Fprintf(&b, "%s %s\n", paint("Warning:", yellow, color), warn)
		}
	}
	if !p.Empty() {
		fmt.Fprintf(&b, "\nPlan: %s.\n", planCounts(p))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// actionLine is one action, its blocked reason and its changes.
func actionLine(a fleet.Action, color bool) string {
	var b strings.Builder
	marker := a.Kind.Marker()
	if a.Blocked != "" {
		marker = "!"
	}
	code := markerColor(a.Kind)
	if a.Blocked != "" {
		code = red
	}
	what := a.Pub
	if a.Pub != "" && a.Hub != "" {
		what += " on " + a.Hub
	} else if a.Pub == "" {
		what = a.Hub
	}
	fmt.Fprintf(&b, "  %s %-9s %s", paint(fmt.Sprintf("%-3s", marker), code, color), a.Kind, what)
	if a.Reason != "" {
		b.WriteString(": " + a.Reason)
	}
	b.WriteString("\n")
	for _, c := range a.Changes {
		fmt.Fprintf(&b, "        %s: %s → %s\n", c.Field, paint(c.From, red, color), paint(c.To, green, color))
	}
	if a.Blocked != "" {
		fmt.Fprintf(&b, "        %s %s\n", paint("needs you:", red, color), a.Blocked)
	}
	return b.String()
}

// planCounts is "1 to create, 2 to recreate, 1 needs you".
func planCounts(p *fleet.Plan) string {
	verbs := []struct {
		kind fleet.ActionKind
		word string
	}{
		{fleet.ActionPlace, "to place"}, {fleet.ActionCreate, "to create"}, {fleet.ActionRecreate, "to recreate"},
		{fleet.ActionStart, "to start"}, {fleet.ActionStop, "to stop"}, {fleet.ActionRemove, "to remove"},
	}
	var parts []string
	for _, v := range verbs {
		n := 0
		for _, a := range p.Actions {
			if a.Kind == v.kind && a.Blocked == "" {
				n++
			}
		}
		parts = append(parts, fmt.Sprintf("%d %s", n, v.word))
	}
	if n := p.Blocked(); n > 0 {
		parts = append(parts, fmt.Sprintf("%d need you", n))
	}
	return strings.Join(parts, ", ")
}
