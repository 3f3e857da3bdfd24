package hub

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/buttctl/buttctl/cmd/buttctl/internal/cmdutil"
	"github.com/buttctl/buttctl/cmd/buttctl/internal/iostreams"
	"github.com/buttctl/buttctl/cmd/buttctl/internal/output"
	"github.com/buttctl/buttctl/ops/hubconn"
	"github.com/buttctl/buttctl/ops/hubs"
)

// ExecOptions is everything `buttctl hub exec` needs.
type ExecOptions struct {
	IO       *iostreams.IOStreams
	Conns    func() (*hubconn.Conns, error)
	Hubs     []string
	All      bool
	Argv     []string
	Parallel int
	Timeout  time.Duration
	Output   output.Format
}

// NewCmdExec builds `buttctl hub exec`; runF replaces the run in tests.
func NewCmdExec(f *cmdutil.Factory, runF func(*ExecOptions) error) *cobra.Command {
	opts := &ExecOptions{IO: f.IOStreams, Conns: f.Conns}
	cmd := &cobra.Command{
		Use:   "exec [NAME...|--all] -- COMMAND [ARG...]",
		Short: "Run a command on hubs, in parallel",
		Long: `Run a command on the hubs named (or every hub with --all), at most --parallel
at once, each within --timeout. Arguments reach the command as they are,
never re-read by a shell: to use shell syntax, run sh -c '...' yourself.

Output lines are prefixed with the hub's name on a terminal, or when more than
one hub runs the command. -o json gives each hub's stdout, stderr, exit
status, duration and status: ok, failed (the command failed or timed out) or
unreachable (buttctl could not connect, or the connection was lost), as
Ansible counts them. buttctl exits 1 when any hub did not succeed, naming
them.`,
		Example: `  buttctl hub exec --all -- uptime
  buttctl hub exec hub-1 hub-2 --timeout 30s -- df -h /var/lib/docker
  buttctl hub exec --all -o json -- docker info --format '{{.ServerVersion}}'`,
		RunE: func(cmd *cobra.Command, args []string) error {
			dash := cmd.ArgsLenAtDash()
			if dash < 0 || dash == len(args) {
				return cmdutil.Usagef("no command: put it after --, e.g. buttctl hub exec --all -- uptime")
			}
			opts.Hubs, opts.Argv = args[:dash], args[dash:]
			switch {
			case opts.All && len(opts.Hubs) > 0:
				return cmdutil.Usagef("name hubs or use --all, not both")
			case !opts.All && len(opts.Hubs) == 0:
				return cmdutil.Usagef("name the hubs before --, or use --all")
			case opts.Parallel < 1:
				return cmdutil.Usagef("--parallel must be 1 or more")
			case opts.Timeout < 0:
				return cmdutil.Usagef("--timeout must not be negative")
			}
			if runF != nil {
				return runF(opts)
			}
			return execRun(opts)
		},
	}
	cmd.Flags().BoolVar(&opts.All, "all", false, "run on every hub of the inventory")
	cmd.Flags().IntVar(&opts.Parallel, "parallel", hubs.DefaultParallel, "hubs to run on at once")
	cmd.Flags().DurationVar(&opts.Timeout, "timeout", 0, "time allowed per hub, connecting included (0 = no limit)")
	output.AddFlag(cmd, &opts.Output, output.Table, output.JSON, output.YAML)
	return cmd
}

func execRun(opts *ExecOptions) error {
	conns, err := opts.Conns()
	if err != nil {
		return err
	}
	names, err := hubNames(conns, opts.Hubs, opts.All)
	if err != nil {
		return err
	}
	if len(names) == 0 {
		return fmt.Errorf("the inventory has no hubs")
	}
	ctx, stop := interruptible(false)
	defer stop()

	eo := hubs.ExecOptions{Parallel: opts.Parallel, Timeout: opts.Timeout}
	var p *linePrinter
	if !opts.Output.IsMachine() {
		p = newLinePrinter(opts.IO, names)
		eo.OnLine = p.line
	}
	results := hubs.Exec(ctx, conns, names, opts.Argv, eo)
	if opts.Output.IsMachine() {
		if err := output.Export(opts.IO.Out, opts.Output, results); err != nil {
			return err
		}
	} else {
		for _, r := range results {
			if r.Status == hubs.StatusOK || r.Exit != nil && !r.TimedOut {
				continue // the command's own stderr said why
			}
			p.line(r.Hub, hubs.Stderr, "buttctl: "+r.Error)
		}
	}
	return hubs.Outcome(results)
}

// linePrinter writes output lines as they come, whole lines only, prefixed
// with the hub's name on a terminal or when several hubs run the command.
type linePrinter struct {
	mu     sync.Mutex
	out    io.Writer
	errOut io.Writer
	prefix bool
	color  bool
	width  int
}

func newLinePrinter(io *iostreams.IOStreams, names []string) *linePrinter {
	p := &linePrinter{out: io.Out, errOut: io.ErrOut, prefix: io.IsStdoutTTY() || len(names) > 1, color: io.ColorEnabled()}
	for _, n := range names {
		p.width = max(p.width, len(n))
	}
	return p
}

func (p *linePrinter) line(hub string, stream hubs.Stream, line string) {
	w := p.out
	if stream == hubs.Stderr {
		w = p.errOut
	}
	var b strings.Builder
	if p.prefix {
		name := fmt.Sprintf("%-*s", p.width, hub)
		if p.color {
			name = "\x1b[36m" + name + "\x1b[0m"
		}
		b.WriteString(name + " | ")
	}
	b.WriteString(line)
	b.WriteByte('\n')
	p.mu.Lock()
	defer p.mu.Unlock()
	io.WriteString(w, b.String())
}
