package pub

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/buttctl/buttctl/cmd/buttctl/internal/cmdutil"
	"github.com/buttctl/buttctl/ops/pubs"
)

// NewCmdKill builds `buttctl pub kill`; runF replaces the run in tests.
func NewCmdKill(f *cmdutil.Factory, runF func(*ActionOptions) error) *cobra.Command {
	return actionCmd(f, runF, "kill", "Send a signal (SIGKILL) to pubs' processes",
		`Send a signal, SIGKILL unless --signal says otherwise, to the main process of
the pubs named. Docker does not restart a container killed on request; start
it again with 'buttctl pub start'.`,
		func(ctx context.Context, svc *pubs.Service, o *ActionOptions, name string) (pubs.Result, error) {
			return svc.Kill(ctx, name, o.Signal)
		}, "killed", "was not killed")
}
