package fleetcmd

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"github.com/buttctl/buttctl/cmd/buttctl/internal/cmdutil"
	"github.com/buttctl/buttctl/cmd/buttctl/internal/iostreams"
	"github.com/buttctl/buttctl/cmd/buttctl/internal/output"
	"github.com/buttctl/buttctl/ops/fleet"
)

// StatusOptions is everything `buttctl status` needs.
type StatusOptions struct {
	IO     *iostreams.IOStreams
	Pubs   Pubs
	Output output.Format
	observeFlags
	// Now is the clock for uptimes (time.Now).
	Now func() time.Time
}

// StatusReport is `buttctl status -o json`: the summary and the snapshot.
type StatusReport struct {
	Summary fleet.Summary `json:"summary"`
	*fleet.Snapshot
}

// NewCmdStatus builds `buttctl status`; runF replaces the run in tests.
func NewCmdStatus(f *cmdutil.Factory, runF func(*StatusOptions) error) *cobra.Command {
	opts := &StatusOptions{IO: f.IOStreams, Pubs: f.Pubs, Now: time.Now}
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show the fleet at a glance: hubs up and down, pubs running, unhealthy, down, missing",
		Long: `Observe every hub at once and show the fleet at a glance: each hub (up or
down, engine, pubs running, capacity used), the pubs that are not as the
inventory asks (all of them with -o wide), and a last line of key=value
counts that scripts can read:

  hubs=3 hubs_up=3 hubs_down=0 pubs=12 running=11 starting=0 unhealthy=1 ...

Exits 1 when a hub could not be observed (naming it), else 0.

-o json: {summary, taken, duration_ms, hubs, pubs, orphans, cloud}; see README.`,
		Example: `  buttctl status
  buttctl status -o json | jq '.summary'
  buttctl status | tail -n 1`,
		Args: cmdutil.Args(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := opts.check(); err != nil {
				return err
			}
			if runF != nil {
				return runF(opts)
			}
			return statusRun(opts)
		},
	}
	output.AddFlag(cmd, &opts.Output)
	opts.observeFlags.add(cmd)
	return cmd
}

func statusRun(opts *StatusOptions) error {
	svc, err := opts.Pubs()
	if err != nil {
		return err
	}
	defer svc.Close()
	snap := opts.observe(context.Background(), svc)
	sum := snap.Summary()
	if opts.Output.IsMachine() {
		if err := output.Export(opts.IO.Out, opts.Output, StatusReport{Summary: sum, Snapshot: snap}); err != nil {
			return err
		}
		return unreachableError(snap)
	}
	tty, color := opts.IO.IsStdoutTTY(), opts.IO.ColorEnabled()
	wide := opts.Output == output.Wide
	if err := hubTable(opts.IO, snap, wide).Render(color); err != nil {
		return err
	}
	if rows := pubRows(snap, wide, tty, opts.Now()); len(rows) > 0 {
		fmt.Fprintln(opts.IO.Out)
		t := output.NewTable(opts.IO.Out, tty, pubHeader(wide, tty)...)
		for _, r := range rows {
			t.RowCells(r...)
		}
		if err := t.Render(color); err != nil {
			return err
		}
	}
	fmt.Fprintln(opts.IO.Out)
	fmt.Fprintln(opts.IO.Out, sum.String())
	return unreachableError(snap)
}

// hubTable renders one row per hub.
func hubTable(io *iostreams.IOStreams, snap *fleet.Snapshot, wide bool) *output.TablePrinter {
	header := []string{"HUB", "STATUS", "ENGINE", "PUBS UP", "CAPACITY", "TOOK"}
	if snap.Cloud != nil {
		header = append(header, "SERVER")
	}
	if wide {
		header = append(header, "ADDRESS", "ERROR")
	}
	t := output.NewTable(io.Out, io.IsStdoutTTY(), header...)
	for _, h := range snap.Hubs {
		t.RowCells(hubRow(snap, h, wide)...)
	}
	return t
}

