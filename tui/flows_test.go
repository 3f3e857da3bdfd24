package tui

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/buttctl/buttctl/inventory"
	"github.com/buttctl/buttctl/ops/fleet"
	"github.com/buttctl/buttctl/ops/identity"
	"github.com/buttctl/buttctl/ops/live"
	"github.com/buttctl/buttctl/ops/provision"
)

func TestFilterSubstringInverseFuzzy(t *testing.T) {
	m := newTestModel(t, 80, 24, testOptions())
	press(m, "/")
	if m.inputKind != inputFilter {
		t.Fatal("/ opens the filter")
	}
	typeText(m, "scut")
	if n := m.pubTable.len(); n != 5 {
		t.Errorf("/scut keeps %d pubs, want the 5 scuttles", n)
	}
	press(m, "enter")
	if m.inputKind != inputNone || m.pubTable.len() != 5 {
		t.Error("enter keeps the filter and closes the input")
	}
	if !strings.Contains(plain(m), "scuttle-5") || strings.Contains(plain(m), "backyard") {
		t.Error("the screen shows the filtered rows")
	}
	press(m, "/")
	for range 4 {
		press(m, "backspace")
	}
	typeText(m, "!scuttle")
	if n := m.pubTable.len(); n != 2 {
		t.Errorf("/!scuttle keeps %d pubs, want backyard and newcomer", n)
	}
	press(m, "esc")
	if m.pubTable.len() != 7 || m.inputKind != inputNone {
		t.Error("esc clears the filter")
	}
	press(m, "/")
	typeText(m, "~sc5")
	if n, sel := m.pubTable.len(), m.pubTable.selected(); n != 1 || sel != "scuttle-5" {
		t.Errorf("/~sc5 (fuzzy) keeps %d, selected %q; want scuttle-5 alone", n, sel)
	}
	press(m, "enter")
	// the filter matches any column: the hub, the status
	press(m, "/")
	press(m, "backspace", "backspace", "backspace", "backspace")
	typeText(m, "unknown")
	if m.pubTable.len() != 1 || m.pubTable.selected() != "scuttle-5" {
		t.Errorf("/unknown matches the status column: %d rows", m.pubTable.len())
	}
	press(m, "enter", "esc")
	if m.pubTable.len() != 7 {
		t.Error("esc in the list clears a kept filter")
	}
}

func TestSortByColumnAndGroup(t *testing.T) {
	m := newTestModel(t, 200, 60, testOptions())
	press(m, "3") // STATUS: worst first
	m.pubTable.ensure()
	if first := m.pubTable.view[0].Key; first != "scuttle-3" {
		t.Errorf("sorted by status, first row is %s; want the down pub scuttle-3", first)
	}
	press(m, "3")
	m.pubTable.ensure()
	if first := m.pubTable.view[0].Key; first != "scuttle-1" {
		t.Errorf("sorted by status reversed, first row is %s; want the running scuttle-1", first)
	}
	press(m, "5") // UPTIME
	if !m.pubTable.cols[m.pubTable.sortCol].Right || m.pubTable.cols[m.pubTable.sortCol].Title != "UPTIME" {
		t.Errorf("5 sorts by the 5th column on screen, got %s", m.pubTable.cols[m.pubTable.sortCol].Title)
	}
	press(m, "1", "H")
	m.pubTable.ensure()
	var order []string
	for _, r := range m.pubTable.view {
		order = append(order, r.Key)
	}
	if got := strings.Join(order, " "); got != "scuttle-1 scuttle-2 scuttle-3 scuttle-4 scuttle-5 backyard newcomer" {
		t.Errorf("grouped by hub in inventory order: %s", got)
	}
	if !strings.Contains(plain(m), "▾ hub-3 · down · 1/5 pubs · hub-3: Docker engine unreachable") {
		t.Error("an unreachable hub's group says so with its error")
	}
}

