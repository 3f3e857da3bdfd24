package render

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/buttctl/buttctl/ops/fleet"
	"github.com/buttctl/buttctl/ops/hubs"
)

// Hub is what the console knows of a hub: the inventory's, the last
// observation, the last facts, and whether a look at it is under way.
type Hub struct {
	Name     string
	Address  string
	Local    bool
	Capacity int
	// Placed is how many pubs the inventory places on it.
	Placed int
	// Running is how many of its containers run.
	Running int
	// Observed is the last observation (nil until the first one came back).
	Observed *fleet.Hub
	Facts    *hubs.Facts
	// Cloud is the cloud server's status (ACTIVE, SHUTOFF, ...), "" without a cloud.
	Cloud string
	// Slow says an observation has been under way for a while; Spinner is
	// the spinner's current frame.
	Slow    bool
	Spinner string
	// Busy is a hub action under way ("rebooting").
	Busy string
	// Err is the last error of an action on the hub.
	Err string
}

// HubColumns are the Hubs view's columns.
var HubColumns = []Column{
	{Title: "NAME", Width: 12, Flex: 1},
	{Title: "STATE", Width: 8},
	{Title: "CLOUD", Width: 8, Priority: 4},
	{Title: "SSH", Width: 7, Right: true, Priority: 2},
	{Title: "PUBS", Width: 7, Right: true},
	{Title: "LOAD", Width: 5, Right: true, Priority: 3},
	{Title: "DISK FREE", Width: 9, Right: true, Priority: 3},
	{Title: "DOCKER", Width: 14, Priority: 5},
	{Title: "NOTE", Width: 12, Flex: 4, Priority: 1},
}

// HubState sums a hub up in one word and a tone: up, down, timeout, or a
// spinner while the first look at it is under way.
func HubState(h Hub) Cell {
	switch {
	case h.Observed == nil:
		return Number(orDash(h.Spinner)+" …", 2, ToneBusy)
	case h.Observed.TimedOut:
		return Number("timeout", 0, ToneBad)
	case !h.Observed.Reachable:
		return Number("down", 0, ToneBad)
	case h.Slow:
		return Number(h.Spinner+" slow", 1, ToneWarn)
	}
	return Number("up", 3, ToneOK)
}

// HubRow is a hub's row in the Hubs view.
func HubRow(h Hub) Row {
	f := h.Facts
	ssh := Number("-", -1, ToneDim)
	load := Number("-", -1, ToneDim)
	disk := Number("-", -1, ToneDim)
	docker := Toned("-", ToneDim)
	if h.Local {
		ssh = Number("local", 0, ToneDim)
	}
	if f != nil && f.Reachable {
		if !h.Local {
			ssh = Number(latency(f.SSHLatencyMS), f.SSHLatencyMS, ToneNormal)
		}
		lt := ToneNormal
		if h.Observed != nil && h.Observed.Engine != nil && h.Observed.Engine.CPUs > 0 && f.Load[0] > float64(h.Observed.Engine.CPUs) {
			lt = ToneWarn
		}
		load = Number(strconv.FormatFloat(f.Load[0], 'f', 2, 64), f.Load[0], lt)
		if f.DiskTotalBytes > 0 {
			free := float64(f.DiskFreeBytes) / float64(f.DiskTotalBytes)
			dt := ToneNormal
			switch {
			case free < 0.05:
				dt = ToneBad
			case free < 0.10:
				dt = ToneWarn
			}
			disk = Number(Bytes(f.DiskFreeBytes)+" "+strconv.Itoa(int(free*100+0.5))+"%", float64(f.DiskFreeBytes), dt)
		}
		if f.DockerVersion != "" {
			docker = Text(f.DockerVersion)
		}
	}
	if docker.Text == "-" && h.Observed != nil && h.Observed.Engine != nil {
		docker = Text(h.Observed.Engine.Version)
	}
	pubs := strconv.Itoa(h.Placed)
	pt := ToneNormal
	if h.Capacity > 0 {
		pubs += "/" + strconv.Itoa(h.Capacity)
		if h.Placed > h.Capacity {
			pt = ToneBad
		}
	}
	cloud := Toned("-", ToneDim)
	if h.Cloud != "" {
		cloud = Toned(h.Cloud, cloudTone(h.Cloud))
	}
	return Row{Key: h.Name, Group: h.Name, Cells: []Cell{
		Text(h.Name),
		HubState(h),
		cloud,
		ssh,
		Number(pubs, float64(h.Placed), pt),
		load,
		disk,
		docker,
		hubNote(h),
	}}
}

