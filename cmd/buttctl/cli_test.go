package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/buttctl/buttctl/cmd/buttctl/internal/cmd/root"
)

// The CLI tests run this test binary as buttctl itself (TestMain dispatches
// on asButtctl), so they see exactly what a user sees: stdout, stderr, exit code.
const asButtctl = "BUTTCTL_TEST_RUN_AS_BUTTCTL"

func TestMain(m *testing.M) {
	if os.Getenv(asButtctl) == "1" {
		os.Exit(root.Main(os.Args[1:]))
	}
	os.Exit(m.Run())
}

type result struct {
	stdout, stderr string
	code           int
}

// buttctlCommand is buttctl with args, to run in dir with a clean environment.
func buttctlCommand(dir string, env []string, args ...string) *exec.Cmd {
	cmd := exec.Command(os.Args[0], args...)
	cmd.Dir = dir
	// A race-enabled buttctl would sleep a second before exiting; a race it
	// found still makes it exit 66.
	gorace := strings.TrimSpace(os.Getenv("GORACE") + " atexit_sleep_ms=0")
	cmd.Env = append([]string{asButtctl + "=1", "HOME=" + dir, "XDG_CONFIG_HOME=" + filepath.Join(dir, "xdg"), "PATH=" + os.Getenv("PATH"), "GORACE=" + gorace}, env...)
	return cmd
}