func TestDrillDownAndBack(t *testing.T) {
	m := newTestModel(t, 80, 24, testOptions())
	press(m, "shift+tab")
	m.hubTable.selectKey("hub-2")
	press(m, "enter")
	if m.view != viewPubs || m.scope != "hub-2" || m.pubTable.len() != 2 {
		t.Fatalf("enter on hub-2: view %v scope %q rows %d", m.view, m.scope, m.pubTable.len())
	}
	if !strings.Contains(plain(m), "Pubs@hub-2") {
		t.Error("the tab says which hub's pubs are shown")
	}
	m.pubTable.selectKey("scuttle-3")
	if cmd := press(m, "enter"); cmd == nil || m.view != viewDetail || m.detail.pub != "scuttle-3" {
		t.Fatalf("enter on a pub opens its detail and inspects it (view %v)", m.view)
	}
	m.Update(inspectMsg{gen: m.gen, pub: "scuttle-3", err: errors.New("hub-2: no such container")})
	if !strings.Contains(plain(m), "hub-2: no such container") {
		t.Error("the detail shows why the engine could not describe the pub")
	}
	press(m, "esc")
	if m.view != viewPubs || m.scope != "hub-2" {
		t.Errorf("esc from the detail: view %v scope %q", m.view, m.scope)
	}
	press(m, "esc")
	if m.view != viewHubs || m.scope != "" || m.hubTable.selected() != "hub-2" {
		t.Errorf("esc from a hub's pubs goes back to the hub: view %v scope %q selected %s", m.view, m.scope, m.hubTable.selected())
	}
}

func TestRestartConfirmAndCancel(t *testing.T) {
	m := newTestModel(t, 160, 24, testOptions())
	m.pubTable.selectKey("scuttle-1")
	if cmd := press(m, "r"); cmd != nil {
		t.Fatal("r only asks: no command before the answer")
	}
	d, ok := m.dialog.(*confirmDialog)
	if !ok || !strings.Contains(plain(m), "Restart pub scuttle-1 on hub hub-1?") {
		t.Fatalf("r asks for confirmation naming the pub and its hub: %T\n%s", m.dialog, plain(m))
	}
	if d.act.kind != actRestart || d.act.pub != "scuttle-1" {
		t.Errorf("dialog action %+v", d.act)
	}
	if cmd := press(m, "n"); cmd != nil || m.dialog != nil || m.pubs["scuttle-1"].busy != "" {
		t.Fatal("n cancels: no dialog, no command, nothing under way")
	}
	press(m, "r")
	press(m, "esc")
	if m.dialog != nil {
		t.Fatal("esc cancels too")
	}
	press(m, "r")
	cmd := press(m, "y")
	if cmd == nil || m.dialog != nil {
		t.Fatal("y confirms and starts the restart")
	}
	if ps := m.pubs["scuttle-1"]; ps.busy != "restarting" || !strings.Contains(lineWith(plain(m), "scuttle-1"), "restarting…") {
		t.Errorf("the pub's row says it is restarting: %q", lineWith(plain(m), "scuttle-1"))
	}
	m.Update(actionDoneMsg{gen: m.gen, act: action{kind: actRestart, pub: "scuttle-1", hub: "hub-1"}, result: "restarted pub scuttle-1 on hub-1"})
	if m.pubs["scuttle-1"].busy != "" || !strings.Contains(plain(m), "restarted pub scuttle-1 on hub-1") {
		t.Error("when done, the row is back and the status line says so")
	}
	if e := m.events.last(); e.Source != "console" || e.Action != "restart" || e.Pub != "scuttle-1" || e.Hub != "hub-1" {
		t.Errorf("what you did is an event: %+v", e)
	}
	// a failure shows in red on the row and the status line
	press(m, "r", "y")
	m.Update(actionDoneMsg{gen: m.gen, act: action{kind: actRestart, pub: "scuttle-1", hub: "hub-1"}, err: errors.New("pub scuttle-1 on hub-1: engine said no")})
	if !strings.Contains(lineWith(plain(m), "›scuttle-1"), "pub scuttle-1 on hub-1: engin") || !strings.Contains(plain(m), "✗ pub scuttle-1 on hub-1: engine said no") {
		t.Errorf("a failed action says why:\n%s", plain(m))
	}
}

func TestStartStopKillDeleteConfirmations(t *testing.T) {
	m := newTestModel(t, 80, 24, testOptions())
	m.pubTable.selectKey("scuttle-1")
	press(m, "s")
	if d, ok := m.dialog.(*confirmDialog); !ok || d.act.kind != actStop {
		t.Fatalf("s on a running pub asks to stop it: %#v", m.dialog)
	}
	press(m, "n")
	m.pubTable.selectKey("scuttle-3")
	if cmd := press(m, "s"); cmd == nil || m.dialog != nil || m.pubs["scuttle-3"].busy != "starting" {
		t.Error("s on a down pub starts it at once (nothing to confirm)")
	}
	m.pubTable.selectKey("scuttle-2")
	press(m, "K")
	if !strings.Contains(plain(m), "Kill pub scuttle-2 on hub hub-1?") {
		t.Error("K asks, naming the pub")
	}
	press(m, "esc")
	press(m, "d")
	if !strings.Contains(plain(m), "Delete pub scuttle-2 on hub hub-1?") || !strings.Contains(plain(m), "identity") {
		t.Error("d asks, naming the pub and saying its identity is kept")
	}
	press(m, "esc")
	m.pubTable.selectKey("scuttle-5")
	if cmd := press(m, "s"); cmd != nil || !strings.Contains(m.lastErr, "has not answered") {
		t.Errorf("s on a pub of an unreachable hub says why it cannot: %q", m.lastErr)
	}
}

