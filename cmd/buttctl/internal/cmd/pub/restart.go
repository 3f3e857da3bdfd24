package pub

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/buttctl/buttctl/cmd/buttctl/internal/cmdutil"
	"github.com/buttctl/buttctl/ops/pubs"
)

// NewCmdRestart builds `buttctl pub restart`; runF replaces the run in tests.
func NewCmdRestart(f *cmdutil.Factory, runF func(*ActionOptions) error) *cobra.Command {
	return actionCmd(f, runF, "restart", "Restart pubs' containers",
		`Restart the containers of the pubs named (a stopped one is started). The
container and its data are kept: the identity does not change.`,
		func(ctx context.Context, svc *pubs.Service, o *ActionOptions, name string) (pubs.Result, error) {
			return svc.Restart(ctx, name)
		}, "restarted", "was not restarted")
}
