package pubs

import (
	"context"
	"fmt"

	"github.com/buttctl/buttctl/ops/engine"
)

// Exec runs a command inside the pub's running container and returns its
// exit code.
func (s *Service) Exec(ctx context.Context, name string, o engine.ExecOptions) (int, error) {
	t, c, err := s.resolve(ctx, name)
	if err != nil {
		return -1, err
	}
	if len(o.Cmd) == 0 {
		return -1, t.fail(badInput("no command: write it after --, e.g. pub exec %s -- sbot whoami", name))
	}
	if c.State != "running" {
		return -1, t.fail(fmt.Errorf("not running (%s): start it first", c.State))
	}
	code, err := t.eng.Exec(ctx, c, o)
	return code, t.fail(err)
}
