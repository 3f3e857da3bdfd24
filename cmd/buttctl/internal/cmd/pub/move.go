package pub

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/buttctl/buttctl/cmd/buttctl/internal/cmdutil"
	"github.com/buttctl/buttctl/cmd/buttctl/internal/iostreams"
	"github.com/buttctl/buttctl/cmd/buttctl/internal/output"
	"github.com/buttctl/buttctl/ops/identity"
)

// MoveOptions is everything `buttctl pub move` needs.
type MoveOptions struct {
	IO    *iostreams.IOStreams
	Pubs  Pubs
	Store func() (*identity.Store, error)

	Name        string
	To          string
	PurgeSource bool
	Output      output.Format
	Timeout     time.Duration
	// BeforeStep interrupts the move at a step (tests only).
	BeforeStep func(identity.Step) error
}

// NewCmdMove builds `buttctl pub move`; runF replaces the run in tests.
func NewCmdMove(f *cmdutil.Factory, runF func(*MoveOptions) error) *cobra.Command {
	opts := &MoveOptions{IO: f.IOStreams, Pubs: pubsOf(f), Store: f.IdentityStore}
	cmd := &cobra.Command{
		Use:   "move NAME --to HUB [--purge-source]",
		Short: "Move a pub to another hub, identity and data",
		Long: `Move the pub to HUB: stop it on its hub, stream its data straight from that
hub's Docker engine to HUB's (no temporary copy anywhere), create and start it
there, check that it answers whoami with the same identity, place it on HUB
in the inventory (atomically, comments kept), then remove the old container.
The old data volume is kept until you run the move again with
--purge-source (or give it the first time).

Steps: ` + stepList() + `.
Each step is journaled in the local identity store first. A failure before
the inventory is written undoes the move: the pub runs on its old hub again.
After it, the new hub is the truth and the move is finished. If buttctl was
killed midway, run the same command again: it settles the interrupted move
first (undone or finished, by what the inventory says), then moves.`,
		Example: `  buttctl pub move scuttle-1 --to hub-2
  buttctl pub move scuttle-1 --to hub-2 --purge-source   # later: drop the old volume`,
		Args: cmdutil.Args(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Name = args[0]
			if opts.To == "" {
				return cmdutil.Usagef("move needs the hub to move to: --to HUB")
			}
			if runF != nil {
				return runF(opts)
			}
			return moveRun(opts)
		},
	}
	cmd.Flags().StringVar(&opts.To, "to", "", "hub to move the pub to")
	cmd.Flags().BoolVar(&opts.PurgeSource, "purge-source", false, "remove the pub's data volume on the old hub once it runs on the new one")
	output.AddFlag(cmd, &opts.Output, output.Table, output.JSON, output.YAML)
	cmd.Flags().DurationVar(&opts.Timeout, "timeout", DefaultTransferTimeout, "time allowed for the move (0 = no limit); an interrupted move is undone")
	return cmd
}

func stepList() string {
	s := ""
	for i, st := range identity.Steps {
		if i > 0 {
			s += ", "
		}
		s += string(st)
	}
	return s
}

func moveRun(opts *MoveOptions) error {
	svc, err := opts.Pubs()
	if err != nil {
		return err
	}
	defer svc.Close()
	if _, ok := svc.Inventory().Hub(opts.To); !ok {
		return cmdutil.Usagef("--to %s: no such hub in the inventory %s", opts.To, svc.Inventory().Path)
	}
	store, err := opts.Store()
	if err != nil {
		return err
	}
	ctx, cancel := withTimeout(opts.Timeout)
	defer cancel()
	ctx, stop := interruptible(ctx)
	defer stop()
	tty := opts.IO.IsStderrTTY()
	prog := newProgress(opts.IO.ErrOut, tty, "copying "+opts.Name+":")
	res, err := identity.Move(ctx, svc, store, opts.Name, identity.MoveOptions{
		To:          opts.To,
		PurgeSource: opts.PurgeSource,
		Progress:    prog.Set,
		BeforeStep:  opts.BeforeStep,
		Report: func(step identity.Step, detail string) {
			if step == identity.StepCopy {
				prog.Done()
			}
			if tty {
				if detail != "" {
					detail = ": " + detail
				}
				fmt.Fprintf(opts.IO.ErrOut, "  %s done%s\n", step, detail)
			}
		},
	})
	prog.Done()
	if res.Settled != "" {
		fmt.Fprintf(opts.IO.ErrOut, "buttctl: pub %s: an earlier move was interrupted: %s\n", opts.Name, res.Settled)
	}
	if err != nil {
		return err
	}
	if opts.Output.IsMachine() {
		return output.Export(opts.IO.Out, opts.Output, res)
	}
	var msg string
	switch {
	case res.AlreadyThere && res.SourcePurged:
		msg = fmt.Sprintf("%s is on %s; no volumes of it are left on other hubs", res.Pub, res.To)
	case res.AlreadyThere:
		msg = fmt.Sprintf("%s is on %s already", res.Pub, res.To)
		if j, ok, _ := store.MoveJournal(res.Pub); ok && len(j.KeptVolumes) > 0 {
			msg += fmt.Sprintf("; its old volume is kept on %s: add --purge-source to remove it", keptHubs(j))
		}
	default:
		msg = fmt.Sprintf("moved %s from %s to %s (%s, %s copied in %s)", res.Pub, res.From, res.To, res.ID, byteSize(res.Bytes), res.Duration.Round(100*time.Millisecond))
		if res.ImageFrom != "" {
			msg += "; copied its image from " + res.ImageFrom
		}
		if res.SourcePurged {
			msg += "; removed its volume on " + res.From
		} else {
			msg += fmt.Sprintf("; its volume %s is kept on %s: remove it with 'buttctl pub move %s --to %s --purge-source'", res.SourceVolume, res.From, res.Pub, res.To)
		}
	}
	_, err = fmt.Fprintln(opts.IO.Out, msg)
	return err
}

func keptHubs(j identity.Journal) string {
	s := ""
	for i, v := range j.KeptVolumes {
		if i > 0 {
			s += ", "
		}
		s += v.Hub
	}
	return s
}