// buttctl runs buttctl with args in dir, with a clean environment.
func buttctl(t *testing.T, dir string, env []string, args ...string) result {
	t.Helper()
	cmd := buttctlCommand(dir, env, args...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return result{out.String(), errOut.String(), code}
}

func TestCLIValidateFiveMistakes(t *testing.T) {
	dir := t.TempDir()
	src, err := os.ReadFile("../../inventory/testdata/five-mistakes.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "bad.yaml"), src, 0o644); err != nil {
		t.Fatal(err)
	}
	r := buttctl(t, dir, nil, "inventory", "validate", "-i", "bad.yaml")
	lines := strings.Split(strings.TrimSuffix(r.stderr, "\n"), "\n")
	if r.code != 1 || r.stdout != "" || len(lines) != 5 {
		t.Fatalf("exit %d, stdout %q, stderr:\n%s", r.code, r.stdout, r.stderr)
	}
	for i, at := range []string{"bad.yaml:4:5: ", "bad.yaml:8:11: ", "bad.yaml:11:10: ", "bad.yaml:14:11: ", "bad.yaml:15:13: "} {
		if !strings.HasPrefix(lines[i], "buttctl: "+at) {
			t.Errorf("line %d = %q, want prefix %q", i+1, lines[i], "buttctl: "+at)
		}
	}
	if !strings.Contains(r.stderr, `pub name "pub; rm -rf /" is not allowed`) {
		t.Errorf("hostile name not refused:\n%s", r.stderr)
	}
}

func TestCLIInitValidateShow(t *testing.T) {
	dir := t.TempDir()
	r := buttctl(t, dir, nil, "init")
	if r.code != 0 || !strings.HasPrefix(r.stdout, "wrote buttctl.yaml") {
		t.Fatalf("init: %+v", r)
	}
	if _, err := os.Stat(filepath.Join(dir, "buttctl.yaml")); err != nil {
		t.Fatal(err)
	}
	r = buttctl(t, dir, nil, "init")
	if r.code != 1 || !strings.Contains(r.stderr, "buttctl: inventory buttctl.yaml already exists") || strings.Count(r.stderr, "\n") != 1 {
		t.Errorf("second init: %+v", r)
	}
	r = buttctl(t, dir, nil, "inventory", "validate")
	if r.code != 0 || r.stdout != "ok: 1 hub, 0 pubs\n" || r.stderr != "" {
		t.Errorf("validate: %+v", r)
	}
	r = buttctl(t, dir, nil, "inventory", "show", "-o", "json")
	var inv struct {
		Version int `json:"version"`
		Hubs    []struct {
			Name  string `json:"name"`
			Local bool   `json:"local"`
		} `json:"hubs"`
		Defaults struct {
			Image string `json:"image"`
		} `json:"defaults"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &inv); err != nil || r.code != 0 {
		t.Fatalf("show -o json: %v %+v", err, r)
	}
	if inv.Version != 1 || len(inv.Hubs) != 1 || !inv.Hubs[0].Local || inv.Defaults.Image != "ahdinosaur/ssb-pub" {
		t.Errorf("show: %+v", inv)
	}
	r = buttctl(t, dir, nil, "inventory", "path")
	if r.stdout != "buttctl.yaml\n" {
		t.Errorf("path: %+v", r)
	}
}

func TestCLIInventoryResolution(t *testing.T) {
	dir := t.TempDir()
	// -i and $BUTTCTL_INVENTORY point init (and everything else) elsewhere.
	r := buttctl(t, dir, []string{"BUTTCTL_INVENTORY=" + filepath.Join(dir, "env", "b.yaml")}, "init")
	if r.code != 0 {
		t.Fatalf("init with env: %+v", r)
	}
	r = buttctl(t, dir, []string{"BUTTCTL_INVENTORY=" + filepath.Join(dir, "env", "b.yaml")}, "inventory", "validate")
	if r.code != 0 {
		t.Errorf("validate with env: %+v", r)
	}
	// With nothing set and no ./buttctl.yaml, the XDG config file is used.
	r = buttctl(t, dir, nil, "inventory", "path")
	if want := filepath.Join(dir, "xdg", "buttctl", "buttctl.yaml") + "\n"; r.stdout != want {
		t.Errorf("path = %q, want %q", r.stdout, want)
	}
	r = buttctl(t, dir, nil, "inventory", "validate")
	if r.code != 1 || !strings.Contains(r.stderr, "run 'buttctl init'") {
		t.Errorf("validate without an inventory: %+v", r)
	}
}

func TestCLIExitCodesAndOutput(t *testing.T) {
	dir := t.TempDir()
	cases := []struct {
		args   []string
		code   int
		stdout string // prefix
		stderr string // prefix
	}{
		{[]string{"version", "-o", "json"}, 0, "{\n  \"version\": \"dev\",\n  \"commit\": \"none\",", ""},
		{[]string{"version"}, 0, "buttctl dev (commit none, go", ""},
		{[]string{"nope"}, 2, "", `buttctl: unknown command "nope"`},
		{[]string{"version", "--nope"}, 2, "", "buttctl: unknown flag: --nope (see 'buttctl version --help')"},
		{[]string{"version", "-o", "xml"}, 2, "", `buttctl: invalid argument "xml" for "-o, --output" flag: unknown output format "xml": use one of table, json, yaml`},
		{[]string{"inventory", "validate", "extra"}, 2, "", "buttctl: unknown command \"extra\""},
		{[]string{"completion", "bash"}, 0, "# bash completion V2 for buttctl", ""},
		{[]string{"completion", "zsh"}, 0, "#compdef buttctl", ""},
		{[]string{"completion", "fish"}, 0, "# fish completion for buttctl", ""},
		{[]string{"completion", "tcsh"}, 2, "", "buttctl: invalid argument"},
	}
	for _, c := range cases {
		r := buttctl(t, dir, nil, c.args...)
		if r.code != c.code || !strings.HasPrefix(r.stdout, c.stdout) || !strings.HasPrefix(r.stderr, c.stderr) {
			t.Errorf("buttctl %s:\n exit %d stdout %.80q stderr %q\nwant exit %d stdout %q... stderr %q...",
				strings.Join(c.args, " "), r.code, r.stdout, r.stderr, c.code, c.stdout, c.stderr)
		}
		if c.code != 0 && strings.Count(r.stderr, "\n") != 1 {
			t.Errorf("buttctl %s: error is not one line: %q", strings.Join(c.args, " "), r.stderr)
		}
	}
}

// TestCLINoColorOffTTY: output captured by a pipe carries no escape codes.
func TestCLINoColorOffTTY(t *testing.T) {
	r := buttctl(t, t.TempDir(), []string{"TERM=xterm-256color"}, "--help")
	if strings.Contains(r.stdout+r.stderr, "\x1b[") {
		t.Errorf("escape codes in piped output: %q", r.stdout)
	}
}
