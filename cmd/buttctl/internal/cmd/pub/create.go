package pub

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/buttctl/buttctl/cmd/buttctl/internal/cmdutil"
	"github.com/buttctl/buttctl/cmd/buttctl/internal/iostreams"
)

// CreateOptions is everything `buttctl pub create` needs.
type CreateOptions struct {
	IO      *iostreams.IOStreams
	Pubs    Pubs
	Names   []string
	Timeout time.Duration
}

// NewCmdCreate builds `buttctl pub create`; runF replaces the run in tests.
func NewCmdCreate(f *cmdutil.Factory, runF func(*CreateOptions) error) *cobra.Command {
	opts := &CreateOptions{IO: f.IOStreams, Pubs: pubsOf(f)}
	cmd := &cobra.Command{
		Use:   "create NAME...",
		Short: "Create pubs' containers on their hubs, as the inventory describes them",
		Long: `Create each pub's container on its hub from the inventory: the image (pulled
if the hub lacks it; for hubs without a registry, 'buttctl hub load-image'
first), the data volume (kept if it exists: the pub's identity lives there),
the published port and the rest of the spec. The container is started unless
the inventory says state: stopped.

A pub that already has a container is an error: remove it with 'pub rm'
(which keeps the volume) to create it anew. If creation fails half-way,
buttctl removes what it made and says so.`,
		Example: `  buttctl pub create scuttle-1
  buttctl pub create scuttle-1 scuttle-2`,
		Args: cmdutil.Args(cobra.MinimumNArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Names = args
			if err := uniqueNames(args); err != nil {
				return err
			}
			if runF != nil {
				return runF(opts)
			}
			return createRun(opts)
		},
	}
	addTimeout(cmd, &opts.Timeout)
	return cmd
}

func createRun(opts *CreateOptions) error {
	svc, err := opts.Pubs()
	if err != nil {
		return err
	}
	defer svc.Close()
	return eachPub(opts.IO.Out, opts.Names, opts.Timeout, func(ctx context.Context, name string) (string, error) {
		r, err := svc.Create(ctx, name)
		if err != nil {
			return "", err
		}
		p, _ := svc.Inventory().Pub(name)
		what := "created"
		if r.Started {
			what = "created and started"
		}
		volume := "kept volume " + r.Spec.Volume
		if r.NewVolume {
			volume = "new volume " + r.Spec.Volume
		}
		pulled := ""
		if r.Pulled {
			pulled = ", pulled " + r.Spec.Image
		}
		return fmt.Sprintf("%s %s on %s (port %d, %s%s)", what, name, p.Hub, r.Spec.HostPort, volume, pulled), nil
	})
}
