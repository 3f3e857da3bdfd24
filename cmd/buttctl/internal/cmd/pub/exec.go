package pub

import (
	"context"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/buttctl/buttctl/cmd/buttctl/internal/cmdutil"
	"github.com/buttctl/buttctl/cmd/buttctl/internal/iostreams"
	"github.com/buttctl/buttctl/ops/engine"
)

// ExecOptions is everything `buttctl pub exec` needs.
type ExecOptions struct {
	IO   *iostreams.IOStreams
	Pubs Pubs
	Name string
	Argv []string
	// NoTTY refuses a terminal even when buttctl runs on one.
	NoTTY bool
}

// NewCmdExec builds `buttctl pub exec`; runF replaces the run in tests.
func NewCmdExec(f *cmdutil.Factory, runF func(*ExecOptions) error) *cobra.Command {
	opts := &ExecOptions{IO: f.IOStreams, Pubs: pubsOf(f)}
	cmd := &cobra.Command{
		Use:   "exec NAME -- COMMAND [ARG...]",
		Short: "Run a command inside a pub's container",
		Long: `Run a command inside the pub's running container, with buttctl's standard
input, output and error. On a terminal the command gets one too (resized with
yours), unless -T. buttctl exits with the command's exit status. The
arguments reach the command as they are, never re-read by a shell.`,
		Example: `  buttctl pub exec scuttle-1 -- sbot whoami
  buttctl pub exec scuttle-1 -- sh`,
		RunE: func(cmd *cobra.Command, args []string) error {
			dash := cmd.ArgsLenAtDash()
			if len(args) == 0 {
				return cmdutil.Usagef("name the pub, then the command after --, e.g. buttctl pub exec scuttle-1 -- sbot whoami")
			}
			if dash != 1 || dash == len(args) {
				return cmdutil.Usagef("put the command after --, e.g. buttctl pub exec %s -- sbot whoami", args[0])
			}
			opts.Name, opts.Argv = args[0], args[1:]
			if runF != nil {
				return runF(opts)
			}
			return execRun(opts)
		},
	}
	cmd.Flags().BoolVarP(&opts.NoTTY, "no-tty", "T", false, "no terminal for the command, even on one")
	return cmd
}

func execRun(opts *ExecOptions) error {
	svc, err := opts.Pubs()
	if err != nil {
		return err
	}
	defer svc.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	o := engine.ExecOptions{Cmd: opts.Argv, Stdin: opts.IO.In, Stdout: opts.IO.Out, Stderr: opts.IO.ErrOut}
	in, inIsFile := opts.IO.In.(*os.File)
	out, outIsFile := opts.IO.Out.(*os.File)
	if !opts.NoTTY && inIsFile && outIsFile && opts.IO.IsStdinTTY() && opts.IO.IsStdoutTTY() {
		restore, err := rawTerminal(in, out, &o)
		if err != nil {
			return err
		}
		defer restore()
	} else {
		// Without a terminal, ^C ends buttctl's wait, not the remote command.
		var stop context.CancelFunc
		ctx, stop = signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
		defer stop()
	}
	code, err := svc.Exec(ctx, opts.Name, o)
	if err != nil {
		return asUsage(err)
	}
	if code != 0 {
		return &cmdutil.ExitCodeError{Code: code}
	}
	return nil
}

// rawTerminal puts the local terminal in raw mode for a remote one, and
// forwards its size and size changes.
func rawTerminal(in, out *os.File, o *engine.ExecOptions) (restore func(), err error) {
	state, err := term.MakeRaw(int(in.Fd()))
	if err != nil {
		return nil, err
	}
	o.TTY = true
	size := func() engine.TermSize {
		w, h, err := term.GetSize(int(out.Fd()))
		if err != nil {
			return engine.TermSize{}
		}
		return engine.TermSize{Width: uint(w), Height: uint(h)}
	}
	o.Size = size()
	resize := make(chan engine.TermSize, 1)
	winch := make(chan os.Signal, 1)
	signal.Notify(winch, syscall.SIGWINCH)
	done := make(chan struct{})
	go func() {
		for {
			select {
			case <-done:
				return
			case <-winch:
				select {
				case resize <- size():
				default:
				}
			}
		}
	}()
	o.Resize = resize
	o.Stderr = io.Discard // a terminal has one stream
	return func() {
		signal.Stop(winch)
		close(done)
		_ = term.Restore(int(in.Fd()), state)
	}, nil
}
