package hub

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/buttctl/buttctl/cmd/buttctl/internal/output"
	"github.com/buttctl/buttctl/inventory"
	"github.com/buttctl/buttctl/ops/cloud"
	"github.com/buttctl/buttctl/ops/hubs"
	"github.com/buttctl/buttctl/ops/provision"
)

// listRow is one row of `hub list`: the hub's own facts and, when the
// inventory has a cloud, the cloud's view of its server. A stray server has
// only the latter.
type listRow struct {
	hubs.Facts
	Cloud *provision.CloudHub `json:"cloud,omitempty"`
	Stray bool                `json:"stray,omitempty"`
}

// cloudView is what the cloud said, if it was asked.
type cloudView struct {
	shown bool // the inventory has a cloud and --no-cloud was not given
	byHub map[string]provision.CloudHub
	stray []provision.CloudHub
	err   error
}

func gatherCloud(opts *ListOptions, inv *inventory.Inventory, withStrays bool) cloudView {
	if opts.NoCloud || inv.Cloud == nil || inv.Cloud.Name == "" {
		return cloudView{}
	}
	cv := cloudView{shown: true, byHub: map[string]provision.CloudHub{}}
	ctx, cancel := context.WithTimeout(context.Background(), opts.Timeout+10*time.Second)
	defer cancel()
	c, err := cloudFor(ctx, opts.Connect, inv, "list")
	if err != nil {
		cv.err = err
		return cv
	}
	state, err := provision.CloudState(ctx, c, inv)
	if err != nil {
		cv.err = err
		return cv
	}
	for _, s := range state {
		switch {
		case !s.Stray:
			cv.byHub[s.Hub] = s
		case withStrays:
			cv.stray = append(cv.stray, s)
		}
	}
	return cv
}

func listRows(facts []hubs.Facts, cv cloudView) []listRow {
	rows := make([]listRow, 0, len(facts)+len(cv.stray))
	for _, f := range facts {
		r := listRow{Facts: f}
		if s, ok := cv.byHub[f.Hub]; ok {
			r.Cloud = &s
		}
		rows = append(rows, r)
	}
	for i := range cv.stray {
		s := cv.stray[i]
		rows = append(rows, listRow{Facts: hubs.Facts{Hub: s.Hub}, Cloud: &s, Stray: true})
	}
	return rows
}

func listRowCells(r listRow, withCloud, wide, tty bool, now time.Time) []output.Cell {
	var cells []output.Cell
	if r.Stray {
		cells = []output.Cell{{Text: r.Hub, Color: output.Bold}, {Text: "stray", Color: output.Yellow}, dash(), dash(), dash(), dash(), dash(), dash()}
	} else {
		cells = factsRow(r.Facts, false)
	}
	if withCloud {
		cells = append(cells, cloudCells(r.Cloud, tty, now)...)
	}
	if wide {
		if r.Stray {
			cells = append(cells, dash(), dash(), dash(), dash())
		} else {
			cells = append(cells, factsRow(r.Facts, true)[8:]...)
		}
		if withCloud {
			if r.Cloud == nil {
				cells = append(cells, dash(), dash())
			} else {
				cells = append(cells, output.Cell{Text: r.Cloud.ServerID}, output.Cell{Text: orDash(strings.Join(r.Cloud.Addresses, ","))})
			}
		}
	}
	return cells
}

func cloudCells(s *provision.CloudHub, tty bool, now time.Time) []output.Cell {
	if s == nil {
		return []output.Cell{dash(), dash(), dash()}
	}
	status := output.Cell{Text: s.Status}
	switch s.Status {
	case cloud.StatusActive:
		status.Color = output.Green
	case cloud.StatusError, cloud.StatusMissing:
		status.Color = output.Red
	default:
		status.Color = output.Yellow
	}
	age := "-"
	if !s.Created.IsZero() {
		if tty {
			age = formatAge(now.Sub(s.Created))
		} else {
			age = s.Created.UTC().Format(time.RFC3339)
		}
	}
	return []output.Cell{status, {Text: orDash(s.Flavor)}, {Text: age}}
}

// formatAge writes an age as kubectl does: 45s, 12m, 5h, 3d.
func formatAge(d time.Duration) string {
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", max(int(d/time.Second), 0))
	case d < time.Hour:
		return fmt.Sprintf("%dm", d/time.Minute)
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh", d/time.Hour)
	}
	return fmt.Sprintf("%dd", d/(24*time.Hour))
}
