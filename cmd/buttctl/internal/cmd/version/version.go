// Package version implements `buttctl version`.
package version

import (
	"fmt"
	"runtime"

	"github.com/spf13/cobra"

	"github.com/buttctl/buttctl/cmd/buttctl/internal/cmdutil"
	"github.com/buttctl/buttctl/cmd/buttctl/internal/iostreams"
	"github.com/buttctl/buttctl/cmd/buttctl/internal/output"
)

// Options is everything `buttctl version` needs.
type Options struct {
	IO      *iostreams.IOStreams
	Version string
	Commit  string
	Output  output.Format
}

// Info is the machine-readable version.
type Info struct {
	Version   string `json:"version"`
	Commit    string `json:"commit"`
	GoVersion string `json:"go_version"`
	Platform  string `json:"platform"`
}

// NewCmdVersion builds `buttctl version`; runF replaces the run in tests.
func NewCmdVersion(f *cmdutil.Factory, runF func(*Options) error) *cobra.Command {
	opts := &Options{IO: f.IOStreams, Version: f.Version, Commit: f.Commit}
	cmd := &cobra.Command{
		Use:   "version",
		Short: "Print buttctl's version, commit and Go version",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if runF != nil {
				return runF(opts)
			}
			return Run(opts)
		},
	}
	output.AddFlag(cmd, &opts.Output, output.Table, output.JSON, output.YAML)
	return cmd
}

// Run prints the version.
func Run(opts *Options) error {
	info := Info{Version: opts.Version, Commit: opts.Commit, GoVersion: runtime.Version(), Platform: runtime.GOOS + "/" + runtime.GOARCH}
	if opts.Output.IsMachine() {
		return output.Export(opts.IO.Out, opts.Output, info)
	}
	_, err := fmt.Fprintf(opts.IO.Out, "buttctl %s (commit %s, %s, %s)\n", info.Version, info.Commit, info.GoVersion, info.Platform)
	return err
}
