package pub

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/buttctl/buttctl/cmd/buttctl/internal/cmdutil"
	"github.com/buttctl/buttctl/cmd/buttctl/internal/iostreams"
	"github.com/buttctl/buttctl/ops/pubs"
)

// ActionOptions is everything `buttctl pub start|stop|restart|kill` need.
type ActionOptions struct {
	IO      *iostreams.IOStreams
	Pubs    Pubs
	Names   []string
	Timeout time.Duration
	// Signal is kill's signal.
	Signal string
}

// NewCmdStart builds `buttctl pub start`; runF replaces the run in tests.
func NewCmdStart(f *cmdutil.Factory, runF func(*ActionOptions) error) *cobra.Command {
	return actionCmd(f, runF, "start", "Start pubs' containers", `Start the containers of the pubs named. A running pub is left as it is.`,
		func(ctx context.Context, svc *pubs.Service, o *ActionOptions, name string) (pubs.Result, error) {
			return svc.Start(ctx, name)
		}, "started", "was already running")
}

// actionCmd builds one of the verbs that act on running containers.
func actionCmd(f *cmdutil.Factory, runF func(*ActionOptions) error, verb, short, long string,
	act func(context.Context, *pubs.Service, *ActionOptions, string) (pubs.Result, error), done, already string) *cobra.Command {
	opts := &ActionOptions{IO: f.IOStreams, Pubs: pubsOf(f)}
	cmd := &cobra.Command{
		Use:     verb + " NAME...",
		Short:   short,
		Long:    long,
		Example: fmt.Sprintf("  buttctl pub %s scuttle-1\n  buttctl pub %s scuttle-1 scuttle-2", verb, verb),
		Args:    cmdutil.Args(cobra.MinimumNArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Names = args
			if err := uniqueNames(args); err != nil {
				return err
			}
			if runF != nil {
				return runF(opts)
			}
			return actionRun(opts, act, done, already)
		},
	}
	addTimeout(cmd, &opts.Timeout)
	if verb == "kill" {
		cmd.Flags().StringVarP(&opts.Signal, "signal", "s", "SIGKILL", "signal to send to the pub's process")
	}
	return cmd
}

func actionRun(opts *ActionOptions, act func(context.Context, *pubs.Service, *ActionOptions, string) (pubs.Result, error), done, already string) error {
	svc, err := opts.Pubs()
	if err != nil {
		return err
	}
	defer svc.Close()
	return eachPub(opts.IO.Out, opts.Names, opts.Timeout, func(ctx context.Context, name string) (string, error) {
		r, err := act(ctx, svc, opts, name)
		if err != nil {
			return "", err
		}
		if !r.Done {
			return fmt.Sprintf("%s on %s %s", name, r.Hub, already), nil
		}
		return fmt.Sprintf("%s %s on %s", done, name, r.Hub), nil
	})
}
