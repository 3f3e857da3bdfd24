package sshexec_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/buttctl/buttctl/sshexec"
	"github.com/buttctl/buttctl/sshexec/sshdtest"
)

func TestRunWithKeyFile(t *testing.T) {
	srv := sshdtest.Start(t, sshdtest.WithName("hub-1"))
	p := newPool(t, sshexec.PoolOptions{})
	res, err := p.Run(ctxT(t), srv.Target(), []string{"echo", "hello", "world"}, sshexec.RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got := string(res.Stdout); got != "hello world\n" {
		t.Errorf("stdout = %q, want %q", got, "hello world\n")
	}
	if res.ExitStatus != 0 || res.Duration <= 0 {
		t.Errorf("exit %d, duration %s", res.ExitStatus, res.Duration)
	}
}

func TestRunNonZeroExitIsExitError(t *testing.T) {
	srv := sshdtest.Start(t, sshdtest.WithName("hub-2"))
	p := newPool(t, sshexec.PoolOptions{})
	res, err := p.Run(ctxT(t), srv.Target(), []string{"sh", "-c", "echo partial; echo disk full >&2; exit 3"}, sshexec.RunOptions{})
	var xe *sshexec.ExitError
	if !errors.As(err, &xe) {
		t.Fatalf("err = %v (%T), want *ExitError", err, err)
	}
	if xe.Status != 3 || strings.TrimSpace(string(xe.Stderr)) != "disk full" {
		t.Errorf("ExitError = %+v", xe)
	}
	if !strings.HasPrefix(err.Error(), "hub-2: ") || !strings.Contains(err.Error(), "status 3: disk full") {
		t.Errorf("message %q should name the hub, the status and stderr", err)
	}
	if res == nil || string(res.Stdout) != "partial\n" || res.ExitStatus != 3 {
		t.Errorf("result = %+v", res)
	}
}

func TestConnectionIsSharedBetweenCommands(t *testing.T) {
	srv := sshdtest.Start(t)
	p := newPool(t, sshexec.PoolOptions{})
	ctx := ctxT(t)
	// More concurrent commands than sshd's MaxSessions (10) on one connection.
	var wg sync.WaitGroup
	errs := make(chan error, 25)
	for i := range 25 {
		wg.Go(func() {
			res, err := p.Run(ctx, srv.Target(), []string{"echo", strconv.Itoa(i)}, sshexec.RunOptions{})
			if err == nil && string(res.Stdout) != strconv.Itoa(i)+"\n" {
				err = errors.New("wrong output " + string(res.Stdout))
			}
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	eventually(t, 5*time.Second, "sshd to log the login", func() bool { return srv.Accepted() >= 1 })
	if n := srv.Accepted(); n != 1 {
		t.Errorf("sshd accepted %d logins for 25 commands, want 1 shared connection", n)
	}
}

func TestHostileArgumentsArriveVerbatim(t *testing.T) {
	srv := sshdtest.Start(t)
	p := newPool(t, sshexec.PoolOptions{})
	tag := make([]byte, 6)
	rand.Read(tag)
	marker := filepath.Join(os.TempDir(), "sshexec-pwned-"+hex.EncodeToString(tag))
	t.Cleanup(func() { os.Remove(marker) })
	hostile := []string{
		"$(touch " + marker + ")",
		"`touch " + marker + "`",
		"; touch " + marker,
		"; reboot",
		"&& touch " + marker,
		"| touch " + marker,
		"> " + marker,
		"it's",
		`"double" and 'single' quotes`,
		`back\slash \' \"`,
		"line one\nline two; touch " + marker,
		"*", "/*", "~", "$HOME", "${PATH}", "!!", "a=b", "#comment",
		"", " leading and trailing ",
		"tab\there",
	}
	argv := append([]string{"printf", "[%s]\n"}, hostile...)
	res, err := p.Run(ctxT(t), srv.Target(), argv, sshexec.RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var want strings.Builder
	for _, h := range hostile {
		want.WriteString("[" + h + "]\n")
	}
	if got := string(res.Stdout); got != want.String() {
		t.Errorf("remote printf got\n%s\nwant\n%s", got, want.String())
	}
	if _, err := os.Stat(marker); !os.IsNotExist(err) {
		t.Fatalf("a hostile argument executed: %s exists", marker)
	}
}

func TestQuote(t *testing.T) {
	for _, c := range []struct {
		argv []string
		want string
	}{
		{[]string{"uptime"}, "uptime"},
		{[]string{"docker", "ps", "--format", "{{.Names}}"}, "docker ps --format '{{.Names}}'"},
		{[]string{"echo", ""}, "echo ''"},
		{[]string{"echo", "it's"}, `echo 'it'\''s'`},
		{[]string{"FOO=bar", "x"}, "'FOO=bar' x"},
		{[]string{"a b", "$(x)", "~"}, `'a b' '$(x)' '~'`},
		{[]string{"/usr/bin/env", "-i", "user@host:1,2+3%"}, "/usr/bin/env -i user@host:1,2+3%"},
	} {
		if got := sshexec.Quote(c.argv); got != c.want {
			t.Errorf("Quote(%q) = %s, want %s", c.argv, got, c.want)
		}
	}
}

func TestCancelKillsRemoteCommand(t *testing.T) {
	srv := sshdtest.Start(t, sshdtest.WithName("hub-3"))
	p := newPool(t, sshexec.PoolOptions{})
	pidFile := filepath.Join(t.TempDir(), "pid")
	ctx, cancel := context.WithCancel(ctxT(t))
	done := make(chan error, 1)
	go func() {
		_, err := p.Run(ctx, srv.Target(), []string{"sh", "-c", `echo $$ > "$1"; exec sleep 300`, "sh", pidFile}, sshexec.RunOptions{})
		done <- err
	}()
	var pid int
	eventually(t, 10*time.Second, "the remote command to start", func() bool {
		b, err := os.ReadFile(pidFile)
		if err != nil || !strings.HasSuffix(string(b), "\n") {
			return false
		}
		pid, err = strconv.Atoi(strings.TrimSpace(string(b)))
		return err == nil
	})
	if !sshdtest.Alive(pid) {
		t.Fatalf("remote sleep (pid %d) is not running", pid)
	}
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) || !strings.HasPrefix(err.Error(), "hub-3: ") {
			t.Errorf("err = %v, want hub-3: ... context canceled", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("Run did not return after its context was cancelled")
	}
	eventually(t, 10*time.Second, "the remote sleep to be killed", func() bool { return !sshdtest.Alive(pid) })

	// The connection is still good for the next command.
	if _, err := p.Run(ctxT(t), srv.Target(), []string{"true"}, sshexec.RunOptions{}); err != nil {
		t.Fatal(err)
	}
}

func TestDeadlineBoundsCommand(t *testing.T) {
	srv := sshdtest.Start(t)
	p := newPool(t, sshexec.PoolOptions{})
	ctx, cancel := context.WithTimeout(ctxT(t), 500*time.Millisecond)
	defer cancel()
	_, err := p.Run(ctx, srv.Target(), []string{"sleep", "60"}, sshexec.RunOptions{})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want deadline exceeded", err)
	}
}

func TestStreamedOutput(t *testing.T) {
	srv := sshdtest.Start(t)
	p := newPool(t, sshexec.PoolOptions{})
	var out, errOut strings.Builder
	res, err := p.Run(ctxT(t), srv.Target(), []string{"sh", "-c", "cat; echo warn >&2"}, sshexec.RunOptions{
		Stdin: strings.NewReader("from stdin\n"), Stdout: &out, Stderr: &errOut,
	})
	if err != nil {
		t.Fatal(err)
	}
	if out.String() != "from stdin\n" || errOut.String() != "warn\n" {
		t.Errorf("stdout %q stderr %q", out.String(), errOut.String())
	}
	if len(res.Stdout) != 0 || len(res.Stderr) != 0 {
		t.Errorf("streamed output was also captured: %+v", res)
	}
}
