// Package root assembles buttctl's command tree and runs it.
package root

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/buttctl/buttctl/cmd/buttctl/internal/cmd/completion"
	"github.com/buttctl/buttctl/cmd/buttctl/internal/cmd/fleetcmd"
	"github.com/buttctl/buttctl/cmd/buttctl/internal/cmd/hub"
	"github.com/buttctl/buttctl/cmd/buttctl/internal/cmd/initcmd"
	inventorycmd "github.com/buttctl/buttctl/cmd/buttctl/internal/cmd/inventory"
	"github.com/buttctl/buttctl/cmd/buttctl/internal/cmd/pub"
	"github.com/buttctl/buttctl/cmd/buttctl/internal/cmd/tuicmd"
	"github.com/buttctl/buttctl/cmd/buttctl/internal/cmd/version"
	"github.com/buttctl/buttctl/cmd/buttctl/internal/cmd/watchcmd"
	"github.com/buttctl/buttctl/cmd/buttctl/internal/cmdutil"
)

// Stamped by the Makefile with -ldflags -X.
var (
	buildVersion = "dev"
	buildCommit  = "none"
)

// Main runs buttctl with args and returns the process exit code.
func Main(args []string) int {
	f := cmdutil.New(buildVersion, buildCommit)
	cmd := NewCmdRoot(f)
	cmd.SetArgs(args)
	err := cmd.Execute()
	f.Close()
	if err != nil && cmdutil.IsCobraUsage(err) {
		err = &cmdutil.UsageError{Err: err}
	}
	cmdutil.PrintError(f.IOStreams.ErrOut, err)
	return cmdutil.ExitCode(err)
}

// NewCmdRoot returns the `buttctl` command with every noun and verb under it.
func NewCmdRoot(f *cmdutil.Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "buttctl <command>",
		Short: "Operate a fleet of Scuttlebutt pubs",
		Long: `buttctl shows, changes and keeps alive a fleet of Scuttlebutt (SSB) pubs:
SSB servers in Docker containers on hubs reached over SSH, described in a
YAML inventory.

On a terminal, 'buttctl' alone opens the console (as 'buttctl tui').`,
		SilenceErrors: true,
		SilenceUsage:  true,
		Args:          cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if f.IOStreams.IsStdinTTY() && f.IOStreams.IsStdoutTTY() {
				return tuicmd.Run(tuicmd.NewOptions(f))
			}
			return cmd.Help()
		},
	}
	cmd.SetOut(f.IOStreams.Out)
	cmd.SetErr(f.IOStreams.ErrOut)
	cmd.PersistentFlags().StringVarP(&f.InventoryFlag, "inventory", "i", "",
		"inventory file (default $"+cmdutil.EnvInventory+", ./buttctl.yaml, then "+cmdutil.ConfigDir()+"/buttctl.yaml)")
	cmd.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return &cmdutil.UsageError{Err: fmt.Errorf("%w (see '%s --help')", err, c.CommandPath())}
	})

	cmd.AddCommand(initcmd.NewCmdInit(f, nil))
	cmd.AddCommand(inventorycmd.NewCmdInventory(f))
	cmd.AddCommand(version.NewCmdVersion(f, nil))
	cmd.AddCommand(hub.NewCmdHub(f))
	cmd.AddCommand(completion.NewCmdCompletion(f))
	cmd.AddCommand(pub.NewCmdPub(f))
	cmd.AddCommand(fleetcmd.NewCmdStatus(f, nil))
	cmd.AddCommand(watchcmd.NewCmdWatch(f, nil))
	cmd.AddCommand(fleetcmd.NewCmdPlan(f, nil))
	cmd.AddCommand(fleetcmd.NewCmdApply(f, nil))
	cmd.AddCommand(tuicmd.NewCmdTui(f, nil))
	return cmd
}
