package inventory

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

func writeInv(t *testing.T, text string, mode fs.FileMode) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "buttctl.yaml")
	if err := os.WriteFile(p, []byte(text), mode); err != nil {
		t.Fatal(err)
	}
	return p
}

func readFile(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

var commentRE = regexp.MustCompile(`(?:^|\s)(#.*)$`)

// comments lists every comment of a YAML text, in order.
func comments(text string) []string {
	var out []string
	for _, l := range strings.Split(text, "\n") {
		if m := commentRE.FindStringSubmatch(l); m != nil {
			out = append(out, m[1])
		}
	}
	return out
}

// TestEditKeepsComments edits a commented inventory through every operation
// and compares the saved text with what an operator would have written by
// hand: every comment, blank line and layout choice kept, each edit a small
// change where it belongs.
func TestEditKeepsComments(t *testing.T) {
	orig := readFile(t, "testdata/full.yaml")
	p := writeInv(t, orig, 0o640)
	before := reencoded.Load()
	e, err := Edit(p)
	must(t, err)
	must(t, e.SetPubHub("scuttle-1", "hub-2"))
	must(t, e.SetPubState("scuttle-1", StateStopped))
	must(t, e.SetPubState("scuttle-3", StateStopped))
	must(t, e.SetHubAddress("hub-1", "198.51.100.7"))
	must(t, e.SetHubServerID("hub-2", "abc-123"))
	must(t, e.AddHub(Hub{Name: "hub-3", Address: "hub3.example.org", Capacity: 5}))
	must(t, e.AddPub(Pub{Name: "scuttle-4", Hub: "hub-3", Host: "pub4.example.org", Memory: 1 << 30, Env: map[string]string{"A": "1"}}))
	must(t, e.RemovePub("unplaced-1"))
	must(t, e.SetPubHub("scuttle-3", ""))
	must(t, e.Save())
	if n := reencoded.Load() - before; n != 0 {
		t.Errorf("%d edits were re-encoded; want every one made in place", n)
	}

	got := readFile(t, p)
	want := orig
	for _, r := range []struct{ old, new string }{
		{"address: 203.0.113.10,", "address: 198.51.100.7,"},
		{"    capacity: 2\n", "    capacity: 2\n    server_id: abc-123\n"},
		{"no SSH\n", "no SSH\n  - {name: hub-3, address: hub3.example.org, capacity: 5}\n"},
		{"{name: scuttle-1, hub: hub-1, host: pub1.example.org}", "{name: scuttle-1, hub: hub-2, host: pub1.example.org, state: stopped}"},
		{"    hub: hub-2\n    host: pub3", "    host: pub3"},
		{"      DEBUG: \"*\"\n  - name: unplaced-1\n", "      DEBUG: \"*\"\n    state: stopped\n  - name: scuttle-4\n    hub: hub-3\n    host: pub4.example.org\n    memory: 1g\n    env:\n      A: \"1\"\n"},
	} {
		if !strings.Contains(want, r.old) {
			t.Fatalf("fixture changed: %q not found", r.old)
		}
		want = strings.Replace(want, r.old, r.new, 1)
	}
	if got != want {
		t.Errorf("saved text differs from the hand edit:\n--- got\n%s\n--- want\n%s", got, want)
	}
	if oc, gc := comments(orig), comments(got); strings.Join(oc, "\n") != strings.Join(gc, "\n") {
		t.Errorf("comments changed:\n%q\n%q", oc, gc)
	}
	inv := mustLoad(t, p)
	if s1, _ := inv.Pub("scuttle-1"); s1.Hub != "hub-2" || s1.State != StateStopped {
		t.Errorf("scuttle-1 = %+v", s1)
	}
	if bak := readFile(t, p+".bak"); bak != orig {
		t.Errorf(".bak is not the previous version:\n%s", bak)
	}
	for _, f := range []string{p, p + ".bak"} {
		if st, _ := os.Stat(f); st.Mode().Perm() != 0o640 {
			t.Errorf("%s mode = %v, want 0640 (kept)", f, st.Mode().Perm())
		}
	}
}

// TestEditShapes covers the shapes a list or a mapping can take in YAML,
// each with the exact text expected.
func TestEditShapes(t *testing.T) {
	cases := []struct {
		name, in string
		edit     func(*Editor) error
		out      string
	}{
		{"add to an empty flow list, keeping its comment",
			"version: 1\nhubs: [{name: h, local: true}]\npubs: []  # none yet\n  # - name: example\n",
			func(e *Editor) error { return e.AddPub(Pub{Name: "a", Hub: "h"}) },
			"version: 1\nhubs: [{name: h, local: true}]\npubs: # none yet\n  - name: a\n    hub: h\n  # - name: example\n"},
		{"add to a flow list",
			"version: 1\nhubs: [{name: h, local: true}]\n",
			func(e *Editor) error { return e.AddHub(Hub{Name: "g", Address: "10.0.0.2"}) },
			"version: 1\nhubs: [{name: h, local: true}, {name: g, address: 10.0.0.2}]\n"},
		{"add to an empty key",
			"version: 1\npubs:\n# later\n",
			func(e *Editor) error { return e.AddPub(Pub{Name: "a"}) },
			"version: 1\npubs:\n  - name: a\n# later\n"},
		{"add a missing section",
			"version: 1 # v\n\n# the end\n",
			func(e *Editor) error { return e.AddHub(Hub{Name: "h", Local: true}) },
			"version: 1 # v\nhubs:\n  - name: h\n    local: true\n\n# the end\n"},
		{"add to an unindented block list",
			"version: 1\npubs:\n- name: a\n  port: 9000\n",
			func(e *Editor) error { return e.AddPub(Pub{Name: "b", State: StateStopped}) },
			"version: 1\npubs:\n- name: a\n  port: 9000\n- name: b\n  state: stopped\n"},
		{"remove the only pub",
			"version: 1\npubs:   # all of them\n  - name: a # first\n    port: 9000\n# after\n",
			func(e *Editor) error { return e.RemovePub("a") },
			"version: 1\npubs: []   # all of them\n# after\n"},
		{"remove a middle pub, keeping comments around it",
			"version: 1\npubs:\n  - name: a\n  # about b\n  - name: b\n    port: 9000 # b's port\n\n  - name: c\n",
			func(e *Editor) error { return e.RemovePub("b") },
			"version: 1\npubs:\n  - name: a\n  # about b\n\n  - name: c\n"},
		{"remove an item whose dash is on its own line",
			"version: 1\npubs:\n  -\n    name: a\n  - name: b\n",
			func(e *Editor) error { return e.RemovePub("a") },
			"version: 1\npubs:\n  - name: b\n"},
		{"[re-encoded] remove from a flow list",
			"version: 1\nhubs: [{name: a, local: true}, {name: b, address: x.org}]\n",
			func(e *Editor) error { return e.RemoveHub("a") },
			"version: 1\nhubs: [{name: b, address: x.org}]\n"},
		{"set a quoted value",
			"version: 1\npubs:\n  - name: a\n    state: \"running\"  # was\n",
			func(e *Editor) error { return e.SetPubState("a", StateStopped) },
			"version: 1\npubs:\n  - name: a\n    state: stopped  # was\n"},
		{"set an empty value",
			"version: 1\nhubs:\n  - name: a\n    local: true\n    server_id:   # none\n",
			func(e *Editor) error { return e.SetHubServerID("a", "42") },
			"version: 1\nhubs:\n  - name: a\n    local: true\n    server_id: \"42\"   # none\n"},
		{"add a key to a spaced flow mapping",
			"version: 1\npubs:\n  - { name: a }\n",
			func(e *Editor) error { return e.SetPubState("a", StateStopped) },
			"version: 1\npubs:\n  - { name: a, state: stopped }\n"},
		{"[re-encoded] unplace a pub whose hub is its first key",
			"version: 1\nhubs: [{name: h, local: true}]\npubs:\n  - hub: h # here\n    name: a\n",
			func(e *Editor) error { return e.SetPubHub("a", "") },
			"version: 1\nhubs: [{name: h, local: true}]\npubs:\n  - name: a\n"},
		{"a value that must be quoted",
			"version: 1\nhubs: [{name: h, address: x.org}]\n",
			func(e *Editor) error { return e.SetHubServerID("h", "123") },
			"version: 1\nhubs: [{name: h, address: x.org, server_id: \"123\"}]\n"},
		{"no final newline",
			"version: 1\npubs: [{name: a}]",
			func(e *Editor) error { return e.SetPubState("a", StateStopped) },
			"version: 1\npubs: [{name: a, state: stopped}]"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := writeInv(t, c.in, 0o644)
			e, err := Edit(p)
			must(t, err)
			before := reencoded.Load()
			must(t, c.edit(e))
			if inPlace := reencoded.Load() == before; inPlace != !strings.HasPrefix(c.name, "[re-encoded] ") {
				t.Errorf("edited in place: %v", inPlace)
			}
			must(t, e.Save())
			if got := readFile(t, p); got != c.out {
				t.Errorf("got:\n%s\nwant:\n%s", got, c.out)
			}
		})
	}
}

