// Package tuicmd implements `buttctl tui` (and `buttctl` alone on a
// terminal): it opens the console of package tui on the inventory.
package tuicmd

import (
	"context"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/buttctl/buttctl/cmd/buttctl/internal/cmd/hub"
	"github.com/buttctl/buttctl/cmd/buttctl/internal/cmdutil"
	"github.com/buttctl/buttctl/cmd/buttctl/internal/iostreams"
	"github.com/buttctl/buttctl/inventory"
	"github.com/buttctl/buttctl/ops/hubconn"
	"github.com/buttctl/buttctl/ops/identity"
	"github.com/buttctl/buttctl/ops/watch"
	"github.com/buttctl/buttctl/sshexec"
	"github.com/buttctl/buttctl/tui"
)

// Options is everything `buttctl tui` needs.
type Options struct {
	IO            *iostreams.IOStreams
	Inventory     func() (*inventory.Inventory, error)
	IdentityStore func() (*identity.Store, error)
	Version       string
	ReadOnly      bool
	AuditLog      string
}

// NewOptions are the options of f's invocation.
func NewOptions(f *cmdutil.Factory) *Options {
	return &Options{IO: f.IOStreams, Inventory: f.Inventory, IdentityStore: f.IdentityStore, Version: f.Version}
}

// NewCmdTui builds `buttctl tui`; runF replaces the run in tests.
func NewCmdTui(f *cmdutil.Factory, runF func(*Options) error) *cobra.Command {
	opts := NewOptions(f)
	cmd := &cobra.Command{
		Use:   "tui [--read-only]",
		Short: "Open the console: the fleet live, with logs, actions and events",
		Long: `Open the console, a full-screen view of the whole fleet that stays live:
every hub and every pub at once (hubs that cannot be reached are shown in
red with their error), a pub's detail, its logs followed (several merged),
what apply would change, and what the engines, watch and you did.

'buttctl' with no arguments on a terminal opens it too. Press ? inside for
every key; q quits. --read-only hides and refuses every action that changes
the fleet or the inventory.`,
		Example: `  buttctl
  buttctl tui --read-only
  buttctl -i fleet.yaml tui`,
		Args: cmdutil.Args(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, args []string) error {
			if runF != nil {
				return runF(opts)
			}
			return Run(opts)
		},
	}
	cmd.Flags().BoolVar(&opts.ReadOnly, "read-only", false, "hide and refuse every action that changes the fleet")
	cmd.Flags().StringVar(&opts.AuditLog, "audit-log", "", "the JSON-lines audit log to show in the Events view (default: the one 'buttctl watch' keeps for this inventory)")
	return cmd
}

// Run opens the console.
func Run(opts *Options) error {
	if !opts.IO.IsStdinTTY() || !opts.IO.IsStdoutTTY() {
		return cmdutil.Usagef("the console needs a terminal; for scripts use 'buttctl status', 'buttctl pub list -o json' and the other subcommands")
	}
	inv, err := opts.Inventory()
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGHUP)
	defer stop()
	paths := watch.DefaultPaths(cmdutil.StateDir(), inv.Path)
	audit := opts.AuditLog
	if audit == "" {
		audit = cmdutil.AuditLogPath(cmdutil.StateDir(), inv.Path)
	}
	return tui.Run(ctx, inv, tui.Options{
		ReadOnly:      opts.ReadOnly,
		AuditLog:      audit,
		WatchState:    paths.State,
		Connect:       connect,
		IdentityStore: opts.IdentityStore,
		BackupDir:     filepath.Join(cmdutil.StateDir(), "backups"),
		CreateHub:     hub.Provision,
		Version:       opts.Version,
	})
}

// connect reaches the hubs, with the SSH pool's notices going to the
// console (never to the terminal it draws on).
func connect(inv *inventory.Inventory, logf func(string, ...any)) *hubconn.Conns {
	return hubconn.New(inv, hubconn.Options{Pool: sshexec.PoolOptions{Logf: logf}})
}
