package inventory

import (
	"github.com/spf13/cobra"

	"github.com/buttctl/buttctl/cmd/buttctl/internal/cmdutil"
	"github.com/buttctl/buttctl/cmd/buttctl/internal/iostreams"
	"github.com/buttctl/buttctl/cmd/buttctl/internal/output"
	model "github.com/buttctl/buttctl/inventory"
)

// ShowOptions is everything `buttctl inventory show` needs.
type ShowOptions struct {
	IO        *iostreams.IOStreams
	Inventory func() (*model.Inventory, error)
	Output    output.Format
}

// NewCmdShow builds `buttctl inventory show`; runF replaces the run in tests.
func NewCmdShow(f *cmdutil.Factory, runF func(*ShowOptions) error) *cobra.Command {
	opts := &ShowOptions{IO: f.IOStreams, Inventory: f.Inventory}
	cmd := &cobra.Command{
		Use:   "show",
		Short: "Print the inventory with every default applied",
		Long: `Print the inventory as buttctl understands it: every default applied (each pub
with its image, port, memory, restart policy, state and health settings), as
YAML (the default) or JSON with the snake_case field names of the file.`,
		Args: cmdutil.Args(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, args []string) error {
			if runF != nil {
				return runF(opts)
			}
			return ShowRun(opts)
		},
	}
	output.AddFlag(cmd, &opts.Output, output.YAML, output.JSON)
	return cmd
}

// ShowRun prints the inventory.
func ShowRun(opts *ShowOptions) error {
	inv, err := opts.Inventory()
	if err != nil {
		return err
	}
	return output.Export(opts.IO.Out, opts.Output, inv)
}
