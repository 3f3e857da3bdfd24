package initcmd

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/buttctl/buttctl/cmd/buttctl/internal/cmdutil"
	"github.com/buttctl/buttctl/cmd/buttctl/internal/iostreams"
	"github.com/buttctl/buttctl/inventory"
)

func TestNewCmdInitPath(t *testing.T) {
	t.Setenv(cmdutil.EnvInventory, "")
	ios, _, _, _ := iostreams.Test()
	for _, c := range []struct {
		flag, env, want string
	}{
		{"", "", "buttctl.yaml"},
		{"", "/e/b.yaml", "/e/b.yaml"},
		{"/f/b.yaml", "/e/b.yaml", "/f/b.yaml"},
	} {
		t.Setenv(cmdutil.EnvInventory, c.env)
		f := &cmdutil.Factory{IOStreams: ios, InventoryFlag: c.flag}
		var got *Options
		cmd := NewCmdInit(f, func(o *Options) error { got = o; return nil })
		cmd.SetArgs(nil)
		if err := cmd.Execute(); err != nil {
			t.Fatal(err)
		}
		if got.Path != c.want {
			t.Errorf("flag %q env %q: path %q, want %q", c.flag, c.env, got.Path, c.want)
		}
	}
	cmd := NewCmdInit(&cmdutil.Factory{IOStreams: ios}, func(*Options) error { return nil })
	cmd.SetArgs([]string{"extra"})
	cmd.SilenceErrors, cmd.SilenceUsage = true, true
	if err := cmd.Execute(); cmdutil.ExitCode(err) != cmdutil.ExitUsage {
		t.Errorf("init with an argument: %v", err)
	}
}

func TestRunWritesAValidStarterAndNeverOverwrites(t *testing.T) {
	p := filepath.Join(t.TempDir(), "buttctl.yaml")
	ios, _, out, _ := iostreams.Test()
	if err := Run(&Options{IO: ios, Path: p}); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(out.String(), "wrote "+p+": hub local") {
		t.Errorf("said %q", out.String())
	}
	inv, err := inventory.Load(p)
	if err != nil {
		t.Fatalf("the starter does not validate: %v", err)
	}
	if len(inv.Hubs) != 1 || inv.Hubs[0].Name != "local" || !inv.Hubs[0].Local || inv.Defaults.Image != "ahdinosaur/ssb-pub" {
		t.Errorf("starter = %+v", inv)
	}
	if err := os.WriteFile(p, []byte("# mine\nversion: 1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	err = Run(&Options{IO: ios, Path: p})
	if !errors.Is(err, fs.ErrExist) || cmdutil.ExitCode(err) != 1 || !strings.Contains(err.Error(), "never overwrites") {
		t.Errorf("second init: %v", err)
	}
	if b, _ := os.ReadFile(p); string(b) != "# mine\nversion: 1\n" {
		t.Errorf("init overwrote the inventory: %s", b)
	}
}

func TestRunWithImage(t *testing.T) {
	p := filepath.Join(t.TempDir(), "buttctl.yaml")
	ios, _, _, _ := iostreams.Test()
	if err := Run(&Options{IO: ios, Path: p, Image: "buttctl/testpub"}); err != nil {
		t.Fatal(err)
	}
	inv, err := inventory.Load(p)
	if err != nil {
		t.Fatal(err)
	}
	if inv.Defaults.Image != "buttctl/testpub" {
		t.Errorf("default image %q", inv.Defaults.Image)
	}
	data, _ := os.ReadFile(p)
	if !strings.Contains(string(data), "# hubs: servers running a Docker engine") {
		t.Error("the starter's comments are kept")
	}
	ios, _, _, _ = iostreams.Test()
	cmd := NewCmdInit(&cmdutil.Factory{IOStreams: ios, InventoryFlag: filepath.Join(t.TempDir(), "x.yaml")}, nil)
	cmd.SetArgs([]string{"--image", "Not An Image"})
	cmd.SilenceErrors, cmd.SilenceUsage = true, true
	if err := cmd.Execute(); cmdutil.ExitCode(err) != cmdutil.ExitUsage {
		t.Errorf("a bad --image is a usage error: %v", err)
	}
}