func TestDeletingAHubNeedsItsName(t *testing.T) {
	m := newTestModel(t, 80, 24, testOptions())
	press(m, "shift+tab")
	m.hubTable.selectKey("hub-1")
	press(m, "d")
	if m.dialog != nil || !strings.Contains(m.lastErr, "still has pubs (scuttle-1, scuttle-2)") {
		t.Fatalf("a hub with pubs cannot be deleted: %q", m.lastErr)
	}
	m.Update(inventoryMsg{inv: parseFixture(t, strings.Replace(fixture, "  - {name: hub-2, address: 10.0.0.2}\n", "  - {name: hub-2, address: 10.0.0.2}\n  - {name: spare, address: 10.0.0.9}\n", 1))})
	m.hubTable.selectKey("spare")
	press(m, "d")
	if _, ok := m.dialog.(*typeNameDialog); !ok {
		t.Fatalf("deleting a hub asks for its name: %T", m.dialog)
	}
	typeText(m, "spar")
	if cmd := press(m, "enter"); cmd != nil || m.dialog == nil || !strings.Contains(plain(m), "type spare exactly") {
		t.Fatal("a wrong name confirms nothing")
	}
	typeText(m, "e")
	if cmd := press(m, "enter"); cmd == nil || m.dialog != nil || m.hubs["spare"].busy != "deleting" {
		t.Fatal("the hub's name confirms")
	}
}

func TestCommandLine(t *testing.T) {
	m := newTestModel(t, 80, 24, testOptions())
	press(m, ":")
	typeText(m, "lo")
	if g, _ := m.ghost(); g != "gs" {
		t.Errorf("the ghost completion of :lo is %q, want gs", g)
	}
	press(m, "tab")
	if got := m.input.String(); got != "logs " {
		t.Fatalf("tab completes the command: %q", got)
	}
	typeText(m, "scu")
	press(m, "tab")
	if got := m.input.String(); got != "logs scuttle-" {
		t.Fatalf("tab completes the common prefix of pub names: %q", got)
	}
	press(m, "tab")
	press(m, "tab")
	if got := m.input.String(); got != "logs scuttle-2" {
		t.Fatalf("more tabs cycle through the candidates: %q", got)
	}
	if cmd := press(m, "enter"); cmd == nil || m.view != viewLogs || strings.Join(m.logs.sources, ",") != "scuttle-2" {
		t.Fatalf(":logs scuttle-2 follows its logs: view %v sources %v", m.view, m.logs.sources)
	}
	press(m, ":")
	typeText(m, "hubs")
	press(m, "enter")
	if m.view != viewHubs {
		t.Fatal(":hubs")
	}
	press(m, ":", "up")
	if got := m.input.String(); got != "hubs" {
		t.Errorf("↑ recalls the last command: %q", got)
	}
	press(m, "up")
	if got := m.input.String(); got != "logs scuttle-2" {
		t.Errorf("↑ again, the one before: %q", got)
	}
	press(m, "down", "down")
	if got := m.input.String(); got != "" {
		t.Errorf("↓ past the newest is an empty line: %q", got)
	}
	typeText(m, "pubs hub-3")
	press(m, "enter")
	if m.view != viewPubs || m.scope != "hub-3" {
		t.Errorf(":pubs hub-3: view %v scope %q", m.view, m.scope)
	}
	press(m, ":")
	typeText(m, "frobnicate")
	press(m, "enter")
	if !strings.Contains(m.lastErr, "unknown command :frobnicate; try :hubs") {
		t.Errorf("an unknown command says what exists: %q", m.lastErr)
	}
	press(m, ":")
	typeText(m, "logs nosuch")
	press(m, "enter")
	if !strings.Contains(m.lastErr, "no pub nosuch") {
		t.Errorf(":logs of an unknown pub: %q", m.lastErr)
	}
	press(m, ":")
	typeText(m, "events")
	press(m, "enter")
	if m.view != viewEvents {
		t.Error(":events")
	}
	press(m, ":", "backspace")
	if m.inputKind != inputNone {
		t.Error("backspace on an empty command line closes it")
	}
	press(m, ":")
	typeText(m, "quit")
	if cmd := press(m, "enter"); cmd == nil || !m.quitting {
		t.Error(":quit quits")
	}
}

