package pub

import (
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"github.com/buttctl/buttctl/cmd/buttctl/internal/cmdutil"
	"github.com/buttctl/buttctl/cmd/buttctl/internal/iostreams"
	"github.com/buttctl/buttctl/cmd/buttctl/internal/output"
	"github.com/buttctl/buttctl/ops/identity"
	"github.com/buttctl/buttctl/ops/pubs"
)

// ListOptions is everything `buttctl pub list` needs.
type ListOptions struct {
	IO   *iostreams.IOStreams
	Pubs Pubs
	// Store is the local identity store (identities and last backups).
	Store   func() (*identity.Store, error)
	Hubs    []string
	Output  output.Format
	Timeout time.Duration
	// NoIdentity skips asking each running pub for its id.
	NoIdentity bool
	// Now is the clock (tests pin it).
	Now func() time.Time
}

// NewCmdList builds `buttctl pub list`; runF replaces the run in tests.
func NewCmdList(f *cmdutil.Factory, runF func(*ListOptions) error) *cobra.Command {
	opts := &ListOptions{IO: f.IOStreams, Pubs: pubsOf(f), Store: f.IdentityStore, Now: time.Now}
	cmd := &cobra.Command{
		Use:     "list [--hub HUB]...",
		Aliases: []string{"ls"},
		Short:   "List pubs on every hub: state, health, uptime, restarts, image, port, identity",
		Long: `List the pubs of every hub, asking all hubs at once. Pubs the inventory
places on a hub without a container are "missing"; pubs of a hub that cannot
be reached are "unreachable" (and buttctl exits 1, naming the hub). A
container of buttctl's that the inventory does not place there is listed as
an orphan (wide, json).

IDENTITY is the id the running pub answers with, or (dim) the id this
machine recorded for it when it is not running; BACKUP is the time of its
last backup made on this machine (both from the local identity store).

-o json fields: name, hub, state, health, uptime (seconds), started_at,
restarts, image, port, identity, known_identity, identity_changed,
last_backup, drift, orphan, error.`,
		Example: `  buttctl pub list
  buttctl pub list -o json | jq -r '.[] | select(.health == "unhealthy") | .name'`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if runF != nil {
				return runF(opts)
			}
			return listRun(opts)
		},
	}
	cmd.Flags().StringSliceVar(&opts.Hubs, "hub", nil, "only the pubs of this hub (repeatable)")
	cmd.Flags().BoolVar(&opts.NoIdentity, "no-identity", false, "do not ask running pubs for their ids (faster)")
	output.AddFlag(cmd, &opts.Output)
	addTimeout(cmd, &opts.Timeout)
	return cmd
}

func listRun(opts *ListOptions) error {
	svc, err := opts.Pubs()
	if err != nil {
		return err
	}
	defer svc.Close()
	for _, h := range opts.Hubs {
		if _, ok := svc.Inventory().Hub(h); !ok {
			return cmdutil.Usagef("hub %s is not in the inventory %s", h, svc.Inventory().Path)
		}
	}
	ctx, cancel := withTimeout(opts.Timeout)
	defer cancel()
	lo := pubs.ListOptions{Identity: !opts.NoIdentity, Hubs: opts.Hubs}
	if opts.Store != nil {
		store, err := opts.Store()
		if err != nil {
			fmt.Fprintf(opts.IO.ErrOut, "buttctl: %v (identities and backups not shown)\n", err)
		} else {
			lo.Known = store.Known
		}
	}
	rows, hubErrs := svc.List(ctx, lo)
	if rows == nil {
		rows = []pubs.Status{}
	}
	if opts.Output.IsMachine() {
		if err := output.Export(opts.IO.Out, opts.Output, rows); err != nil {
			return err
		}
	} else if err := listTable(opts, rows); err != nil {
		return err
	}
	errs := make([]error, len(hubErrs))
	for i := range hubErrs {
		errs[i] = &hubErrs[i]
	}
	return errors.Join(errs...)
}

