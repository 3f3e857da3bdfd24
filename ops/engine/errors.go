package engine

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"syscall"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/client"
)

// Error is a failure on one hub's Docker engine. Its message names the hub.
type Error struct {
	Hub string
	Err error
	// Unreachable is set when the engine could not be reached at all (or
	// refused access), as opposed to refusing one request.
	Unreachable bool
}

func (e *Error) Error() string { return e.Hub + ": " + e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }

// Sentinels, matched with errors.Is.
var (
	// ErrUnreachable: the hub's Docker engine could not be reached or denied access.
	ErrUnreachable = errors.New("Docker engine unreachable")
	// ErrNotFound: no such managed container, volume or image.
	ErrNotFound = errors.New("not found")
)

// Is makes errors.Is(err, ErrUnreachable) true for unreachable engines.
func (e *Error) Is(target error) bool { return target == ErrUnreachable && e.Unreachable }

// IsUnreachable reports whether err says a hub's engine could not be reached.
func IsUnreachable(err error) bool { return errors.Is(err, ErrUnreachable) }

// IsNotFound reports whether err says an object does not exist.
func IsNotFound(err error) bool { return errors.Is(err, ErrNotFound) || cerrdefs.IsNotFound(err) }

// fail turns an error of the Docker client into an *Error naming the hub.
// what says what buttctl was doing ("" for none).
func (e *Engine) fail(err error, what string) error {
	if err == nil {
		return nil
	}
	var already *Error
	if errors.As(err, &already) {
		return err
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		if what == "" {
			what = "Docker engine at " + e.socket
		}
		// The client's error holds the request's URL: say only what happened.
		cause := fmt.Errorf("%s: %w", what, context.Canceled)
		if errors.Is(err, context.DeadlineExceeded) {
			cause = fmt.Errorf("%s: no answer in time (%w)", what, context.DeadlineExceeded)
		}
		return &Error{Hub: e.hub, Err: cause, Unreachable: e.version.Load() == nil}
	}
	de, dialFailed := errorsAsDial(err)
	if !dialFailed && client.IsErrConnectionFailed(err) {
		// The client drops the cause of some dial failures (permission denied);
		// the dialer kept it.
		de, dialFailed = e.lastDialErr.Load(), true
	}
	if dialFailed {
		return &Error{Hub: e.hub, Err: e.unreachable(de, err), Unreachable: true}
	}
	if strings.Contains(err.Error(), "is not supported by this client") {
		return &Error{Hub: e.hub, Err: fmt.Errorf("the Docker engine at %s is too old: %s (buttctl needs API 1.40 or later, Docker 19.03+)", e.socket, trimDaemon(err)), Unreachable: true}
	}
	msg := trimDaemon(err)
	if what != "" {
		msg = what + ": " + msg
	}
	return &Error{Hub: e.hub, Err: &wrapped{msg: msg, err: err}}
}

// unreachable explains a failed dial of the Docker socket and what to do.
func (e *Engine) unreachable(de *dialError, err error) error {
	cause := err
	if de != nil {
		cause = de.err
	}
	// The dialer's own error may already name the hub. Through SSH, sshexec
	// explains its failures itself; a local socket gets a hint here.
	text := strings.TrimPrefix(cause.Error(), e.hub+": ")
	hint := ""
	var op *net.OpError
	switch {
	case !errors.As(cause, &op) || op.Net != "unix":
	case errors.Is(cause, os.ErrPermission):
		hint = "the user has no access to the Docker socket: add it to the docker group, or set docker_socket"
	case errors.Is(cause, os.ErrNotExist) || errors.Is(cause, syscall.ECONNREFUSED):
		hint = "is dockerd running, and is docker_socket right?"
	}
	msg := fmt.Sprintf("Docker engine unreachable at %s: %s", e.socket, text)
	if hint != "" {
		msg += " (" + hint + ")"
	}
	return &wrapped{msg: msg, err: errors.Join(ErrUnreachable, cause)}
}

// wrapped carries a rewritten message while keeping the cause for errors.Is.
type wrapped struct {
	msg string
	err error
}

func (w *wrapped) Error() string { return w.msg }
func (w *wrapped) Unwrap() error { return w.err }

// trimDaemon drops the Docker client's "Error response from daemon: " prefix.
func trimDaemon(err error) string {
	return strings.TrimPrefix(err.Error(), "Error response from daemon: ")
}
