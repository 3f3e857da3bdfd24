// Package fleetcmd implements the commands that look at and converge the
// whole fleet: `buttctl status`, `buttctl plan` and `buttctl apply`, one
// file per verb. They observe through ops/fleet and only render here.
package fleetcmd

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/buttctl/buttctl/cmd/buttctl/internal/cmdutil"
	"github.com/buttctl/buttctl/ops/cloud"
	"github.com/buttctl/buttctl/ops/fleet"
	"github.com/buttctl/buttctl/ops/hubs"
	"github.com/buttctl/buttctl/ops/pubs"
)

// Pubs is the lazy constructor of the pub operations over the inventory's hubs.
type Pubs func() (*pubs.Service, error)

// observeFlags are the flags of every command that observes the fleet.
type observeFlags struct {
	Parallel int
	Timeout  time.Duration
	// Cloud says how to reach the inventory's cloud (tests point it at
	// their clouds.yaml).
	Cloud cloud.Config
}

func (o *observeFlags) add(cmd *cobra.Command) {
	cmd.Flags().IntVar(&o.Parallel, "parallel", hubs.DefaultParallel, "hubs to observe at once")
	cmd.Flags().DurationVar(&o.Timeout, "timeout", fleet.DefaultTimeout, "time allowed to observe each hub")
}

func (o *observeFlags) check() error {
	if o.Parallel < 1 {
		return cmdutil.Usagef("--parallel must be 1 or more")
	}
	if o.Timeout <= 0 {
		return cmdutil.Usagef("--timeout must be more than 0")
	}
	return nil
}

// observe observes the fleet of svc's inventory, its cloud included when
// the inventory names one.
func (o *observeFlags) observe(ctx context.Context, svc *pubs.Service) *fleet.Snapshot {
	inv := svc.Inventory()
	opts := fleet.ObserveOptions{Parallel: o.Parallel, Timeout: o.Timeout, Cloud: fleet.CloudOf(inv, o.Cloud)}
	if opts.Cloud != nil {
		opts.CloudName = inv.Cloud.Name
	}
	return fleet.Observe(ctx, svc, opts)
}

// unreachableError names every hub that could not be observed, one a line.
func unreachableError(snap *fleet.Snapshot) error {
	var errs []error
	for _, h := range snap.Unreachable() {
		msg := h.Error
		if !strings.HasPrefix(msg, h.Name+":") {
			msg = h.Name + ": " + msg
		}
		errs = append(errs, errors.New(msg))
	}
	if len(errs) == 0 {
		return nil
	}
	return fmt.Errorf("%d of %d hubs could not be observed:\n%w", len(errs), len(snap.Hubs), errors.Join(errs...))
}
