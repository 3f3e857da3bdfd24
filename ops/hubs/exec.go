package hubs

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/buttctl/buttctl/ops/hubconn"
	"github.com/buttctl/buttctl/sshexec"
)

// Status is how a command fared on one hub, in Ansible's terms.
type Status string

// Statuses of ExecResult.
const (
	StatusOK          Status = "ok"
	StatusFailed      Status = "failed"      // the command ran and failed, or timed out
	StatusUnreachable Status = "unreachable" // no connection, or it was lost
)

// Stream names an output stream.
type Stream string

// The output streams.
const (
	Stdout Stream = "stdout"
	Stderr Stream = "stderr"
)

// ExecOptions tune a fan-out.
type ExecOptions struct {
	// Parallel is how many hubs run the command at once (DefaultParallel).
	Parallel int
	// Timeout bounds the command on each hub, connection included (0 = none).
	Timeout time.Duration
	// OnLine, when set, receives each output line as it arrives (without its
	// newline; a last line without one is passed at the end). Calls for one
	// hub are in order; calls for different hubs may be concurrent.
	OnLine func(hub string, stream Stream, line string)
}

// ExecResult is the outcome of a command on one hub.
type ExecResult struct {
	Hub    string `json:"hub"`
	Status Status `json:"status"`
	// Exit is the exit status; nil when the command did not finish.
	Exit       *int   `json:"exit"`
	Signal     string `json:"signal,omitempty"`
	TimedOut   bool   `json:"timed_out,omitempty"`
	Stdout     string `json:"stdout"`
	Stderr     string `json:"stderr"`
	DurationMS int64  `json:"duration_ms"`
	Error      string `json:"error,omitempty"`
}

// Exec runs argv on every hub named, at most opts.Parallel at once, and
// returns one result per hub in the order given.
func Exec(ctx context.Context, conns *hubconn.Conns, hubs []string, argv []string, opts ExecOptions) []ExecResult {
	results := make([]ExecResult, len(hubs))
	forEach(len(hubs), opts.Parallel, func(i int) {
		results[i] = execOne(ctx, conns, hubs[i], argv, opts)
	})
	return results
}

func execOne(ctx context.Context, conns *hubconn.Conns, hub string, argv []string, opts ExecOptions) ExecResult {
	if opts.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, opts.Timeout)
		defer cancel()
	}
	start := time.Now()
	out := &lineWriter{hub: hub, stream: Stdout, onLine: opts.OnLine}
	errOut := &lineWriter{hub: hub, stream: Stderr, onLine: opts.OnLine}
	_, err := conns.RunWith(ctx, hub, argv, sshexec.RunOptions{Stdout: out, Stderr: errOut})
	out.flush()
	errOut.flush()
	r := ExecResult{Hub: hub, Stdout: out.buf.String(), Stderr: errOut.buf.String(), DurationMS: time.Since(start).Milliseconds()}
	var (
		xe *sshexec.ExitError
		ce *sshexec.ConnectError
	)
	switch {
	case err == nil:
		r.Status, r.Exit = StatusOK, new(int)
	case errors.As(err, &xe):
		r.Status, r.Signal = StatusFailed, xe.Signal
		if xe.Signal == "" {
			status := xe.Status
			r.Exit = &status
		}
	case errors.As(err, &ce), errors.Is(err, sshexec.ErrConnectionLost):
		r.Status = StatusUnreachable
	case errors.Is(err, context.DeadlineExceeded) && ctx.Err() != nil:
		r.Status, r.TimedOut = StatusFailed, true
		err = fmt.Errorf("%s: timed out after %s (raise --timeout)", hub, opts.Timeout)
	default:
		r.Status = StatusFailed
	}
	if err != nil {
		r.Error = err.Error()
	}
	return r
}

// lineWriter captures a stream and hands out its complete lines.
type lineWriter struct {
	hub     string
	stream  Stream
	onLine  func(hub string, stream Stream, line string)
	mu      sync.Mutex
	buf     bytes.Buffer
	partial []byte
}

func (w *lineWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	if w.onLine == nil {
		return len(p), nil
	}
	w.partial = append(w.partial, p...)
	for {
		i := bytes.IndexByte(w.partial, '\n')
		if i < 0 {
			break
		}
		w.onLine(w.hub, w.stream, string(w.partial[:i]))
		w.partial = w.partial[i+1:]
	}
	return len(p), nil
}

func (w *lineWriter) flush() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.onLine != nil && len(w.partial) > 0 {
		w.onLine(w.hub, w.stream, string(w.partial))
		w.partial = nil
	}
}

// FanOutError says which hubs a fan-out failed on, failed apart from unreachable.
type FanOutError struct {
	Total       int
	Failed      []ExecResult
	Unreachable []ExecResult
}

func (e *FanOutError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d of %d hubs did not succeed", len(e.Failed)+len(e.Unreachable), e.Total)
	if len(e.Failed) > 0 {
		parts := make([]string, len(e.Failed))
		for i, r := range e.Failed {
			parts[i] = r.Hub + " (" + r.reason() + ")"
		}
		b.WriteString("; failed: " + strings.Join(parts, ", "))
	}
	if len(e.Unreachable) > 0 {
		parts := make([]string, len(e.Unreachable))
		for i, r := range e.Unreachable {
			parts[i] = r.Hub
		}
		b.WriteString("; unreachable: " + strings.Join(parts, ", "))
	}
	return b.String()
}

func (r ExecResult) reason() string {
	switch {
	case r.TimedOut:
		return "timed out"
	case r.Signal != "":
		return "signal " + r.Signal
	case r.Exit != nil:
		return fmt.Sprintf("exit %d", *r.Exit)
	default:
		return "error"
	}
}

// Outcome returns nil when every hub succeeded, else a *FanOutError.
func Outcome(results []ExecResult) error {
	e := &FanOutError{Total: len(results)}
	for _, r := range results {
		switch r.Status {
		case StatusFailed:
			e.Failed = append(e.Failed, r)
		case StatusUnreachable:
			e.Unreachable = append(e.Unreachable, r)
		}
	}
	if len(e.Failed)+len(e.Unreachable) == 0 {
		return nil
	}
	return e
}
