package sshexec_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/buttctl/buttctl/sshexec"
	"github.com/buttctl/buttctl/sshexec/sshdtest"
)

func TestSSHConfigHostAlias(t *testing.T) {
	srv := sshdtest.Start(t)
	cfg := filepath.Join(t.TempDir(), "config")
	os.WriteFile(cfg, []byte(fmt.Sprintf(`Host other
    HostName 192.0.2.1
Host hub-alias
    HostName %s
    Port %d
    User %s
    IdentityFile %s
Host *
    User nobody-by-default
`, srv.IP, srv.Port, srv.User, srv.IdentityPath())), 0o600)
	target := sshexec.Target{Name: "hub-c", Host: "hub-alias", KnownHosts: srv.KnownHostsPath, ConfigFile: cfg}
	res, err := newPool(t, sshexec.PoolOptions{}).Run(ctxT(t), target, []string{"whoami"}, sshexec.RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if strings.TrimSpace(string(res.Stdout)) != srv.User {
		t.Errorf("whoami = %q, want %q", res.Stdout, srv.User)
	}
	// With no Host, the hub's name is the alias.
	target = sshexec.Target{Name: "hub-alias", KnownHosts: srv.KnownHostsPath, ConfigFile: cfg}
	if _, err := newPool(t, sshexec.PoolOptions{}).Run(ctxT(t), target, []string{"true"}, sshexec.RunOptions{}); err != nil {
		t.Fatal(err)
	}
}

func TestSSHConfigParseErrorNamesFile(t *testing.T) {
	cfg := filepath.Join(t.TempDir(), "config")
	os.WriteFile(cfg, []byte("Host 127.0.0.1\n  Port 1\nMatch\n"), 0o600)
	target := sshexec.Target{Name: "hub-p", Host: "127.0.0.1", ConfigFile: cfg}
	_, err := newPool(t, sshexec.PoolOptions{}).Run(ctxT(t), target, []string{"true"}, sshexec.RunOptions{})
	if err == nil || !strings.Contains(err.Error(), "hub-p: ssh_config "+cfg) {
		t.Fatalf("err = %v, want it to name the hub and %s", err, cfg)
	}
}

// proxyPair starts a bastion and a hub sharing one user key and one known_hosts.
func proxyPair(t *testing.T) (bastion, hub *sshdtest.Server) {
	key := sshdtest.NewKey(t, t.TempDir(), "id_ed25519", "")
	known := filepath.Join(t.TempDir(), "known_hosts")
	bastion = sshdtest.Start(t, sshdtest.WithName("bastion"), sshdtest.WithUserKey(key), sshdtest.WithKnownHosts(known))
	hub = sshdtest.Start(t, sshdtest.WithName("hub-behind"), sshdtest.WithUserKey(key), sshdtest.WithKnownHosts(known))
	return bastion, hub
}

func TestProxyJump(t *testing.T) {
	bastion, hub := proxyPair(t)
	target := hub.Target()
	target.Jump = bastion.User + "@" + bastion.Addr()
	p := newPool(t, sshexec.PoolOptions{})
	res, err := p.Run(ctxT(t), target, []string{"echo", "behind the bastion"}, sshexec.RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if string(res.Stdout) != "behind the bastion\n" {
		t.Errorf("stdout = %q", res.Stdout)
	}
	// The hub is reached through the bastion: killing the bastion cuts it.
	bastion.Kill()
	_, err = p.Run(ctxT(t), target, []string{"true"}, sshexec.RunOptions{})
	var ce *sshexec.ConnectError
	if !errors.As(err, &ce) || !strings.Contains(err.Error(), "hub-behind: jump host "+bastion.IP) {
		t.Fatalf("with the bastion down: err = %v, want a ConnectError naming the jump host", err)
	}
	bastion.Restart()
	if _, err := p.Run(ctxT(t), target, []string{"true"}, sshexec.RunOptions{}); err != nil {
		t.Fatalf("after the bastion restarted: %v", err)
	}
}

func TestProxyJumpFromSSHConfig(t *testing.T) {
	bastion, hub := proxyPair(t)
	cfg := filepath.Join(t.TempDir(), "config")
	os.WriteFile(cfg, []byte(fmt.Sprintf(`Host jumpbox
    HostName %s
    Port %d
    User %s
Host %s
    ProxyJump jumpbox
`, bastion.IP, bastion.Port, bastion.User, hub.IP)), 0o600)
	target := hub.Target()
	target.ConfigFile = cfg
	p := newPool(t, sshexec.PoolOptions{})
	if _, err := p.Run(ctxT(t), target, []string{"true"}, sshexec.RunOptions{}); err != nil {
		t.Fatal(err)
	}
	if bastion.Accepted() == 0 {
		eventually(t, 5*time.Second, "the bastion to log the login", func() bool { return bastion.Accepted() > 0 })
	}
}

func TestRedialAfterSSHDRestart(t *testing.T) {
	srv := sshdtest.Start(t, sshdtest.WithName("hub-r"))
	p := newPool(t, sshexec.PoolOptions{})
	run := func() error {
		_, err := p.Run(ctxT(t), srv.Target(), []string{"true"}, sshexec.RunOptions{})
		return err
	}
	if err := run(); err != nil {
		t.Fatal(err)
	}
	srv.Kill()
	err := run()
	var ce *sshexec.ConnectError
	if !errors.As(err, &ce) || !errors.Is(err, syscall.ECONNREFUSED) || !strings.HasPrefix(err.Error(), "hub-r: ssh: ") {
		t.Fatalf("with sshd down: err = %v, want hub-r: ssh: ... connection refused", err)
	}
	srv.Restart()
	if err := run(); err != nil {
		t.Fatalf("after restart: %v", err)
	}
	eventually(t, 5*time.Second, "two logins", func() bool { return srv.Accepted() >= 2 })
}

func TestRedialWithoutAFailedCall(t *testing.T) {
	// sshd is restarted between two calls: the second call finds the pooled
	// connection dead and redials transparently.
	srv := sshdtest.Start(t)
	p := newPool(t, sshexec.PoolOptions{})
	if _, err := p.Run(ctxT(t), srv.Target(), []string{"true"}, sshexec.RunOptions{}); err != nil {
		t.Fatal(err)
	}
	srv.Kill()
	srv.Restart()
	if _, err := p.Run(ctxT(t), srv.Target(), []string{"true"}, sshexec.RunOptions{}); err != nil {
		t.Fatalf("after restart: %v", err)
	}
}

func TestKeepaliveDropsHungConnection(t *testing.T) {
	srv := sshdtest.Start(t)
	p := newPool(t, sshexec.PoolOptions{KeepAliveInterval: 200 * time.Millisecond, KeepAliveCountMax: 2})
	if _, err := p.Run(ctxT(t), srv.Target(), []string{"true"}, sshexec.RunOptions{}); err != nil {
		t.Fatal(err)
	}
	srv.SuspendConnections()
	// The pooled connection answers nothing; keepalives close it and the
	// command runs on a new connection.
	res, err := p.Run(ctxT(t), srv.Target(), []string{"echo", "fresh"}, sshexec.RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if string(res.Stdout) != "fresh\n" {
		t.Errorf("stdout = %q", res.Stdout)
	}
	if n := srv.Accepted(); n < 2 {
		eventually(t, 5*time.Second, "a second login", func() bool { return srv.Accepted() >= 2 })
	}
}

// stallingListener accepts TCP connections and never says anything, like a
// hub whose sshd hangs.
func stallingListener(t *testing.T) string {
	addr, _ := stallingListenerAccepts(t)
	return addr
}

// stallingListenerAccepts is stallingListener, also telling each accept.
func stallingListenerAccepts(t *testing.T) (string, <-chan struct{}) {
	accepted := make(chan struct{}, 16)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			t.Cleanup(func() { c.Close() })
			select {
			case accepted <- struct{}{}:
			default:
			}
		}
	}()
	return l.Addr().String(), accepted
}

func TestDialTimeout(t *testing.T) {
	addr := stallingListener(t)
	host, port, _ := net.SplitHostPort(addr)
	var portN int
	fmt.Sscan(port, &portN)
	p := newPool(t, sshexec.PoolOptions{DialTimeout: 300 * time.Millisecond})
	_, err := p.Run(ctxT(t), sshexec.Target{Name: "hub-hang", Host: host, Port: portN, ConfigFile: sshexec.ConfigNone}, []string{"true"}, sshexec.RunOptions{})
	var ce *sshexec.ConnectError
	if !errors.As(err, &ce) || !strings.Contains(err.Error(), "hub-hang: ssh: "+addr+": handshake timed out after 300ms") {
		t.Fatalf("err = %v", err)
	}
}

func TestHandshakesAreBounded(t *testing.T) {
	// One handshake slot, held by a dial to a hub that never answers: a dial
	// to a healthy hub waits for the slot and runs once it is free.
	addr, accepted := stallingListenerAccepts(t)
	host, port, _ := net.SplitHostPort(addr)
	var portN int
	fmt.Sscan(port, &portN)
	srv := sshdtest.Start(t)
	p := newPool(t, sshexec.PoolOptions{MaxHandshakes: 1, DialTimeout: 2 * time.Second})
	hung := make(chan error, 1)
	go func() {
		_, err := p.Run(ctxT(t), sshexec.Target{Name: "hub-hang", Host: host, Port: portN, ConfigFile: sshexec.ConfigNone}, []string{"true"}, sshexec.RunOptions{})
		hung <- err
	}()
	select {
	case <-accepted: // the stalled dial holds the only slot
	case <-time.After(10 * time.Second):
		t.Fatal("the dial to the stalling hub never connected")
	}
	short, cancel := context.WithTimeout(ctxT(t), 300*time.Millisecond)
	defer cancel()
	_, err := p.Run(short, srv.Target(), []string{"true"}, sshexec.RunOptions{})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("while the only slot is taken: err = %v, want deadline exceeded", err)
	}
	if _, err := p.Run(ctxT(t), srv.Target(), []string{"true"}, sshexec.RunOptions{}); err != nil {
		t.Fatalf("once the slot is free: %v", err)
	}
	if err := <-hung; err == nil {
		t.Fatal("the hung hub answered")
	}
}

