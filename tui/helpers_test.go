package tui

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/colorprofile"
	"github.com/charmbracelet/x/ansi"

	"github.com/buttctl/buttctl/inventory"
	"github.com/buttctl/buttctl/ops/engine"
	"github.com/buttctl/buttctl/ops/fleet"
	"github.com/buttctl/buttctl/ops/hubs"
	"github.com/buttctl/buttctl/ops/pubspec"
)

// updating says -update was given: rewrite the golden files in testdata/.
// (teatest's golden package defines the flag; it is defined here if not.)
func updating() bool {
	f := flag.Lookup("update")
	return f != nil && f.Value.String() == "true"
}

func TestMain(m *testing.M) {
	if flag.Lookup("update") == nil {
		flag.Bool("update", false, "rewrite the golden files in testdata/")
	}
	time.Local = time.UTC // golden files show times in UTC wherever they run
	os.Exit(m.Run())
}

// clock is the fixtures' now.
var clock = time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)

// fixture is a fleet of four hubs: two up, one that cannot be reached and
// this machine; seven pubs in every state.
const fixture = `version: 1
defaults: {image: ahdinosaur/ssb-pub, port: 8008}
hubs:
  - {name: hub-1, address: 10.0.0.1, capacity: 20}
  - {name: hub-2, address: 10.0.0.2}
  - {name: hub-3, address: 10.0.0.3, capacity: 5}
  - {name: local, local: true}
pubs:
  - {name: scuttle-1, hub: hub-1, host: pub1.example.org}
  - {name: scuttle-2, hub: hub-1, host: pub2.example.org, port: 8009}
  - {name: scuttle-3, hub: hub-2, host: pub3.example.org}
  - {name: scuttle-4, hub: hub-2, host: pub4.example.org, port: 8009, state: stopped}
  - {name: scuttle-5, hub: hub-3, host: pub5.example.org}
  - {name: backyard, hub: local}
  - {name: newcomer}
`

func parseFixture(t testing.TB, text string) *inventory.Inventory {
	t.Helper()
	inv, err := inventory.Parse("/srv/fleet/buttctl.yaml", []byte(text))
	if err != nil {
		t.Fatal(err)
	}
	inv.Path = "/srv/fleet/buttctl.yaml"
	return inv
}

func ptr[T any](v T) *T { return &v }

// testOptions pin the clock and the palette.
func testOptions() Options {
	return Options{Now: func() time.Time { return clock }, Dark: ptr(true)}
}

// newTestModel is the console over the fixture at w×h, with every hub
// observed: what a program would have after its first look.
func newTestModel(t testing.TB, w, h int, opts Options) *Model {
	t.Helper()
	m := New(parseFixture(t, fixture), opts)
	t.Cleanup(func() { m.Close() })
	m.Update(tea.WindowSizeMsg{Width: w, Height: h})
	m.Update(invStatMsg{watch: "off", mod: clock})
	for _, msg := range fixtureObservations(m.gen, m.inv) {
		m.Update(msg)
	}
	return m
}

func at(d time.Duration) *time.Time { t := clock.Add(-d); return &t }

// specHash is the hash of the spec the inventory asks of pub.
func specHash(inv *inventory.Inventory, pub string) string {
	p, _ := inv.Pub(pub)
	s, err := pubspec.Build(inv, *p)
	if err != nil {
		panic(err)
	}
	return pubspec.Hash(s)
}

