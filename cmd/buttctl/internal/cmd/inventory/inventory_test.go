package inventory

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/buttctl/buttctl/cmd/buttctl/internal/cmdutil"
	"github.com/buttctl/buttctl/cmd/buttctl/internal/iostreams"
	"github.com/buttctl/buttctl/cmd/buttctl/internal/output"
	model "github.com/buttctl/buttctl/inventory"
	"github.com/buttctl/buttctl/ops/identity"
)

const good = `version: 1
hubs:
  - {name: local, local: true}
  - {name: hub-1, address: 203.0.113.10}
pubs:
  - {name: scuttle-1, hub: hub-1}
`

const bad = `version: 1
hubs:
  - {name: hub-1, adress: 203.0.113.10}
pubs:
  - {name: UPPER, hub: hub-1}
`

func loader(t *testing.T, text string) (string, func() (*model.Inventory, error)) {
	t.Helper()
	p := filepath.Join(t.TempDir(), "buttctl.yaml")
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return p, func() (*model.Inventory, error) { return model.Load(p) }
}

func TestNewCmdsFlags(t *testing.T) {
	ios, _, _, _ := iostreams.Test()
	f := &cmdutil.Factory{IOStreams: ios, Inventory: func() (*model.Inventory, error) { return nil, nil }}
	var v *ValidateOptions
	cmd := NewCmdValidate(f, func(o *ValidateOptions) error { v = o; return nil })
	cmd.SetArgs([]string{"-o", "json"})
	if err := cmd.Execute(); err != nil || v.Output != output.JSON || v.Inventory == nil {
		t.Errorf("validate -o json: %v %+v", err, v)
	}
	var s *ShowOptions
	cmd = NewCmdShow(f, func(o *ShowOptions) error { s = o; return nil })
	cmd.SetArgs(nil)
	if err := cmd.Execute(); err != nil || s.Output != output.YAML {
		t.Errorf("show defaults to yaml: %v %+v", err, s)
	}
	cmd = NewCmdShow(f, func(o *ShowOptions) error { return nil })
	cmd.SetArgs([]string{"-o", "table"})
	cmd.SilenceErrors, cmd.SilenceUsage = true, true
	if err := cmd.Execute(); err == nil {
		t.Error("show -o table accepted")
	}
}

func TestValidateOK(t *testing.T) {
	p, load := loader(t, good)
	ios, _, out, errOut := iostreams.Test()
	err := ValidateRun(&ValidateOptions{IO: ios, Path: func() string { return p }, Inventory: load, Output: output.Table})
	if err != nil || out.String() != "ok: 2 hubs, 1 pub\n" || errOut.Len() != 0 {
		t.Errorf("err %v, out %q, errOut %q", err, out, errOut)
	}
}

func TestValidateProblems(t *testing.T) {
	p, load := loader(t, bad)
	ios, _, out, _ := iostreams.Test()
	err := ValidateRun(&ValidateOptions{IO: ios, Path: func() string { return p }, Inventory: load, Output: output.Table})
	if cmdutil.ExitCode(err) != 1 || out.Len() != 0 {
		t.Fatalf("err %v, out %q", err, out)
	}
	lines := strings.Split(err.Error(), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], p+":3:19: ") || !strings.HasPrefix(lines[1], p+":5:12: ") {
		t.Errorf("problems:\n%s", err)
	}
}

func TestValidateJSON(t *testing.T) {
	p, load := loader(t, bad)
	ios, _, out, _ := iostreams.Test()
	err := ValidateRun(&ValidateOptions{IO: ios, Path: func() string { return p }, Inventory: load, Output: output.JSON})
	if cmdutil.ExitCode(err) != 1 {
		t.Errorf("exit %d", cmdutil.ExitCode(err))
	}
	var res struct {
		Path     string
		Valid    bool
		Problems []struct {
			File         string
			Line, Column int
			Message      string
		}
	}
	if err := json.Unmarshal(out.Bytes(), &res); err != nil {
		t.Fatal(err)
	}
	if res.Valid || res.Path != p || len(res.Problems) != 2 || res.Problems[1].Line != 5 || res.Problems[1].Column != 12 || !strings.Contains(res.Problems[1].Message, "UPPER") {
		t.Errorf("result %+v", res)
	}
	var b strings.Builder
	cmdutil.PrintError(&b, err)
	if b.Len() != 0 {
		t.Errorf("with -o json nothing more is printed, got %q", b.String())
	}
}