// hubNote is what is wrong with the hub, in full: never hidden.
func hubNote(h Hub) Cell {
	switch {
	case h.Busy != "":
		return Toned(h.Spinner+" "+h.Busy+"…", ToneBusy)
	case h.Err != "":
		return Toned(OneLine(h.Err), ToneBad)
	case h.Observed != nil && h.Observed.Error != "":
		t := ToneBad
		if h.Observed.Reachable {
			t = ToneWarn
		}
		return Toned(OneLine(h.Observed.Error), t)
	case h.Facts != nil && h.Facts.Error != "":
		return Toned(OneLine(h.Facts.Error), ToneBad)
	case h.Observed != nil && h.Observed.Reachable:
		return Toned(fmt.Sprintf("%d running", h.Running), ToneDim)
	}
	return Text("")
}

func cloudTone(status string) Tone {
	switch strings.ToUpper(status) {
	case "ACTIVE":
		return ToneOK
	case "BUILD", "REBOOT", "HARD_REBOOT", "MIGRATING", "RESIZE":
		return ToneBusy
	case "SHUTOFF", "SUSPENDED", "PAUSED":
		return ToneIdle
	}
	return ToneBad
}

func latency(ms float64) string {
	switch {
	case ms < 10:
		return strconv.FormatFloat(ms, 'f', 1, 64) + "ms"
	case ms < 1000:
		return strconv.Itoa(int(ms+0.5)) + "ms"
	}
	return strconv.FormatFloat(ms/1000, 'f', 1, 64) + "s"
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// Pub is what the console knows of a pub: its observation, and what the
// inventory and the console add to it.
type Pub struct {
	fleet.Pub
	// Image and Port are the inventory's (shown while there is no container).
	Image string
	Port  int
	// Identity is the pub's SSB id, once asked.
	Identity string
	// Busy is an action under way ("restarting"); Spinner its frame.
	Busy    string
	Spinner string
	// Err is the last action's error.
	Err string
	// Marked says the pub is selected for a merged log.
	Marked bool
	// Watch says what the watcher is doing about it (backoff, quarantined...).
	Watch string
}

// PubColumns are the Pubs view's columns.
var PubColumns = []Column{
	{Title: "NAME", Width: 14, Flex: 1},
	{Title: "HUB", Width: 10, Priority: 1},
	{Title: "STATUS", Width: 10},
	{Title: "HEALTH", Width: 9, Priority: 4},
	{Title: "UPTIME", Width: 6, Right: true, Priority: 2},
	{Title: "RESTARTS", Width: 8, Right: true, Priority: 3},
	{Title: "IMAGE", Width: 18, Flex: 1, Priority: 6},
	{Title: "PORT", Width: 5, Right: true, Priority: 5},
	{Title: "IDENTITY", Width: 16, Flex: 1, Priority: 7},
	{Title: "NOTE", Width: 12, Flex: 3, Priority: 1},
}

// statusRank orders statuses worst first, so that sorting by STATUS puts
// what needs attention on top.
var statusRank = map[fleet.PubStatus]float64{
	fleet.StatusDown:      0,
	fleet.StatusMissing:   1,
	fleet.StatusUnknown:   2,
	fleet.StatusUnhealthy: 3,
	fleet.StatusStarting:  4,
	fleet.StatusUnplaced:  5,
	fleet.StatusStopped:   6,
	fleet.StatusRunning:   7,
}

// StatusTone is the colour of a pub status: running green, unhealthy
// yellow, down/missing/unknown red, stopped and unplaced grey.
func StatusTone(s fleet.PubStatus) Tone {
	switch s {
	case fleet.StatusRunning:
		return ToneOK
	case fleet.StatusUnhealthy:
		return ToneWarn
	case fleet.StatusStarting:
		return ToneBusy
	case fleet.StatusStopped, fleet.StatusUnplaced:
		return ToneIdle
	}
	return ToneBad
}

// PubStatus is a pub's status cell.
func PubStatus(p Pub) Cell {
	s := p.Status
	if s == "" { // not observed yet
		return Number(strings.TrimSpace(p.Spinner+" …"), 8, ToneBusy)
	}
	return Number(string(s), statusRank[s], StatusTone(s))
}

// PubRow is a pub's row in the Pubs view; now dates its uptime.
func PubRow(p Pub, now time.Time) Row {
	name := p.Name
	if p.Marked {
		name = "+" + name
	}
	health := Toned("-", ToneDim)
	uptime := Number("-", -1, ToneDim)
	restarts := Number("-", -1, ToneDim)
	image := p.Image
	if c := p.Container; c != nil {
		health = healthCell(c)
		if c.State == "running" && c.StartedAt != nil && !c.StartedAt.IsZero() {
			d := now.Sub(*c.StartedAt)
			uptime = Number(Age(d), d.Seconds(), ToneNormal)
		} else if c.State != "" {
			uptime = Number(c.State, -1, ToneDim)
		}
		rt := ToneNormal
		if c.Restarts > 0 {
			rt = ToneWarn
		}
		restarts = Number(strconv.Itoa(c.Restarts), float64(c.Restarts), rt)
		if c.Image != "" {
			image = c.Image
		}
	}
	port := Number("-", 0, ToneDim)
	if p.Port > 0 {
		port = Number(strconv.Itoa(p.Port), float64(p.Port), ToneNormal)
	}
	id := Toned("-", ToneDim)
	if p.Identity != "" {
		id = Text(p.Identity)
	}
	hub := Text(p.Hub)
	if p.Hub == "" {
		hub = Toned("-", ToneDim)
	}
	return Row{Key: p.Name, Group: p.Hub, Cells: []Cell{
		Text(name),
		hub,
		PubStatus(p),
		health,
		uptime,
		restarts,
		Text(image),
		port,
		id,
		pubNote(p),
	}}
}

// healthCell is a running container's health (Docker keeps the last one
// of a stopped container: not shown).
func healthCell(c *fleet.Container) Cell {
	if c.State != "running" || c.Health == "" {
		return Toned("-", ToneDim)
	}
	switch c.Health {
	case "healthy":
		return Toned(c.Health, ToneOK)
	case "unhealthy":
		return Toned(c.Health, ToneWarn)
	case "starting":
		return Toned(c.Health, ToneBusy)
	}
	return Text(c.Health)
}

// pubNote is the most pressing thing to say about a pub.
func pubNote(p Pub) Cell {
	switch {
	case p.Busy != "":
		return Toned(strings.TrimSpace(p.Spinner+" "+p.Busy+"…"), ToneBusy)
	case p.Err != "":
		return Toned(OneLine(p.Err), ToneBad)
	case p.Watch != "":
		t := ToneWarn
		if strings.Contains(p.Watch, "quarantined") || strings.Contains(p.Watch, "failed") {
			t = ToneBad
		} else if strings.Contains(p.Watch, "operator-stopped") {
			t = ToneIdle
		}
		return Toned(OneLine(p.Watch), t)
	case p.Error != "":
		return Toned(OneLine(p.Error), ToneBad)
	case p.Container != nil && p.Container.Error != "":
		return Toned(OneLine(p.Container.Error), ToneBad)
	case p.Status == fleet.StatusMissing && p.HasVolume:
		return Toned("no container (s creates it; its volume is kept)", ToneBad)
	case p.Status == fleet.StatusMissing:
		return Toned("no container yet (s creates it)", ToneBad)
	case p.Status == fleet.StatusUnplaced:
		return Toned("no hub yet: plan places it", ToneIdle)
	case p.Drift:
		return Toned("drift: the inventory's spec changed", ToneWarn)
	case p.Status == fleet.StatusDown && p.Container != nil:
		return Toned("not running: "+p.Container.State, ToneBad)
	}
	return Text("")
}