// TestEditFallbackKeepsComments: text the in-place edits don't handle (CRLF
// line ends here) is re-encoded from the node tree, which still keeps comments.
func TestEditFallbackKeepsComments(t *testing.T) {
	in := "# top\r\nversion: 1 # v\r\n# hubs\r\nhubs:\r\n  - name: a # the a hub\r\n    local: true\r\n"
	p := writeInv(t, in, 0o644)
	e, err := Edit(p)
	must(t, err)
	must(t, e.AddHub(Hub{Name: "b", Address: "x.org"}))
	must(t, e.Save())
	got := readFile(t, p)
	for _, c := range []string{"# top", "# v", "# hubs", "# the a hub"} {
		if !strings.Contains(got, c) {
			t.Errorf("comment %q lost:\n%s", c, got)
		}
	}
	if inv := mustLoad(t, p); len(inv.Hubs) != 2 || inv.Hubs[1].Address != "x.org" {
		t.Errorf("hubs = %+v", inv.Hubs)
	}
}

func TestEditRefusals(t *testing.T) {
	in := "version: 1\nhubs: [{name: h, local: true, capacity: 1}]\npubs: [{name: a, hub: h}, {name: b}]\n"
	p := writeInv(t, in, 0o644)
	e, err := Edit(p)
	must(t, err)
	for _, c := range []struct {
		err  error
		want string
	}{
		{e.RemoveHub("h"), "hub h still has pubs a; move or remove them first"},
		{e.RemoveHub("nope"), `no hub named "nope"`},
		{e.SetPubHub("a", "nope"), `no hub named "nope"`},
		{e.SetPubHub("nope", "h"), `no pub named "nope"`},
		{e.SetPubState("a", "paused"), `state "paused" is not a state`},
		{e.AddHub(Hub{Name: "h", Local: true}), `hub "h" already exists`},
		{e.AddPub(Pub{Name: "a"}), `pub "a" already exists`},
		{e.AddPub(Pub{Name: "c", Hub: "x"}), `no hub named "x"`},
	} {
		if c.err == nil || !strings.Contains(c.err.Error(), c.want) {
			t.Errorf("got %v, want %q", c.err, c.want)
		}
	}
	if string(e.Bytes()) != in {
		t.Errorf("refused edits changed the text:\n%s", e.Bytes())
	}

	// An edit that makes the inventory invalid is refused at Save.
	must(t, e.SetPubHub("b", "h")) // capacity 1, and b would take a's port
	err = e.Save()
	var ee *EditError
	if !errors.As(err, &ee) || len(ee.Errs.Problems) != 2 ||
		!strings.Contains(err.Error(), "edit refused, nothing written") || !strings.Contains(err.Error(), "hub h is full") {
		t.Errorf("Save = %v", err)
	}
	if got := readFile(t, p); got != in {
		t.Errorf("a refused save wrote:\n%s", got)
	}
	if _, err := os.Stat(p + ".bak"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a refused save left a .bak: %v", err)
	}
}