func TestValidateMissingFile(t *testing.T) {
	ios, _, _, _ := iostreams.Test()
	p := filepath.Join(t.TempDir(), "none.yaml")
	err := ValidateRun(&ValidateOptions{IO: ios, Path: func() string { return p }, Inventory: func() (*model.Inventory, error) { return model.Load(p) }, Output: output.JSON})
	if err == nil || !strings.Contains(err.Error(), "buttctl init") {
		t.Errorf("err = %v", err)
	}
}

func TestShow(t *testing.T) {
	_, load := loader(t, good)
	ios, _, out, _ := iostreams.Test()
	if err := ShowRun(&ShowOptions{IO: ios, Inventory: load, Output: output.JSON}); err != nil {
		t.Fatal(err)
	}
	var inv map[string]any
	if err := json.Unmarshal(out.Bytes(), &inv); err != nil {
		t.Fatal(err)
	}
	pub := inv["pubs"].([]any)[0].(map[string]any)
	if pub["image"] != "ahdinosaur/ssb-pub" || pub["port"] != 8008.0 || pub["memory"] != "512m" || pub["state"] != "running" || pub["restart"] != "unless-stopped" {
		t.Errorf("pub after defaults = %v", pub)
	}
	watch := inv["watch"].(map[string]any)
	if watch["hub_down_after"] != "2m" || watch["crash_loop"].(map[string]any)["window"] != "10m" {
		t.Errorf("watch = %v", watch)
	}
	out.Reset()
	if err := ShowRun(&ShowOptions{IO: ios, Inventory: load, Output: output.YAML}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "\n  - name: scuttle-1\n") && !strings.Contains(out.String(), "host_key_checking: strict") {
		t.Errorf("yaml:\n%s", out)
	}
	back, err := model.Parse("shown.yaml", out.Bytes())
	if err != nil {
		t.Fatalf("show's YAML is not a valid inventory: %v", err)
	}
	if orig, _ := load(); len(back.Pubs) != len(orig.Pubs) || back.Pubs[0].Port != orig.Pubs[0].Port {
		t.Errorf("show's YAML reads back differently")
	}
}

func TestPath(t *testing.T) {
	ios, _, out, _ := iostreams.Test()
	if err := PathRun(&PathOptions{IO: ios, Path: func() string { return "/x/buttctl.yaml" }}); err != nil || out.String() != "/x/buttctl.yaml\n" {
		t.Errorf("%v %q", err, out)
	}
}

func TestShowWithIdentities(t *testing.T) {
	_, load := loader(t, good)
	store, err := identity.OpenStore(filepath.Join(t.TempDir(), "state"))
	if err != nil {
		t.Fatal(err)
	}
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	id := "@" + base64.StdEncoding.EncodeToString(pub) + ".ed25519"
	secret := fmt.Sprintf(`{"curve":"ed25519","public":%q,"private":%q,"id":%q}`, id[1:], base64.StdEncoding.EncodeToString(priv)+".ed25519", id)
	at := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	if _, err := store.Record("scuttle-1", "hub-1", []byte(secret), at); err != nil {
		t.Fatal(err)
	}
	if err := store.RecordBackup("scuttle-1", identity.BackupRecord{At: at, File: "/b.tar.gz", Hub: "hub-1"}); err != nil {
		t.Fatal(err)
	}
	open := func() (*identity.Store, error) { return store, nil }
	ios, _, out, _ := iostreams.Test()
	if err := ShowRun(&ShowOptions{IO: ios, Inventory: load, Store: open, Output: output.JSON}); err != nil {
		t.Fatal(err)
	}
	var inv map[string]any
	if err := json.Unmarshal(out.Bytes(), &inv); err != nil {
		t.Fatal(err)
	}
	p := inv["pubs"].([]any)[0].(map[string]any)
	if p["identity"] != id || p["last_backup"] != "2026-05-01T12:00:00Z" || p["port"] != 8008.0 || inv["watch"] == nil {
		t.Errorf("pub %v", p)
	}
	// Fields keep their order: pubs before watch, as in the file.
	if strings.Index(out.String(), `"pubs"`) > strings.Index(out.String(), `"watch"`) {
		t.Errorf("field order changed:\n%s", out)
	}
	out.Reset()
	if err := ShowRun(&ShowOptions{IO: ios, Inventory: load, Store: open, Output: output.YAML}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "\n  # identity "+id+", last backup 2026-05-01T12:00:00Z\n  - name: scuttle-1\n") {
		t.Errorf("yaml:\n%s", out)
	}
	if _, err := model.Parse("shown.yaml", out.Bytes()); err != nil {
		t.Errorf("show's YAML with identities is not a valid inventory: %v", err)
	}
	if strings.Contains(out.String(), base64.StdEncoding.EncodeToString(priv)[:20]) {
		t.Error("show printed the private key")
	}
}