func fixtureObservations(gen int, inv *inventory.Inventory) []tea.Msg {
	c1 := fleet.Container{ID: "1111111111111111", Name: "buttctl-pub-scuttle-1", Pub: "scuttle-1", Image: "ahdinosaur/ssb-pub", State: "running", Health: "healthy", StartedAt: at(3*time.Hour + 5*time.Minute)}
	c2 := fleet.Container{ID: "2222222222222222", Name: "buttctl-pub-scuttle-2", Pub: "scuttle-2", Image: "ahdinosaur/ssb-pub", State: "running", Health: "unhealthy", Restarts: 3, StartedAt: at(12 * time.Minute)}
	c3 := fleet.Container{ID: "3333333333333333", Name: "buttctl-pub-scuttle-3", Pub: "scuttle-3", Image: "ahdinosaur/ssb-pub", State: "exited", Health: "unhealthy", Restarts: 1}
	c4 := fleet.Container{ID: "4444444444444444", Name: "buttctl-pub-scuttle-4", Pub: "scuttle-4", Image: "ahdinosaur/ssb-pub", State: "exited"}
	c1.SpecHash, c3.SpecHash, c4.SpecHash = specHash(inv, "scuttle-1"), specHash(inv, "scuttle-3"), specHash(inv, "scuttle-4")
	c2.SpecHash = "0123456789abcdef" // drifted
	orphan := fleet.Container{ID: "5555555555555555", Name: "buttctl-pub-old-pub", Pub: "old-pub", Image: "ahdinosaur/ssb-pub", State: "running", Health: "healthy", StartedAt: at(48 * time.Hour)}
	info := &engine.Info{Version: "20.10.24", CPUs: 2}
	return []tea.Msg{
		hubObservedMsg{gen: gen, hub: "hub-1", snap: &fleet.Snapshot{
			Hubs: []fleet.Hub{{Name: "hub-1", Reachable: true, Capacity: 20, Placed: 2, Engine: info, Containers: []fleet.Container{c1, c2}}},
			Pubs: []fleet.Pub{
				{Name: "scuttle-1", Hub: "hub-1", Want: "running", Status: fleet.StatusRunning, Container: &c1, HasVolume: true},
				{Name: "scuttle-2", Hub: "hub-1", Want: "running", Status: fleet.StatusUnhealthy, Container: &c2, HasVolume: true, Drift: true},
			}}},
		hubObservedMsg{gen: gen, hub: "hub-2", snap: &fleet.Snapshot{
			Hubs: []fleet.Hub{{Name: "hub-2", Reachable: true, Placed: 2, Engine: info, Containers: []fleet.Container{c3, c4, orphan}}},
			Pubs: []fleet.Pub{
				{Name: "scuttle-3", Hub: "hub-2", Want: "running", Status: fleet.StatusDown, Container: &c3, HasVolume: true},
				{Name: "scuttle-4", Hub: "hub-2", Want: "stopped", Status: fleet.StatusStopped, Container: &c4, HasVolume: true},
			},
			Orphans: []fleet.Orphan{{Hub: "hub-2", Container: orphan, HasVolume: true}}}},
		hubObservedMsg{gen: gen, hub: "hub-3", snap: &fleet.Snapshot{
			Hubs: []fleet.Hub{{Name: "hub-3", Capacity: 5, Placed: 1, Error: "hub-3: Docker engine unreachable at /var/run/docker.sock: ssh: dial tcp 10.0.0.3:22: connect: connection refused"}},
			Pubs: []fleet.Pub{{Name: "scuttle-5", Hub: "hub-3", Want: "running", Status: fleet.StatusUnknown, Error: "hub-3: Docker engine unreachable at /var/run/docker.sock: ssh: dial tcp 10.0.0.3:22: connect: connection refused"}}}},
		hubObservedMsg{gen: gen, hub: "local", snap: &fleet.Snapshot{
			Hubs: []fleet.Hub{{Name: "local", Local: true, Reachable: true, Placed: 1, Engine: info, Volumes: []fleet.Volume{{Name: "buttctl-pub-backyard-data", Pub: "backyard"}}}},
			Pubs: []fleet.Pub{{Name: "backyard", Hub: "local", Want: "running", Status: fleet.StatusMissing, HasVolume: true}}}},
		hubFactsMsg{gen: gen, facts: hubs.Facts{Hub: "hub-1", Reachable: true, SSHLatencyMS: 1.8, Load: [3]float64{0.42, 0.3, 0.2}, DiskFreeBytes: 30 << 30, DiskTotalBytes: 40 << 30, DockerVersion: "20.10.24"}},
		hubFactsMsg{gen: gen, facts: hubs.Facts{Hub: "hub-2", Reachable: true, SSHLatencyMS: 23.4, Load: [3]float64{3.1, 2, 1}, DiskFreeBytes: 3 << 30, DiskTotalBytes: 40 << 30, DockerVersion: "24.0.5"}},
		hubFactsMsg{gen: gen, facts: hubs.Facts{Hub: "hub-3", Error: "hub-3: ssh: dial tcp 10.0.0.3:22: connect: connection refused"}},
		hubFactsMsg{gen: gen, facts: hubs.Facts{Hub: "local", Local: true, Reachable: true, Load: [3]float64{0.1, 0.1, 0.1}, DiskFreeBytes: 120 << 30, DiskTotalBytes: 250 << 30, DockerVersion: "20.10.24"}},
		identitiesMsg{gen: gen, ids: map[string]string{"scuttle-1": "@LA9HYf5rnUJFHHTklKXLLRyrEytayjbFZRo76Aj/qKs=.ed25519"}},
	}
}

// screen renders the model at the pinned profile (16 colours, so the
// golden files are terminal-independent).
func screen(m *Model) string {
	var b bytes.Buffer
	w := &colorprofile.Writer{Forward: &b, Profile: colorprofile.ANSI}
	_, _ = w.WriteString(m.Render())
	return b.String()
}

// golden compares got with testdata/name.golden; -update rewrites it.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if updating() {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if string(want) != got {
		t.Errorf("%s differs from the golden file (go test -update to accept):\n--- want\n%s\n--- got\n%s", path, ansi.Strip(string(want)), ansi.Strip(got))
	}
}

// plain is the screen without colour, for assertions.
func plain(m *Model) string { return ansi.Strip(m.Render()) }

// press sends keys: single characters, or names such as "enter", "esc",
// "tab", "up", "space", "backspace".
func press(m *Model, keys ...string) tea.Cmd {
	var cmds []tea.Cmd
	for _, k := range keys {
		_, cmd := m.Update(keyMsg(k))
		cmds = append(cmds, cmd)
	}
	return tea.Batch(cmds...)
}

// typeText types each rune of s.
func typeText(m *Model, s string) {
	for _, r := range s {
		m.Update(tea.KeyPressMsg{Code: r, Text: string(r)})
	}
}

func keyMsg(k string) tea.KeyPressMsg {
	switch k {
	case "enter":
		return tea.KeyPressMsg{Code: tea.KeyEnter}
	case "esc":
		return tea.KeyPressMsg{Code: tea.KeyEscape}
	case "tab":
		return tea.KeyPressMsg{Code: tea.KeyTab}
	case "shift+tab":
		return tea.KeyPressMsg{Code: tea.KeyTab, Mod: tea.ModShift}
	case "up":
		return tea.KeyPressMsg{Code: tea.KeyUp}
	case "down":
		return tea.KeyPressMsg{Code: tea.KeyDown}
	case "space":
		return tea.KeyPressMsg{Code: ' ', Text: " "}
	case "backspace":
		return tea.KeyPressMsg{Code: tea.KeyBackspace}
	case "ctrl+c":
		return tea.KeyPressMsg{Code: 'c', Mod: tea.ModCtrl}
	}
	r := []rune(k)[0]
	return tea.KeyPressMsg{Code: r, Text: k}
}

// lineWith returns the first screen line containing s.
func lineWith(screen, s string) string {
	for _, l := range strings.Split(screen, "\n") {
		if strings.Contains(l, s) {
			return l
		}
	}
	return ""
}
