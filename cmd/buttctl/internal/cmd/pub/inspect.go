package pub

import (
	"time"

	"github.com/spf13/cobra"

	"github.com/buttctl/buttctl/cmd/buttctl/internal/cmdutil"
	"github.com/buttctl/buttctl/cmd/buttctl/internal/iostreams"
	"github.com/buttctl/buttctl/cmd/buttctl/internal/output"
)

// InspectOptions is everything `buttctl pub inspect` needs.
type InspectOptions struct {
	IO      *iostreams.IOStreams
	Pubs    Pubs
	Name    string
	Output  output.Format
	Timeout time.Duration
}

// NewCmdInspect builds `buttctl pub inspect`; runF replaces the run in tests.
func NewCmdInspect(f *cmdutil.Factory, runF func(*InspectOptions) error) *cobra.Command {
	opts := &InspectOptions{IO: f.IOStreams, Pubs: pubsOf(f)}
	cmd := &cobra.Command{
		Use:   "inspect NAME",
		Short: "Describe a pub: status, the spec the inventory asks for, and its container",
		Long: `Print, as JSON (or YAML with -o yaml), the pub's status as 'pub list' shows
it, the container spec the inventory asks for (spec; its hash is spec_hash
when the container was created from it, else the container is drifting), and
the Docker engine's own description of the container (container).`,
		Example: `  buttctl pub inspect scuttle-1 | jq .status.identity`,
		Args:    cmdutil.Args(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Name = args[0]
			if runF != nil {
				return runF(opts)
			}
			return inspectRun(opts)
		},
	}
	output.AddFlag(cmd, &opts.Output, output.JSON, output.YAML)
	addTimeout(cmd, &opts.Timeout)
	return cmd
}

func inspectRun(opts *InspectOptions) error {
	svc, err := opts.Pubs()
	if err != nil {
		return err
	}
	defer svc.Close()
	ctx, cancel := withTimeout(opts.Timeout)
	defer cancel()
	ins, err := svc.Inspect(ctx, opts.Name)
	if err != nil {
		return asUsage(err)
	}
	return output.Export(opts.IO.Out, opts.Output, ins)
}
