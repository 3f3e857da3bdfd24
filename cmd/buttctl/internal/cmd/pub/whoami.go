package pub

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/buttctl/buttctl/cmd/buttctl/internal/cmdutil"
	"github.com/buttctl/buttctl/cmd/buttctl/internal/iostreams"
	"github.com/buttctl/buttctl/cmd/buttctl/internal/output"
)

// WhoamiOptions is everything `buttctl pub whoami` needs.
type WhoamiOptions struct {
	IO      *iostreams.IOStreams
	Pubs    Pubs
	Name    string
	Output  output.Format
	Timeout time.Duration
}

// Identity is the machine-readable answer of whoami.
type Identity struct {
	Name     string `json:"name"`
	Hub      string `json:"hub"`
	Identity string `json:"identity"`
}

// NewCmdWhoami builds `buttctl pub whoami`; runF replaces the run in tests.
func NewCmdWhoami(f *cmdutil.Factory, runF func(*WhoamiOptions) error) *cobra.Command {
	opts := &WhoamiOptions{IO: f.IOStreams, Pubs: pubsOf(f)}
	cmd := &cobra.Command{
		Use:   "whoami NAME",
		Short: "Print a pub's SSB identity (@…=.ed25519)",
		Long: `Ask the running pub for its SSB identity, with its image's whoami command
(sbot whoami for ssb-pub; images: in the inventory for others).`,
		Example: `  buttctl pub whoami scuttle-1`,
		Args:    cmdutil.Args(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Name = args[0]
			if runF != nil {
				return runF(opts)
			}
			return whoamiRun(opts)
		},
	}
	output.AddFlag(cmd, &opts.Output, output.Table, output.JSON, output.YAML)
	addTimeout(cmd, &opts.Timeout)
	return cmd
}

func whoamiRun(opts *WhoamiOptions) error {
	svc, err := opts.Pubs()
	if err != nil {
		return err
	}
	defer svc.Close()
	ctx, cancel := withTimeout(opts.Timeout)
	defer cancel()
	id, err := svc.Whoami(ctx, opts.Name)
	if err != nil {
		return asUsage(err)
	}
	if opts.Output.IsMachine() {
		p, _ := svc.Inventory().Pub(opts.Name)
		return output.Export(opts.IO.Out, opts.Output, Identity{Name: opts.Name, Hub: p.Hub, Identity: id})
	}
	_, err = fmt.Fprintln(opts.IO.Out, id)
	return err
}
