package pub

import (
	"bufio"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/buttctl/buttctl/cmd/buttctl/internal/cmdutil"
	"github.com/buttctl/buttctl/cmd/buttctl/internal/iostreams"
	"github.com/buttctl/buttctl/ops/identity"
)

// RmOptions is everything `buttctl pub rm` needs.
type RmOptions struct {
	IO   *iostreams.IOStreams
	Pubs Pubs
	// Store keeps a copy of the identity before --purge deletes it (nil: none).
	Store   func() (*identity.Store, error)
	Name    string
	Purge   bool
	Yes     bool
	Timeout time.Duration
}

// NewCmdRm builds `buttctl pub rm`; runF replaces the run in tests.
func NewCmdRm(f *cmdutil.Factory, runF func(*RmOptions) error) *cobra.Command {
	opts := &RmOptions{IO: f.IOStreams, Pubs: pubsOf(f), Store: f.IdentityStore}
	cmd := &cobra.Command{
		Use:   "rm NAME [--purge [--yes]]",
		Short: "Remove a pub's container (and, with --purge, its data and identity)",
		Long: `Remove the pub's container, stopping it first. Its data volume, which holds
the pub's identity (its secret key), is kept: 'buttctl pub create' makes the
container again with the same identity.

--purge also deletes the data volume, and with it the pub's identity, from
the hub for good; a copy of the identity (its secret file) is kept in the
local identity store first, and nothing is removed if that fails. It asks
for the pub's name on a terminal; elsewhere it needs --yes.`,
		Example: `  buttctl pub rm scuttle-1
  buttctl pub rm scuttle-1 --purge --yes`,
		Args: cmdutil.Args(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Name = args[0]
			if opts.Yes && !opts.Purge {
				return cmdutil.Usagef("--yes only confirms --purge")
			}
			if opts.Purge && !opts.Yes && !opts.IO.CanPrompt() {
				return cmdutil.Usagef("--purge deletes pub %s's data volume and identity for good: add --yes to confirm", opts.Name)
			}
			if runF != nil {
				return runF(opts)
			}
			return rmRun(opts)
		},
	}
	cmd.Flags().BoolVar(&opts.Purge, "purge", false, "also delete the data volume, and the pub's identity with it")
	cmd.Flags().BoolVarP(&opts.Yes, "yes", "y", false, "do not ask before --purge")
	addTimeout(cmd, &opts.Timeout)
	return cmd
}

func rmRun(opts *RmOptions) error {
	svc, err := opts.Pubs()
	if err != nil {
		return err
	}
	defer svc.Close()
	if opts.Purge && !opts.Yes {
		fmt.Fprintf(opts.IO.ErrOut, "This deletes pub %s's data volume and its identity (secret key) for good.\nType the pub's name to confirm: ", opts.Name)
		answer, _ := bufio.NewReader(opts.IO.In).ReadString('\n')
		if strings.TrimSpace(answer) != opts.Name {
			return fmt.Errorf("pub %s: not confirmed, nothing removed", opts.Name)
		}
	}
	ctx, cancel := withTimeout(opts.Timeout)
	defer cancel()
	var kept *identity.Identity
	if opts.Purge && opts.Store != nil {
		store, err := opts.Store()
		if err != nil {
			return err
		}
		id, err := identity.Keep(ctx, svc, store, opts.Name)
		switch {
		case err == nil:
			kept = &id
		case !identity.IsNoSecret(err):
			return fmt.Errorf("%w; nothing removed: the identity is kept in the local identity store before --purge deletes it", err)
		}
	}
	r, err := svc.Remove(ctx, opts.Name, opts.Purge)
	if err != nil {
		return asUsage(err)
	}
	var what []string
	if r.ContainerRemoved {
		what = append(what, "container")
	}
	if r.VolumeRemoved {
		if kept != nil {
			what = append(what, "volume "+r.Volume+" (identity "+kept.ID+" deleted from the hub; a copy is kept in the local identity store)")
		} else {
			what = append(what, "volume "+r.Volume+" (identity deleted)")
		}
	}
	msg := fmt.Sprintf("removed %s's %s on %s", opts.Name, strings.Join(what, " and "), r.Hub)
	if r.VolumeExists {
		msg += fmt.Sprintf("; kept volume %s with its identity", r.Volume)
	}
	_, err = fmt.Fprintln(opts.IO.Out, msg)
	return err
}
