// Package initcmd implements `buttctl init`, which writes a starter inventory.
package initcmd

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/buttctl/buttctl/cmd/buttctl/internal/cmdutil"
	"github.com/buttctl/buttctl/cmd/buttctl/internal/iostreams"
	"github.com/buttctl/buttctl/inventory"
)

// Options is everything `buttctl init` needs.
type Options struct {
	IO *iostreams.IOStreams
	// Path is where the inventory is written.
	Path string
}

// NewCmdInit builds `buttctl init`; runF replaces the run in tests.
func NewCmdInit(f *cmdutil.Factory, runF func(*Options) error) *cobra.Command {
	opts := &Options{IO: f.IOStreams}
	cmd := &cobra.Command{
		Use:   "init",
		Short: "Write a starter inventory (never overwrites one)",
		Long: `Write a starter inventory: version 1, one hub named local (this machine's
Docker engine, no SSH), the default pub image, and every other section
explained in comments. It goes to -i/--inventory, else $` + cmdutil.EnvInventory + `,
else ./buttctl.yaml. An existing file is never overwritten.`,
		Args: cmdutil.Args(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Path = f.InitPath()
			if runF != nil {
				return runF(opts)
			}
			return Run(opts)
		},
	}
	return cmd
}

// Run writes the starter inventory.
func Run(opts *Options) error {
	if err := inventory.Create(opts.Path, inventory.Starter()); err != nil {
		return err
	}
	_, err := fmt.Fprintf(opts.IO.Out, "wrote %s: hub local (this machine's Docker engine), no pubs yet\nnext: add pubs under pubs:, then 'buttctl inventory validate'\n", opts.Path)
	return err
}
