package hubconn

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"syscall"
	"time"

	"github.com/buttctl/buttctl/sshexec"
)

// runLocal runs argv on this machine as sshexec runs it on a hub: no shell,
// stdout and stderr captured or streamed, a non-zero exit as *sshexec.ExitError,
// cancellation ending the process group with SIGTERM, then SIGKILL.
func runLocal(ctx context.Context, hub string, argv []string, opts sshexec.RunOptions) (*sshexec.Result, error) {
	if len(argv) == 0 {
		return nil, fmt.Errorf("%s: no command to run", hub)
	}
	start := time.Now()
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM) }
	cmd.WaitDelay = 2 * time.Second
	var stdout, stderr bytes.Buffer
	tail := &sshexec.TailBuffer{Max: sshexec.StderrTail}
	cmd.Stdin = opts.Stdin
	cmd.Stdout = &stdout
	if opts.Stdout != nil {
		cmd.Stdout = opts.Stdout
	}
	cmd.Stderr = io.MultiWriter(&stderr, tail)
	if opts.Stderr != nil {
		cmd.Stderr = io.MultiWriter(opts.Stderr, tail)
	}
	err := cmd.Run()
	res := &sshexec.Result{Duration: time.Since(start)}
	if opts.Stdout == nil {
		res.Stdout = stdout.Bytes()
	}
	if opts.Stderr == nil {
		res.Stderr = stderr.Bytes()
	}
	if err == nil {
		return res, nil
	}
	res.ExitStatus = -1
	if ctx.Err() != nil {
		if cmd.Process != nil {
			syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		}
		return res, fmt.Errorf("%s: %s cancelled: %w", hub, sshexec.Quote(argv), ctx.Err())
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		xe := &sshexec.ExitError{Target: hub, Argv: argv, Status: ee.ExitCode(), Stderr: tail.Bytes()}
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			xe.Status, xe.Signal = -1, signalName(ws.Signal())
		}
		res.ExitStatus = xe.Status
		return res, xe
	}
	return res, fmt.Errorf("%s: %w", hub, err)
}

func signalName(s syscall.Signal) string {
	switch s {
	case syscall.SIGKILL:
		return "KILL"
	case syscall.SIGTERM:
		return "TERM"
	case syscall.SIGINT:
		return "INT"
	case syscall.SIGHUP:
		return "HUP"
	case syscall.SIGSEGV:
		return "SEGV"
	}
	return s.String()
}