func TestDialUnix(t *testing.T) {
	srv := sshdtest.Start(t, sshdtest.WithName("hub-sock"))
	sock := sshdtest.EchoSocket(t)
	dir := filepath.Dir(sock)

	p := newPool(t, sshexec.PoolOptions{})
	for i := range 3 {
		c, err := p.DialUnix(ctxT(t), srv.Target(), sock)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(c, "ping %d\n", i)
		got, err := bufio.NewReader(c).ReadString('\n')
		c.Close()
		if err != nil || got != fmt.Sprintf("echo: ping %d\n", i) {
			t.Fatalf("got %q, %v", got, err)
		}
	}
	_, err := p.DialUnix(ctxT(t), srv.Target(), filepath.Join(dir, "missing.sock"))
	if err == nil || !strings.Contains(err.Error(), "hub-sock: ssh: dial unix "+dir) {
		t.Fatalf("missing socket: err = %v", err)
	}
}

func TestDialUnixForbiddenSaysWhy(t *testing.T) {
	srv := sshdtest.Start(t, sshdtest.WithName("hub-nofwd"), sshdtest.WithStreamLocalForwarding(false))
	_, err := newPool(t, sshexec.PoolOptions{}).DialUnix(ctxT(t), srv.Target(), "/var/run/docker.sock")
	if err == nil || !strings.Contains(err.Error(), "AllowStreamLocalForwarding yes") || !strings.HasPrefix(err.Error(), "hub-nofwd: ") {
		t.Fatalf("err = %v", err)
	}
}