func TestReadOnlyHidesAndRefuses(t *testing.T) {
	opts := testOptions()
	opts.ReadOnly = true
	m := newTestModel(t, 200, 60, opts)
	screen := plain(m)
	for _, hidden := range []string{"restart", "start/stop", "kill", " new"} {
		if strings.Contains(lineWith(screen, "enter open"), hidden) {
			t.Errorf("read-only: the help bar still offers %q", hidden)
		}
	}
	if !strings.Contains(screen, "read-only") {
		t.Error("the status line says read-only")
	}
	for _, k := range []string{"r", "s", "K", "d", "n", "i", "m", "b"} {
		m.lastErr = ""
		if cmd := press(m, k); cmd != nil || m.dialog != nil {
			t.Errorf("read-only: %s did something", k)
		}
		if !strings.Contains(m.lastErr, "read-only") {
			t.Errorf("read-only: %s is refused without saying so: %q", k, m.lastErr)
		}
	}
	if cmd := m.do(action{kind: actRestart, pub: "scuttle-1"}); cmd != nil || m.pubs["scuttle-1"].busy != "" {
		t.Error("read-only: an action that gets through anyway is refused")
	}
	press(m, "w")
	if m.lastErr == "" || strings.Contains(m.lastErr, "refused") {
		t.Log("whoami is not a mutation")
	}
}

func TestEngineEventsUpdateRowsAtOnce(t *testing.T) {
	m := newTestModel(t, 80, 24, testOptions())
	send := func(evs ...live.Event) tea.Cmd {
		_, cmd := m.Update(engineEventsMsg{gen: m.gen, events: evs})
		return cmd
	}
	row := func() string { return lineWith(plain(m), "scuttle-1") }
	code := 137
	if cmd := send(live.Event{Hub: "hub-1", Pub: "scuttle-1", Action: "die", ExitCode: &code, Time: clock}); cmd == nil {
		t.Fatal("an event re-arms the stream and schedules a look at its hub")
	}
	if !strings.Contains(row(), "down") {
		t.Errorf("die: %q", row())
	}
	if !m.hubs["hub-1"].queued {
		t.Error("the hub is looked at again shortly after its events")
	}
	send(live.Event{Hub: "hub-1", Pub: "scuttle-1", Action: "start", Time: clock})
	if !strings.Contains(row(), "starting") {
		t.Errorf("start: %q", row())
	}
	send(live.Event{Hub: "hub-1", Pub: "scuttle-1", Action: "health_status", Health: "unhealthy", Time: clock})
	if !strings.Contains(row(), "unhealthy") {
		t.Errorf("health_status unhealthy: %q", row())
	}
	send(live.Event{Hub: "hub-1", Pub: "scuttle-1", Action: "destroy", Time: clock})
	if !strings.Contains(row(), "missing") {
		t.Errorf("destroy: %q", row())
	}
	// events of another generation (an older inventory) are dropped
	m.Update(engineEventsMsg{gen: m.gen + 7, events: []live.Event{{Hub: "hub-1", Pub: "scuttle-2", Action: "die", Time: clock}}})
	if m.pubs["scuttle-2"].obs.Status != fleet.StatusUnhealthy {
		t.Error("a stale generation's events must not apply")
	}
	// the refresh comes: a look at the hub
	hs := m.hubs["hub-1"]
	_, cmd := m.Update(refreshHubMsg{gen: m.gen, hub: "hub-1"})
	if cmd == nil || !hs.inFlight || hs.queued {
		t.Error("the scheduled refresh looks at the hub")
	}
	if _, cmd := m.Update(refreshHubMsg{gen: m.gen, hub: "hub-1"}); cmd != nil || !hs.stale {
		t.Error("a refresh while one is under way marks the hub stale instead of asking twice")
	}
}

