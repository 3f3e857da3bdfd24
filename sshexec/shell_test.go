package sshexec_test

import (
	"bytes"
	"errors"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/buttctl/buttctl/sshexec"
	"github.com/buttctl/buttctl/sshexec/sshdtest"
)

// openPTY opens a real pseudo-terminal pair: the test types into and reads
// from master; the session under test gets the terminal end.
func openPTY(t *testing.T, rows, cols uint16) (master, tty *os.File) {
	t.Helper()
	master, err := os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatalf("no pseudo-terminals here: %v", err)
	}
	fd := int(master.Fd())
	if err := unix.IoctlSetPointerInt(fd, unix.TIOCSPTLCK, 0); err != nil {
		t.Fatal(err)
	}
	n, err := unix.IoctlGetInt(fd, unix.TIOCGPTN)
	if err != nil {
		t.Fatal(err)
	}
	tty, err = os.OpenFile("/dev/pts/"+strconv.Itoa(n), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	setSize(t, tty, rows, cols)
	t.Cleanup(func() { tty.Close(); master.Close() })
	return master, tty
}

func setSize(t *testing.T, tty *os.File, rows, cols uint16) {
	t.Helper()
	if err := unix.IoctlSetWinsize(int(tty.Fd()), unix.TIOCSWINSZ, &unix.Winsize{Row: rows, Col: cols}); err != nil {
		t.Fatal(err)
	}
}

// lockedBuffer collects what the remote terminal printed.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func TestShellWithPTYFollowsWindowSize(t *testing.T) {
	srv := sshdtest.Start(t)
	master, tty := openPTY(t, 30, 100)
	var screen lockedBuffer
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := master.Read(buf)
			screen.Write(buf[:n])
			if err != nil {
				return
			}
		}
	}()
	p := newPool(t, sshexec.PoolOptions{})
	// The trap comes first and "trapped" says it is set: a SIGWINCH before
	// it would be lost (the shell ignores the signal by default).
	script := `trap 'stty size; exit 5' WINCH; stty size; test -t 0 && echo "tty:$TERM"; echo trapped; while :; do sleep 1 & wait; done`
	done := make(chan error, 1)
	go func() {
		done <- p.Shell(ctxT(t), srv.Target(), []string{"sh", "-c", script}, sshexec.Stdio{In: tty, Out: tty, Err: tty})
	}()
	eventually(t, 10*time.Second, "the remote terminal's first size", func() bool { return strings.Contains(screen.String(), "30 100") })
	eventually(t, 10*time.Second, "the remote shell's trap", func() bool { return strings.Contains(screen.String(), "trapped") })
	if !strings.Contains(screen.String(), "tty:") {
		t.Fatalf("the remote shell has no TTY; screen:\n%s", screen.String())
	}
	setSize(t, tty, 40, 120)
	syscall.Kill(os.Getpid(), syscall.SIGWINCH)
	select {
	case err := <-done:
		var xe *sshexec.ExitError
		if !errors.As(err, &xe) || xe.Status != 5 {
			t.Fatalf("Shell = %v, want the remote exit status 5", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatalf("the remote shell saw no window change; screen:\n%s", screen.String())
	}
	// The trap's output may still be on its way through the terminal.
	eventually(t, 5*time.Second, "the new size 40 120 on the screen", func() bool { return strings.Contains(screen.String(), "40 120") })
}

func TestShellWithoutTTY(t *testing.T) {
	srv := sshdtest.Start(t, sshdtest.WithName("hub-s"))
	p := newPool(t, sshexec.PoolOptions{})
	var out, errOut bytes.Buffer
	err := p.Shell(ctxT(t), srv.Target(), []string{"sh", "-c", "test -t 0 || echo no-tty; cat; exit 7"},
		sshexec.Stdio{In: strings.NewReader("typed\n"), Out: &out, Err: &errOut})
	var xe *sshexec.ExitError
	if !errors.As(err, &xe) || xe.Status != 7 {
		t.Fatalf("err = %v, want exit status 7", err)
	}
	if out.String() != "no-tty\ntyped\n" {
		t.Errorf("stdout = %q", out.String())
	}
}
