// Package inventory implements `buttctl inventory validate|show|path`.
package inventory

import (
	"github.com/spf13/cobra"

	"github.com/buttctl/buttctl/cmd/buttctl/internal/cmdutil"
)

// NewCmdInventory builds the `buttctl inventory` noun.
func NewCmdInventory(f *cmdutil.Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "inventory <command>",
		Short: "Check and show the inventory",
		Long: `The inventory is the YAML file describing the fleet you want (see the README).
It is found at -i/--inventory, else $` + cmdutil.EnvInventory + `, else ./buttctl.yaml,
else ` + cmdutil.ConfigDir() + `/buttctl.yaml.`,
		Args: cmdutil.Args(cobra.NoArgs),
	}
	cmd.AddCommand(NewCmdValidate(f, nil))
	cmd.AddCommand(NewCmdShow(f, nil))
	cmd.AddCommand(NewCmdPath(f, nil))
	return cmd
}
