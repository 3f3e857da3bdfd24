package sshexec

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"

	"golang.org/x/crypto/ssh"
	"golang.org/x/term"
)

// Stdio are the streams of an interactive session.
type Stdio struct {
	In       io.Reader
	Out, Err io.Writer
}

// Shell runs argv (or the login shell when argv is empty) on t, attached to
// stdio. When stdio.In is a terminal it gets a PTY: the local terminal is put
// in raw mode for the session and window-size changes follow SIGWINCH. A
// non-zero remote exit is an *ExitError.
func (p *Pool) Shell(ctx context.Context, t Target, argv []string, stdio Stdio) error {
	r, err := p.resolve(t)
	if err != nil {
		return err
	}
	name := r.target().name
	in, isFile := stdio.In.(*os.File)
	tty := isFile && term.IsTerminal(int(in.Fd()))
	if !tty && len(argv) > 0 {
		_, err := p.Run(ctx, t, argv, RunOptions{Stdin: stdio.In, Stdout: stdio.Out, Stderr: stdio.Err})
		return err
	}
	_, sess, release, err := p.session(ctx, r)
	if err != nil {
		return err
	}
	defer release()
	defer sess.Close()
	sess.Stdin, sess.Stdout, sess.Stderr = stdio.In, stdio.Out, stdio.Err

	if tty {
		fd := int(in.Fd())
		w, h, err := term.GetSize(fd)
		if err != nil {
			w, h = 80, 24
		}
		termName := os.Getenv("TERM")
		if termName == "" {
			termName = "xterm-256color"
		}
		modes := ssh.TerminalModes{ssh.ECHO: 1, ssh.TTY_OP_ISPEED: 38400, ssh.TTY_OP_OSPEED: 38400}
		if err := sess.RequestPty(termName, h, w, modes); err != nil {
			return fmt.Errorf("%s: ssh: requesting a PTY: %w", name, err)
		}
		state, err := term.MakeRaw(fd)
		if err != nil {
			return fmt.Errorf("%s: ssh: raw mode for the local terminal: %w", name, err)
		}
		defer term.Restore(fd, state)
		stop := followWindowSize(fd, sess)
		defer stop()
	}

	if len(argv) == 0 {
		err = sess.Shell()
	} else {
		err = sess.Start(Quote(argv))
	}
	if err != nil {
		return fmt.Errorf("%s: ssh: starting the session: %w", name, err)
	}
	// With a PTY, closing the session hangs up the remote terminal.
	err = waitOrCancel(ctx, sess, func(sig ssh.Signal) { sess.Signal(sig) })
	if err == nil {
		return nil
	}
	if ctx.Err() != nil {
		return fmt.Errorf("%s: session cancelled: %w", name, ctx.Err())
	}
	var ee *ssh.ExitError
	if errors.As(err, &ee) {
		xe := &ExitError{Target: name, Argv: argv, Status: ee.ExitStatus()}
		if len(argv) == 0 {
			xe.Argv = []string{"shell"}
		}
		if ee.Signal() != "" {
			xe.Signal, xe.Status = ee.Signal(), -1
		}
		return xe
	}
	return fmt.Errorf("%s: ssh: %w (%v)", name, ErrConnectionLost, err)
}

// followWindowSize sends the terminal's size to the session on every SIGWINCH
// until stop is called.
func followWindowSize(fd int, sess *ssh.Session) (stop func()) {
	winch := make(chan os.Signal, 1)
	notifyWinch(winch)
	done := make(chan struct{})
	go func() {
		for {
			select {
			case <-done:
				return
			case <-winch:
				if w, h, err := term.GetSize(fd); err == nil {
					sess.WindowChange(h, w)
				}
			}
		}
	}()
	return func() {
		signal.Stop(winch)
		close(done)
	}
}
