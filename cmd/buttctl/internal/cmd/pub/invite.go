package pub

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/buttctl/buttctl/cmd/buttctl/internal/cmdutil"
	"github.com/buttctl/buttctl/cmd/buttctl/internal/iostreams"
)

// InviteOptions is everything `buttctl pub invite` needs.
type InviteOptions struct {
	IO      *iostreams.IOStreams
	Pubs    Pubs
	Name    string
	Uses    int
	Timeout time.Duration
}

// NewCmdInvite builds `buttctl pub invite`; runF replaces the run in tests.
func NewCmdInvite(f *cmdutil.Factory, runF func(*InviteOptions) error) *cobra.Command {
	opts := &InviteOptions{IO: f.IOStreams, Pubs: pubsOf(f)}
	cmd := &cobra.Command{
		Use:   "invite NAME [--uses N]",
		Short: "Create an invite code to the pub",
		Long: `Create an invite for --uses peers on the running pub and print it. Its
address is the pub's public host (host in the inventory, else its hub's
address) and published port, whatever the pub itself believes its address is.
An invite is a secret: share it only with whom it is for.`,
		Example: `  buttctl pub invite scuttle-1 --uses 10`,
		Args:    cmdutil.Args(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Name = args[0]
			if opts.Uses < 1 {
				return cmdutil.Usagef("--uses %d: an invite is for 1 or more uses", opts.Uses)
			}
			if runF != nil {
				return runF(opts)
			}
			return inviteRun(opts)
		},
	}
	cmd.Flags().IntVarP(&opts.Uses, "uses", "n", 1, "how many peers may use the invite")
	addTimeout(cmd, &opts.Timeout)
	return cmd
}

func inviteRun(opts *InviteOptions) error {
	svc, err := opts.Pubs()
	if err != nil {
		return err
	}
	defer svc.Close()
	ctx, cancel := withTimeout(opts.Timeout)
	defer cancel()
	code, err := svc.Invite(ctx, opts.Name, opts.Uses)
	if err != nil {
		return asUsage(err)
	}
	_, err = fmt.Fprintln(opts.IO.Out, code)
	return err
}
