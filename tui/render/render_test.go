package render

import (
	"strings"
	"testing"
	"time"

	"github.com/buttctl/buttctl/ops/engine"
	"github.com/buttctl/buttctl/ops/fleet"
	"github.com/buttctl/buttctl/ops/hubs"
	"github.com/buttctl/buttctl/ops/live"
)

var now = time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)

func cellTexts(r Row) []string {
	out := make([]string, len(r.Cells))
	for i, c := range r.Cells {
		out[i] = c.Text
	}
	return out
}

func TestAge(t *testing.T) {
	for d, want := range map[time.Duration]string{
		-time.Second:                  "0s",
		45 * time.Second:              "45s",
		12*time.Minute + time.Second:  "12m",
		3*time.Hour + 5*time.Minute:   "3h5m",
		2 * time.Hour:                 "2h",
		4*24*time.Hour + 3*time.Hour:  "4d3h",
		10 * 24 * time.Hour:           "10d",
		23*time.Hour + 59*time.Minute: "23h59m",
	} {
		if got := Age(d); got != want {
			t.Errorf("Age(%v) = %q, want %q", d, got, want)
		}
	}
}

func TestBytes(t *testing.T) {
	for n, want := range map[int64]string{
		512:                     "512B",
		1536:                    "1.5K",
		512 << 20:               "512M",
		20 << 30:                "20G",
		3 << 29:                 "1.5G",
		int64(1.25 * (1 << 40)): "1.2T",
	} {
		if got := Bytes(n); got != want {
			t.Errorf("Bytes(%d) = %q, want %q", n, got, want)
		}
	}
}

func TestCompareNumericAndText(t *testing.T) {
	if Compare(Number("9", 9, 0), Number("10", 10, 0)) >= 0 {
		t.Error("numeric cells must sort by number, not text")
	}
	if Compare(Text("Beta"), Text("alpha")) <= 0 {
		t.Error("text cells sort case-insensitively")
	}
}

func TestPubRowRunning(t *testing.T) {
	started := now.Add(-3*time.Hour - 5*time.Minute)
	p := Pub{
		Pub: fleet.Pub{Name: "scuttle-1", Hub: "hub-1", Want: "running", Status: fleet.StatusRunning,
			Container: &fleet.Container{State: "running", Health: "healthy", Restarts: 2, StartedAt: &started, Image: "ahdinosaur/ssb-pub:latest"}},
		Image: "ahdinosaur/ssb-pub", Port: 8008, Identity: "@abc=.ed25519",
	}
	r := PubRow(p, now)
	want := []string{"scuttle-1", "hub-1", "running", "healthy", "3h5m", "2", "ahdinosaur/ssb-pub:latest", "8008", "@abc=.ed25519", ""}
	if got := cellTexts(r); strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("cells:\n got %q\nwant %q", got, want)
	}
	if r.Key != "scuttle-1" || r.Group != "hub-1" {
		t.Errorf("key/group = %q/%q", r.Key, r.Group)
	}
	if r.Cells[2].Tone != ToneOK || r.Cells[3].Tone != ToneOK || r.Cells[5].Tone != ToneWarn {
		t.Errorf("tones: status %v health %v restarts %v", r.Cells[2].Tone, r.Cells[3].Tone, r.Cells[5].Tone)
	}
	if !r.Cells[4].Numeric || r.Cells[4].Num != (3*time.Hour+5*time.Minute).Seconds() {
		t.Errorf("uptime must sort by seconds: %+v", r.Cells[4])
	}
}

func TestStatusTonesFollowThePalette(t *testing.T) {
	for s, want := range map[fleet.PubStatus]Tone{
		fleet.StatusRunning:   ToneOK,
		fleet.StatusUnhealthy: ToneWarn,
		fleet.StatusDown:      ToneBad,
		fleet.StatusMissing:   ToneBad,
		fleet.StatusUnknown:   ToneBad,
		fleet.StatusStopped:   ToneIdle,
		fleet.StatusUnplaced:  ToneIdle,
		fleet.StatusStarting:  ToneBusy,
	} {
		if got := StatusTone(s); got != want {
			t.Errorf("StatusTone(%s) = %v, want %v", s, got, want)
		}
	}
}

