package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The test binary doubles as sbot when SBOT_TEST_MAIN=1, so the server runs
// as a real process (it exits on an injected crash).
func TestMain(m *testing.M) {
	if os.Getenv("SBOT_TEST_MAIN") == "1" {
		main()
	}
	os.Exit(m.Run())
}

type sbotEnv struct {
	t    *testing.T
	dir  string
	port int
	host string
}

func newSbotEnv(t *testing.T) *sbotEnv {
	t.Parallel() // each test has its own data directory and port
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	return &sbotEnv{t: t, dir: filepath.Join(t.TempDir(), ".ssb"), port: port, host: "pub.example.org"}
}

func (e *sbotEnv) cmd(args ...string) *exec.Cmd {
	c := exec.Command(os.Args[0], args...)
	c.Env = append(os.Environ(), "SBOT_TEST_MAIN=1", "ssb_path="+e.dir, "ssb_port="+strconv.Itoa(e.port), "ssb_host="+e.host)
	return c
}

// sbot runs a client command and returns its stdout, stderr and exit code.
func (e *sbotEnv) sbot(args ...string) (string, string, int) {
	var out, errb bytes.Buffer
	c := e.cmd(args...)
	c.Stdout, c.Stderr = &out, &errb
	err := c.Run()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return out.String(), errb.String(), ee.ExitCode()
	} else if err != nil {
		e.t.Fatal(err)
	}
	return out.String(), errb.String(), 0
}

// server is a running sbot server process.
type server struct {
	cmd  *exec.Cmd
	done chan struct{} // closed when the process has exited; err is then set
	err  error
}

