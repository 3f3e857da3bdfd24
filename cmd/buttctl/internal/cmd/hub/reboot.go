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

// RebootOptions is everything `buttctl hub reboot` needs.
type RebootOptions struct {
	IO        *iostreams.IOStreams
	Inventory func() (*inventory.Inventory, error)
	Connect   ConnectCloud
	// Audit receives the record of what was done (nil: none).
	Audit *audit.Log

	Name    string
	Hard    bool
	Yes     bool
	Timeout time.Duration
}

// NewCmdReboot builds `buttctl hub reboot`; runF replaces the run in tests.
func NewCmdReboot(f *cmdutil.Factory, runF func(*RebootOptions) error) *cobra.Command {
	opts := &RebootOptions{IO: f.IOStreams, Inventory: f.Inventory, Audit: f.Audit}
	cmd := &cobra.Command{
		Use:   "reboot NAME",
		Short: "Reboot a hub's cloud server and wait until it is ACTIVE again",
		Long: `Reboot the hub's server through the cloud's API: soft (the OS shuts down
cleanly) unless --hard (a power cycle, for a hub that no longer answers).
Its pubs restart with Docker. Confirms on a terminal; needs --yes off one.`,
		Example: `  buttctl hub reboot hub-1
  buttctl hub reboot hub-1 --hard --yes`,
		Args: cmdutil.Args(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Name = args[0]
			if runF != nil {
				return runF(opts)
			}
			return rebootRun(opts)
		},
	}
	cmd.Flags().BoolVar(&opts.Hard, "hard", false, "power-cycle instead of a clean reboot")
	cmd.Flags().BoolVarP(&opts.Yes, "yes", "y", false, "do not ask for confirmation")
	cmd.Flags().DurationVar(&opts.Timeout, "timeout", 10*time.Minute, "time allowed for the server to be ACTIVE again")
	return cmd
}

func rebootRun(opts *RebootOptions) error {
	inv, err := opts.Inventory()
	if err != nil {
		return err
	}
	h, ok := inv.Hub(opts.Name)
	if !ok {
		return fmt.Errorf("hub %s is not in %s", opts.Name, inv.Path)
	}
	if inv.Cloud == nil || inv.Cloud.Name == "" {
		return errNoCloud(inv, "reboot")
	}
	how := "Reboot"
	if opts.Hard {
		how = "Hard-reboot (power-cycle)"
	}
	if err := confirm(opts.IO, opts.Yes, fmt.Sprintf("%s hub %s (server %s, %d pubs)?", how, h.Name, h.ServerID, len(inv.PubsOn(h.Name))), "reboot hub "+h.Name); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), opts.Timeout)
	defer cancel()
	c, err := cloudFor(ctx, opts.Connect, inv, "reboot")
	if err != nil {
		return err
	}
	progress := newProgress(opts.IO)
	err = provision.Reboot(ctx, c, h, provision.RebootOptions{Hard: opts.Hard, Progress: progress.event, Audit: opts.Audit})
	progress.close()
	if err != nil {
		return err
	}
	fmt.Fprintf(opts.IO.Out, "hub %s rebooted: server %s is ACTIVE\n", h.Name, h.ServerID)
	return nil
}