func TestEditRefusesInvalidInventory(t *testing.T) {
	p := writeInv(t, "version: 1\npubs: [{name: UPPER}]\n", 0o644)
	_, err := Edit(p)
	var errs *Errors
	if !errors.As(err, &errs) || errs.Problems[0].Line != 2 {
		t.Errorf("Edit of an invalid inventory = %v", err)
	}
}

func TestSaveNoticesChangesByOthers(t *testing.T) {
	p := writeInv(t, "version: 1\npubs: [{name: a}]\n", 0o644)
	e, err := Edit(p)
	must(t, err)
	must(t, e.SetPubState("a", StateStopped))
	other := "version: 1\npubs: [{name: a}, {name: b}] # by hand\n"
	must(t, os.WriteFile(p, []byte(other), 0o644))
	if err := e.Save(); !errors.Is(err, ErrChanged) || !strings.Contains(err.Error(), "nothing written") {
		t.Errorf("Save = %v, want ErrChanged", err)
	}
	if got := readFile(t, p); got != other {
		t.Errorf("the other writer's change was lost:\n%s", got)
	}
}

func TestSaveThroughSymlink(t *testing.T) {
	dir := t.TempDir()
	real := filepath.Join(dir, "real", "buttctl.yaml")
	must(t, os.MkdirAll(filepath.Dir(real), 0o755))
	must(t, os.WriteFile(real, []byte("version: 1\npubs: [{name: a}]\n"), 0o600))
	link := filepath.Join(dir, "buttctl.yaml")
	must(t, os.Symlink(real, link))
	e, err := Edit(link)
	must(t, err)
	must(t, e.SetPubState("a", StateStopped))
	must(t, e.Save())
	if fi, err := os.Lstat(link); err != nil || fi.Mode()&fs.ModeSymlink == 0 {
		t.Errorf("the symlink was replaced: %v %v", fi.Mode(), err)
	}
	if got := readFile(t, real); !strings.Contains(got, "state: stopped") {
		t.Errorf("target not updated:\n%s", got)
	}
	if _, err := os.Stat(real + ".bak"); err != nil {
		t.Errorf("no .bak next to the target: %v", err)
	}
}

