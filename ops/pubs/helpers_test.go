package pubs_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/client"

	"github.com/buttctl/buttctl/inventory"
	"github.com/buttctl/buttctl/ops/hubconn"
	"github.com/buttctl/buttctl/ops/pubs"
	"github.com/buttctl/buttctl/ops/pubs/pubstest"
	"github.com/buttctl/buttctl/sshexec"
	"github.com/buttctl/buttctl/sshexec/sshdtest"
)

const socket = "/var/run/docker.sock"

func needDocker(t testing.TB) { pubstest.Require(t) }

// raw is a Docker client for arranging and checking the engine behind
// buttctl's back.
func raw(t testing.TB) *client.Client {
	t.Helper()
	api, err := client.New(client.WithHost("unix://" + socket))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { api.Close() })
	return api
}

func uniq(prefix string) string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return prefix + "-" + hex.EncodeToString(b)
}

// freePort returns a TCP port nothing listens on right now.
func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// localInventory is an inventory with the local hub (this machine's real
// Docker engine), a hub whose engine does not exist, and extra YAML for pubs.
func localInventory(t testing.TB, pubsYAML string) *inventory.Inventory {
	t.Helper()
	return parseInventory(t, "", `  - {name: local, local: true}
  - {name: dead, local: true, docker_socket: /nonexistent/buttctl-test/docker.sock}
`, pubsYAML)
}

// sshInventory is an inventory whose hub "remote" is reached through a real
// OpenSSH sshd on loopback, whose Docker socket is this machine's engine's.
func sshInventory(t testing.TB, srv *sshdtest.Server, pubsYAML string) *inventory.Inventory {
	t.Helper()
	return parseInventory(t,
		fmt.Sprintf("ssh: {identity_file: %s, known_hosts: %s, config: none}\n", srv.IdentityPath(), srv.KnownHostsPath),
		fmt.Sprintf("  - {name: remote, address: %s, port: %d, user: %s}\n", srv.IP, srv.Port, srv.User),
		pubsYAML)
}

func parseInventory(t testing.TB, sshYAML, hubsYAML, pubsYAML string) *inventory.Inventory {
	t.Helper()
	text := fmt.Sprintf(`version: 1
%sdefaults: {image: %q, health: {interval: 1s, timeout: 3s, retries: 2}}
hubs:
%spubs:
%s`, sshYAML, pubstest.Image, hubsYAML, pubsYAML)
	inv, err := inventory.Parse("test.yaml", []byte(text))
	if err != nil {
		t.Fatalf("%v\n%s", err, text)
	}
	return inv
}

// service returns the pub operations over inv through this machine's
// sockets, and removes, when the test ends, every container and volume of
// the pubs of inv (found by buttctl's labels, removed by id).
func service(t testing.TB, inv *inventory.Inventory) *pubs.Service {
	t.Helper()
	conns := hubconn.New(inv, hubconn.Options{Pool: sshexec.PoolOptions{AgentSocket: sshexec.AgentNone, NoDefaultIdentities: true}})
	s := pubs.New(inv, conns)
	api := raw(t)
	t.Cleanup(func() {
		s.Close()
		conns.Close()
		pubstest.RemovePubs(api, pubNames(inv)...)
	})
	return s
}

// waitFor polls cond until it holds, failing the test after a deadline.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(45 * time.Second)
	for delay := 10 * time.Millisecond; !cond(); delay = min(2*delay, 500*time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(delay)
	}
}

// statusOf finds the row of pub in a listing.
func statusOf(t *testing.T, s *pubs.Service, pub string) pubs.Status {
	t.Helper()
	p, _ := s.Inventory().Pub(pub)
	rows, _ := s.List(context.Background(), pubs.ListOptions{Identity: true, Hubs: []string{p.Hub}})
	for _, r := range rows {
		if r.Name == pub {
			return r
		}
	}
	t.Fatalf("pub %s not listed", pub)
	return pubs.Status{}
}

func mustContain(t *testing.T, what, got string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(got, w) {
			t.Errorf("%s = %q; want it to contain %q", what, got, w)
		}
	}
}

func pubNames(inv *inventory.Inventory) []string {
	var names []string
	for _, p := range inv.Pubs {
		names = append(names, p.Name)
	}
	return names
}
