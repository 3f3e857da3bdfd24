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
