// Package output prints command results: aligned tables for people (colour
// only on a terminal), and one exporter for -o json|yaml for scripts.
package output

import (
	"bytes"
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
		// Round-trip through JSON so YAML uses the same field names and omissions.
		b, err := json.Marshal(v)
		if err != nil {
			return err
		}
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.UseNumber()
		var generic any
		if err := dec.Decode(&generic); err != nil {
			return err
		}
		enc := yaml.NewEncoder(w)
		enc.SetIndent(2)
		if err := enc.Encode(exactNumbers(generic)); err != nil {
			return err
		}
		return enc.Close()
	default:
		return fmt.Errorf("output format %q is not a machine format", f)
	}
}

// exactNumbers turns the json.Numbers of a decoded JSON value into int64 (or
// float64 when they have a fraction), so YAML writes 1000000000, not 1e+09.
func exactNumbers(v any) any {
	switch x := v.(type) {
	case json.Number:
		if i, err := x.Int64(); err == nil {
			return i
		}
		f, _ := x.Float64()
		return f
	case map[string]any:
		for k, e := range x {
			x[k] = exactNumbers(e)
		}
	case []any:
		for i, e := range x {
			x[i] = exactNumbers(e)
		}
	}
	return v
}
