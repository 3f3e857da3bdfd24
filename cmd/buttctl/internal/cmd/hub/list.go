package hub

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/buttctl/buttctl/cmd/buttctl/internal/cmdutil"
	"github.com/buttctl/buttctl/cmd/buttctl/internal/iostreams"
	"github.com/buttctl/buttctl/cmd/buttctl/internal/output"
	"github.com/buttctl/buttctl/ops/hubconn"
	"github.com/buttctl/buttctl/ops/hubs"
)

// ListOptions is everything `buttctl hub list` needs.
type ListOptions struct {
	IO       *iostreams.IOStreams
	Conns    func() (*hubconn.Conns, error)
	Hubs     []string // "" = every hub of the inventory
	Output   output.Format
	Parallel int
	Timeout  time.Duration
	// NoCloud skips the cloud's view (status, flavor, age, strays).
	NoCloud bool
	Connect ConnectCloud
	Now     func() time.Time
}

// NewCmdList builds `buttctl hub list`; runF replaces the run in tests.
func NewCmdList(f *cmdutil.Factory, runF func(*ListOptions) error) *cobra.Command {
	opts := &ListOptions{IO: f.IOStreams, Conns: f.Conns}
	cmd := &cobra.Command{
		Use:   "list [NAME...]",
		Short: "List hubs with reachability, SSH latency, OS, uptime, load, free disk and Docker version",
		Long: `List the inventory's hubs and what they say about themselves. Every hub is
shown: an unreachable hub is listed as such, with the reason on stderr.
A local hub shows this machine's facts. With a cloud section in the
inventory, the cloud's view is added: the server's status (ACTIVE, SHUTOFF,
ERROR, BUILD, or missing when the cloud has no such server), flavor, age and
addresses, and stray servers (tagged buttctl.hub but not in the inventory;
record one with 'hub adopt').`,
		Example: `  buttctl hub list
  buttctl hub list -o json | jq '.[] | select(.reachable | not) | .hub'`,
		Aliases: []string{"ls"},
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Hubs = args
			if opts.Parallel < 1 {
				return cmdutil.Usagef("--parallel must be 1 or more")
			}
			if runF != nil {
				return runF(opts)
			}
			return listRun(opts)
		},
	}
	output.AddFlag(cmd, &opts.Output)
	cmd.Flags().IntVar(&opts.Parallel, "parallel", hubs.DefaultParallel, "hubs to query at once")
	cmd.Flags().DurationVar(&opts.Timeout, "timeout", 20*time.Second, "time allowed per hub")
	cmd.Flags().BoolVar(&opts.NoCloud, "no-cloud", false, "do not ask the cloud (status, flavor, age, strays)")
	return cmd
}

func listRun(opts *ListOptions) error {
	conns, err := opts.Conns()
	if err != nil {
		return err
	}
	names, err := hubNames(conns, opts.Hubs, len(opts.Hubs) == 0)
	if err != nil {
		return err
	}
	cloudCh := make(chan cloudView, 1)
	go func() { cloudCh <- gatherCloud(opts, conns.Inventory(), len(opts.Hubs) == 0) }()
	facts := hubs.Gather(context.Background(), conns, names, hubs.FactsOptions{Parallel: opts.Parallel, Timeout: opts.Timeout})
	cv := <-cloudCh
	if cv.err != nil {
		fmt.Fprintf(opts.IO.ErrOut, "buttctl: cloud: %v\n", cv.err)
	}
	rows := listRows(facts, cv)
	if opts.Output.IsMachine() {
		return output.Export(opts.IO.Out, opts.Output, rows)
	}
	wide := opts.Output == output.Wide
	header := []string{"HUB", "STATUS", "LATENCY", "OS", "UPTIME", "LOAD", "DISK FREE", "DOCKER"}
	if cv.shown {
		header = append(header, "CLOUD", "FLAVOR", "AGE")
	}
	if wide {
		header = append(header, "ADDRESS", "KERNEL", "DISK", "ERROR")
		if cv.shown {
			header = append(header, "SERVER", "ADDRESSES")
		}
	}
	now := time.Now
	if opts.Now != nil {
		now = opts.Now
	}
	t := output.NewTable(opts.IO.Out, opts.IO.IsStdoutTTY(), header...)
	for _, r := range rows {
		t.RowCells(listRowCells(r, cv.shown, wide, opts.IO.IsStdoutTTY(), now())...)
	}
	if err := t.Render(opts.IO.ColorEnabled()); err != nil {
		return err
	}
	if !wide {
		for _, f := range facts {
			if f.Error != "" {
				fmt.Fprintf(opts.IO.ErrOut, "buttctl: %s\n", f.Error)
			}
		}
	}
	return nil
}

