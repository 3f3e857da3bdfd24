package sshdtest

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Agent is a real ssh-agent started for a test.
type Agent struct {
	// Socket is the agent's SSH_AUTH_SOCK.
	Socket string
	t      testing.TB
	cmd    *exec.Cmd
	exited chan struct{}
}

// StartAgent runs `ssh-agent -D` on a socket of its own and stops it (by
// PID) at cleanup.
func StartAgent(t testing.TB) *Agent {
	t.Helper()
	bin, err := exec.LookPath("ssh-agent")
	if err != nil {
		t.Fatalf("sshdtest: ssh-agent is missing: install Debian's openssh-client")
	}
	// Unix socket paths are short (108 bytes): not under t.TempDir().
	dir, err := os.MkdirTemp("", "sshdtest-agent-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	a := &Agent{Socket: filepath.Join(dir, "agent.sock"), t: t, exited: make(chan struct{})}
	a.cmd = exec.Command(bin, "-D", "-a", a.Socket)
	stdout, err := a.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	a.cmd.Stderr = os.Stderr
	if err := a.cmd.Start(); err != nil {
		t.Fatalf("sshdtest: starting ssh-agent: %v", err)
	}
	ready := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(stdout)
		said := false
		for sc.Scan() {
			if !said && strings.HasPrefix(sc.Text(), "SSH_AUTH_SOCK=") {
				said = true
				close(ready)
			}
		}
		a.cmd.Wait()
		close(a.exited)
	}()
	t.Cleanup(a.Stop)
	select {
	case <-ready:
	case <-a.exited:
		t.Fatalf("sshdtest: ssh-agent exited before it was ready")
	case <-time.After(startTimeout):
		t.Fatalf("sshdtest: ssh-agent not ready within %s", startTimeout)
	}
	return a
}

// Add loads the private key at path into the agent with ssh-add.
func (a *Agent) Add(path string) {
	a.t.Helper()
	cmd := exec.Command("ssh-add", path)
	cmd.Env = append(os.Environ(), "SSH_AUTH_SOCK="+a.Socket)
	if out, err := cmd.CombinedOutput(); err != nil {
		a.t.Fatalf("sshdtest: ssh-add %s: %v: %s", path, err, out)
	}
}

// Stop ends the agent (SIGTERM to its PID) and waits for it.
func (a *Agent) Stop() {
	if a.cmd.Process == nil {
		return
	}
	select {
	case <-a.exited:
		return
	default:
	}
	a.cmd.Process.Signal(os.Interrupt)
	select {
	case <-a.exited:
	case <-time.After(10 * time.Second):
		a.cmd.Process.Kill()
		<-a.exited
	}
}
