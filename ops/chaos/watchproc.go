package chaos

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"time"
)

// restartSec is how long the supervisor waits before starting watch again,
// as buttctl-watch.service's RestartSec=1 does.
const restartSec = time.Second

// watchProc runs `buttctl watch` and starts it again whenever it exits, as
// systemd does with Restart=always; it counts the exits it did not cause.
type watchProc struct {
	argv    []string
	env     []string
	logPath string
	healthz string

	mu       sync.Mutex
	cmd      *exec.Cmd
	killed   bool // the driver killed the current process
	starts   int
	crashes  int
	crashLog []string
	exited   chan struct{} // closed when the current process has exited
	stopping bool
}

func (p *watchProc) start() error {
	log, err := os.OpenFile(p.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	cmd := exec.Command(p.argv[0], p.argv[1:]...)
	cmd.Env = p.env
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		log.Close()
		return err
	}
	exited := make(chan struct{})
	p.mu.Lock()
	p.cmd, p.killed, p.exited = cmd, false, exited
	p.starts++
	p.mu.Unlock()
	go func() {
		err := cmd.Wait()
		log.Close()
		p.mu.Lock()
		if !p.killed && !p.stopping {
			p.crashes++
			p.crashLog = append(p.crashLog, fmt.Sprintf("buttctl watch (pid %d) exited on its own at %s: %v", cmd.Process.Pid, time.Now().Format(time.TimeOnly), err))
		}
		p.mu.Unlock()
		close(exited)
	}()
	return nil
}

// supervise starts watch again each time it exits, until ctx ends.
func (p *watchProc) supervise(ctx context.Context) {
	for {
		p.mu.Lock()
		exited := p.exited
		p.mu.Unlock()
		select {
		case <-ctx.Done():
			return
		case <-exited:
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(restartSec):
		}
		p.mu.Lock()
		stopping := p.stopping
		p.mu.Unlock()
		if stopping {
			return
		}
		if err := p.start(); err != nil {
			p.mu.Lock()
			p.crashLog = append(p.crashLog, "starting buttctl watch: "+err.Error())
			p.mu.Unlock()
		}
	}
}

// kill9 sends SIGKILL to the running watch and returns its pid.
func (p *watchProc) kill9() (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd == nil || p.cmd.ProcessState != nil {
		return 0, fmt.Errorf("buttctl watch is not running")
	}
	p.killed = true
	pid := p.cmd.Process.Pid
	return pid, syscall.Kill(-pid, syscall.SIGKILL)
}

// pid is the running watch's pid (0 when none).
func (p *watchProc) pid() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	select {
	case <-p.exited:
		return 0
	default:
	}
	if p.cmd == nil {
		return 0
	}
	return p.cmd.Process.Pid
}

// healthy reports whether a watch process runs and answers /healthz.
func (p *watchProc) healthy(ctx context.Context) bool {
	if p.pid() == 0 {
		return false
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+p.healthz+"/healthz", nil)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return false
	}
	res.Body.Close()
	return res.StatusCode == http.StatusOK
}

// stop ends watch with SIGTERM (SIGKILL after 30s) and keeps it ended.
func (p *watchProc) stop() {
	p.mu.Lock()
	p.stopping = true
	cmd, exited := p.cmd, p.exited
	p.mu.Unlock()
	if cmd == nil {
		return
	}
	select {
	case <-exited:
		return
	default:
	}
	syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
	select {
	case <-exited:
	case <-time.After(30 * time.Second):
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-exited
	}
}

// freeAddr returns a loopback address with a port nobody listens on now.
func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}
