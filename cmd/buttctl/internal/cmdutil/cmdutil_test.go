package cmdutil

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/buttctl/buttctl/inventory"
)

func TestExitCode(t *testing.T) {
	invErr := &inventory.Errors{Problems: []inventory.Problem{{File: "b.yaml", Line: 1, Col: 1, Msg: "x"}}}
	cases := []struct {
		err  error
		want int
	}{
		{nil, 0},
		{errors.New("boom"), 1},
		{invErr, 1},
		{fmt.Errorf("wrapped: %w", invErr), 1},
		{&inventory.LockedError{Path: "b.yaml", PID: 1}, 1},
		{Usagef("bad flag"), 2},
		{fmt.Errorf("x: %w", Usagef("bad")), 2},
		{&ExitCodeError{Code: ExitChanges}, 2},
		{SilentError, 1},
	}
	for _, c := range cases {
		if got := ExitCode(c.err); got != c.want {
			t.Errorf("ExitCode(%v) = %d, want %d", c.err, got, c.want)
		}
	}
}

func TestPrintError(t *testing.T) {
	var b bytes.Buffer
	PrintError(&b, errors.New("hub-2: ssh: connection refused"))
	PrintError(&b, &inventory.Errors{Problems: []inventory.Problem{{File: "b.yaml", Line: 2, Col: 3, Msg: "one"}, {File: "b.yaml", Line: 4, Col: 1, Msg: "two"}}})
	PrintError(&b, SilentError)
	PrintError(&b, &ExitCodeError{Code: 2})
	PrintError(&b, fmt.Errorf("hub-1: %w", context.DeadlineExceeded))
	want := "buttctl: hub-2: ssh: connection refused\nbuttctl: b.yaml:2:3: one\nbuttctl: b.yaml:4:1: two\nbuttctl: hub-1: context deadline exceeded (timed out: raise --timeout)\n"
	if b.String() != want {
		t.Errorf("got:\n%s\nwant:\n%s", b.String(), want)
	}
}

func TestIsCobraUsage(t *testing.T) {
	for msg, want := range map[string]bool{
		`unknown command "x" for "buttctl"`: true,
		"unknown flag: --nope":              true,
		"accepts 1 arg(s), received 2":      true,
		"hub-1: ssh: connection refused":    false,
	} {
		if got := IsCobraUsage(errors.New(msg)); got != want {
			t.Errorf("IsCobraUsage(%q) = %v", msg, got)
		}
	}
}

func TestInventoryPath(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	t.Setenv("XDG_CONFIG_HOME", filepath.Join(dir, "xdg"))
	t.Setenv(EnvInventory, "")
	f := &Factory{}
	if got, want := f.InventoryPath(), filepath.Join(dir, "xdg", "buttctl", "buttctl.yaml"); got != want {
		t.Errorf("nothing there: %s, want %s", got, want)
	}
	if got := f.InitPath(); got != "buttctl.yaml" {
		t.Errorf("init writes %s, want ./buttctl.yaml", got)
	}
	if err := os.WriteFile("buttctl.yaml", []byte("version: 1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if got := f.InventoryPath(); got != "buttctl.yaml" {
		t.Errorf("with ./buttctl.yaml: %s", got)
	}
	t.Setenv(EnvInventory, "/env.yaml")
	if got := f.InventoryPath(); got != "/env.yaml" || f.InitPath() != "/env.yaml" {
		t.Errorf("with $%s: %s", EnvInventory, got)
	}
	f.InventoryFlag = "/flag.yaml"
	if got := f.InventoryPath(); got != "/flag.yaml" || f.InitPath() != "/flag.yaml" {
		t.Errorf("with -i: %s", got)
	}
}

func TestFactoryLoadsOnce(t *testing.T) {
	p := filepath.Join(t.TempDir(), "b.yaml")
	if err := os.WriteFile(p, []byte("version: 1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	f := New("v", "c")
	f.InventoryFlag = p
	a, err := f.Inventory()
	if err != nil {
		t.Fatal(err)
	}
	os.Remove(p)
	b, err := f.Inventory()
	if err != nil || a != b {
		t.Errorf("second call reloaded: %v", err)
	}
}
