package inventory

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/buttctl/buttctl/cmd/buttctl/internal/cmdutil"
	"github.com/buttctl/buttctl/cmd/buttctl/internal/iostreams"
)

// PathOptions is everything `buttctl inventory path` needs.
type PathOptions struct {
	IO   *iostreams.IOStreams
	Path func() string
}

// NewCmdPath builds `buttctl inventory path`; runF replaces the run in tests.
func NewCmdPath(f *cmdutil.Factory, runF func(*PathOptions) error) *cobra.Command {
	opts := &PathOptions{IO: f.IOStreams, Path: f.InventoryPath}
	return &cobra.Command{
		Use:   "path",
		Short: "Print which inventory file buttctl uses (it may not exist yet)",
		Args:  cmdutil.Args(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, args []string) error {
			if runF != nil {
				return runF(opts)
			}
			return PathRun(opts)
		},
	}
}

// PathRun prints the resolved inventory path.
func PathRun(opts *PathOptions) error {
	_, err := fmt.Fprintln(opts.IO.Out, opts.Path())
	return err
}