func TestUnreachableHubsAreNeverHidden(t *testing.T) {
	m := logFixture(t, 80, 24)
	for _, v := range []view{viewHubs, viewPubs, viewLogs, viewPlan, viewEvents} {
		m.view = v
		if !strings.Contains(plain(m), "✗ hub-3: Docker engine unreachable") {
			t.Errorf("view %d hides the unreachable hub", v)
		}
	}
	// many down hubs: each error, then a count
	m.view = viewPubs
	for _, h := range []string{"hub-1", "hub-2", "local"} {
		m.Update(hubObservedMsg{gen: m.gen, hub: h, snap: &fleet.Snapshot{Hubs: []fleet.Hub{{Name: h, Error: h + ": ssh: handshake failed"}}}})
	}
	if s := plain(m); !strings.Contains(s, "✗ hub-1: ssh: handshake failed") || !strings.Contains(s, "✗ 3 more hubs unreachable") {
		t.Errorf("several hubs down:\n%s", s)
	}
}

func TestSlowHubSpins(t *testing.T) {
	now := clock
	opts := testOptions()
	opts.Now = func() time.Time { return now }
	m := newTestModel(t, 120, 30, opts)
	press(m, "shift+tab")
	if cmd := m.observeHub("hub-2"); cmd == nil || !m.hubs["hub-2"].inFlight {
		t.Fatal("observing a hub marks it in flight")
	}
	if m.observeHub("hub-2") != nil {
		t.Error("a hub is never asked twice at once")
	}
	m.Update(spinTickMsg{})
	if strings.Contains(lineWith(plain(m), "hub-2"), "slow") {
		t.Error("not slow yet")
	}
	now = now.Add(2 * time.Second)
	m.Update(spinTickMsg{})
	if !strings.Contains(lineWith(plain(m), "hub-2"), "slow") {
		t.Errorf("after 2s the hub spins as slow: %q", lineWith(plain(m), "hub-2"))
	}
	// its answer stops the spinner
	for _, msg := range fixtureObservations(m.gen, m.inv)[1:2] {
		m.Update(msg)
	}
	m.Update(spinTickMsg{})
	if strings.Contains(lineWith(plain(m), "hub-2"), "slow") || m.busy() {
		t.Error("the answer ends the spinner, and an idle console stops its clock")
	}
	if _, cmd := m.Update(spinTickMsg{}); cmd != nil {
		t.Error("an idle console does not tick")
	}
}

func TestMouse(t *testing.T) {
	m := newTestModel(t, 80, 24, testOptions())
	plain(m) // a click lands on what was last drawn
	click := func(x, y int) tea.Cmd {
		_, cmd := m.Update(tea.MouseClickMsg{X: x, Y: y, Button: tea.MouseLeft})
		return cmd
	}
	click(5, 5) // body line 3: the 4th pub by name
	if got := m.pubTable.selected(); got != "scuttle-2" {
		t.Errorf("click on the 4th row selects %s", got)
	}
	click(5, 5)
	if m.view != viewDetail || m.detail.pub != "scuttle-2" {
		t.Error("a click on the selected row opens it")
	}
	press(m, "esc")
	m.Update(tea.MouseWheelMsg{X: 5, Y: 5, Button: tea.MouseWheelDown})
	if got := m.pubTable.selected(); got != "scuttle-5" {
		t.Errorf("the wheel moves by 3: %s", got)
	}
	click(20, 1) // the HUB title
	if m.pubTable.cols[m.pubTable.sortCol].Title != "HUB" {
		t.Errorf("a click on a title sorts by it: %s", m.pubTable.cols[m.pubTable.sortCol].Title)
	}
	var hubsX int
	for _, r := range m.tabRanges() {
		if r.v == viewHubs {
			hubsX = r.from + 1
		}
	}
	click(hubsX, 0)
	if m.view != viewHubs {
		t.Error("a click on a tab opens it")
	}
}

