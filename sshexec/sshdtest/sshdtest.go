// Package sshdtest runs Debian's OpenSSH server (/usr/sbin/sshd) for tests:
// on a random 127.x.y.z loopback address and port, with generated host and
// user keys, an authorized_keys and a known_hosts for it. It also runs a real
// ssh-agent. It stops exactly the processes it started, by PID.
package sshdtest

import (
	"bufio"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"

	"github.com/buttctl/buttctl/sshexec"
)

// SSHDPath is the OpenSSH server the tests run (Debian package openssh-server).
const SSHDPath = "/usr/sbin/sshd"

// startTimeout bounds how long sshd may take to say it listens.
const startTimeout = 20 * time.Second

// Key is a generated ed25519 key pair on disk.
type Key struct {
	Path    string // private key, 0600, OpenSSH format
	PubPath string // Path + ".pub"
	Signer  ssh.Signer
	private any
}

// AuthorizedKey is the key's authorized_keys line.
func (k *Key) AuthorizedKey() string {
	return strings.TrimSpace(string(ssh.MarshalAuthorizedKey(k.Signer.PublicKey())))
}

// NewKey writes a new ed25519 key pair to dir/name (0600) and dir/name.pub.
// A non-empty passphrase encrypts the private key.
func NewKey(t testing.TB, dir, name, passphrase string) *Key {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	var block *pem.Block
	if passphrase == "" {
		block, err = ssh.MarshalPrivateKey(priv, "sshdtest")
	} else {
		block, err = ssh.MarshalPrivateKeyWithPassphrase(priv, "sshdtest", []byte(passphrase))
	}
	if err != nil {
		t.Fatal(err)
	}
	signer, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	k := &Key{Path: filepath.Join(dir, name), PubPath: filepath.Join(dir, name+".pub"), Signer: signer, private: priv}
	if err := os.WriteFile(k.Path, pem.EncodeToMemory(block), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(k.PubPath, []byte(k.AuthorizedKey()+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return k
}

// Option configures a Server.
type Option func(*Server)

// WithName sets the Target's name (default "sshd-PORT").
func WithName(name string) Option { return func(s *Server) { s.name = name } }

// WithUserKey authorises k instead of a generated key (to share one key
// between many servers).
func WithUserKey(k *Key) Option { return func(s *Server) { s.UserKey = k } }

// WithAuthorizedKey authorises one more key (an authorized_keys line).
func WithAuthorizedKey(line string) Option {
	return func(s *Server) { s.extraKeys = append(s.extraKeys, line) }
}

// WithKnownHosts records the server's host key in path (appending) instead
// of a known_hosts file of its own.
func WithKnownHosts(path string) Option { return func(s *Server) { s.KnownHostsPath = path } }

// WithStreamLocalForwarding sets sshd's AllowStreamLocalForwarding (default yes).
func WithStreamLocalForwarding(on bool) Option { return func(s *Server) { s.streamLocal = on } }

// WithAgentForwarding sets sshd's AllowAgentForwarding (default no).
func WithAgentForwarding(on bool) Option { return func(s *Server) { s.agentForwarding = on } }

// WithSetEnv sets environment variables (NAME=value) for every session, as
// sshd_config's SetEnv.
func WithSetEnv(vars ...string) Option {
	return func(s *Server) { s.setEnv = append(s.setEnv, vars...) }
}

// WithMaxStartups sets sshd's MaxStartups (default 100).
func WithMaxStartups(n int) Option { return func(s *Server) { s.maxStartups = n } }

// Server is one running (or stopped) sshd.
type Server struct {
	t    testing.TB
	name string

	// Dir holds the server's files: config, keys, authorized_keys, log.
	Dir            string
	IP             string
	Port           int
	HostKeyPath    string
	UserKey        *Key
	KnownHostsPath string
	ConfigPath     string
	LogPath        string
	User           string

	extraKeys       []string
	streamLocal     bool
	agentForwarding bool
	maxStartups     int
	setEnv          []string

	mu      sync.Mutex
	cmd     *exec.Cmd
	exited  chan struct{}
	hostKey ssh.PublicKey
}

var knownHostsMu sync.Mutex

// Start runs a new sshd for the test and stops it at cleanup.
func Start(t testing.TB, opts ...Option) *Server {
	t.Helper()
	requireSSHD(t)
	u, err := user.Current()
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{t: t, Dir: t.TempDir(), User: u.Username, streamLocal: true, maxStartups: 100}
	for _, o := range opts {
		o(s)
	}
	if s.UserKey == nil {
		s.UserKey = NewKey(t, s.Dir, "id_ed25519", "")
	}
	s.HostKeyPath = filepath.Join(s.Dir, "ssh_host_ed25519_key")
	s.writeHostKey()
	auth := []string{s.UserKey.AuthorizedKey()}
	auth = append(auth, s.extraKeys...)
	if err := os.WriteFile(filepath.Join(s.Dir, "authorized_keys"), []byte(strings.Join(auth, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	s.ConfigPath = filepath.Join(s.Dir, "sshd_config")
	s.LogPath = filepath.Join(s.Dir, "sshd.log")

	var lastErr error
	for attempt := 0; attempt < 5; attempt++ {
		s.IP, s.Port = freeAddr(t)
		s.writeConfig()
		if lastErr = s.start(); lastErr == nil {
			break
		}
	}
	if lastErr != nil {
		t.Fatalf("sshdtest: %v", lastErr)
	}
	if s.name == "" {
		s.name = "sshd-" + strconv.Itoa(s.Port)
	}
	if s.KnownHostsPath == "" {
		s.KnownHostsPath = filepath.Join(s.Dir, "known_hosts")
	}
	s.RecordHostKey()
	t.Cleanup(func() {
		if t.Failed() {
			if b, err := os.ReadFile(s.LogPath); err == nil {
				t.Logf("sshd %s log:\n%s", s.Addr(), tail(string(b), 3000))
			}
		}
		s.Stop()
	})
	return s
}

func requireSSHD(t testing.TB) {
	t.Helper()
	if _, err := os.Stat(SSHDPath); err != nil {
		t.Fatalf("sshdtest: %s is missing: install Debian's openssh-server (make test-deps)", SSHDPath)
	}
	// Debian's sshd needs its privilege separation directory.
	if _, err := os.Stat("/run/sshd"); os.IsNotExist(err) {
		if err := os.MkdirAll("/run/sshd", 0o755); err != nil {
			t.Fatalf("sshdtest: creating /run/sshd: %v", err)
		}
	}
}

// freeAddr picks a random 127.x.y.z address and a port free on it.
func freeAddr(t testing.TB) (string, int) {
	for {
		n, err := rand.Int(rand.Reader, big.NewInt(254*254*254))
		if err != nil {
			t.Fatal(err)
		}
		v := int(n.Int64())
		ip := fmt.Sprintf("127.%d.%d.%d", v/(254*254)+1, v/254%254+1, v%254+1)
		l, err := net.Listen("tcp", ip+":0")
		if err != nil {
			continue
		}
		port := l.Addr().(*net.TCPAddr).Port
		l.Close()
		return ip, port
	}
}

func (s *Server) writeHostKey() {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		s.t.Fatal(err)
	}
	block, err := ssh.MarshalPrivateKey(priv, "sshdtest host")
	if err != nil {
		s.t.Fatal(err)
	}
	if err := os.WriteFile(s.HostKeyPath, pem.EncodeToMemory(block), 0o600); err != nil {
		s.t.Fatal(err)
	}
	signer, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		s.t.Fatal(err)
	}
	s.hostKey = signer.PublicKey()
}

func (s *Server) writeConfig() {
	yesNo := func(b bool) string {
		if b {
			return "yes"
		}
		return "no"
	}
	cfg := fmt.Sprintf(`# generated by sshdtest
ListenAddress %s
HostKey %s
PidFile %s
AuthorizedKeysFile %s
AllowUsers %s
StrictModes no
UsePAM no
PermitRootLogin prohibit-password
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
AllowTcpForwarding yes
AllowStreamLocalForwarding %s
AllowAgentForwarding %s
X11Forwarding no
PrintMotd no
PrintLastLog no
UseDNS no
MaxStartups %d
LogLevel VERBOSE
Subsystem sftp internal-sftp
`, net.JoinHostPort(s.IP, strconv.Itoa(s.Port)), s.HostKeyPath, filepath.Join(s.Dir, "sshd.pid"),
		filepath.Join(s.Dir, "authorized_keys"), s.User, yesNo(s.streamLocal), yesNo(s.agentForwarding), s.maxStartups)
	if len(s.setEnv) > 0 {
		cfg += "SetEnv " + strings.Join(s.setEnv, " ") + "\n"
	}
	if err := os.WriteFile(s.ConfigPath, []byte(cfg), 0o600); err != nil {
		s.t.Fatal(err)
	}
}

// start runs sshd and waits until it says it listens.
func (s *Server) start() error {
	logf, err := os.OpenFile(s.LogPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	cmd := exec.Command(SSHDPath, "-D", "-e", "-f", s.ConfigPath)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		logf.Close()
		return err
	}
	cmd.Stdout = logf
	if err := cmd.Start(); err != nil {
		logf.Close()
		return fmt.Errorf("starting %s: %w", SSHDPath, err)
	}
	listening := make(chan struct{})
	exited := make(chan struct{})
	go func() {
		defer logf.Close()
		sc := bufio.NewScanner(stderr)
		said := false
		for sc.Scan() {
			line := sc.Text()
			fmt.Fprintln(logf, line)
			if !said && strings.Contains(line, "Server listening on") {
				said = true
				close(listening)
			}
		}
		io.Copy(logf, stderr)
		cmd.Wait()
		close(exited)
	}()
	select {
	case <-listening:
	case <-exited:
		b, _ := os.ReadFile(s.LogPath)
		return fmt.Errorf("sshd on %s:%d exited before listening: %s", s.IP, s.Port, tail(string(b), 600))
	case <-time.After(startTimeout):
		cmd.Process.Kill()
		<-exited
		return fmt.Errorf("sshd on %s:%d did not listen within %s", s.IP, s.Port, startTimeout)
	}
	s.mu.Lock()
	s.cmd, s.exited = cmd, exited
	s.mu.Unlock()
	return nil
}

// Addr is the server's host:port.
func (s *Server) Addr() string { return net.JoinHostPort(s.IP, strconv.Itoa(s.Port)) }

// Name is the Target's name.
func (s *Server) Name() string { return s.name }

// IdentityPath is the private key the server authorises.
func (s *Server) IdentityPath() string { return s.UserKey.Path }

// HostKey is the server's current host public key.
func (s *Server) HostKey() ssh.PublicKey { return s.hostKey }

// PID is the listening sshd's process id (0 when stopped).
func (s *Server) PID() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		return 0
	}
	return s.cmd.Process.Pid
}

// Target is an sshexec.Target for the server: its key, its known_hosts,
// strict host key checking, no ssh_config.
func (s *Server) Target() sshexec.Target {
	return sshexec.Target{
		Name:            s.name,
		Host:            s.IP,
		Port:            s.Port,
		User:            s.User,
		IdentityFiles:   []string{s.UserKey.Path},
		KnownHosts:      s.KnownHostsPath,
		HostKeyChecking: sshexec.HostKeyStrict,
		ConfigFile:      sshexec.ConfigNone,
	}
}

// KnownHostsLine is the server's known_hosts line ("[ip]:port ssh-ed25519 ...").
func (s *Server) KnownHostsLine() string {
	return knownhosts.Line([]string{s.Addr()}, s.hostKey)
}

// RecordHostKey appends the server's host key to KnownHostsPath.
func (s *Server) RecordHostKey() {
	knownHostsMu.Lock()
	defer knownHostsMu.Unlock()
	f, err := os.OpenFile(s.KnownHostsPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		s.t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(s.KnownHostsLine() + "\n"); err != nil {
		s.t.Fatal(err)
	}
}

// RotateHostKey gives the server a new host key (known_hosts is not
// updated); it takes effect at the next Restart.
func (s *Server) RotateHostKey() { s.writeHostKey() }

// Stop ends sshd and every connection it serves (SIGTERM) and waits for them.
func (s *Server) Stop() { s.signal(syscall.SIGTERM) }

// Kill ends sshd and every connection it serves with SIGKILL, as a crash
// would, and waits for them.
func (s *Server) Kill() { s.signal(syscall.SIGKILL) }

// Restart starts sshd again, stopping it first if it runs: same address,
// port and configuration (and host key, unless rotated).
func (s *Server) Restart() {
	s.t.Helper()
	s.Stop()
	if err := s.start(); err != nil {
		s.t.Fatalf("sshdtest: restart: %v", err)
	}
}

// signal sends sig to the sshd this server started and to its descendants
// (the per-connection sshd processes and sessions), then waits for them.
func (s *Server) signal(sig syscall.Signal) {
	s.mu.Lock()
	cmd, exited := s.cmd, s.exited
	s.cmd = nil
	s.mu.Unlock()
	if cmd == nil {
		return
	}
	pids := descendants(cmd.Process.Pid)
	cmd.Process.Signal(sig)
	for _, pid := range pids {
		syscall.Kill(pid, sig)
	}
	select {
	case <-exited:
	case <-time.After(10 * time.Second):
		cmd.Process.Kill()
		<-exited
	}
	waitGone(pids, 10*time.Second)
}

// descendants lists the processes below pid, read from /proc.
func descendants(pid int) []int {
	children := map[int][]int{}
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if pp, ok := parentOf(p); ok {
			children[pp] = append(children[pp], p)
		}
	}
	var out []int
	queue := []int{pid}
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		for _, c := range children[p] {
			out = append(out, c)
			queue = append(queue, c)
		}
	}
	return out
}

// procStat returns a process's state and parent from /proc/PID/stat.
func procStat(pid int) (state byte, ppid int, ok bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, 0, false
	}
	// The command name may hold spaces and parentheses: fields follow the last ')'.
	i := strings.LastIndexByte(string(b), ')')
	if i < 0 {
		return 0, 0, false
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 2 {
		return 0, 0, false
	}
	pp, err := strconv.Atoi(f[1])
	if err != nil {
		return 0, 0, false
	}
	return f[0][0], pp, true
}

func parentOf(pid int) (int, bool) {
	_, pp, ok := procStat(pid)
	return pp, ok
}

// Alive reports whether pid is a live (non-zombie) process.
func Alive(pid int) bool {
	state, _, ok := procStat(pid)
	return ok && state != 'Z' && state != 'X'
}

// waitGone polls until none of pids is alive, or the deadline.
func waitGone(pids []int, d time.Duration) {
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		alive := false
		for _, p := range pids {
			if Alive(p) {
				alive = true
				break
			}
		}
		if !alive {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func tail(s string, n int) string {
	if len(s) > n {
		return "..." + s[len(s)-n:]
	}
	return s
}

// SuspendConnections stops (SIGSTOP) the processes serving the server's
// current connections, so they answer nothing, as a hung hub or a dead
// network would; the listener still accepts new connections. The returned
// func resumes them (SIGCONT); cleanup resumes them too.
func (s *Server) SuspendConnections() (resume func()) {
	pid := s.PID()
	if pid == 0 {
		s.t.Fatal("sshdtest: SuspendConnections on a stopped server")
	}
	pids := descendants(pid)
	for _, p := range pids {
		syscall.Kill(p, syscall.SIGSTOP)
	}
	var once sync.Once
	resume = func() {
		once.Do(func() {
			for _, p := range pids {
				syscall.Kill(p, syscall.SIGCONT)
			}
		})
	}
	s.t.Cleanup(resume)
	return resume
}

// Accepted counts the logins sshd has accepted since it was first started,
// from its log.
func (s *Server) Accepted() int {
	b, err := os.ReadFile(s.LogPath)
	if err != nil {
		return 0
	}
	return strings.Count(string(b), "Accepted publickey")
}

// MarshalPrivate returns k's private key in OpenSSH format, unencrypted.
func MarshalPrivate(t testing.TB, k *Key) []byte {
	t.Helper()
	priv, ok := k.private.(ed25519.PrivateKey)
	if !ok {
		t.Fatal("sshdtest: key has no private part")
	}
	block, err := ssh.MarshalPrivateKey(priv, "sshdtest")
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(block)
}
