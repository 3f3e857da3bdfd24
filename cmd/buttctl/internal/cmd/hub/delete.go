package hub

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/buttctl/buttctl/cmd/buttctl/internal/cmdutil"
	"github.com/buttctl/buttctl/cmd/buttctl/internal/iostreams"
	"github.com/buttctl/buttctl/inventory"
	"github.com/buttctl/buttctl/ops/audit"
	"github.com/buttctl/buttctl/ops/provision"
)

// DeleteOptions is everything `buttctl hub delete` needs.
type DeleteOptions struct {
	IO        *iostreams.IOStreams
	Inventory func() (*inventory.Inventory, error)
	Connect   ConnectCloud
	// Audit receives the record of what was done (nil: none).
	Audit *audit.Log

	Name    string
	Force   bool
	Yes     bool
	Timeout time.Duration
}

// NewCmdDelete builds `buttctl hub delete`; runF replaces the run in tests.
func NewCmdDelete(f *cmdutil.Factory, runF func(*DeleteOptions) error) *cobra.Command {
	opts := &DeleteOptions{IO: f.IOStreams, Inventory: f.Inventory, Audit: f.Audit}
	cmd := &cobra.Command{
		Use:   "delete NAME",
		Short: "Delete a hub's cloud server, then remove the hub from the inventory",
		Long: `Delete the hub's server on the cloud, wait until the cloud no longer has
it, and only then remove the hub from the inventory. A hub that still has
pubs is refused: move them first ('buttctl pub move'), or pass --force (the
pubs stay in the inventory without a hub). Confirms on a terminal; needs
--yes off one.`,
		Example: `  buttctl hub delete hub-3
  buttctl hub delete hub-3 --yes`,
		Aliases: []string{"rm"},
		Args:    cmdutil.Args(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Name = args[0]
			if runF != nil {
				return runF(opts)
			}
			return deleteRun(opts)
		},
	}
	cmd.Flags().BoolVar(&opts.Force, "force", false, "delete even though pubs are on the hub")
	cmd.Flags().BoolVarP(&opts.Yes, "yes", "y", false, "do not ask for confirmation")
	cmd.Flags().DurationVar(&opts.Timeout, "timeout", 10*time.Minute, "time allowed for the server to be gone")
	return cmd
}

func deleteRun(opts *DeleteOptions) error {
	inv, err := opts.Inventory()
	if err != nil {
		return err
	}
	h, ok := inv.Hub(opts.Name)
	if !ok {
		return fmt.Errorf("hub %s is not in %s", opts.Name, inv.Path)
	}
	if inv.Cloud == nil || inv.Cloud.Name == "" {
		return errNoCloud(inv, "delete")
	}
	pubs := inv.PubsOn(h.Name)
	if len(pubs) > 0 && !opts.Force {
		return fmt.Errorf("hub %s still has %d pubs (%s): move them with 'buttctl pub move' or pass --force", h.Name, len(pubs), pubNames(pubs))
	}
	question := fmt.Sprintf("Delete hub %s and its server %s for good?", h.Name, h.ServerID)
	if len(pubs) > 0 {
		question = fmt.Sprintf("Delete hub %s, its server %s and the %d pubs running there (%s)?", h.Name, h.ServerID, len(pubs), pubNames(pubs))
	}
	if err := confirm(opts.IO, opts.Yes, question, "delete hub "+h.Name); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), opts.Timeout)
	defer cancel()
	c, err := cloudFor(ctx, opts.Connect, inv, "delete")
	if err != nil {
		return err
	}
	progress := newProgress(opts.IO)
	err = provision.Delete(ctx, c, inv, h.Name, provision.DeleteOptions{Force: opts.Force, InventoryPath: inv.Path, Progress: progress.event, Audit: opts.Audit})
	progress.close()
	if err != nil {
		return err
	}
	fmt.Fprintf(opts.IO.Out, "hub %s deleted: server %s is gone and the hub is out of %s\n", h.Name, h.ServerID, inv.Path)
	return nil
}

func pubNames(pubs []inventory.Pub) string {
	s := ""
	for i, p := range pubs {
		if i > 0 {
			s += ", "
		}
		s += p.Name
	}
	return s
}