func TestNewPubForm(t *testing.T) {
	m := newTestModel(t, 80, 24, testOptions())
	m.pubTable.selectKey("scuttle-1")
	press(m, "n")
	f, ok := m.dialog.(*formDialog)
	if !ok {
		t.Fatalf("n opens the new pub form: %T", m.dialog)
	}
	if v := f.values(); v["name"] != "pub-1" || v["hub"] != "hub-1" || v["port"] != "8010" || v["image"] != "ahdinosaur/ssb-pub" {
		t.Errorf("suggested values: %v", v)
	}
	press(m, "ctrl+c")
	press(m, "n")
	for range 5 {
		press(m, "backspace")
	}
	typeText(m, "Bad Name")
	press(m, "tab", "tab", "tab", "tab", "enter")
	if m.dialog == nil || !strings.Contains(plain(m), `name "Bad Name" is not allowed`) {
		t.Fatalf("a bad name is refused in the form:\n%s", plain(m))
	}
	f = m.dialog.(*formDialog)
	f.fields[0].in.set("relay")
	f.focus = 1
	press(m, "right") // hub-1 → hub-2
	f.fields[4].in.set("8009")
	f.focus = 4
	press(m, "enter")
	if !strings.Contains(plain(m), "port 8009 on hub hub-2 is taken by pub scuttle-4") {
		t.Fatalf("a taken port is refused, naming its pub:\n%s", plain(m))
	}
	f.fields[4].in.set("8010")
	got, err := f.submit(f.values())
	if err != nil || got.kind != actNewPub || got.newPub.Name != "relay" || got.newPub.Hub != "hub-2" || got.newPub.Port != 8010 || got.newPub.Image != "" {
		t.Errorf("the action: %+v, %v", got, err)
	}
	if cmd := press(m, "enter"); cmd == nil || m.dialog != nil {
		t.Fatal("a good form creates the pub")
	}
}

func TestInviteShowsAndCopies(t *testing.T) {
	m := newTestModel(t, 80, 24, testOptions())
	_, cmd := m.Update(inviteMsg{pub: "scuttle-1", code: "pub1.example.org:8008:@LA9HYf5rnUJFHHTklKXLLRyrEytayjbFZRo76Aj/qKs=.ed25519~seed"})
	if cmd == nil {
		t.Fatal("an invite is copied to the clipboard (a command)")
	}
	if msg := cmd(); fmt.Sprintf("%T", msg) != "tea.setClipboardMsg" {
		t.Errorf("the command sets the clipboard with OSC 52: %T", msg)
	}
	if s := plain(m); !strings.Contains(s, "pub1.example.org:8008:@LA9HYf5rnUJFHHTklKXLLRyrEytayjbFZ") || !strings.Contains(s, "Copied to the clipboard") {
		t.Errorf("the invite is shown:\n%s", s)
	}
	press(m, "x")
	if m.dialog != nil {
		t.Error("a key closes it")
	}
}

func TestInventoryReloadKeepsWhatWasSeen(t *testing.T) {
	m := newTestModel(t, 80, 24, testOptions())
	gen := m.gen
	added := strings.Replace(fixture, "  - {name: newcomer}\n", "  - {name: newcomer}\n  - {name: extra, hub: hub-1, port: 8011}\n", 1)
	_, cmd := m.Update(inventoryMsg{inv: parseFixture(t, added)})
	if cmd == nil || m.gen != gen+1 {
		t.Fatal("a new inventory starts a new generation and looks at every hub")
	}
	if m.pubs["scuttle-1"].obs.Status != fleet.StatusRunning || m.pubs["scuttle-1"].identity == "" {
		t.Error("pubs still there keep what was observed of them")
	}
	if _, ok := m.pubs["extra"]; !ok || m.pubTable.len() != 8 {
		t.Error("the new pub is listed")
	}
	// a result of the old generation is dropped
	m.Update(hubObservedMsg{gen: gen, hub: "hub-1", snap: &fleet.Snapshot{Hubs: []fleet.Hub{{Name: "hub-1", Error: "old"}}}})
	if m.hubs["hub-1"].obs.Error == "old" {
		t.Error("an observation of the old inventory was applied")
	}
	_, cmd = m.Update(inventoryMsg{err: errors.New("buttctl.yaml:3:1: bad")})
	if cmd != nil || !strings.Contains(m.lastErr, "keeps the last good one") || m.gen != gen+1 {
		t.Error("a broken inventory is reported and the last good one kept")
	}
}

func TestInventoryChangedOnDiskIsReloaded(t *testing.T) {
	m := newTestModel(t, 80, 24, testOptions())
	if cmd := m.invStat(invStatMsg{mod: clock, watch: "off"}); cmd != nil {
		t.Error("same file: nothing to do")
	}
	if cmd := m.invStat(invStatMsg{mod: clock.Add(time.Second), watch: "on (pid 42)"}); cmd == nil {
		t.Error("a newer file is read again")
	}
	if !strings.Contains(plain(m), "watch: on (pid 42)") {
		t.Error("the status line says who watches")
	}
}

