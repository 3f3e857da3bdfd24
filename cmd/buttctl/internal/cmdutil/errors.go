package cmdutil

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
)

// Exit codes, the same for every command.
const (
	ExitOK      = 0
	ExitError   = 1
	ExitUsage   = 2
	ExitChanges = 2 // plan --detailed-exitcode: changes pending (Terraform's convention)
)

// UsageError is a command line the user must fix: exit 2.
type UsageError struct{ Err error }

func (e *UsageError) Error() string { return e.Err.Error() }
func (e *UsageError) Unwrap() error { return e.Err }

// Usagef builds a UsageError.
func Usagef(format string, a ...any) error {
	return &UsageError{Err: fmt.Errorf(format, a...)}
}

// ExitCodeError ends the command with Code, printing Err if it is not nil.
// Commands use it for outcomes that are not failures of buttctl itself,
// such as "changes pending".
type ExitCodeError struct {
	Code int
	Err  error
}

func (e *ExitCodeError) Error() string {
	if e.Err == nil {
		return fmt.Sprintf("exit status %d", e.Code)
	}
	return e.Err.Error()
}
func (e *ExitCodeError) Unwrap() error { return e.Err }

// SilentError has already been reported to the user; only the exit code remains.
//
//lint:ignore ST1012 the skeleton's name, kept: other commands use it
var SilentError = errors.New("silent")

// ExitCode maps an error to the process exit code. It is the one place that does.
func ExitCode(err error) int {
	if err == nil {
		return ExitOK
	}
	var ec *ExitCodeError
	if errors.As(err, &ec) {
		return ec.Code
	}
	var ue *UsageError
	if errors.As(err, &ue) {
		return ExitUsage
	}
	return ExitError
}

// PrintError writes err as buttctl's one-line error on w. Each line of a
// multi-line error (for example, every problem of an inventory) gets its own
// prefix so the output stays grep-able.
func PrintError(w io.Writer, err error) {
	if err == nil || errors.Is(err, SilentError) {
		return
	}
	var ec *ExitCodeError
	if errors.As(err, &ec) && ec.Err == nil {
		return
	}
	msg := err.Error()
	if errors.Is(err, context.DeadlineExceeded) && !strings.Contains(msg, "timed out") {
		msg += " (timed out: raise --timeout)"
	}
	for _, line := range strings.Split(strings.TrimRight(msg, "\n"), "\n") {
		fmt.Fprintf(w, "buttctl: %s\n", line)
	}
}
