// Package watchcmd implements `buttctl watch`, the headless kill-and-heal
// daemon: flags, logging, the metrics endpoint and signals here; the loop
// is ops/watch.
package watchcmd

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/buttctl/buttctl/cmd/buttctl/internal/cmdutil"
	"github.com/buttctl/buttctl/cmd/buttctl/internal/iostreams"
	"github.com/buttctl/buttctl/cmd/buttctl/internal/output"
	"github.com/buttctl/buttctl/inventory"
	"github.com/buttctl/buttctl/ops/audit"
	"github.com/buttctl/buttctl/ops/cloud"
	"github.com/buttctl/buttctl/ops/hubconn"
	"github.com/buttctl/buttctl/ops/identity"
	"github.com/buttctl/buttctl/ops/watch"
	"github.com/buttctl/buttctl/sshexec"
)

// WatchOptions is everything `buttctl watch` needs.
type WatchOptions struct {
	IO            *iostreams.IOStreams
	InventoryPath func() string
	IdentityStore func() (*identity.Store, error)
	// StateDir is buttctl's state directory (the audit log and state file
	// go under it unless told otherwise).
	StateDir string
	// Context is cancelled to stop the watcher (SIGTERM/SIGINT by default).
	Context func() (context.Context, context.CancelFunc)

	Hub            string
	Once           bool
	DryRun         bool
	MetricsAddr    string
	NotifyWebhooks []string
	NotifyExecs    []string
	AuditLog       string
	LogFormat      string
	LogLevel       string
	Output         output.Format
}

// NewCmdWatch builds `buttctl watch`; runF replaces the run in tests.
func NewCmdWatch(f *cmdutil.Factory, runF func(*WatchOptions) error) *cobra.Command {
	opts := &WatchOptions{IO: f.IOStreams, InventoryPath: f.InventoryPath, IdentityStore: f.IdentityStore, StateDir: cmdutil.StateDir()}
	cmd := &cobra.Command{
		Use:   "watch",
		Short: "Keep every pub running: kill unhealthy pubs, heal down ones (a daemon)",
		Long: `Watch every hub's Docker events and keep the pubs the inventory wants
running alive: a pub unhealthy past watch.unhealthy_grace is stopped and
started again; one that exited is started; one whose container is gone is
created again on its volume (same identity); one that keeps failing is
created anew, then quarantined as crash-looping and retried every
backoff.max. A pub the inventory wants stopped, or that an operator stopped
('buttctl pub stop') or paused, is left alone. A hub unreachable for
watch.hub_down_after is marked down, hard-rebooted through the cloud
(watch.reboot_hubs) and its pubs recreated on other hubs from their kept
identities (watch.reallocate).

Every action goes to a JSON-lines audit log; logs go to stderr (text on a
terminal, JSON off one). SIGTERM or SIGINT stops it cleanly. One watcher per
inventory: a second one says who runs.

With --hub it is an agent for that hub alone (run it on the hub, with the
hub as 'local: true' in its inventory). With --once it reconciles once and
exits (non-zero if an action failed or a hub could not be asked): for cron.`,
		Example: `  buttctl watch
  buttctl watch --metrics-addr 127.0.0.1:9310 --notify-webhook https://hooks.example.org/buttctl
  buttctl watch --hub local                  # agent mode, on the hub itself
  buttctl watch --once --dry-run             # what would it do now?`,
		Args: cmdutil.Args(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, args []string) error {
			if opts.Output != output.Table && !opts.Once {
				return cmdutil.Usagef("-o is for --once")
			}
			switch opts.LogFormat {
			case "auto", "text", "json":
			default:
				return cmdutil.Usagef("--log-format %q: write auto, text or json", opts.LogFormat)
			}
			if _, err := parseLevel(opts.LogLevel); err != nil {
				return err
			}
			for _, u := range opts.NotifyWebhooks {
				if err := checkWebhook(u); err != nil {
					return err
				}
			}
			for _, x := range opts.NotifyExecs {
				if _, err := ParseArgv(x); err != nil {
					return err
				}
			}
			if opts.MetricsAddr != "" {
				if _, _, err := net.SplitHostPort(opts.MetricsAddr); err != nil {
					return cmdutil.Usagef("--metrics-addr %q: write host:port, e.g. 127.0.0.1:9310", opts.MetricsAddr)
				}
			}
			if runF != nil {
				return runF(opts)
			}
			return watchRun(opts)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&opts.Hub, "hub", "", "agent mode: heal this hub's pubs only")
	fl.BoolVar(&opts.Once, "once", false, "reconcile once, then exit (for cron)")
	fl.BoolVar(&opts.DryRun, "dry-run", false, "decide and log, but change nothing")
	fl.StringVar(&opts.MetricsAddr, "metrics-addr", "", "serve Prometheus /metrics and /healthz on host:port")
	fl.StringArrayVar(&opts.NotifyWebhooks, "notify-webhook", nil, "POST each kill, heal, quarantine and hub down/up as JSON to URL (repeatable)")
	fl.StringArrayVar(&opts.NotifyExecs, "notify-exec", nil, `run a program on each of them: "prog arg..." split on spaces, or a JSON array; no shell (repeatable)`)
	fl.StringVar(&opts.AuditLog, "audit-log", "", `audit log file ("-": standard output; default $`+cmdutil.EnvAuditLog+`, else the inventory's under `+filepath.Join(opts.StateDir, "watch")+`, shared with the rest of buttctl)`)
	fl.StringVar(&opts.LogFormat, "log-format", "auto", "log format on stderr: auto (text on a terminal, JSON off one), text or json")
	fl.StringVar(&opts.LogLevel, "log-level", "info", "log level: debug, info, warn or error")
	output.AddFlag(cmd, &opts.Output, output.Table, output.JSON, output.YAML)
	return cmd
}

func parseLevel(s string) (slog.Level, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(s)); err != nil {
		return l, cmdutil.Usagef("--log-level %q: write debug, info, warn or error", s)
	}
	return l, nil
}

