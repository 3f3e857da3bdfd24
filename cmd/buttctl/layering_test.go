package main

import (
	"encoding/json"
	"io"
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/buttctl/buttctl"

// layer is one row of DESIGN.md's layout table: which packages of the module
// and which third-party modules a layer's packages may import.
type layer struct {
	prefix   string   // module-relative package path prefix
	internal []string // module-relative prefixes it may import
	external []string // import path prefixes outside the standard library it may import
}

// forbiddenEverywhereBelowCmd are UI and CLI libraries that only cmd and tui may use.
var layers = []layer{
	{prefix: "inventory", internal: []string{"inventory"}, external: []string{"go.yaml.in/yaml/v3"}},
	{prefix: "sshexec", internal: []string{"sshexec"}, external: []string{"golang.org/x/crypto", "golang.org/x/sys", "golang.org/x/term", "github.com/kevinburke/ssh_config"}},
	{prefix: "ops", internal: []string{"ops", "sshexec", "inventory"}, external: []string{"*"}},
	{prefix: "tui", internal: []string{"tui", "ops", "inventory"}, external: []string{"*"}},
	{prefix: "cmd", internal: []string{"*"}, external: []string{"*"}},
}

// uiOrCLI may never be imported below tui (ops, sshexec, inventory).
var uiOrCLI = []string{"charm.land/", "github.com/charmbracelet/", "github.com/spf13/cobra", "github.com/spf13/pflag"}

type pkgInfo struct {
	ImportPath string
	Imports    []string
	Standard   bool
}

// violations returns one line per import that goes against the layering.
func violations(pkgs []pkgInfo, isStd func(string) bool) []string {
	var out []string
	for _, p := range pkgs {
		rel, ok := strings.CutPrefix(p.ImportPath, module+"/")
		if !ok {
			continue
		}
		var l *layer
		for i := range layers {
			if rel == layers[i].prefix || strings.HasPrefix(rel, layers[i].prefix+"/") {
				l = &layers[i]
				break
			}
		}
		if l == nil {
			out = append(out, p.ImportPath+": package outside the layout of DESIGN.md")
			continue
		}
		for _, imp := range p.Imports {
			if isStd(imp) {
				continue
			}
			if irel, ok := strings.CutPrefix(imp, module+"/"); ok {
				if !allowed(l.internal, irel) {
					out = append(out, p.ImportPath+" imports "+imp+" (against DESIGN.md's dependency direction)")
				}
				continue
			}
			if l.prefix != "cmd" && l.prefix != "tui" && hasPrefix(uiOrCLI, imp) {
				out = append(out, p.ImportPath+" imports "+imp+" (UI/CLI libraries belong to cmd and tui)")
				continue
			}
			if !allowed(l.external, imp) {
				out = append(out, p.ImportPath+" imports "+imp+" (not allowed in "+l.prefix+")")
			}
		}
	}
	return out
}

func allowed(prefixes []string, path string) bool {
	for _, p := range prefixes {
		if p == "*" || path == p || strings.HasPrefix(path, p+"/") {
			return true
		}
	}
	return false
}

func hasPrefix(prefixes []string, path string) bool {
	for _, p := range prefixes {
		if strings.HasPrefix(path, p) {
			return true
		}
	}
	return false
}

func listPackages(t *testing.T) ([]pkgInfo, map[string]bool) {
	t.Helper()
	cmd := exec.Command("go", "list", "-json=ImportPath,Imports,Standard", "-deps", module+"/...")
	cmd.Dir = "../.."
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(stdout)
	var pkgs []pkgInfo
	std := map[string]bool{}
	for {
		var p pkgInfo
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		if p.Standard {
			std[p.ImportPath] = true
		}
		pkgs = append(pkgs, p)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("go list: %v", err)
	}
	return pkgs, std
}

func TestDependencyDirection(t *testing.T) {
	pkgs, std := listPackages(t)
	isStd := func(p string) bool { return std[p] || p == "C" }
	for _, v := range violations(pkgs, isStd) {
		t.Error(v)
	}
}

func TestDependencyDirectionCatchesForbiddenImports(t *testing.T) {
	isStd := func(p string) bool { return !strings.Contains(p, ".") }
	cases := []pkgInfo{
		{ImportPath: module + "/inventory", Imports: []string{"charm.land/bubbletea/v2"}},
		{ImportPath: module + "/ops/engine", Imports: []string{"github.com/spf13/cobra"}},
		{ImportPath: module + "/ops/fleet", Imports: []string{module + "/tui"}},
		{ImportPath: module + "/sshexec", Imports: []string{module + "/ops"}},
		{ImportPath: module + "/inventory", Imports: []string{module + "/sshexec"}},
		{ImportPath: module + "/tui", Imports: []string{module + "/cmd/buttctl/internal/cmdutil"}},
		{ImportPath: module + "/ops", Imports: []string{"charm.land/lipgloss/v2"}},
	}
	for _, c := range cases {
		if v := violations([]pkgInfo{c}, isStd); len(v) != 1 {
			t.Errorf("%s importing %v: want one violation, got %v", c.ImportPath, c.Imports, v)
		}
	}
	ok := []pkgInfo{
		{ImportPath: module + "/ops/fleet", Imports: []string{module + "/sshexec", module + "/inventory", "fmt"}},
		{ImportPath: module + "/tui", Imports: []string{module + "/ops/fleet", "charm.land/bubbletea/v2"}},
		{ImportPath: module + "/cmd/buttctl", Imports: []string{module + "/tui", "github.com/spf13/cobra"}},
	}
	if v := violations(ok, isStd); len(v) != 0 {
		t.Errorf("allowed imports reported: %v", v)
	}
}
