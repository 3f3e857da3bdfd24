package hubconn_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/buttctl/buttctl/inventory"
	"github.com/buttctl/buttctl/ops/hubconn"
	"github.com/buttctl/buttctl/sshexec"
	"github.com/buttctl/buttctl/sshexec/sshdtest"
)

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}

func parse(t *testing.T, path, yaml string) *inventory.Inventory {
	t.Helper()
	inv, err := inventory.Parse(path, []byte(yaml))
	if err != nil {
		t.Fatal(err)
	}
	return inv
}

func testOptions() hubconn.Options {
	return hubconn.Options{Pool: sshexec.PoolOptions{AgentSocket: sshexec.AgentNone, NoDefaultIdentities: true}}
}

func roundTrip(t *testing.T, c net.Conn) string {
	t.Helper()
	defer c.Close()
	fmt.Fprintln(c, "hello")
	got, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func TestTargetFromInventory(t *testing.T) {
	inv := parse(t, "/etc/buttctl/fleet.yaml", `version: 1
ssh: {user: debian, port: 2222, identity_file: keys/id_ed25519, known_hosts: ~/.ssh/known_hosts, host_key_checking: accept-new, jump: admin@bastion.example.org, config: none}
hubs:
  - {name: hub-1, address: 203.0.113.10}
  - {name: hub-2, address: hub2.example.org, user: root, port: 22, identity_file: /k/hub2, jump: other@jump.example.org:2200}
  - {name: local, local: true}
`)
	c := hubconn.New(inv, testOptions())
	defer c.Close()
	got, err := c.Target("hub-1")
	if err != nil {
		t.Fatal(err)
	}
	want := sshexec.Target{Name: "hub-1", Host: "203.0.113.10", Port: 2222, User: "debian",
		IdentityFiles: []string{"/etc/buttctl/keys/id_ed25519"}, KnownHosts: "~/.ssh/known_hosts",
		HostKeyChecking: "accept-new", Jump: "admin@bastion.example.org", ConfigFile: "none"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("hub-1 target\n got %+v\nwant %+v", got, want)
	}
	got, _ = c.Target("hub-2")
	if got.User != "root" || got.Port != 22 || got.IdentityFiles[0] != "/k/hub2" || got.Jump != "other@jump.example.org:2200" {
		t.Errorf("hub-2 overrides not applied: %+v", got)
	}
	if _, err := c.Target("local"); err == nil || !strings.Contains(err.Error(), "local: a local hub") {
		t.Errorf("local target: err = %v", err)
	}
	if _, err := c.Target("hub-9"); err == nil || !strings.Contains(err.Error(), `hub "hub-9" is not in /etc/buttctl/fleet.yaml (hubs: hub-1, hub-2, local)`) {
		t.Errorf("unknown hub: err = %v", err)
	}
}

func TestRunAndDialOverSSH(t *testing.T) {
	srv := sshdtest.Start(t)
	sock := sshdtest.EchoSocket(t)
	inv := parse(t, filepath.Join(t.TempDir(), "buttctl.yaml"), fmt.Sprintf(`version: 1
ssh: {identity_file: %s, known_hosts: %s, config: none}
hubs:
  - {name: hub-1, address: %s, port: %d, user: %s, docker_socket: %s}
`, srv.IdentityPath(), srv.KnownHostsPath, srv.IP, srv.Port, srv.User, sock))
	c := hubconn.New(inv, testOptions())
	defer c.Close()
	res, err := c.Run(ctxT(t), "hub-1", []string{"echo", "over ssh"})
	if err != nil {
		t.Fatal(err)
	}
	if string(res.Stdout) != "over ssh\n" {
		t.Errorf("stdout = %q", res.Stdout)
	}
	conn, err := c.DockerDialer("hub-1")(ctxT(t))
	if err != nil {
		t.Fatal(err)
	}
	if got := roundTrip(t, conn); got != "echo: hello\n" {
		t.Errorf("through the docker socket: %q", got)
	}
	if d, err := c.Ping(ctxT(t), "hub-1"); err != nil || d <= 0 {
		t.Errorf("ping = %s, %v", d, err)
	}
}

func TestLocalHub(t *testing.T) {
	sock := sshdtest.EchoSocket(t)
	inv := parse(t, "", fmt.Sprintf(`version: 1
hubs:
  - {name: local, local: true, docker_socket: %s}
`, sock))
	c := hubconn.New(inv, testOptions())
	defer c.Close()
	res, err := c.Run(ctxT(t), "local", []string{"printf", "%s|", "$(no shell)", "a b"})
	if err != nil {
		t.Fatal(err)
	}
	if string(res.Stdout) != "$(no shell)|a b|" {
		t.Errorf("stdout = %q", res.Stdout)
	}
	_, err = c.Run(ctxT(t), "local", []string{"sh", "-c", "echo bad >&2; exit 4"})
	var xe *sshexec.ExitError
	if !errors.As(err, &xe) || xe.Status != 4 || !strings.HasPrefix(err.Error(), "local: ") || !strings.Contains(err.Error(), "bad") {
		t.Errorf("err = %v, want local: ... status 4: bad", err)
	}
	conn, err := c.DialUnix(ctxT(t), "local", "")
	if err != nil {
		t.Fatal(err)
	}
	if got := roundTrip(t, conn); got != "echo: hello\n" {
		t.Errorf("local docker socket: %q", got)
	}
	ctx, cancel := context.WithTimeout(ctxT(t), 200*time.Millisecond)
	defer cancel()
	if _, err := c.Run(ctx, "local", []string{"sleep", "30"}); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("cancelled local command: err = %v", err)
	}
}
