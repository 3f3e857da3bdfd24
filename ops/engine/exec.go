package engine

import (
	"bytes"
	"context"
	"io"
	"time"

	"github.com/moby/moby/api/pkg/stdcopy"
	"github.com/moby/moby/client"
)

// TermSize is a terminal's size in characters.
type TermSize struct{ Width, Height uint }

// ExecOptions describe a command run inside a managed container.
type ExecOptions struct {
	Cmd []string
	// TTY allocates a terminal: output comes as one stream on Stdout.
	TTY bool
	// Size is the terminal's initial size (TTY only; zero: the engine's default).
	Size TermSize
	// Resize delivers later sizes of the terminal (TTY only; may be nil).
	Resize <-chan TermSize
	// Stdin, if not nil, is copied to the command; its end closes the command's input.
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	Env            []string
}

// Exec runs a command in a running managed container and returns its exit
// code once its output has ended. With Stdin set, the goroutine copying it
// ends at its next read after the command exits.
func (e *Engine) Exec(ctx context.Context, c Container, o ExecOptions) (int, error) {
	if err := e.check(c); err != nil {
		return -1, err
	}
	if err := e.ready(ctx); err != nil {
		return -1, err
	}
	what := "exec in container " + c.Name
	size := client.ConsoleSize{}
	if o.TTY {
		size = client.ConsoleSize{Width: o.Size.Width, Height: o.Size.Height}
	}
	created, err := e.api.ExecCreate(ctx, c.ID, client.ExecCreateOptions{
		Cmd:          o.Cmd,
		TTY:          o.TTY,
		ConsoleSize:  size,
		AttachStdin:  o.Stdin != nil,
		AttachStdout: true,
		AttachStderr: true,
		Env:          o.Env,
	})
	if err != nil {
		return -1, e.fail(err, what)
	}
	att, err := e.api.ExecAttach(ctx, created.ID, client.ExecAttachOptions{TTY: o.TTY, ConsoleSize: size})
	if err != nil {
		return -1, e.fail(err, what)
	}
	defer att.Close()
	stop := context.AfterFunc(ctx, att.Close)
	defer stop()
	if o.TTY && o.Size != (TermSize{}) {
		// Engines before API 1.42 ignore the size given at creation.
		_, _ = e.api.ExecResize(ctx, created.ID, client.ExecResizeOptions{Width: o.Size.Width, Height: o.Size.Height})
	}

	if o.Stdin != nil {
		go func() {
			_, _ = io.Copy(att.Conn, o.Stdin)
			_ = att.CloseWrite()
		}()
	}
	if o.TTY && o.Resize != nil {
		resizeCtx, cancel := context.WithCancel(ctx)
		defer cancel()
		go func() {
			for {
				select {
				case <-resizeCtx.Done():
					return
				case s, ok := <-o.Resize:
					if !ok {
						return
					}
					_, _ = e.api.ExecResize(resizeCtx, created.ID, client.ExecResizeOptions{Width: s.Width, Height: s.Height})
				}
			}
		}()
	}

	stdout, stderr := o.Stdout, o.Stderr
	if stdout == nil {
		stdout = io.Discard
	}
	if stderr == nil {
		stderr = io.Discard
	}
	if o.TTY {
		_, err = io.Copy(stdout, att.Reader)
	} else {
		_, err = stdcopy.StdCopy(stdout, stderr, att.Reader)
	}
	if ctx.Err() != nil {
		return -1, e.fail(ctx.Err(), what)
	}
	if err != nil {
		return -1, e.fail(err, what)
	}
	return e.execExitCode(ctx, created.ID, what)
}

// execExitCode waits for the engine to record the end of an exec whose
// output has ended, and returns its exit code.
func (e *Engine) execExitCode(ctx context.Context, id, what string) (int, error) {
	delay := 5 * time.Millisecond
	for {
		res, err := e.api.ExecInspect(ctx, id, client.ExecInspectOptions{})
		if err != nil {
			return -1, e.fail(err, what)
		}
		if !res.Running {
			return res.ExitCode, nil
		}
		select {
		case <-ctx.Done():
			return -1, e.fail(ctx.Err(), what)
		case <-time.After(delay):
		}
		delay = min(2*delay, 200*time.Millisecond)
	}
}

// Output runs cmd in a running managed container without a terminal and
// returns what it wrote and its exit code.
func (e *Engine) Output(ctx context.Context, c Container, cmd []string) (stdout, stderr []byte, code int, err error) {
	var out, errOut bytes.Buffer
	code, err = e.Exec(ctx, c, ExecOptions{Cmd: cmd, Stdout: &out, Stderr: &errOut})
	return out.Bytes(), errOut.Bytes(), code, err
}