func checkWebhook(u string) error {
	parsed, err := url.Parse(u)
	if err != nil || (parsed.Scheme != "http" && parsed.Scheme != "https") || parsed.Host == "" {
		return cmdutil.Usagef("--notify-webhook %q: write an http:// or https:// URL", u)
	}
	return nil
}

// ParseArgv reads a --notify-exec value: a JSON array of strings, or words
// separated by spaces (no quotes, no shell: nothing is expanded).
func ParseArgv(s string) ([]string, error) {
	s = strings.TrimSpace(s)
	var argv []string
	if strings.HasPrefix(s, "[") {
		if err := json.Unmarshal([]byte(s), &argv); err != nil {
			return nil, cmdutil.Usagef("--notify-exec %q: not a JSON array of strings: %v", s, err)
		}
	} else {
		argv = strings.Fields(s)
	}
	if len(argv) == 0 || argv[0] == "" {
		return nil, cmdutil.Usagef("--notify-exec %q: name a program", s)
	}
	return argv, nil
}

// logger is the watcher's slog logger on w: text on a terminal, JSON off one.
func logger(w io.Writer, tty bool, format string, level slog.Level) *slog.Logger {
	o := &slog.HandlerOptions{Level: level}
	if format == "text" || (format == "auto" && tty) {
		return slog.New(slog.NewTextHandler(w, o))
	}
	return slog.New(slog.NewJSONHandler(w, o))
}

// keepAlive is the SSH keepalive interval for a hub_down_after: a hub
// whose connection went silent is noticed within half of it.
func keepAlive(hubDownAfter time.Duration) time.Duration {
	return min(max(hubDownAfter/6, time.Second), 15*time.Second)
}

