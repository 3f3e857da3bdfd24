// Package hub implements `buttctl hub`: the verbs that list, reach and act
// on hubs, one file per verb.
package hub

import (
	"github.com/spf13/cobra"

	"github.com/buttctl/buttctl/cmd/buttctl/internal/cmdutil"
)

// NewCmdHub builds `buttctl hub` with its verbs.
func NewCmdHub(f *cmdutil.Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "hub <command>",
		Short: "List, reach and run commands on hubs",
		Long: `A hub is a server running a Docker engine, reached over SSH (or this
machine, for a hub with local: true).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error { return cmd.Help() },
	}
	cmd.AddCommand(NewCmdList(f, nil))
	cmd.AddCommand(NewCmdSSH(f, nil))
	cmd.AddCommand(NewCmdExec(f, nil))
	cmd.AddCommand(NewCmdLoadImage(f, nil))
	cmd.AddCommand(NewCmdCreate(f, nil))
	cmd.AddCommand(NewCmdAdopt(f, nil))
	cmd.AddCommand(NewCmdReboot(f, nil))
	cmd.AddCommand(NewCmdDelete(f, nil))
	return cmd
}
