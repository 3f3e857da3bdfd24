package pub

import (
	"os"
	"os/signal"
	"regexp"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/buttctl/buttctl/cmd/buttctl/internal/cmdutil"
	"github.com/buttctl/buttctl/cmd/buttctl/internal/iostreams"
	"github.com/buttctl/buttctl/ops/pubs"
)

// LogsOptions is everything `buttctl pub logs` needs.
type LogsOptions struct {
	IO         *iostreams.IOStreams
	Pubs       Pubs
	Name       string
	Follow     bool
	Since      string
	Tail       int
	Grep       string
	Timestamps bool
	Timeout    time.Duration
}

// NewCmdLogs builds `buttctl pub logs`; runF replaces the run in tests.
func NewCmdLogs(f *cmdutil.Factory, runF func(*LogsOptions) error) *cobra.Command {
	opts := &LogsOptions{IO: f.IOStreams, Pubs: pubsOf(f)}
	cmd := &cobra.Command{
		Use:   "logs NAME [-f] [--since WHEN] [--tail N] [--grep RE]",
		Short: "Show a pub's logs",
		Long: `Show what the pub's container wrote, stdout to stdout and stderr to stderr.
--since takes a duration back from now (10m, 2h), a time (2026-05-01T12:00:00Z,
2026-05-01, UTC without a zone) or Unix seconds. --grep keeps the lines a Go
regular expression matches. -f follows until interrupted or the pub stops.`,
		Example: `  buttctl pub logs scuttle-1 --tail 50
  buttctl pub logs scuttle-1 -f --since 10m --grep 'error|warn'`,
		Args: cmdutil.Args(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Name = args[0]
			if opts.Tail < 0 {
				return cmdutil.Usagef("--tail %d: give a number of lines, 0 (all) or more", opts.Tail)
			}
			if _, err := regexp.Compile(opts.Grep); err != nil {
				return cmdutil.Usagef("--grep %q is not a regular expression: %v", opts.Grep, err)
			}
			if runF != nil {
				return runF(opts)
			}
			return logsRun(opts)
		},
	}
	cmd.Flags().BoolVarP(&opts.Follow, "follow", "f", false, "keep printing new lines")
	cmd.Flags().StringVar(&opts.Since, "since", "", "only lines since this time or duration ago (10m, 2026-05-01T12:00:00Z)")
	cmd.Flags().IntVarP(&opts.Tail, "tail", "n", 0, "only the last N lines (0 = all)")
	cmd.Flags().StringVar(&opts.Grep, "grep", "", "only lines matching this regular expression")
	cmd.Flags().BoolVarP(&opts.Timestamps, "timestamps", "t", false, "prefix each line with the time Docker received it")
	addTimeout(cmd, &opts.Timeout)
	return cmd
}

func logsRun(opts *LogsOptions) error {
	svc, err := opts.Pubs()
	if err != nil {
		return err
	}
	defer svc.Close()
	o := pubs.LogsOptions{Follow: opts.Follow, Since: opts.Since, Tail: opts.Tail, Timestamps: opts.Timestamps}
	if opts.Grep != "" {
		o.Grep = regexp.MustCompile(opts.Grep)
	}
	timeout := opts.Timeout
	if opts.Follow {
		timeout = 0
	}
	ctx, cancel := withTimeout(timeout)
	defer cancel()
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	return asUsage(svc.Logs(ctx, opts.Name, o, opts.IO.Out, opts.IO.ErrOut))
}