func TestSaveCleansTempsOfKilledSaves(t *testing.T) {
	p := writeInv(t, "version: 1\npubs: [{name: a}]\n", 0o644)
	stale := filepath.Join(filepath.Dir(p), ".buttctl.yaml"+tempMarker+"123")
	must(t, os.WriteFile(stale, []byte("ver"), 0o644))
	e, err := Edit(p)
	must(t, err)
	must(t, e.SetPubState("a", StateStopped))
	must(t, e.Save())
	if _, err := os.Stat(stale); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("stale temp file left: %v", err)
	}
	entries, _ := os.ReadDir(filepath.Dir(p))
	var names []string
	for _, en := range entries {
		names = append(names, en.Name())
	}
	if strings.Join(names, " ") != "buttctl.yaml buttctl.yaml.bak buttctl.yaml.lock" {
		t.Errorf("directory holds %v", names)
	}
}

func TestCreate(t *testing.T) {
	p := filepath.Join(t.TempDir(), "conf", "buttctl", "buttctl.yaml")
	must(t, Create(p, Starter()))
	inv := mustLoad(t, p)
	if len(inv.Hubs) != 1 || !inv.Hubs[0].Local || inv.Hubs[0].Name != "local" || len(inv.Pubs) != 0 || inv.Defaults.Image != DefaultImage {
		t.Errorf("starter = %+v", inv)
	}
	err := Create(p, []byte("version: 1\n"))
	if !errors.Is(err, fs.ErrExist) || !strings.Contains(err.Error(), "never overwrites one") {
		t.Errorf("second Create = %v", err)
	}
	if got := readFile(t, p); got != string(Starter()) {
		t.Errorf("Create overwrote the file")
	}
	if err := Create(filepath.Join(t.TempDir(), "x.yaml"), []byte("version: 2\n")); err == nil {
		t.Error("Create wrote an invalid inventory")
	}
	if st, _ := os.Stat(p); st.Mode().Perm() != 0o644 {
		t.Errorf("mode %v", st.Mode())
	}
	entries, _ := os.ReadDir(filepath.Dir(p))
	if len(entries) != 1 {
		t.Errorf("Create left %d files", len(entries))
	}
}

func TestCreateCleansTempsOfKilledCreates(t *testing.T) {
	dir := t.TempDir()
	stale := filepath.Join(dir, ".buttctl.yaml"+tempMarker+"123")
	must(t, os.WriteFile(stale, []byte("ver"), 0o644))
	must(t, Create(filepath.Join(dir, "buttctl.yaml"), Starter()))
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 || entries[0].Name() != "buttctl.yaml" {
		t.Errorf("directory holds %v", entries)
	}
}

// TestStarterComments: each section of the starter is explained.
func TestStarterComments(t *testing.T) {
	s := string(Starter())
	for _, sec := range []string{"cloud:", "ssh:", "defaults:", "hubs:", "pubs:", "watch:"} {
		if !strings.Contains(s, "\n# "+sec+" ") {
			t.Errorf("section %s has no comment explaining it", sec)
		}
	}
	if bytes.Contains(Starter(), []byte("testpub")) {
		t.Error("the starter must use the production image")
	}
}
