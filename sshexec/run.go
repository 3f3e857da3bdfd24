package sshexec

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/ssh"
)

// RunOptions are a command's standard streams. Stdout and Stderr, when set,
// receive the output as it comes instead of Result capturing it.
type RunOptions struct {
	Stdin          io.Reader
	Stdout, Stderr io.Writer
}

// Result is what a command printed and how long it took.
type Result struct {
	Stdout, Stderr []byte
	// ExitStatus is the command's exit status (-1 when killed by a signal).
	ExitStatus int
	Duration   time.Duration
}

// ExitError is a remote command that ended with a non-zero status or a signal.
type ExitError struct {
	Target string // hub name
	Argv   []string
	Status int    // exit status; -1 when Signal is set
	Signal string // "KILL", "TERM", ... when killed by a signal
	// Stderr is the end of what the command wrote on stderr.
	Stderr []byte
}

func (e *ExitError) Error() string {
	what := fmt.Sprintf("exited with status %d", e.Status)
	if e.Signal != "" {
		what = "was killed by signal " + e.Signal
	}
	msg := fmt.Sprintf("%s: %s %s", e.Target, summarize(e.Argv), what)
	if line := lastLine(e.Stderr); line != "" {
		msg += ": " + line
	}
	return msg
}

// ErrConnectionLost is the connection dropping while a command ran.
var ErrConnectionLost = errors.New("connection lost")

// cancelGrace is how long a cancelled command has between SIGTERM and SIGKILL.
const cancelGrace = 2 * time.Second

// StderrTail is how much of stderr an ExitError keeps when stderr is streamed.
const StderrTail = 4096

// Run runs argv on t and waits for it. Every argument is quoted for the remote
// shell, so none is ever interpreted by it. A non-zero exit is an *ExitError
// (with the Result); a failure to connect is a *ConnectError. Cancelling ctx
// ends the remote command's process group: SIGTERM, then SIGKILL.
func (p *Pool) Run(ctx context.Context, t Target, argv []string, opts RunOptions) (*Result, error) {
	if len(argv) == 0 {
		return nil, fmt.Errorf("%s: ssh: no command to run", t.Name)
	}
	r, err := p.resolve(t)
	if err != nil {
		return nil, err
	}
	name := r.target().name
	start := time.Now()
	c, sess, release, err := p.session(ctx, r)
	if err != nil {
		return nil, err
	}
	defer release()
	defer sess.Close()

	res := &Result{}
	var stdout, stderr bytes.Buffer
	tail := &TailBuffer{Max: StderrTail}
	out := io.Writer(&stdout)
	if opts.Stdout != nil {
		out = opts.Stdout
	}
	pid := &pidSniffer{w: out}
	sess.Stdin = opts.Stdin
	sess.Stdout = pid
	sess.Stderr = io.MultiWriter(&stderr, tail)
	if opts.Stderr != nil {
		sess.Stderr = io.MultiWriter(opts.Stderr, tail)
	}
	// The remote shell reports its PID (the command's process group, as sshd
	// makes each session a process group) before it becomes the command: a
	// cancelled command is killed through it, since sshd refuses signal
	// requests for root logins and never kills a command when its channel
	// closes.
	if err := sess.Start("echo $$; exec " + Quote(argv)); err != nil {
		return nil, fmt.Errorf("%s: ssh: starting %s: %w", name, summarize(argv), err)
	}
	err = waitOrCancel(ctx, sess, func(sig ssh.Signal) { p.killGroup(c, sess, pid.PID(), sig) })
	res.Duration = time.Since(start)
	if opts.Stdout == nil {
		res.Stdout = stdout.Bytes()
	}
	if opts.Stderr == nil {
		res.Stderr = stderr.Bytes()
	}
	if err == nil {
		return res, nil
	}
	if ctx.Err() != nil {
		res.ExitStatus = -1
		return res, fmt.Errorf("%s: %s cancelled: %w", name, summarize(argv), ctx.Err())
	}
	var ee *ssh.ExitError
	if errors.As(err, &ee) {
		res.ExitStatus = ee.ExitStatus()
		xe := &ExitError{Target: name, Argv: argv, Status: ee.ExitStatus(), Stderr: tail.Bytes()}
		if ee.Signal() != "" {
			xe.Signal, xe.Status, res.ExitStatus = ee.Signal(), -1, -1
		}
		return res, xe
	}
	res.ExitStatus = -1
	return res, fmt.Errorf("%s: ssh: %s: %w (%v)", name, summarize(argv), ErrConnectionLost, err)
}

// killGroup sends sig to the remote process group pgid: by a signal request
// (honoured by sshd for non-root logins) and by `kill` in a second session.
func (p *Pool) killGroup(c *conn, sess *ssh.Session, pgid int, sig ssh.Signal) {
	sess.Signal(sig)
	if pgid <= 1 {
		return
	}
	s, err := c.client.NewSession()
	if err != nil {
		return
	}
	defer s.Close()
	done := make(chan struct{})
	go func() {
		s.Run(Quote([]string{"kill", "-s", string(sig), "--", "-" + strconv.Itoa(pgid)}))
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
	}
}