func hubRow(snap *fleet.Snapshot, h fleet.Hub, wide bool) []output.Cell {
	status := output.Cell{Text: "up", Color: output.Green}
	if !h.Reachable {
		status = output.Cell{Text: "down", Color: output.Red}
		if h.TimedOut {
			status.Text = "timeout"
		}
	}
	eng := "-"
	if h.Engine != nil {
		eng = h.Engine.Version
	}
	up := 0
	for _, p := range snap.Pubs {
		if p.Hub == h.Name && (p.Status == fleet.StatusRunning || p.Status == fleet.StatusStopped) {
			up++
		}
	}
	pubsUp := output.Cell{Text: fmt.Sprintf("%d/%d", up, h.Placed)}
	if !h.Reachable {
		pubsUp = output.Cell{Text: fmt.Sprintf("?/%d", h.Placed), Color: output.Grey}
	} else if up < h.Placed {
		pubsUp.Color = output.Yellow
	}
	capacity := strconv.Itoa(h.Placed) + "/-"
	if h.Capacity > 0 {
		capacity = fmt.Sprintf("%d/%d", h.Placed, h.Capacity)
	}
	cells := []output.Cell{
		{Text: h.Name, Color: output.Bold}, status, {Text: eng}, pubsUp, {Text: capacity},
		{Text: (time.Duration(h.DurationMS) * time.Millisecond).String()},
	}
	if snap.Cloud != nil {
		server := output.Cell{Text: "-", Color: output.Grey}
		switch {
		case h.Local:
		case h.Server == nil:
			server = output.Cell{Text: "missing", Color: output.Red}
		case h.Server.Status == "ACTIVE":
			server = output.Cell{Text: h.Server.Status, Color: output.Green}
		default:
			server = output.Cell{Text: h.Server.Status, Color: output.Yellow}
		}
		cells = append(cells, server)
	}
	if wide {
		addr := h.Address
		if h.Local {
			addr = "(this machine)"
		}
		cells = append(cells, output.Cell{Text: orDash(addr)}, output.Cell{Text: orDash(h.Error)})
	}
	return cells
}

func pubHeader(wide, tty bool) []string {
	since := "UPTIME"
	if !tty {
		since = "STARTED"
	}
	h := []string{"PUB", "HUB", "STATUS", "WANT", since, "RESTARTS", "DRIFT"}
	if wide {
		h = append(h, "IMAGE", "ERROR")
	}
	return h
}

// pubRows renders the pubs that need attention (every pub when wide), then
// the orphans.
func pubRows(snap *fleet.Snapshot, wide, tty bool, now time.Time) [][]output.Cell {
	var rows [][]output.Cell
	for _, p := range snap.Pubs {
		fine := (p.Status == fleet.StatusRunning && p.Want == "running" || p.Status == fleet.StatusStopped) && !p.Drift && p.Error == ""
		if fine && !wide {
			continue
		}
		drift := "no"
		if p.Drift {
			drift = "yes"
		}
		status := statusCell(p.Status)
		if p.Container != nil && p.Container.OperatorStop != nil && p.Status == fleet.StatusDown {
			// Stopped on purpose: watch leaves it so until 'pub start'.
			status = output.Cell{Text: "down (operator stop)", Color: output.Grey}
		}
		cells := []output.Cell{
			{Text: p.Name, Color: output.Bold}, {Text: orDash(p.Hub)}, status, {Text: p.Want},
			{Text: started(p.Container, tty, now)}, {Text: restarts(p.Container)}, {Text: drift},
		}
		if wide {
			image := "-"
			if p.Container != nil {
				image = p.Container.Image
			}
			cells = append(cells, output.Cell{Text: image}, output.Cell{Text: orDash(p.Error)})
		}
		rows = append(rows, cells)
	}
	for _, o := range snap.Orphans {
		c := o.Container
		cells := []output.Cell{
			{Text: c.Pub, Color: output.Bold}, {Text: o.Hub}, {Text: "orphan", Color: output.Yellow}, {Text: "-"},
			{Text: started(&c, tty, now)}, {Text: restarts(&c)}, {Text: "-"},
		}
		if wide {
			cells = append(cells, output.Cell{Text: c.Image}, output.Cell{Text: orDash(c.Error)})
		}
		rows = append(rows, cells)
	}
	return rows
}

func statusCell(s fleet.PubStatus) output.Cell {
	switch s {
	case fleet.StatusRunning, fleet.StatusStopped:
		return output.Cell{Text: string(s), Color: output.Green}
	case fleet.StatusStarting, fleet.StatusUnplaced:
		return output.Cell{Text: string(s), Color: output.Yellow}
	case fleet.StatusUnknown:
		return output.Cell{Text: string(s), Color: output.Grey}
	}
	return output.Cell{Text: string(s), Color: output.Red}
}

// started is the uptime on a terminal (3d4h, 5h12m, 42m, 9s), the start
// time in RFC 3339 off it; "-" when not running.
func started(c *fleet.Container, tty bool, now time.Time) string {
	if c == nil || c.StartedAt == nil {
		return "-"
	}
	if !tty {
		return c.StartedAt.UTC().Format(time.RFC3339)
	}
	d := now.Sub(*c.StartedAt)
	switch {
	case d >= 24*time.Hour:
		return fmt.Sprintf("%dd%dh", d/(24*time.Hour), d%(24*time.Hour)/time.Hour)
	case d >= time.Hour:
		return fmt.Sprintf("%dh%dm", d/time.Hour, d%time.Hour/time.Minute)
	case d >= time.Minute:
		return fmt.Sprintf("%dm", d/time.Minute)
	}
	return fmt.Sprintf("%ds", max(d, 0)/time.Second)
}

func restarts(c *fleet.Container) string {
	if c == nil {
		return "-"
	}
	return strconv.Itoa(c.Restarts)
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
