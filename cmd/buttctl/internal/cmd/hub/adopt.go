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

// AdoptOptions is everything `buttctl hub adopt` needs.
type AdoptOptions struct {
	IO        *iostreams.IOStreams
	Inventory func() (*inventory.Inventory, error)
	Connect   ConnectCloud
	// Audit receives the record of what was done (nil: none).
	Audit *audit.Log

	Name     string
	ServerID string
	Timeout  time.Duration
}

// NewCmdAdopt builds `buttctl hub adopt`; runF replaces the run in tests.
func NewCmdAdopt(f *cmdutil.Factory, runF func(*AdoptOptions) error) *cobra.Command {
	opts := &AdoptOptions{IO: f.IOStreams, Inventory: f.Inventory, Audit: f.Audit}
	cmd := &cobra.Command{
		Use:   "adopt NAME --server ID",
		Short: "Record an existing cloud server as hub NAME",
		Long: `Record a server of the inventory's cloud as hub NAME: tag it with
buttctl.hub=NAME metadata, take its address, record the SSH host keys its
console log verifies (if it shows them), and add the hub to the inventory.
Use it for strays that 'hub list' shows, and after 'hub create --no-wait'.`,
		Example: `  buttctl hub adopt hub-3 --server 6f1c0a4e-...`,
		Args:    cmdutil.Args(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Name = args[0]
			if !inventory.IsDNSLabel(opts.Name) {
				return cmdutil.Usagef("hub name %q: use a short lowercase name of letters, digits and dashes, e.g. hub-2", opts.Name)
			}
			if opts.ServerID == "" {
				return cmdutil.Usagef("--server ID is required: the id 'openstack server list' or 'buttctl hub list' shows")
			}
			if runF != nil {
				return runF(opts)
			}
			return adoptRun(opts)
		},
	}
	cmd.Flags().StringVar(&opts.ServerID, "server", "", "the server's OpenStack id")
	cmd.Flags().DurationVar(&opts.Timeout, "timeout", 2*time.Minute, "time allowed")
	return cmd
}

func adoptRun(opts *AdoptOptions) error {
	inv, err := opts.Inventory()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), opts.Timeout)
	defer cancel()
	c, err := cloudFor(ctx, opts.Connect, inv, "adopt")
	if err != nil {
		return err
	}
	knownHosts := inv.SSH.KnownHosts
	if knownHosts == "" {
		knownHosts = "~/.ssh/known_hosts"
	}
	progress := newProgress(opts.IO)
	h, err := provision.Adopt(ctx, c, inv, opts.Name, opts.ServerID, provision.AdoptOptions{
		Network: inv.Cloud.Server.Network, SSHPort: inv.SSH.Port, KnownHosts: expandPath(inv, knownHosts),
		InventoryPath: inv.Path, Progress: progress.event, Audit: opts.Audit,
	})
	progress.close()
	if err != nil {
		return err
	}
	fmt.Fprintf(opts.IO.Out, "hub %s: server %s at %s recorded in %s\n", h.Name, h.ServerID, h.Address, inv.Path)
	return nil
}
