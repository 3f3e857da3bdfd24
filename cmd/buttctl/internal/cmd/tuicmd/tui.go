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
	"github.com/buttctl/buttctl/ops/audit"
	"github.com/buttctl/buttctl/ops/hubconn"
	"github.com/buttctl/buttctl/ops/identity"
	"github.com/buttctl/buttctl/ops/provision"
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
	cmd.Flags().StringVar(&opts.AuditLog, "audit-log", "", "the JSON-lines audit log the console records its actions in and shows in the Events view (default $"+cmdutil.EnvAuditLog+", else the inventory's, shared with watch, apply and the other commands)")
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
	path := opts.AuditLog
	if path == "" {
		path = cmdutil.AuditLogPath(cmdutil.StateDir(), inv.Path)
	}
	log := audit.File(path, audit.SourceConsole)
	defer log.Close()
	return tui.Run(ctx, inv, tui.Options{
		ReadOnly:      opts.ReadOnly,
		Audit:         log,
		WatchState:    watch.DefaultPaths(cmdutil.StateDir(), inv.Path).State,
		Connect:       connect,
		IdentityStore: opts.IdentityStore,
		BackupDir:     filepath.Join(cmdutil.StateDir(), "backups"),
		CreateHub: func(ctx context.Context, inv *inventory.Inventory, name string, progress provision.Progress) (*provision.Created, error) {
			return hub.Provision(ctx, inv, name, progress, log)
		},
		Version: opts.Version,
	})
}

// connect reaches the hubs, with the SSH pool's notices going to the
// console (never to the terminal it draws on).
func connect(inv *inventory.Inventory, logf func(string, ...any)) *hubconn.Conns {
	return hubconn.New(inv, hubconn.Options{Pool: sshexec.PoolOptions{Logf: logf}})
}