func watchRun(opts *WatchOptions) error {
	path := opts.InventoryPath()
	inv, err := inventory.Load(path)
	if err != nil {
		return err
	}
	if opts.Hub != "" {
		if _, ok := inv.Hub(opts.Hub); !ok {
			return cmdutil.Usagef("--hub %s is not in the inventory %s", opts.Hub, path)
		}
	}
	level, _ := parseLevel(opts.LogLevel)
	log := logger(opts.IO.ErrOut, opts.IO.IsStderrTTY(), opts.LogFormat, level)
	paths := watch.DefaultPaths(opts.StateDir, path)

	cfg := watch.Config{
		InventoryPath: path, Hub: opts.Hub, DryRun: opts.DryRun, Log: log, StatePath: paths.State,
		Conn: hubconn.Options{Pool: sshexec.PoolOptions{
			KeepAliveInterval: keepAlive(inv.Watch.HubDownAfter.D()),
			KeepAliveCountMax: 3,
			Logf:              func(format string, a ...any) { log.Info(fmt.Sprintf(format, a...)) },
		}},
	}
	auditPath := opts.AuditLog
	if auditPath == "" {
		auditPath = cmdutil.AuditLogPath(opts.StateDir, path)
	}
	if auditPath == "-" {
		cfg.Audit = audit.Writer(opts.IO.Out, audit.SourceWatch)
	} else {
		cfg.Audit = audit.File(auditPath, audit.SourceWatch)
		if err := cfg.Audit.Open(); err != nil {
			return err
		}
		defer cfg.Audit.Close()
	}
	for _, u := range opts.NotifyWebhooks {
		cfg.Notifiers = append(cfg.Notifiers, watch.Webhook{URL: u})
	}
	for _, x := range opts.NotifyExecs {
		argv, _ := ParseArgv(x)
		cfg.Notifiers = append(cfg.Notifiers, watch.Exec{Argv: argv})
	}
	if opts.IdentityStore != nil {
		if store, err := opts.IdentityStore(); err != nil {
			log.Warn("no identity store: identities are not kept, and lost or stranded pubs cannot be recreated", "err", err)
		} else {
			cfg.Identities = &watch.StoreIdentities{Store: store}
		}
	}
	if inv.Cloud != nil && inv.Cloud.Name != "" {
		cfg.Cloud = &watch.CloudReboots{Config: cloud.Config{Name: inv.Cloud.Name, Region: inv.Cloud.Region}}
	}
	if opts.MetricsAddr != "" && !opts.Once {
		cfg.Metrics = watch.NewMetrics()
	}
	w, err := watch.New(cfg)
	if err != nil {
		return err
	}

	ctx, cancel := signalContext(opts)
	defer cancel()
	if cfg.Metrics != nil {
		stop, err := serveMetrics(opts.MetricsAddr, cfg.Metrics, w, log)
		if err != nil {
			return err
		}
		defer stop()
	}
	if !opts.Once {
		if opts.AuditLog != "-" {
			log.Info("audit log", "path", auditPath, "state", paths.State)
		}
		return w.Run(ctx)
	}
	res, err := w.Once(ctx)
	if err != nil {
		return err
	}
	if err := printOnce(opts, res); err != nil {
		return err
	}
	if actions, hubs := res.Failed(); actions > 0 || hubs > 0 {
		return &cmdutil.ExitCodeError{Code: cmdutil.ExitError, Err: fmt.Errorf("watch --once: %d actions failed, %d hubs could not be asked (see above)", actions, hubs)}
	}
	return nil
}

func signalContext(opts *WatchOptions) (context.Context, context.CancelFunc) {
	if opts.Context != nil {
		return opts.Context()
	}
	return signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
}

// serveMetrics serves /metrics and /healthz on addr until stop.
func serveMetrics(addr string, m *watch.Metrics, w *watch.Watcher, log *slog.Logger) (stop func(), err error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("--metrics-addr %s: %w", addr, err)
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", m.Handler())
	mux.HandleFunc("/healthz", func(rw http.ResponseWriter, _ *http.Request) {
		if err := w.Healthy(); err != nil {
			http.Error(rw, "unhealthy: "+err.Error(), http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(rw, "ok")
	})
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("metrics server", "err", err)
		}
	}()
	log.Info("serving metrics", "addr", ln.Addr().String())
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	}, nil
}

// printOnce shows what --once did: the records, or the whole result as
// JSON/YAML.
func printOnce(opts *WatchOptions, res watch.OnceResult) error {
	if opts.Output.IsMachine() {
		if res.Records == nil {
			res.Records = []audit.Record{}
		}
		return output.Export(opts.IO.Out, opts.Output, res)
	}
	if opts.AuditLog == "-" {
		return nil
	}
	tty := opts.IO.IsStdoutTTY()
	t := output.NewTable(opts.IO.Out, tty, "PUB", "HUB", "ACTION", "REASON", "RESULT", "ERROR")
	for _, r := range res.Records {
		t.Row(orDash(r.Pub), r.Hub, r.Action, r.Reason, r.Result, orDash(r.Error))
	}
	if len(res.Records) > 0 {
		if err := t.Render(opts.IO.ColorEnabled()); err != nil {
			return err
		}
	} else {
		fmt.Fprintln(opts.IO.Out, "nothing to do")
	}
	for _, h := range res.State.Hubs {
		if !h.Connected {
			fmt.Fprintf(opts.IO.ErrOut, "buttctl: %s: could not be asked: %s\n", h.Name, h.Error)
		}
	}
	return nil
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
