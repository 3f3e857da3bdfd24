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
	cmd.Flags().VarP(f, "output", "o", "output format: "+strings.Join(names, "|"))
	_ = cmd.RegisterFlagCompletionFunc("output", cobra.FixedCompletions(names, cobra.ShellCompDirectiveNoFileComp))
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
		var generic any
		if err := json.Unmarshal(b, &generic); err != nil {
			return err
		}
		enc := yaml.NewEncoder(w)
		enc.SetIndent(2)
		if err := enc.Encode(generic); err != nil {
			return err
		}
		return enc.Close()
	default:
		return fmt.Errorf("output format %q is not a machine format", f)
	}
}
