package cmdutil

import (
	"strings"

	"github.com/spf13/cobra"
)

// Args wraps a cobra argument validator so its errors are usage errors (exit 2).
func Args(v cobra.PositionalArgs) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if err := v(cmd, args); err != nil {
			return &UsageError{Err: err}
		}
		return nil
	}
}

// IsCobraUsage reports whether err is one of cobra's own command-line errors
// (unknown command, flag or shorthand), which are usage errors.
func IsCobraUsage(err error) bool {
	msg := err.Error()
	for _, p := range []string{"unknown command", "unknown flag", "unknown shorthand", "invalid argument", "flag needs an argument", "required flag", "accepts ", "requires at least", "if any flags in the group"} {
		if strings.HasPrefix(msg, p) {
			return true
		}
	}
	return false
}