// factsRow renders one hub's facts as table cells.
func factsRow(f hubs.Facts, wide bool) []output.Cell {
	status := output.Cell{Text: "reachable", Color: output.Green}
	switch {
	case !f.Reachable:
		status = output.Cell{Text: "unreachable", Color: output.Red}
	case f.Local:
		status = output.Cell{Text: "local", Color: output.Green}
	case f.Error != "":
		status = output.Cell{Text: "error", Color: output.Yellow}
	}
	cells := []output.Cell{{Text: f.Hub, Color: output.Bold}, status}
	if !f.Reachable || f.Error != "" && f.OS == "" {
		cells = append(cells, dash(), dash(), dash(), dash(), dash(), dash())
	} else {
		latency := "-"
		if !f.Local {
			latency = formatLatency(f.SSHLatencyMS)
		}
		docker := output.Cell{Text: f.DockerVersion}
		if f.DockerVersion == "" {
			docker = output.Cell{Text: "unavailable", Color: output.Yellow}
		}
		cells = append(cells,
			output.Cell{Text: latency},
			output.Cell{Text: orDash(f.OS)},
			output.Cell{Text: formatUptime(f.UptimeSeconds)},
			output.Cell{Text: fmt.Sprintf("%.2f %.2f %.2f", f.Load[0], f.Load[1], f.Load[2])},
			output.Cell{Text: formatBytes(f.DiskFreeBytes)},
			docker)
	}
	if wide {
		errText := f.Error
		if errText == "" {
			errText = f.DockerError
		}
		disk := "-"
		if f.DiskTotalBytes > 0 {
			disk = fmt.Sprintf("%s of %s on %s", formatBytes(f.DiskFreeBytes), formatBytes(f.DiskTotalBytes), f.DiskPath)
		}
		addr := f.Address
		if f.Local {
			addr = "(this machine)"
		}
		cells = append(cells, output.Cell{Text: orDash(addr)}, output.Cell{Text: orDash(f.Kernel)}, output.Cell{Text: disk}, output.Cell{Text: orDash(errText)})
	}
	return cells
}

func dash() output.Cell { return output.Cell{Text: "-", Color: output.Grey} }

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func formatLatency(ms float64) string {
	if ms < 10 {
		return fmt.Sprintf("%.1fms", ms)
	}
	return fmt.Sprintf("%.0fms", ms)
}

// formatUptime writes an uptime like `uptime` users read it: 3d4h, 5h12m, 42m.
func formatUptime(s int64) string {
	d := time.Duration(s) * time.Second
	switch {
	case d >= 24*time.Hour:
		return fmt.Sprintf("%dd%dh", d/(24*time.Hour), d%(24*time.Hour)/time.Hour)
	case d >= time.Hour:
		return fmt.Sprintf("%dh%dm", d/time.Hour, d%time.Hour/time.Minute)
	default:
		return fmt.Sprintf("%dm", d/time.Minute)
	}
}

// formatBytes writes a size in binary units, as df -h does: 512M, 14.2G.
func formatBytes(b int64) string {
	const unit = 1024
	if b < unit {
		return fmt.Sprintf("%dB", b)
	}
	v, i := float64(b), -1
	for v >= unit && i < 4 {
		v /= unit
		i++
	}
	s := fmt.Sprintf("%.1f", v)
	if v >= 100 {
		s = fmt.Sprintf("%.0f", v)
	}
	return strings.TrimSuffix(s, ".0") + string("KMGTP"[i])
}

// hubNames resolves the hubs a command names: all of them, or those given,
// each checked against the inventory.
func hubNames(conns *hubconn.Conns, names []string, all bool) ([]string, error) {
	if all {
		out := make([]string, 0, len(conns.Inventory().Hubs))
		for _, h := range conns.Inventory().Hubs {
			out = append(out, h.Name)
		}
		return out, nil
	}
	seen := map[string]bool{}
	var out []string
	for _, n := range names {
		if _, err := conns.Hub(n); err != nil {
			return nil, err
		}
		if !seen[n] {
			seen[n] = true
			out = append(out, n)
		}
	}
	return out, nil
}