func TestHelpScreen(t *testing.T) {
	m := newTestModel(t, 120, 40, testOptions())
	press(m, "?")
	s := plain(m)
	for _, want := range []string{"restart", "start/stop", "kill", "delete", "move", "backup", "apply", "logs", "whoami", "invite", "reboot hub", "group by hub", "sort by column", "/!text", ":logs NAME..."} {
		if !strings.Contains(s, want) {
			t.Errorf("? does not mention %q", want)
		}
	}
	press(m, "j")
	if m.showHelp {
		t.Error("any key closes the help")
	}
}

func storeOptions(t *testing.T) Options {
	opts := testOptions()
	dir := t.TempDir()
	opts.IdentityStore = func() (*identity.Store, error) { return identity.OpenStore(dir) }
	opts.BackupDir = filepath.Join(dir, "backups")
	return opts
}

func TestMovePickerConfirmsAndShowsProgress(t *testing.T) {
	m := newTestModel(t, 100, 30, storeOptions(t))
	m.pubTable.selectKey("scuttle-1")
	press(m, "m")
	p, ok := m.dialog.(*pickerDialog)
	if !ok {
		t.Fatalf("m opens the hub picker: %T (%s)", m.dialog, m.lastErr)
	}
	notes := map[string]string{}
	for _, o := range p.options {
		notes[o.value] = fmt.Sprint(o.disabled, " ", o.note)
	}
	if notes["hub-1"] != "true its hub now" || notes["hub-3"] != "true unreachable" || notes["hub-2"] != "false 2 pubs" {
		t.Errorf("picker options: %v", notes)
	}
	if p.options[p.cursor].value != "hub-2" {
		t.Errorf("the cursor starts on the first hub it can go to: %s", p.options[p.cursor].value)
	}
	press(m, "down")
	if p.options[p.cursor].value != "local" {
		t.Errorf("↓ skips what it cannot choose: %s", p.options[p.cursor].value)
	}
	press(m, "up", "enter")
	if !strings.Contains(plain(m), "Move pub scuttle-1 from hub-1 to hub-2?") {
		t.Fatalf("choosing asks to confirm, naming the pub and both hubs:\n%s", plain(m))
	}
	if cmd := press(m, "y"); cmd == nil || !strings.HasPrefix(m.pubs["scuttle-1"].busy, "moving to hub-2") {
		t.Fatalf("y starts the move: busy %q", m.pubs["scuttle-1"].busy)
	}
	a := action{kind: actMove, pub: "scuttle-1", hub: "hub-1", to: "hub-2"}
	m.Update(progressMsg{act: a, text: "copy 12M", open: true, box: newMailbox[progressMsg](1)})
	if m.pubs["scuttle-1"].busy != "moving to hub-2: copy 12M" || !strings.Contains(lineWith(plain(m), "scuttle-1"), "moving to hub-2: c") {
		t.Errorf("the row shows the move's step: %q", lineWith(plain(m), "scuttle-1"))
	}
	_, cmd := m.Update(progressMsg{act: a, done: &actionDoneMsg{gen: m.gen, act: a, result: "moved pub scuttle-1 from hub-1 to hub-2"}})
	if cmd == nil || m.pubs["scuttle-1"].busy != "" || !strings.Contains(plain(m), "moved pub scuttle-1") {
		t.Error("the end of a move re-reads the inventory and says what was done")
	}
}

func TestMoveAndBackupNeedAStore(t *testing.T) {
	m := newTestModel(t, 80, 24, testOptions())
	m.pubTable.selectKey("scuttle-1")
	press(m, "m")
	if m.dialog != nil || !strings.Contains(m.lastErr, "no identity store") {
		t.Errorf("move without a store: %q", m.lastErr)
	}
	press(m, "b")
	if !strings.Contains(m.lastErr, "no identity store") {
		t.Errorf("backup without a store: %q", m.lastErr)
	}
	m = newTestModel(t, 80, 24, storeOptions(t))
	m.pubTable.selectKey("scuttle-1")
	if cmd := press(m, "b"); cmd == nil || m.pubs["scuttle-1"].busy != "backing up" {
		t.Errorf("b backs up at once (nothing to lose): %q", m.pubs["scuttle-1"].busy)
	}
}

