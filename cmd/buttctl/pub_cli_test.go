package main

import (
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/client"

	"github.com/buttctl/buttctl/ops/pubs/pubstest"
)

// pubWorld writes an inventory with the local hub (this machine's real
// Docker engine) and one pub, and removes the pub's container and volume
// (found by label, removed by id) when the test ends.
func pubWorld(t *testing.T) (dir, pub string) {
	t.Helper()
	pubstest.Require(t)
	dir = t.TempDir()
	pub = fmt.Sprintf("cli-%d", time.Now().UnixNano()%1e9)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	inv := fmt.Sprintf(`version: 1
hubs:
  - {name: local, local: true}
pubs:
  - {name: %s, hub: local, image: %q, port: %d, host: pub.example.org}
`, pub, pubstest.Image, port)
	if err := os.WriteFile(filepath.Join(dir, "buttctl.yaml"), []byte(inv), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		api, err := client.New(client.WithHost("unix://" + pubstest.Socket))
		if err != nil {
			return
		}
		defer api.Close()
		pubstest.RemovePubs(api, pub)
	})
	return dir, pub
}

func TestCLIPub(t *testing.T) {
	dir, pub := pubWorld(t)
	if r := buttctl(t, dir, nil, "pub", "create", pub); r.code != 0 || !strings.HasPrefix(r.stdout, "created and started "+pub+" on local") {
		t.Fatalf("create: %+v", r)
	}
	var id string
	deadline := time.Now().Add(30 * time.Second)
	for id == "" && time.Now().Before(deadline) {
		r := buttctl(t, dir, nil, "pub", "whoami", pub, "-o", "json")
		var who struct{ Name, Hub, Identity string }
		if r.code == 0 && json.Unmarshal([]byte(r.stdout), &who) == nil && who.Hub == "local" {
			id = who.Identity
		}
	}
	if !strings.HasSuffix(id, "=.ed25519") {
		t.Fatalf("whoami never answered")
	}
	for _, c := range []struct {
		args   []string
		code   int
		stdout string
		stderr string
	}{
		{[]string{"pub", "invite", pub, "--uses", "3"}, 0, "pub.example.org:", ""},
		{[]string{"pub", "logs", pub, "--grep", "serving"}, 0, "serving " + id, ""},
		{[]string{"pub", "logs", pub, "--since", "soon"}, 2, "", "buttctl: pub " + pub + " on local: --since \"soon\" is not a duration"},
		{[]string{"pub", "logs", "nope"}, 1, "", "buttctl: pub nope is not in the inventory buttctl.yaml (pubs: " + pub + ")"},
		{[]string{"pub", "exec", pub, "--", "sbot", "nonsense"}, 1, "", "sbot: unknown command"},
		{[]string{"pub", "exec", pub, "--", "sbot", "tty"}, 0, "notty", ""},
		{[]string{"pub", "rm", pub, "--purge"}, 2, "", "buttctl: --purge deletes pub " + pub + "'s data volume and identity for good: add --yes to confirm\n"},
		{[]string{"pub", "rm", pub}, 0, "kept volume buttctl-pub-" + pub + "-data with its identity", ""},
		{[]string{"pub", "create", pub}, 0, "kept volume", ""},
		{[]string{"pub", "rm", pub, "--purge", "--yes"}, 0, "deleted from the hub; a copy is kept in the local identity store)", ""},
	} {
		r := buttctl(t, dir, nil, c.args...)
		if r.code != c.code || !strings.Contains(r.stdout, c.stdout) || !strings.Contains(r.stderr, c.stderr) || c.stderr == "" && r.stderr != "" {
			t.Errorf("buttctl %s: exit %d, stdout %q, stderr %q", strings.Join(c.args, " "), r.code, r.stdout, r.stderr)
		}
	}
}

// TestCLIPubExecOnATerminal runs `pub exec` in a real terminal (tmux) and
// checks that the command gets a terminal of the same size, resized with it,
// and a line typed into it.
func TestCLIPubExecOnATerminal(t *testing.T) {
	if _, err := exec.LookPath("tmux"); err != nil {
		t.Fatal("this test needs tmux (make test-deps installs it)")
	}
	dir, pub := pubWorld(t)
	if r := buttctl(t, dir, nil, "pub", "create", pub); r.code != 0 {
		t.Fatalf("create: %+v", r)
	}
	sock := fmt.Sprintf("buttctl-test-%d", os.Getpid())
	tmux := func(args ...string) string {
		out, err := exec.Command("tmux", append([]string{"-L", sock}, args...)...).CombinedOutput()
		if err != nil {
			t.Fatalf("tmux %v: %v: %s", args, err, out)
		}
		return string(out)
	}
	self := os.Args[0]
	script := fmt.Sprintf("cd %s && export %s=1 HOME=%s; until %s pub whoami %s >/dev/null 2>&1; do :; done; %s pub exec %s -- sbot winch; %s pub exec %s -- sbot cat; echo EXIT=$?; read x",
		dir, asButtctl, dir, self, pub, self, pub, self, pub)
	tmux("new-session", "-d", "-s", "t", "-x", "91", "-y", "27", "sh", "-c", script)
	t.Cleanup(func() { _ = exec.Command("tmux", "-L", sock, "kill-server").Run() })

	screen := func(want string) string {
		t.Helper()
		deadline := time.Now().Add(45 * time.Second)
		for {
			s := tmux("capture-pane", "-p", "-t", "t")
			if strings.Contains(s, want) {
				return s
			}
			if time.Now().After(deadline) {
				t.Fatalf("the terminal never showed %q:\n%s", want, s)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	screen("tty 91x27")
	tmux("resize-window", "-t", "t", "-x", "103", "-y", "31")
	screen("resized 103x31")
	// sbot cat waits on the remote terminal: type a line, then ^D.
	screen("cat: ready")
	tmux("send-keys", "-t", "t", "hello pub", "Enter")
	if s := screen("hello pub"); strings.Count(s, "hello pub") < 2 {
		screen("hello pub\nhello pub") // the terminal's echo, then cat's copy
	}
	tmux("send-keys", "-t", "t", "C-d")
	screen("EXIT=0")
}
