// Package hubconntest builds inventories whose hubs are sshdtest servers, for
// tests of packages that reach hubs through ops/hubconn.
package hubconntest

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/buttctl/buttctl/inventory"
	"github.com/buttctl/buttctl/ops/hubconn"
	"github.com/buttctl/buttctl/sshexec"
	"github.com/buttctl/buttctl/sshexec/sshdtest"
)

// Hub is one hub of a test inventory: an sshd, or (Server nil) a local hub
// or a hub at an address where nothing listens.
type Hub struct {
	Name   string
	Server *sshdtest.Server
	Local  bool
	// Address and Port for a hub with no Server (e.g. an unreachable one).
	Address string
	Port    int
	// DockerSocket is the hub's docker_socket ("" = the default).
	DockerSocket string
}

// Inventory writes an inventory of hubs to a temporary buttctl.yaml, with
// ssh.identity_file and ssh.known_hosts taken from the first server (share
// one key and known_hosts between servers with sshdtest.WithUserKey and
// WithKnownHosts), and loads it.
func Inventory(t testing.TB, hubs ...Hub) *inventory.Inventory {
	t.Helper()
	var b strings.Builder
	b.WriteString("version: 1\n")
	for _, h := range hubs {
		if h.Server != nil {
			fmt.Fprintf(&b, "ssh: {user: %s, identity_file: %s, known_hosts: %s, config: none}\n",
				h.Server.User, h.Server.IdentityPath(), h.Server.KnownHostsPath)
			break
		}
	}
	b.WriteString("hubs:\n")
	for _, h := range hubs {
		fmt.Fprintf(&b, "  - name: %s\n", h.Name)
		switch {
		case h.Local:
			b.WriteString("    local: true\n")
		case h.Server != nil:
			fmt.Fprintf(&b, "    address: %s\n    port: %d\n", h.Server.IP, h.Server.Port)
		default:
			fmt.Fprintf(&b, "    address: %s\n    port: %d\n", h.Address, h.Port)
		}
		if h.DockerSocket != "" {
			fmt.Fprintf(&b, "    docker_socket: %s\n", h.DockerSocket)
		}
	}
	path := filepath.Join(t.TempDir(), "buttctl.yaml")
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	inv, err := inventory.Load(path)
	if err != nil {
		t.Fatalf("test inventory:\n%s\n%v", b.String(), err)
	}
	return inv
}

// Options are hubconn options that use no ssh-agent and no default identity
// files, so tests depend only on what they set up.
func Options() hubconn.Options {
	return hubconn.Options{Pool: sshexec.PoolOptions{AgentSocket: sshexec.AgentNone, NoDefaultIdentities: true}}
}

// Fleet starts n sshd servers named prefix-1..prefix-n sharing one user key
// and one known_hosts file.
func Fleet(t testing.TB, prefix string, n int, opts ...sshdtest.Option) []*sshdtest.Server {
	t.Helper()
	dir := t.TempDir()
	key := sshdtest.NewKey(t, dir, "id_ed25519", "")
	known := filepath.Join(dir, "known_hosts")
	servers := make([]*sshdtest.Server, n)
	for i := range n {
		o := append([]sshdtest.Option{sshdtest.WithName(fmt.Sprintf("%s-%d", prefix, i+1)), sshdtest.WithUserKey(key), sshdtest.WithKnownHosts(known)}, opts...)
		servers[i] = sshdtest.Start(t, o...)
	}
	return servers
}

// Unreachable returns a loopback address and port where nothing listens.
func Unreachable(t testing.TB) (string, int) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	return "127.0.0.1", port
}

// RequireDocker fails the test when this machine's Docker engine is missing,
// or skips it when BUTTCTL_SKIP_DOCKER=1.
func RequireDocker(t testing.TB) string {
	t.Helper()
	const sock = "/var/run/docker.sock"
	if os.Getenv("BUTTCTL_SKIP_DOCKER") == "1" {
		t.Skip("BUTTCTL_SKIP_DOCKER=1")
	}
	c, err := net.Dial("unix", sock)
	if err != nil {
		t.Fatalf("this test needs the machine's Docker engine at %s (set BUTTCTL_SKIP_DOCKER=1 to skip): %v", sock, err)
	}
	c.Close()
	return sock
}
