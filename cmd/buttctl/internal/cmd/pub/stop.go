package pub

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/buttctl/buttctl/cmd/buttctl/internal/cmdutil"
	"github.com/buttctl/buttctl/ops/pubs"
)

// NewCmdStop builds `buttctl pub stop`; runF replaces the run in tests.
func NewCmdStop(f *cmdutil.Factory, runF func(*ActionOptions) error) *cobra.Command {
	return actionCmd(f, runF, "stop", "Stop pubs' containers",
		`Stop the containers of the pubs named: SIGTERM, then SIGKILL after the
container's stop timeout. A stopped pub stays stopped (its restart policy does
not bring it back); its container and volume are kept.`,
		func(ctx context.Context, svc *pubs.Service, o *ActionOptions, name string) (pubs.Result, error) {
			return svc.Stop(ctx, name)
		}, "stopped", "was not running")
}
