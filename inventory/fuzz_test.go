package inventory

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode"
)

// FuzzParse feeds Parse arbitrary bytes, seeded with the real-looking
// inventories of testdata and every mistake TestProblems knows. Parse must
// never panic, and what it returns must hold its promises: an *Errors of
// one-line, escape-free problems, or an inventory that is really valid.
func FuzzParse(f *testing.F) {
	seeds, _ := filepath.Glob("testdata/*.yaml")
	for _, s := range seeds {
		data, err := os.ReadFile(s)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	for _, c := range problemCases {
		f.Add([]byte(c.yaml))
	}
	f.Add(Starter())
	f.Fuzz(func(t *testing.T, data []byte) {
		inv, err := Parse("fuzz.yaml", data)
		if err != nil {
			var errs *Errors
			if !errors.As(err, &errs) || len(errs.Problems) == 0 {
				t.Fatalf("error is not a non-empty *Errors: %T %v", err, err)
			}
			for _, p := range errs.Problems {
				if p.Msg == "" || strings.IndexFunc(p.Msg, unicode.IsControl) >= 0 {
					t.Fatalf("problem message empty or with control characters: %q", p.Msg)
				}
				if p.File != "fuzz.yaml" || p.Line < 0 || p.Col < 0 {
					t.Fatalf("bad position: %+v", p)
				}
			}
			return
		}
		checkValid(t, inv)
	})
}

// checkValid asserts what every valid inventory guarantees its users.
func checkValid(t *testing.T, inv *Inventory) {
	t.Helper()
	if inv.Version != CurrentVersion {
		t.Fatalf("version %d accepted", inv.Version)
	}
	hubs := map[string]bool{}
	for _, h := range inv.Hubs {
		if !IsDNSLabel(h.Name) || hubs[h.Name] {
			t.Fatalf("hub name %q accepted", h.Name)
		}
		hubs[h.Name] = true
		if h.Local == (h.Address != "") && !h.Local {
			t.Fatalf("hub %q without address accepted", h.Name)
		}
		if h.Address != "" && (strings.HasPrefix(h.Address, "-") || strings.ContainsAny(h.Address, " \t\n;$`'\"")) {
			t.Fatalf("hub address %q accepted", h.Address)
		}
	}
	pubs := map[string]bool{}
	ports := map[string]bool{}
	for _, p := range inv.Pubs {
		if !IsDNSLabel(p.Name) || pubs[p.Name] {
			t.Fatalf("pub name %q accepted", p.Name)
		}
		pubs[p.Name] = true
		if p.Hub != "" && !hubs[p.Hub] {
			t.Fatalf("pub %q on unknown hub %q accepted", p.Name, p.Hub)
		}
		if p.Port < 1 || p.Port > 65535 || p.Memory < MinMemory || !IsImageRef(p.Image) {
			t.Fatalf("pub %+v accepted", p)
		}
		if p.State != StateRunning && p.State != StateStopped {
			t.Fatalf("state %q accepted", p.State)
		}
		if p.Hub != "" {
			k := p.Hub + ":" + itoa(p.Port)
			if ports[k] {
				t.Fatalf("port clash %s accepted", k)
			}
			ports[k] = true
		}
	}
}

// FuzzEdit runs edits that cannot make a valid inventory invalid on whatever
// valid inventory the fuzzer finds, and checks that each one does exactly
// what it says, keeps the inventory valid, and never panics.
func FuzzEdit(f *testing.F) {
	seeds, _ := filepath.Glob("testdata/*.yaml")
	for _, s := range seeds {
		data, err := os.ReadFile(s)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add(Starter())
	f.Add([]byte(crashFixture))
	f.Fuzz(func(t *testing.T, data []byte) {
		e, err := newEditor("fuzz.yaml", data)
		if err != nil {
			return
		}
		inv := e.Inventory()
		after := func(what string) *Inventory {
			t.Helper()
			got, err := Parse("fuzz.yaml", e.text)
			if err != nil {
				t.Fatalf("%s made the inventory invalid:\n%v\n--- before\n%s\n--- after\n%s", what, err, data, e.text)
			}
			return got
		}
		if len(inv.Pubs) > 0 {
			name := inv.Pubs[0].Name
			if err := e.SetPubState(name, StateStopped); err != nil {
				t.Fatalf("SetPubState: %v", err)
			}
			if p, _ := after("SetPubState").Pub(name); p.State != StateStopped {
				t.Fatalf("SetPubState did not stick:\n%s", e.text)
			}
		}
		if len(inv.Hubs) > 0 {
			name := inv.Hubs[0].Name
			if err := e.SetHubServerID(name, "fuzz-server"); err != nil {
				t.Fatalf("SetHubServerID: %v", err)
			}
			if h, _ := after("SetHubServerID").Hub(name); h.ServerID != "fuzz-server" {
				t.Fatalf("SetHubServerID did not stick:\n%s", e.text)
			}
		}
		if _, taken := inv.Pub("fuzz-added"); !taken {
			if err := e.AddPub(Pub{Name: "fuzz-added", Host: "fuzz.example.org"}); err != nil {
				t.Fatalf("AddPub: %v", err)
			}
			if p, ok := after("AddPub").Pub("fuzz-added"); !ok || p.Host != "fuzz.example.org" {
				t.Fatalf("AddPub did not stick:\n%s", e.text)
			}
		}
		if len(inv.Pubs) > 0 {
			name := inv.Pubs[0].Name
			if err := e.RemovePub(name); err != nil {
				t.Fatalf("RemovePub: %v", err)
			}
			if _, ok := after("RemovePub").Pub(name); ok {
				t.Fatalf("RemovePub did not stick:\n%s", e.text)
			}
		}
	})
}