// waitOrCancel waits for the session's command; on cancellation it kills the
// remote command with SIGTERM, then SIGKILL after a grace period.
func waitOrCancel(ctx context.Context, sess *ssh.Session, kill func(ssh.Signal)) error {
	done := make(chan error, 1)
	go func() { done <- sess.Wait() }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
	}
	kill(ssh.SIGTERM)
	grace := time.NewTimer(cancelGrace)
	defer grace.Stop()
	select {
	case <-done:
		return ctx.Err()
	case <-grace.C:
	}
	kill(ssh.SIGKILL)
	sess.Close()
	<-done
	return ctx.Err()
}

// session opens a session channel on r's pooled connection, within the
// per-connection session bound. A connection found dead is redialled once; a
// session refused (sshd frees its MaxSessions slots a little after a session
// ends) is asked for again with backoff.
func (p *Pool) session(ctx context.Context, r route) (*conn, *ssh.Session, func(), error) {
	redialled := false
	backoff := 10 * time.Millisecond
	for refused := 0; ; {
		c, err := p.client(ctx, r)
		if err != nil {
			return nil, nil, nil, err
		}
		select {
		case c.sessions <- struct{}{}:
		case <-ctx.Done():
			return nil, nil, nil, fmt.Errorf("%s: ssh: waiting for a free session: %w", r.target().name, ctx.Err())
		}
		release := func() { <-c.sessions }
		s, err := c.client.NewSession()
		if err == nil {
			return c, s, release, nil
		}
		release()
		var oce *ssh.OpenChannelError
		switch {
		case errors.As(err, &oce) && refused < 8:
			refused++
			select {
			case <-time.After(backoff):
			case <-ctx.Done():
				return nil, nil, nil, fmt.Errorf("%s: ssh: opening a session: %w", r.target().name, ctx.Err())
			}
			backoff *= 2
			continue
		case !errors.As(err, &oce) && !redialled:
			redialled = true
			p.forget(c)
			continue
		}
		return nil, nil, nil, fmt.Errorf("%s: ssh: opening a session: %w", r.target().name, err)
	}
}

// pidSniffer takes the first line of a command's stdout (the PID the remote
// shell printed) and passes the rest through.
type pidSniffer struct {
	w    io.Writer
	mu   sync.Mutex
	head []byte
	done bool
	pid  int
}

func (s *pidSniffer) Write(b []byte) (int, error) {
	n := len(b)
	s.mu.Lock()
	if !s.done {
		i := bytes.IndexByte(b, '\n')
		if i < 0 && len(s.head)+len(b) < 32 {
			s.head = append(s.head, b...)
			s.mu.Unlock()
			return n, nil
		}
		s.done = true
		if i >= 0 {
			if pid, err := strconv.Atoi(string(append(s.head, b[:i]...))); err == nil {
				s.pid = pid
				b = b[i+1:]
			} else {
				b = append(s.head, b...)
			}
		} else {
			b = append(s.head, b...)
		}
		s.head = nil
	}
	s.mu.Unlock()
	if len(b) > 0 {
		if _, err := s.w.Write(b); err != nil {
			return n, err
		}
	}
	return n, nil
}

// PID is the remote shell's PID, or 0 while unknown.
func (s *pidSniffer) PID() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.pid
}

// Quote returns argv as one command line for a POSIX shell, every argument
// single-quoted unless it is made only of characters no shell interprets.
func Quote(argv []string) string {
	quoted := make([]string, len(argv))
	for i, a := range argv {
		quoted[i] = quoteArg(a)
	}
	return strings.Join(quoted, " ")
}

func quoteArg(s string) string {
	if s == "" {
		return "''"
	}
	safe := true
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_./:,+@%", r)) {
			safe = false
			break
		}
	}
	if safe {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// summarize is argv for an error message: quoted, and cut when long.
func summarize(argv []string) string {
	s := Quote(argv)
	if len(s) > 60 {
		s = s[:57] + "..."
	}
	return "`" + s + "`"
}

func lastLine(b []byte) string {
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	return strings.TrimSpace(lines[len(lines)-1])
}

// TailBuffer keeps the last Max bytes written to it: the end of a
// command's stderr, for its ExitError.
type TailBuffer struct {
	Max int
	buf []byte
}

func (t *TailBuffer) Write(p []byte) (int, error) {
	t.buf = append(t.buf, p...)
	if len(t.buf) > t.Max {
		t.buf = t.buf[len(t.buf)-t.Max:]
	}
	return len(p), nil
}

// Bytes returns the last Max bytes written.
func (t *TailBuffer) Bytes() []byte { return t.buf }
