package render

import (
	"fmt"
	"strings"
	"time"

	"github.com/buttctl/buttctl/ops/live"
)

// Event is one line of the Events view: something an engine reported, or
// that watch, apply or the operator did.
type Event struct {
	Time time.Time
	// Source is engine, watch, apply, console...
	Source string
	Hub    string
	Pub    string
	Action string
	Detail string
	Tone   Tone
	// Seq orders events that share a time.
	Seq int
}

// EventColumns are the Events view's columns.
var EventColumns = []Column{
	{Title: "TIME", Width: 8},
	{Title: "SOURCE", Width: 7, Priority: 2},
	{Title: "HUB", Width: 10, Priority: 1},
	{Title: "PUB", Width: 14},
	{Title: "ACTION", Width: 13},
	{Title: "DETAIL", Width: 10, Flex: 1, Priority: 1},
}

// EventRow is an event's row; the key orders rows by time.
func EventRow(e Event) Row {
	pub := Text(e.Pub)
	if e.Pub == "" {
		pub = Toned("-", ToneDim)
	}
	return Row{Key: fmt.Sprintf("%020d-%08d", e.Time.UnixNano(), e.Seq), Group: e.Hub, Cells: []Cell{
		Number(e.Time.Local().Format("15:04:05"), float64(e.Time.UnixNano()), ToneDim),
		Toned(e.Source, ToneDim),
		Text(e.Hub),
		pub,
		Toned(e.Action, e.Tone),
		Toned(OneLine(e.Detail), detailTone(e.Tone)),
	}}
}

func detailTone(t Tone) Tone {
	if t == ToneBad {
		return ToneBad
	}
	return ToneNormal
}

// EngineEvent is an engine's event as the Events view shows it.
func EngineEvent(ev live.Event) Event {
	e := Event{Time: ev.Time, Source: "engine", Hub: ev.Hub, Pub: ev.Pub, Action: ev.Action}
	switch ev.Action {
	case live.ActionHealthStatus:
		e.Action = "health"
		e.Detail = ev.Health
		switch ev.Health {
		case "healthy":
			e.Tone = ToneOK
		case "unhealthy":
			e.Tone = ToneWarn
		default:
			e.Tone = ToneBusy
		}
	case "start", "restart", "unpause":
		e.Tone = ToneOK
	case "die":
		e.Tone = ToneBad
		if ev.ExitCode != nil {
			e.Detail = fmt.Sprintf("exit code %d", *ev.ExitCode)
		}
	case "oom":
		e.Tone = ToneBad
		e.Detail = "out of memory"
	case "kill":
		e.Tone = ToneWarn
		if ev.Signal != "" {
			e.Detail = "signal " + ev.Signal
		}
	case "stop", "pause", "destroy":
		e.Tone = ToneIdle
	case live.ActionDisconnected:
		e.Action = "stream down"
		e.Tone = ToneBad
		e.Detail = ev.Err + " (retrying)"
	case live.ActionConnected:
		e.Action = "stream up"
		e.Tone = ToneDim
		e.Detail = "following the hub's Docker events"
	}
	return e
}

// AuditEvent is an audit log record as the Events view shows it.
func AuditEvent(r live.Record) Event {
	src := r.Source
	if src == "" { // records from before the field were all watch's
		src = "watch"
	}
	e := Event{Time: r.Time, Source: src, Hub: r.Hub, Pub: r.Pub, Action: r.Action}
	var parts []string
	if r.Reason != "" {
		parts = append(parts, r.Reason)
	}
	if r.Result != "" {
		parts = append(parts, r.Result)
	}
	if r.Duration > 0 {
		parts = append(parts, r.Duration.Round(time.Millisecond).String())
	}
	if r.Error != "" {
		parts = append(parts, r.Error)
		e.Tone = ToneBad
	}
	if r.Actor != "" && src != "watch" {
		parts = append(parts, "by "+r.Actor)
	}
	switch strings.ToLower(r.Result) {
	case "ok", "success", "done":
		if e.Tone == ToneNormal {
			e.Tone = ToneOK
		}
	case "error", "failed", "failure":
		e.Tone = ToneBad
	}
	if r.Action == "?" {
		parts = append(parts, r.Raw)
	}
	e.Detail = strings.Join(parts, " · ")
	return e
}
