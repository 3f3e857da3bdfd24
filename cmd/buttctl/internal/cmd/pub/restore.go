package pub

import (
	"fmt"
	"io"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/buttctl/buttctl/cmd/buttctl/internal/cmdutil"
	"github.com/buttctl/buttctl/cmd/buttctl/internal/iostreams"
	"github.com/buttctl/buttctl/cmd/buttctl/internal/output"
	"github.com/buttctl/buttctl/ops/identity"
)

// RestoreOptions is everything `buttctl pub restore` needs.
type RestoreOptions struct {
	IO    *iostreams.IOStreams
	Pubs  Pubs
	Store func() (*identity.Store, error)

	Name    string
	File    string
	To      string
	Force   bool
	Output  output.Format
	Timeout time.Duration
}

// NewCmdRestore builds `buttctl pub restore`; runF replaces the run in tests.
func NewCmdRestore(f *cmdutil.Factory, runF func(*RestoreOptions) error) *cobra.Command {
	opts := &RestoreOptions{IO: f.IOStreams, Pubs: pubsOf(f), Store: f.IdentityStore}
	cmd := &cobra.Command{
		Use:   "restore NAME -f FILE [--to HUB] [--force]",
		Short: "Recreate a pub from a backup and check its identity",
		Long: `Recreate the pub's volume and container from a backup made by 'buttctl pub
backup', on its hub (or --to HUB, which is then written into the inventory),
start it and check that it answers whoami with the backup's identity. What
the restore made is removed again if any step fails.

A pub's identity must never run twice. restore first reads the identity of
every pub container on every hub of the inventory, and refuses if the
backup's identity is there (naming where), or if a hub cannot be asked (it
cannot prove the identity is not there). It also refuses if the pub already
has a container or volume on the hub. --force overrides all three; what is
replaced keeps its identity in the local identity store.

-f - reads the backup from standard input.`,
		Example: `  buttctl pub restore scuttle-1 -f scuttle-1-20260501T120000Z.tar.gz
  buttctl pub restore scuttle-1 -f backup.tar.gz --to hub-3`,
		Args: cmdutil.Args(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Name = args[0]
			if opts.File == "" {
				return cmdutil.Usagef("restore needs the backup: -f FILE (or -f - for standard input)")
			}
			if runF != nil {
				return runF(opts)
			}
			return restoreRun(opts)
		},
	}
	cmd.Flags().StringVarP(&opts.File, "file", "f", "", "backup file to restore (- for standard input)")
	cmd.Flags().StringVar(&opts.To, "to", "", "hub to restore the pub on (default: its hub in the inventory)")
	cmd.Flags().BoolVar(&opts.Force, "force", false, "restore although the identity exists elsewhere, a hub cannot be asked, or the pub has a container or volume there")
	output.AddFlag(cmd, &opts.Output, output.Table, output.JSON, output.YAML)
	cmd.Flags().DurationVar(&opts.Timeout, "timeout", DefaultTransferTimeout, "time allowed for the restore (0 = no limit)")
	return cmd
}

func restoreRun(opts *RestoreOptions) error {
	var in io.Reader = opts.IO.In
	if opts.File != "-" {
		f, err := os.Open(opts.File)
		if err != nil {
			return cmdutil.Usagef("%v", err)
		}
		defer f.Close()
		in = f
	}
	svc, err := opts.Pubs()
	if err != nil {
		return err
	}
	defer svc.Close()
	if opts.To != "" {
		if _, ok := svc.Inventory().Hub(opts.To); !ok {
			return cmdutil.Usagef("--to %s: no such hub in the inventory %s", opts.To, svc.Inventory().Path)
		}
	}
	store, err := opts.Store()
	if err != nil {
		return err
	}
	ctx, cancel := withTimeout(opts.Timeout)
	defer cancel()
	ctx, stop := interruptible(ctx)
	defer stop()
	prog := newProgress(opts.IO.ErrOut, opts.IO.IsStderrTTY(), "restoring "+opts.Name+":")
	res, err := identity.Restore(ctx, svc, store, opts.Name, in, identity.RestoreOptions{To: opts.To, Force: opts.Force, Progress: prog.Set})
	prog.Done()
	if err != nil {
		return err
	}
	for _, o := range res.Overridden {
		fmt.Fprintf(opts.IO.ErrOut, "buttctl: warning: --force: %s\n", o)
	}
	if opts.Output.IsMachine() {
		return output.Export(opts.IO.Out, opts.Output, res)
	}
	state := "created (the inventory wants it stopped)"
	if res.Started {
		state = "running"
	}
	msg := fmt.Sprintf("restored %s on %s from %s: %s, answers whoami as %s", res.Pub, res.Hub, opts.File, state, res.ID)
	if res.InventoryUpdated {
		msg += "; the inventory now places it on " + res.Hub
	}
	if res.Replaced != nil {
		msg += "; replaced identity " + res.Replaced.ID + " (kept in the local identity store)"
	}
	_, err = fmt.Fprintln(opts.IO.Out, msg)
	return err
}
