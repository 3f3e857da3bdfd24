package tui

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/api/types/container"

	"github.com/buttctl/buttctl/ops/live"
	"github.com/buttctl/buttctl/ops/pubs"
)

// Every view, golden at 80×24 (the smallest usable size) and 200×60 (room
// to use), dark palette, 16 colours.

var sizes = []struct {
	name string
	w, h int
}{{"80x24", 80, 24}, {"200x60", 200, 60}}

func TestGoldenPubs(t *testing.T) {
	for _, s := range sizes {
		m := newTestModel(t, s.w, s.h, testOptions())
		golden(t, "pubs_"+s.name, screen(m))
	}
}

func TestGoldenPubsGroupedByHub(t *testing.T) {
	m := newTestModel(t, 80, 24, testOptions())
	press(m, "H")
	golden(t, "pubs_grouped_80x24", screen(m))
}

func TestGoldenHubs(t *testing.T) {
	for _, s := range sizes {
		m := newTestModel(t, s.w, s.h, testOptions())
		press(m, "shift+tab")
		if m.view != viewHubs {
			t.Fatalf("shift+tab from Pubs: view %v", m.view)
		}
		golden(t, "hubs_"+s.name, screen(m))
	}
}

func TestGoldenLightPalette(t *testing.T) {
	opts := testOptions()
	opts.Dark = ptr(false)
	m := newTestModel(t, 80, 24, opts)
	golden(t, "pubs_light_80x24", screen(m))
	dark := newTestModel(t, 80, 24, testOptions())
	if screen(dark) == screen(m) {
		t.Error("the light palette looks the same as the dark one")
	}
}

// inspection is what the engine says of scuttle-2, for the detail view.
func inspection(t testing.TB) pubs.Inspection {
	t.Helper()
	c := container.InspectResponse{
		ID:           "2222222222222222abcdef",
		RestartCount: 3,
		State: &container.State{Status: "running", Running: true, StartedAt: clock.Add(-12 * time.Minute).Format(time.RFC3339Nano),
			Health: &container.Health{Status: container.Unhealthy, FailingStreak: 4, Log: []*container.HealthcheckResult{
				{End: clock.Add(-4 * time.Second), ExitCode: 1, Output: "Error: connect ECONNREFUSED /home/node/.ssb/socket\n"},
				{End: clock.Add(-2 * time.Second), ExitCode: 1, Output: "Error: connect ECONNREFUSED /home/node/.ssb/socket\n"},
			}}},
		Config: &container.Config{Image: "ahdinosaur/ssb-pub"},
	}
	raw, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	return pubs.Inspection{Status: pubs.Status{Name: "scuttle-2", Drift: true}, Container: raw}
}

func TestGoldenDetail(t *testing.T) {
	for _, s := range sizes {
		m := newTestModel(t, s.w, s.h, testOptions())
		m.pubTable.selectKey("scuttle-2")
		if cmd := press(m, "enter"); cmd == nil {
			t.Fatal("opening a pub asks its engine about it: want a command")
		}
		if m.view != viewDetail || m.detail.pub != "scuttle-2" {
			t.Fatalf("enter on scuttle-2: view %v", m.view)
		}
		m.Update(engineEventsMsg{gen: m.gen, events: []live.Event{{Hub: "hub-1", Pub: "scuttle-2", Action: "health_status", Health: "unhealthy", Time: clock.Add(-time.Second)}}})
		m.Update(inspectMsg{gen: m.gen, pub: "scuttle-2", ins: inspection(t)})
		golden(t, "detail_"+s.name, screen(m))
	}
}

func TestGoldenEvents(t *testing.T) {
	m := newTestModel(t, 80, 24, testOptions())
	code := 137
	m.Update(engineEventsMsg{gen: m.gen, events: []live.Event{
		{Hub: "hub-1", Pub: "scuttle-1", Action: "kill", Signal: "9", Time: clock.Add(-3 * time.Second)},
		{Hub: "hub-1", Pub: "scuttle-1", Action: "die", ExitCode: &code, Time: clock.Add(-3 * time.Second)},
		{Hub: "hub-1", Pub: "scuttle-1", Action: "start", Time: clock.Add(-2 * time.Second)},
		{Hub: "hub-3", Action: live.ActionDisconnected, Err: "hub-3: ssh: dial tcp 10.0.0.3:22: connect: connection refused", Time: clock.Add(-time.Second)},
	}})
	m.Update(auditMsg{records: []live.Record{{Time: clock, Source: "watch", Hub: "hub-2", Pub: "scuttle-3", Action: "start", Reason: "down", Result: "ok"}}})
	press(m, ":")
	typeText(m, "events")
	press(m, "enter")
	if m.view != viewEvents {
		t.Fatalf(":events: view %v", m.view)
	}
	golden(t, "events_80x24", screen(m))
}

