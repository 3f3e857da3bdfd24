// Package pub implements `buttctl pub`: the verbs that list, create, run,
// inspect and remove pubs on their hubs, one file per verb.
package pub

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/buttctl/buttctl/cmd/buttctl/internal/cmdutil"
	"github.com/buttctl/buttctl/ops/pubs"
)

// DefaultTimeout bounds each pub operation (connecting, pulling images
// included); logs -f and exec run until they end.
const DefaultTimeout = 5 * time.Minute

// NewCmdPub builds `buttctl pub` with its verbs.
func NewCmdPub(f *cmdutil.Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "pub <command>",
		Short: "List, create, run, inspect, remove, back up, restore and move pubs",
		Long: `A pub is an SSB server in a Docker container on a hub. buttctl only touches
containers and volumes that carry its labels (buttctl.managed=true,
buttctl.pub=NAME): anything else on a hub is left alone.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error { return cmd.Help() },
	}
	cmd.AddCommand(NewCmdList(f, nil))
	cmd.AddCommand(NewCmdCreate(f, nil))
	cmd.AddCommand(NewCmdStart(f, nil))
	cmd.AddCommand(NewCmdStop(f, nil))
	cmd.AddCommand(NewCmdRestart(f, nil))
	cmd.AddCommand(NewCmdKill(f, nil))
	cmd.AddCommand(NewCmdRm(f, nil))
	cmd.AddCommand(NewCmdLogs(f, nil))
	cmd.AddCommand(NewCmdExec(f, nil))
	cmd.AddCommand(NewCmdInspect(f, nil))
	cmd.AddCommand(NewCmdWhoami(f, nil))
	cmd.AddCommand(NewCmdInvite(f, nil))
	cmd.AddCommand(NewCmdBackup(f, nil))
	cmd.AddCommand(NewCmdRestore(f, nil))
	cmd.AddCommand(NewCmdMove(f, nil))
	return cmd
}

// Pubs is the lazy constructor of the pub operations every verb holds.
type Pubs func() (*pubs.Service, error)

// pubsOf returns the pub operations over f's inventory and hub connections.
func pubsOf(f *cmdutil.Factory) Pubs {
	return f.Pubs
}

// withTimeout is the context of one operation.
func withTimeout(d time.Duration) (context.Context, context.CancelFunc) {
	if d <= 0 {
		return context.WithCancel(context.Background())
	}
	return context.WithTimeout(context.Background(), d)
}

// asUsage makes errors about what the user asked exit 2.
func asUsage(err error) error {
	if errors.Is(err, pubs.ErrBadInput) {
		return &cmdutil.UsageError{Err: err}
	}
	return err
}

// eachPub runs op on every name, a few at a time, prints what each did, and
// returns one error naming every pub that failed.
func eachPub(w io.Writer, names []string, timeout time.Duration, op func(ctx context.Context, name string) (string, error)) error {
	ctx, cancel := withTimeout(timeout)
	defer cancel()
	said := make([]string, len(names))
	errs := pubs.Each(ctx, len(names), 4, func(ctx context.Context, i int) error {
		var err error
		said[i], err = op(ctx, names[i])
		return err
	})
	var failed []error
	for i, err := range errs {
		if err != nil {
			failed = append(failed, err)
			continue
		}
		if said[i] != "" {
			fmt.Fprintln(w, said[i])
		}
	}
	if len(failed) == 1 {
		return asUsage(failed[0])
	}
	return errors.Join(failed...)
}

// addTimeout adds --timeout to cmd.
func addTimeout(cmd *cobra.Command, d *time.Duration) {
	cmd.Flags().DurationVar(d, "timeout", DefaultTimeout, "time allowed for the operation on each pub (0 = no limit)")
}

// uniqueNames refuses a name given twice.
func uniqueNames(names []string) error {
	seen := map[string]bool{}
	for _, n := range names {
		if seen[n] {
			return cmdutil.Usagef("pub %s is named twice", n)
		}
		seen[n] = true
	}
	return nil
}

// short abbreviates an SSB id for a table on a terminal: @FCX/tsDL….
func short(id string) string {
	if len(id) < 20 {
		return id
	}
	return id[:9] + "…"
}