func TestDetailShowsTheLastBackup(t *testing.T) {
	m := newTestModel(t, 200, 60, storeOptions(t))
	press(m, ":")
	typeText(m, "pub scuttle-1")
	press(m, "enter")
	m.Update(inspectMsg{gen: m.gen, pub: "scuttle-1", ins: inspection(t), recorded: true, id: "@LA9=.ed25519",
		backup: &identity.BackupRecord{At: clock.Add(-2 * time.Hour), File: "/var/backups/scuttle-1.tar.gz", Hub: "hub-1"}})
	s := plain(m)
	for _, want := range []string{"@LA9=.ed25519", "2h ago, data and secret, from hub-1", "/var/backups/scuttle-1.tar.gz"} {
		if !strings.Contains(s, want) {
			t.Errorf("detail lacks %q:\n%s", want, s)
		}
	}
	if !strings.Contains(lineWith(s, "@LA9=.ed25519"), "recorded") {
		t.Error("the recorded id is labelled")
	}
}

func TestApplyConfirmsThenShowsProgress(t *testing.T) {
	m := newTestModel(t, 120, 30, testOptions())
	press(m, ":")
	typeText(m, "plan")
	press(m, "enter")
	plain(m)
	press(m, "a")
	d, ok := m.dialog.(*confirmDialog)
	if !ok || !strings.Contains(plain(m), "Apply 3 actions?") || !strings.Contains(plain(m), "+ create backyard on local") {
		t.Fatalf("a asks, listing the actions:\n%s", plain(m))
	}
	sig := d.act.to
	if cmd := press(m, "y"); cmd == nil || !m.plan.applying {
		t.Fatal("y starts applying")
	}
	plan := m.plan.plan
	m.Update(applyMsg{plan: plan, open: true, box: newMailbox[applyMsg](1)})
	for _, s := range m.plan.steps {
		if !s.Manual && s.State != "running" {
			t.Errorf("every step to carry out is under way: %+v", s)
		}
	}
	var create fleet.Action
	for _, a := range plan.Actions {
		if a.Kind == fleet.ActionCreate {
			create = a
		}
	}
	m.Update(applyMsg{results: []fleet.Result{{Action: create, Status: fleet.ResultDone}}, open: true, box: newMailbox[applyMsg](1)})
	if !strings.Contains(lineWith(plain(m), "backyard"), "✓ done") {
		t.Errorf("a result shows on its row: %q", lineWith(plain(m), "backyard"))
	}
	_, cmd := m.Update(applyMsg{report: &fleet.Report{Done: 1, Failed: 1}, err: errors.New("start scuttle-3 on hub-2: boom")})
	if cmd == nil || m.plan.applying || !strings.Contains(m.lastErr, "boom") {
		t.Errorf("the end: applying %v, error %q", m.plan.applying, m.lastErr)
	}
	if sig == "" || sig != planSignature(plan) {
		t.Error("the confirmation carries the plan's signature")
	}
	// the report can come before the stream's end, in a batch of its own
	press(m, "a", "y")
	m.Update(applyMsg{plan: plan, report: &fleet.Report{Done: 3}, open: true, box: newMailbox[applyMsg](1)})
	if !m.plan.applying {
		t.Error("still applying until the stream ends")
	}
	m.Update(applyMsg{})
	if m.plan.applying || m.flash != "applied: 3 done, 0 failed, 0 skipped, 0 blocked" {
		t.Errorf("a report that came early is said at the end: %q", m.flash)
	}
}

func TestNewHubOnTheCloudOrByHand(t *testing.T) {
	opts := testOptions()
	opts.CreateHub = func(context.Context, *inventory.Inventory, string, provision.Progress) (*provision.Created, error) {
		return nil, errors.New("not called by the form")
	}
	withCloud := strings.Replace(fixture, "version: 1\n", "version: 1\ncloud: {name: test}\n", 1)
	m := New(parseFixture(t, withCloud), opts)
	defer m.Close()
	m.Update(tea.WindowSizeMsg{Width: 100, Height: 30})
	press(m, "shift+tab", "n")
	f, ok := m.dialog.(*formDialog)
	if !ok || f.fields[0].label != "what" || f.fields[0].value() != "a new server on cloud test" {
		t.Fatalf("with a cloud, n offers a new server first: %#v", m.dialog)
	}
	a, err := f.submit(f.values())
	if err != nil || !a.onCloud || a.hub != "hub-5" {
		t.Errorf("the cloud choice: %+v %v", a, err)
	}
	f.focus = 0
	press(m, "right")
	if _, err := f.submit(f.values()); err == nil || !strings.Contains(err.Error(), "address") {
		t.Errorf("an existing server needs its address: %v", err)
	}
	m2 := newTestModel(t, 100, 30, testOptions())
	press(m2, "shift+tab", "n")
	if f := m2.dialog.(*formDialog); f.fields[0].label != "name" {
		t.Error("without a cloud, n adds an existing server")
	}
}