func TestStatusSortsWorstFirst(t *testing.T) {
	down := PubStatus(Pub{Pub: fleet.Pub{Status: fleet.StatusDown}})
	unhealthy := PubStatus(Pub{Pub: fleet.Pub{Status: fleet.StatusUnhealthy}})
	running := PubStatus(Pub{Pub: fleet.Pub{Status: fleet.StatusRunning}})
	if Compare(down, unhealthy) >= 0 || Compare(unhealthy, running) >= 0 {
		t.Error("down < unhealthy < running when sorting by status")
	}
	if c := PubStatus(Pub{}); c.Text != "…" || c.Tone != ToneBusy {
		t.Errorf("a pub not observed yet shows %q (tone %v), want … busy", c.Text, c.Tone)
	}
}

func TestPubNotes(t *testing.T) {
	cases := []struct {
		p    Pub
		want string
		tone Tone
	}{
		{Pub{Busy: "restarting", Spinner: "⠋"}, "⠋ restarting…", ToneBusy},
		{Pub{Err: "hub-1: boom\nsecond line"}, "hub-1: boom second line", ToneBad},
		{Pub{Pub: fleet.Pub{Status: fleet.StatusMissing, HasVolume: true}}, "no container (s creates it; its volume is kept)", ToneBad},
		{Pub{Pub: fleet.Pub{Status: fleet.StatusRunning, Drift: true}}, "drift: the inventory's spec changed", ToneWarn},
		{Pub{Pub: fleet.Pub{Status: fleet.StatusUnknown, Error: "hub-3: ssh: connection refused"}}, "hub-3: ssh: connection refused", ToneBad},
		{Pub{Pub: fleet.Pub{Status: fleet.StatusDown, Container: &fleet.Container{State: "exited"}}}, "not running: exited", ToneBad},
	}
	for _, c := range cases {
		n := PubRow(c.p, now).Cells[9]
		if n.Text != c.want || n.Tone != c.tone {
			t.Errorf("note = %q (%v), want %q (%v)", n.Text, n.Tone, c.want, c.tone)
		}
	}
}

func TestPubRowMarkedAndUnplaced(t *testing.T) {
	r := PubRow(Pub{Pub: fleet.Pub{Name: "p", Status: fleet.StatusUnplaced}, Marked: true}, now)
	if r.Cells[0].Text != "+p" || r.Cells[1].Text != "-" || r.Cells[1].Tone != ToneDim {
		t.Errorf("marked unplaced pub: %q", cellTexts(r))
	}
}

func TestHubRows(t *testing.T) {
	up := Hub{Name: "hub-1", Capacity: 20, Placed: 3, Running: 3,
		Observed: &fleet.Hub{Name: "hub-1", Reachable: true, Engine: &engine.Info{Version: "20.10.24", CPUs: 2}},
		Facts:    &hubs.Facts{Reachable: true, SSHLatencyMS: 2.345, Load: [3]float64{2.5, 1, 1}, DiskFreeBytes: 4 << 30, DiskTotalBytes: 100 << 30, DockerVersion: "20.10.24"},
		Cloud:    "ACTIVE"}
	r := HubRow(up)
	want := []string{"hub-1", "up", "ACTIVE", "2.3ms", "3/20", "2.50", "4G 4%", "20.10.24", "3 running"}
	if got := cellTexts(r); strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("up hub:\n got %q\nwant %q", got, want)
	}
	if r.Cells[5].Tone != ToneWarn {
		t.Error("a load above the CPU count is yellow")
	}
	if r.Cells[6].Tone != ToneBad {
		t.Error("less than 5% disk free is red")
	}
	if r.Cells[2].Tone != ToneOK {
		t.Error("an ACTIVE server is green")
	}

	down := HubRow(Hub{Name: "hub-3", Placed: 2, Observed: &fleet.Hub{Name: "hub-3", Error: "hub-3: ssh: dial tcp 10.0.0.3:22: connection refused"}})
	if down.Cells[1].Text != "down" || down.Cells[1].Tone != ToneBad {
		t.Errorf("unreachable hub state: %+v", down.Cells[1])
	}
	if n := down.Cells[8]; n.Text != "hub-3: ssh: dial tcp 10.0.0.3:22: connection refused" || n.Tone != ToneBad {
		t.Errorf("an unreachable hub's error is shown in full, in red: %+v", n)
	}
	timeout := HubRow(Hub{Name: "hub-4", Observed: &fleet.Hub{TimedOut: true, Error: "hub-4: did not answer within 10s"}})
	if timeout.Cells[1].Text != "timeout" {
		t.Errorf("timed-out hub: %q", timeout.Cells[1].Text)
	}
	pending := HubRow(Hub{Name: "hub-5", Spinner: "⠋"})
	if pending.Cells[1].Text != "⠋ …" || pending.Cells[1].Tone != ToneBusy {
		t.Errorf("a hub not observed yet spins: %+v", pending.Cells[1])
	}
	slow := HubRow(Hub{Name: "hub-6", Slow: true, Spinner: "⠙", Observed: &fleet.Hub{Reachable: true}})
	if slow.Cells[1].Text != "⠙ slow" || slow.Cells[1].Tone != ToneWarn {
		t.Errorf("a slow hub spins in yellow: %+v", slow.Cells[1])
	}
	local := HubRow(Hub{Name: "local", Local: true, Placed: 25, Capacity: 20, Observed: &fleet.Hub{Reachable: true}})
	if local.Cells[3].Text != "local" || local.Cells[4].Tone != ToneBad {
		t.Errorf("local hub: ssh %q, over capacity tone %v", local.Cells[3].Text, local.Cells[4].Tone)
	}
}

