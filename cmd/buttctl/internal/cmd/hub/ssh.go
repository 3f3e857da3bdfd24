package hub

import (
	"context"
	"errors"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/buttctl/buttctl/cmd/buttctl/internal/cmdutil"
	"github.com/buttctl/buttctl/cmd/buttctl/internal/iostreams"
	"github.com/buttctl/buttctl/ops/hubconn"
	"github.com/buttctl/buttctl/sshexec"
)

// SSHOptions is everything `buttctl hub ssh` needs.
type SSHOptions struct {
	IO    *iostreams.IOStreams
	Conns func() (*hubconn.Conns, error)
	Hub   string
	// Argv is the command to run; empty for a login shell.
	Argv []string
}

// NewCmdSSH builds `buttctl hub ssh`; runF replaces the run in tests.
func NewCmdSSH(f *cmdutil.Factory, runF func(*SSHOptions) error) *cobra.Command {
	opts := &SSHOptions{IO: f.IOStreams, Conns: f.Conns}
	cmd := &cobra.Command{
		Use:   "ssh NAME [-- COMMAND [ARG...]]",
		Short: "Open a shell (or run a command) on a hub over SSH",
		Long: `Open an interactive shell on a hub, with a terminal when stdin is one, using
the inventory's SSH settings (user, key, known_hosts, jump host). After --, run
that command instead; its arguments reach it as they are, never re-read by a
shell. buttctl exits with the remote command's exit status.`,
		Example: `  buttctl hub ssh hub-1
  buttctl hub ssh hub-1 -- docker ps`,
		Args: cmdutil.Args(cobra.MinimumNArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			dash := cmd.ArgsLenAtDash()
			if dash > 1 || (dash < 0 && len(args) > 1) {
				return cmdutil.Usagef("hub ssh takes one hub; put the command after --: buttctl hub ssh %s -- %s", args[0], sshexec.Quote(args[1:]))
			}
			if dash == 0 {
				return cmdutil.Usagef("name the hub before --: buttctl hub ssh NAME -- COMMAND")
			}
			opts.Hub = args[0]
			opts.Argv = args[1:]
			if runF != nil {
				return runF(opts)
			}
			return sshRun(opts)
		},
	}
	return cmd
}

func sshRun(opts *SSHOptions) error {
	conns, err := opts.Conns()
	if err != nil {
		return err
	}
	ctx, stop := interruptible(opts.IO.IsStdinTTY())
	defer stop()
	err = conns.Shell(ctx, opts.Hub, opts.Argv, sshexec.Stdio{In: opts.IO.In, Out: opts.IO.Out, Err: opts.IO.ErrOut})
	var xe *sshexec.ExitError
	if errors.As(err, &xe) {
		// As ssh does: the remote status is buttctl's, with nothing more to say.
		code := xe.Status
		if xe.Signal != "" {
			code = 255
		}
		return &cmdutil.ExitCodeError{Code: code}
	}
	return err
}

// interruptible returns a context cancelled by SIGINT or SIGTERM, so that
// remote commands are ended when buttctl is. On a terminal in raw mode Ctrl-C
// reaches the remote side instead, so only SIGTERM is caught there.
func interruptible(tty bool) (context.Context, context.CancelFunc) {
	sigs := []os.Signal{syscall.SIGTERM}
	if !tty {
		sigs = append(sigs, os.Interrupt)
	}
	return signal.NotifyContext(context.Background(), sigs...)
}