// start runs the server and waits until whoami answers.
func (e *sbotEnv) start() *server {
	c := e.cmd("server")
	var log bytes.Buffer
	c.Stdout, c.Stderr = &log, &log
	if err := c.Start(); err != nil {
		e.t.Fatal(err)
	}
	s := &server{cmd: c, done: make(chan struct{})}
	go func() { s.err = c.Wait(); close(s.done) }()
	e.t.Cleanup(func() {
		c.Process.Kill()
		<-s.done
	})
	deadline := time.Now().Add(10 * time.Second)
	for {
		if clientCall(e.dir, request{Method: "whoami"}, io.Discard) == nil {
			return s
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("server did not answer whoami within 10s; log:\n%s", log.String())
		}
		select {
		case <-s.done:
			e.t.Fatalf("server exited: %v; log:\n%s", s.err, log.String())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func (s *server) waitExit(t *testing.T) int {
	t.Helper()
	select {
	case <-s.done:
		var ee *exec.ExitError
		if errors.As(s.err, &ee) {
			return ee.ExitCode()
		}
		if s.err != nil {
			t.Fatal(s.err)
		}
		return 0
	case <-time.After(10 * time.Second):
		t.Fatal("server did not exit within 10s")
		return -1
	}
}

func TestWhoamiIsTheSecretsIDAndSurvivesRestart(t *testing.T) {
	e := newSbotEnv(t)
	srv := e.start()
	out, _, _ := e.sbot("whoami")
	var who struct{ ID string }
	if err := json.Unmarshal([]byte(out), &who); err != nil {
		t.Fatalf("whoami printed %q: %v", out, err)
	}
	if !strings.HasPrefix(out, "{\n  \"id\": \"@") {
		t.Errorf("whoami output is not ssb-server's pretty JSON: %q", out)
	}
	data, err := os.ReadFile(filepath.Join(e.dir, "secret"))
	if err != nil {
		t.Fatal(err)
	}
	k, err := parseSecret(data)
	if err != nil {
		t.Fatal(err)
	}
	if who.ID != k.ID {
		t.Fatalf("whoami = %s, secret id = %s", who.ID, k.ID)
	}

	srv.cmd.Process.Signal(syscall.SIGTERM)
	if code := srv.waitExit(t); code != 0 {
		t.Fatalf("SIGTERM: exit %d, want 0", code)
	}
	if _, stderr, code := e.sbot("whoami"); code == 0 || !strings.Contains(stderr, "server not running") {
		t.Fatalf("whoami with the server down: code %d, stderr %q", code, stderr)
	}
	e.start()
	out2, _, _ := e.sbot("whoami")
	if out2 != out {
		t.Fatalf("identity changed across restart: %q then %q", out, out2)
	}
}

var inviteRE = regexp.MustCompile(`^"pub\.example\.org:(\d+):@[A-Za-z0-9+/]{43}=\.ed25519~[A-Za-z0-9+/]{43}="\n$`)

func TestInviteCreateUsesTheConfiguredHost(t *testing.T) {
	e := newSbotEnv(t)
	e.start()
	out, stderr, code := e.sbot("invite.create", "3")
	if code != 0 {
		t.Fatalf("invite.create: exit %d: %s", code, stderr)
	}
	m := inviteRE.FindStringSubmatch(out)
	if m == nil || m[1] != strconv.Itoa(e.port) {
		t.Fatalf("invite %q does not match %v with port %d", out, inviteRE, e.port)
	}
	who, _, _ := e.sbot("whoami")
	var w struct{ ID string }
	json.Unmarshal([]byte(who), &w)
	if !strings.Contains(out, ":"+w.ID+"~") {
		t.Fatalf("invite %q does not name the pub %s", out, w.ID)
	}
	if _, _, code := e.sbot("invite.create", "zero"); code == 0 {
		t.Fatal("invite.create zero succeeded")
	}
}

func TestInviteCreateWithoutHostFails(t *testing.T) {
	e := newSbotEnv(t)
	e.host = ""
	e.start()
	if _, stderr, code := e.sbot("invite.create", "1"); code == 0 || !strings.Contains(stderr, "ssb_host") {
		t.Fatalf("invite.create without ssb_host: code %d, stderr %q", code, stderr)
	}
}

func TestFaultUnhealthyFailsWhoamiUntilCleared(t *testing.T) {
	e := newSbotEnv(t)
	e.start()
	if _, stderr, code := e.sbot("fault", "unhealthy"); code != 0 {
		t.Fatal(stderr)
	}
	if _, stderr, code := e.sbot("whoami"); code == 0 || !strings.Contains(stderr, "unhealthy") {
		t.Fatalf("whoami under fault unhealthy: code %d, stderr %q", code, stderr)
	}
	e.sbot("fault", "clear")
	if _, stderr, code := e.sbot("whoami"); code != 0 {
		t.Fatalf("whoami after clear: %s", stderr)
	}
}

func TestFaultWedgeFailsWhoamiUntilRestarted(t *testing.T) {
	e := newSbotEnv(t)
	srv := e.start()
	if _, stderr, code := e.sbot("fault", "wedge"); code != 0 {
		t.Fatal(stderr)
	}
	if _, stderr, code := e.sbot("whoami"); code == 0 || !strings.Contains(stderr, "wedged") {
		t.Fatalf("whoami of a wedged server: code %d, stderr %q", code, stderr)
	}
	srv.cmd.Process.Signal(syscall.SIGTERM)
	srv.waitExit(t)
	e.start()
	if _, stderr, code := e.sbot("whoami"); code != 0 {
		t.Fatalf("whoami after a restart: %s", stderr)
	}
}

func TestFaultCrashExitsNonZeroAndCrashLoopsUntilCleared(t *testing.T) {
	e := newSbotEnv(t)
	srv := e.start()
	e.sbot("fault", "crash")
	if code := srv.waitExit(t); code != crashExitCode {
		t.Fatalf("exit %d after fault crash, want %d", code, crashExitCode)
	}
	again := e.cmd("server")
	err := again.Run()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != crashExitCode {
		t.Fatalf("restart under fault crash: %v, want exit %d", err, crashExitCode)
	}
	e.sbot("fault", "clear")
	e.start()
}

func TestPeersPortAcceptsConnections(t *testing.T) {
	e := newSbotEnv(t)
	e.start()
	c, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(e.port), 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	c.Write(make([]byte, 64))
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Read(make([]byte, 1)); err == nil {
		t.Fatal("the stand-in wrote to a peer; it should hang up")
	}
	c.Close()
}

func TestServerRefusesABrokenSecretAndKeepsIt(t *testing.T) {
	e := newSbotEnv(t)
	if err := os.MkdirAll(e.dir, 0o700); err != nil {
		t.Fatal(err)
	}
	broken := []byte("{\"curve\": \"ed25519\", \"private\": \"")
	path := filepath.Join(e.dir, "secret")
	if err := os.WriteFile(path, broken, 0o600); err != nil {
		t.Fatal(err)
	}
	out, stderr, code := e.sbot("server")
	if code == 0 || !strings.Contains(stderr, "refusing to replace an identity") {
		t.Fatalf("server on a broken secret: exit %d, stdout %q, stderr %q", code, out, stderr)
	}
	if after, _ := os.ReadFile(path); !bytes.Equal(after, broken) {
		t.Fatalf("the broken secret was changed to %q", after)
	}
}

func TestExecCommandsOffATerminal(t *testing.T) {
	e := newSbotEnv(t)
	c := e.cmd("cat")
	c.Stdin = strings.NewReader("ping\npong\n")
	if out, err := c.Output(); err != nil || string(out) != "ping\npong\n" {
		t.Fatalf("cat: %q, %v", out, err)
	}
	if out, _, code := e.sbot("tty"); code != 0 || out != "notty\n" {
		t.Fatalf("tty off a terminal: exit %d, %q", code, out)
	}
	if _, stderr, code := e.sbot("nonsense"); code != 1 || !strings.Contains(stderr, `unknown command "nonsense"`) {
		t.Fatalf("unknown command: exit %d, stderr %q", code, stderr)
	}
}