func listTable(opts *ListOptions, rows []pubs.Status) error {
	tty := opts.IO.IsStdoutTTY()
	wide := opts.Output == output.Wide
	since := "UPTIME"
	if !tty {
		since = "STARTED"
	}
	header := []string{"NAME", "HUB", "STATE", "HEALTH", since, "RESTARTS", "IMAGE", "PORT", "IDENTITY", "BACKUP"}
	if wide {
		header = append(header, "DRIFT", "ERROR")
	}
	t := output.NewTable(opts.IO.Out, tty, header...)
	now := time.Now()
	if opts.Now != nil {
		now = opts.Now()
	}
	for _, r := range rows {
		id := identityCell(r, tty && !wide)
		cells := []output.Cell{
			{Text: r.Name, Color: output.Bold},
			{Text: r.Hub},
			stateCell(r),
			healthCell(r.Health),
			{Text: startedText(r, tty)},
			{Text: strconv.Itoa(r.Restarts)},
			{Text: r.Image},
			{Text: strconv.Itoa(r.Port)},
			id,
			{Text: backupText(r.LastBackup, now, tty)},
		}
		if wide {
			drift := "no"
			if r.Drift {
				drift = "yes"
			}
			if r.Orphan {
				drift = "orphan"
			}
			cells = append(cells, output.Cell{Text: drift}, output.Cell{Text: orDash(r.Error)})
		}
		t.RowCells(cells...)
	}
	return t.Render(opts.IO.ColorEnabled())
}

// identityCell is the id the pub answered with, else the recorded one
// (grey), flagged in red if they differ.
func identityCell(r pubs.Status, abbreviate bool) output.Cell {
	id, colour := r.Identity, ""
	if id == "" && r.KnownIdentity != "" {
		id, colour = r.KnownIdentity, output.Grey
	}
	if abbreviate {
		id = short(id)
	}
	if r.IdentityChanged {
		return output.Cell{Text: id + " (recorded: " + short(r.KnownIdentity) + ")", Color: output.Red}
	}
	return output.Cell{Text: orDash(id), Color: colour}
}

// backupText is how long ago the last backup was on a terminal (3d ago),
// its time in RFC 3339 off it; "never" when there was none.
func backupText(t *time.Time, now time.Time, tty bool) string {
	if t == nil {
		return "never"
	}
	if !tty {
		return t.UTC().Format(time.RFC3339)
	}
	return formatUptime(now.Sub(*t)) + " ago"
}

func stateCell(r pubs.Status) output.Cell {
	if r.OperatorStop != nil {
		// Stopped on purpose: watch leaves it so until 'pub start'.
		return output.Cell{Text: r.State + " (operator stop)", Color: output.Grey}
	}
	switch r.State {
	case "running":
		return output.Cell{Text: r.State, Color: output.Green}
	case pubs.StateUnreachable, "dead", "exited":
		return output.Cell{Text: r.State, Color: output.Red}
	case pubs.StateMissing:
		return output.Cell{Text: r.State, Color: output.Grey}
	}
	return output.Cell{Text: r.State, Color: output.Yellow}
}

func healthCell(h string) output.Cell {
	switch h {
	case "healthy":
		return output.Cell{Text: h, Color: output.Green}
	case "unhealthy":
		return output.Cell{Text: h, Color: output.Red}
	case "":
		return output.Cell{Text: "-", Color: output.Grey}
	}
	return output.Cell{Text: h, Color: output.Yellow}
}

// startedText is the uptime on a terminal (3d4h, 5h12m, 42m, 9s), the start
// time in RFC 3339 off it; "-" when not running.
func startedText(r pubs.Status, tty bool) string {
	if r.StartedAt == nil {
		return "-"
	}
	if !tty {
		return r.StartedAt.UTC().Format(time.RFC3339)
	}
	return formatUptime(time.Duration(r.Uptime) * time.Second)
}

func formatUptime(d time.Duration) string {
	switch {
	case d >= 24*time.Hour:
		return fmt.Sprintf("%dd%dh", d/(24*time.Hour), d%(24*time.Hour)/time.Hour)
	case d >= time.Hour:
		return fmt.Sprintf("%dh%dm", d/time.Hour, d%time.Hour/time.Minute)
	case d >= time.Minute:
		return fmt.Sprintf("%dm", d/time.Minute)
	}
	return fmt.Sprintf("%ds", d/time.Second)
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