func TestEngineEvents(t *testing.T) {
	code := 137
	cases := []struct {
		ev     live.Event
		action string
		detail string
		tone   Tone
	}{
		{live.Event{Action: "die", ExitCode: &code}, "die", "exit code 137", ToneBad},
		{live.Event{Action: "health_status", Health: "unhealthy"}, "health", "unhealthy", ToneWarn},
		{live.Event{Action: "start"}, "start", "", ToneOK},
		{live.Event{Action: "kill", Signal: "9"}, "kill", "signal 9", ToneWarn},
		{live.Event{Action: live.ActionDisconnected, Err: "hub-2: EOF"}, "stream down", "hub-2: EOF (retrying)", ToneBad},
	}
	for _, c := range cases {
		e := EngineEvent(c.ev)
		if e.Action != c.action || e.Detail != c.detail || e.Tone != c.tone || e.Source != "engine" {
			t.Errorf("%s: got %+v", c.ev.Action, e)
		}
	}
}

func TestAuditEvent(t *testing.T) {
	e := AuditEvent(live.Record{Source: "watch", Hub: "hub-1", Pub: "p", Action: "kill", Reason: "unhealthy for 30s", Result: "ok", Duration: 1500 * time.Millisecond})
	if e.Detail != "unhealthy for 30s · ok · 1.5s" || e.Tone != ToneOK || e.Source != "watch" {
		t.Errorf("%+v", e)
	}
	bad := AuditEvent(live.Record{Action: "start", Error: "hub-1: no such image"})
	if bad.Tone != ToneBad || bad.Source != "watch" || !strings.Contains(bad.Detail, "no such image") {
		t.Errorf("%+v", bad)
	}
	cli := AuditEvent(live.Record{Source: "cli", Actor: "ann@ops-1", Hub: "hub-1", Pub: "p", Action: "restart", Result: "ok", Duration: 300 * time.Millisecond})
	if cli.Detail != "ok · 300ms · by ann@ops-1" || cli.Source != "cli" || cli.Tone != ToneOK {
		t.Errorf("who did it is said: %+v", cli)
	}
}

func TestEventRowsOrderByTime(t *testing.T) {
	a := EventRow(Event{Time: now, Seq: 2})
	b := EventRow(Event{Time: now.Add(time.Second), Seq: 1})
	if a.Key >= b.Key {
		t.Errorf("keys must order by time: %q vs %q", a.Key, b.Key)
	}
}

func TestPlanRowsAndSummary(t *testing.T) {
	steps := []PlanStep{
		{Op: "+", Action: "create", Pub: "a", Hub: "h", Index: 0},
		{Op: "~", Action: "start", Pub: "b", Hub: "h", Index: 1, State: "failed", Err: "h: boom"},
		{Op: "-", Action: "orphan", Pub: "c", Hub: "h", Index: 2, Manual: true},
		{Op: "~", Action: "stop", Pub: "d", Hub: "h", Index: 3, State: "running"},
	}
	progress := []string{"pending", "✗ h: boom", "needs you", "⠋ running"}
	for i, s := range steps {
		if got := PlanRow(s, "⠋").Cells[6].Text; got != progress[i] {
			t.Errorf("step %d progress %q, want %q", i, got, progress[i])
		}
	}
}

func TestOneLine(t *testing.T) {
	if got := OneLine("  a\n\tb  c\r\n"); got != "a b c" {
		t.Errorf("%q", got)
	}
}
