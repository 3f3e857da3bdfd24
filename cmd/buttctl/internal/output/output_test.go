package output

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"
)

type row struct {
	HubName string            `json:"hub_name"`
	Uptime  time.Duration     `json:"uptime_ns"`
	Tags    []string          `json:"tags,omitempty"`
	ID      string            `json:"id,omitempty"`
	Labels  map[string]string `json:"labels,omitempty"`
	Ratio   float64           `json:"ratio,omitempty"`
}

func TestExport(t *testing.T) {
	v := []row{{HubName: "hub-1", Uptime: time.Second}}
	var b bytes.Buffer
	if err := Export(&b, JSON, v); err != nil {
		t.Fatal(err)
	}
	if want := "[\n  {\n    \"hub_name\": \"hub-1\",\n    \"uptime_ns\": 1000000000\n  }\n]\n"; b.String() != want {
		t.Errorf("JSON:\n%s\nwant:\n%s", b.String(), want)
	}
	b.Reset()
	if err := Export(&b, YAML, v); err != nil {
		t.Fatal(err)
	}
	if want := "- hub_name: hub-1\n  uptime_ns: 1000000000\n"; b.String() != want {
		t.Errorf("YAML (same names as JSON):\n%s\nwant:\n%s", b.String(), want)
	}
	b.Reset()
	v = []row{{HubName: "yes", ID: "123", Tags: []string{"a b", "#x"}, Labels: map[string]string{"z": "1", "a": "true"}, Ratio: 0.5}}
	if err := Export(&b, YAML, v); err != nil {
		t.Fatal(err)
	}
	want := "- hub_name: yes\n  uptime_ns: 0\n  tags:\n    - a b\n    - '#x'\n  id: \"123\"\n  labels:\n    a: \"true\"\n    z: \"1\"\n  ratio: 0.5\n"
	if b.String() != want {
		t.Errorf("YAML (field order kept, strings that look like other types quoted):\n%s\nwant:\n%s", b.String(), want)
	}
	if err := Export(&b, Table, v); err == nil {
		t.Error("Export accepted a table format")
	}
}

func TestFormatFlag(t *testing.T) {
	var f Format
	cmd := &cobra.Command{Use: "x", RunE: func(*cobra.Command, []string) error { return nil }}
	AddFlag(cmd, &f, JSON, YAML)
	if f != JSON {
		t.Errorf("default = %q, want the first allowed", f)
	}
	if err := cmd.ParseFlags([]string{"-o", "yaml"}); err != nil || f != YAML || !f.IsMachine() {
		t.Errorf("-o yaml: %v %q", err, f)
	}
	for _, bad := range []string{"xml", "table", "wide"} {
		if err := cmd.ParseFlags([]string{"-o", bad}); err == nil || !strings.Contains(err.Error(), "use one of json, yaml") {
			t.Errorf("-o %s: %v", bad, err)
		}
	}
	if err := f.Set("xml"); err == nil || !strings.Contains(err.Error(), "use one of table, wide, json, yaml") {
		t.Errorf("Format.Set(xml): %v", err)
	}
}

func TestTableOffTTY(t *testing.T) {
	var b bytes.Buffer
	tp := NewTable(&b, false, "NAME", "STATE")
	tp.Row("scuttle-1", "running")
	tp.RowCells(Cell{Text: "scuttle-22", Color: Green}, Cell{Text: "down", Color: Red})
	if err := tp.Render(true); err != nil {
		t.Fatal(err)
	}
	if want := "NAME\tSTATE\nscuttle-1\trunning\nscuttle-22\tdown\n"; b.String() != want {
		t.Errorf("got %q, want %q (tab-separated, no colour even when asked)", b.String(), want)
	}
}

func TestTableOnTTY(t *testing.T) {
	render := func(color bool) string {
		var b bytes.Buffer
		tp := NewTable(&b, true, "NAME", "STATE", "PORT")
		tp.Row("a", "running", "8008")
		tp.RowCells(Cell{Text: "scuttle-22"}, Cell{Text: "down", Color: Red}, Cell{Text: "9"})
		if err := tp.Render(color); err != nil {
			t.Fatal(err)
		}
		return b.String()
	}
	plain := "NAME        STATE    PORT\na           running  8008\nscuttle-22  down     9\n"
	if got := render(false); got != plain {
		t.Errorf("aligned:\n%s\nwant:\n%s", got, plain)
	}
	colored := render(true)
	if !strings.Contains(colored, "\x1b[31mdown\x1b[0m     9") || !strings.Contains(colored, "\x1b[1mNAME\x1b[0m") {
		t.Errorf("colour missing or misaligned: %q", colored)
	}
}