func TestGoldenPlan(t *testing.T) {
	for _, s := range sizes {
		m := newTestModel(t, s.w, s.h, testOptions())
		press(m, ":")
		typeText(m, "plan")
		press(m, "enter")
		golden(t, "plan_"+s.name, screen(m))
	}
}

// logFixture opens merged logs of two pubs and feeds them lines.
func logFixture(t *testing.T, w, h int) *Model {
	m := newTestModel(t, w, h, testOptions())
	press(m, ":")
	typeText(m, "logs scuttle-1 scuttle-2")
	cmd := press(m, "enter")
	if cmd == nil || m.view != viewLogs {
		t.Fatalf("`:logs` opens the Logs view with a follow command (view %v)", m.view)
	}
	var lines []logLine
	for i := range 30 {
		lines = append(lines, logLine{src: i % 2, text: fmt.Sprintf("line %d: peer connected from net:10.1.0.%d:8008~shs:abc", i, i)})
	}
	lines = append(lines, logLine{src: 1, text: "Error: connect ECONNREFUSED /home/node/.ssb/socket", stderr: true})
	m.Update(logLinesMsg{session: m.logs.session, lines: lines, open: true})
	return m
}

func TestGoldenLogs(t *testing.T) {
	for _, s := range sizes {
		m := logFixture(t, s.w, s.h)
		golden(t, "logs_"+s.name, screen(m))
	}
	m := logFixture(t, 80, 24)
	screen(m) // a search starts at the top of what is on screen
	press(m, "/")
	typeText(m, "peer")
	press(m, "enter")
	press(m, "w")
	golden(t, "logs_search_wrap_80x24", screen(m))
}

func TestGoldenDialogs(t *testing.T) {
	m := newTestModel(t, 80, 24, testOptions())
	press(m, "r")
	golden(t, "dialog_restart_80x24", screen(m))

	m = newTestModel(t, 80, 24, testOptions())
	press(m, "n")
	golden(t, "dialog_new_pub_80x24", screen(m))

	m = newTestModel(t, 80, 24, testOptions())
	press(m, "?")
	golden(t, "help_80x24", screen(m))
}

func TestGoldenInputLines(t *testing.T) {
	m := newTestModel(t, 80, 24, testOptions())
	press(m, "/")
	typeText(m, "!scuttle")
	golden(t, "filter_inverse_80x24", screen(m))

	m = newTestModel(t, 80, 24, testOptions())
	press(m, ":")
	typeText(m, "logs scu")
	golden(t, "cmdline_80x24", screen(m))
}

func TestGoldenReadOnly(t *testing.T) {
	opts := testOptions()
	opts.ReadOnly = true
	m := newTestModel(t, 80, 24, opts)
	press(m, "K")
	golden(t, "readonly_80x24", screen(m))
}

// Every screen is exactly the terminal's size: no line wider, none missing
// (a shorter or wider frame is what flickers).
func TestEveryViewFillsTheScreenExactly(t *testing.T) {
	for _, s := range []struct{ w, h int }{{80, 24}, {200, 60}, {41, 9}, {133, 41}} {
		m := logFixture(t, s.w, s.h)
		for _, v := range []view{viewHubs, viewPubs, viewLogs, viewPlan, viewEvents, viewDetail} {
			m.view = v
			if v == viewDetail {
				m.detail = &detailView{st: &m.styles, pub: "scuttle-1"}
			}
			lines := strings.Split(plain(m), "\n")
			if len(lines) != s.h {
				t.Errorf("%dx%d view %d: %d lines", s.w, s.h, v, len(lines))
			}
			for i, l := range lines {
				if n := width(l); n != s.w {
					t.Errorf("%dx%d view %d line %d: %d cells: %q", s.w, s.h, v, i, n, l)
					break
				}
			}
		}
	}
}

func TestTooSmall(t *testing.T) {
	m := newTestModel(t, 30, 6, testOptions())
	if got := plain(m); !strings.Contains(got, "at least 40×8") {
		t.Errorf("a tiny terminal is told the size needed: %q", got)
	}
}
