// Package output prints command results: aligned tables for people (colour
// only on a terminal), and one exporter for -o json|yaml for scripts.
package output

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/spf13/cobra"
	"go.yaml.in/yaml/v3"
)

// Format is the value of -o/--output.
type Format string

// The output formats every listing command accepts.
const (
	Table Format = "table"
	Wide  Format = "wide"
	JSON  Format = "json"
	YAML  Format = "yaml"
)

// Formats lists the accepted values of -o, in help order.
var Formats = []Format{Table, Wide, JSON, YAML}

// String implements pflag.Value.
func (f *Format) String() string {
	if *f == "" {
		return string(Table)
	}
	return string(*f)
}

// Set implements pflag.Value.
func (f *Format) Set(s string) error {
	if !slices.Contains(Formats, Format(s)) {
		return fmt.Errorf("unknown output format %q: use one of table, wide, json, yaml", s)
	}
	*f = Format(s)
	return nil
}

// Type implements pflag.Value.
func (f *Format) Type() string { return "format" }

// IsMachine reports whether the format is for scripts.
func (f Format) IsMachine() bool { return f == JSON || f == YAML }

// AddFlag adds -o/--output to cmd, with completion.
func AddFlag(cmd *cobra.Command, f *Format, allowed ...Format) {
	if len(allowed) == 0 {
		allowed = Formats
	}
	names := make([]string, len(allowed))
	for i, a := range allowed {
		names[i] = string(a)
	}
	*f = allowed[0]
	cmd.Flags().VarP(&formatValue{f: f, allowed: allowed}, "output", "o", "output format: "+strings.Join(names, "|"))
	_ = cmd.RegisterFlagCompletionFunc("output", cobra.FixedCompletions(names, cobra.ShellCompDirectiveNoFileComp))
}

// formatValue is -o for one command: only the formats it allows.
type formatValue struct {
	f       *Format
	allowed []Format
}

func (v *formatValue) String() string { return v.f.String() }
func (v *formatValue) Type() string   { return "format" }
func (v *formatValue) Set(s string) error {
	if !slices.Contains(v.allowed, Format(s)) {
		names := make([]string, len(v.allowed))
		for i, a := range v.allowed {
			names[i] = string(a)
		}
		return fmt.Errorf("unknown output format %q: use one of %s", s, strings.Join(names, ", "))
	}
	*v.f = Format(s)
	return nil
}

// Export writes v as JSON (indented, trailing newline) or YAML. Field names come
// from the `json` tags of v's types, snake_case, for both formats.
func Export(w io.Writer, f Format, v any) error {
	switch f {
	case JSON:
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(v)
	case YAML:
		// Through JSON, so YAML has the same field names, omissions and
		// order (struct order, map keys sorted), then as block YAML.
		b, err := json.Marshal(v)
		if err != nil {
			return err
		}
		var doc yaml.Node
		if err := yaml.Unmarshal(b, &doc); err != nil {
			return err
		}
		blockStyle(&doc)
		enc := yaml.NewEncoder(w)
		enc.SetIndent(2)
		if err := enc.Encode(&doc); err != nil {
			return err
		}
		return enc.Close()
	default:
		return fmt.Errorf("output format %q is not a machine format", f)
	}
}

// blockStyle drops the flow style and quoting JSON text parses with; the
// encoder quotes again whatever needs it.
func blockStyle(n *yaml.Node) {
	n.Style = 0
	for _, c := range n.Content {
		blockStyle(c)
	}
}
