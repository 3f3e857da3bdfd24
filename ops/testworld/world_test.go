package testworld_test

import (
	"context"
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"

	"github.com/buttctl/buttctl/inventory"
	"github.com/buttctl/buttctl/ops/hubconn"
	"github.com/buttctl/buttctl/ops/pubspec"
	"github.com/buttctl/buttctl/ops/testworld"
)

// TestWorld drives a private 2-hub world through everything the harness
// offers, against the machine's real Docker engine, the hubs' real sshd and
// dockerd, and the real test pub image.
func TestWorld(t *testing.T) {
	w := testworld.Private(t, 2)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	h1, h2 := w.Hubs[0], w.Hubs[1]

	t.Run("inventory loads as is", func(t *testing.T) {
		inv, err := inventory.Load(w.InventoryPath)
		if err != nil {
			t.Fatal(err)
		}
		if len(inv.Hubs) != 2 || inv.Hubs[0].Address != h1.Address || inv.Hubs[1].Address != h2.Address {
			t.Fatalf("hubs %+v, want %s and %s", inv.Hubs, h1.Address, h2.Address)
		}
		if inv.SSH.HostKeyChecking != inventory.HostKeyStrict || inv.SSH.KnownHosts != w.KnownHosts {
			t.Errorf("ssh = %+v", inv.SSH)
		}
		if inv.Defaults.Image != testworld.PubImage || inv.Hubs[0].DockerSocket != testworld.DockerSocket {
			t.Errorf("defaults.image %q, docker_socket %q", inv.Defaults.Image, inv.Hubs[0].DockerSocket)
		}
		raw, _ := os.ReadFile(w.InventoryPath)
		if !strings.Contains(string(raw), "# ") {
			t.Error("the inventory has no comments")
		}
		fi, err := os.Stat(w.IdentityFile)
		if err != nil || fi.Mode().Perm() != 0o600 {
			t.Errorf("identity file: %v, mode %v", err, fi.Mode().Perm())
		}
	})

	t.Run("buttctl's own connections use the inventory as is", func(t *testing.T) {
		inv, err := inventory.Load(w.InventoryPath)
		if err != nil {
			t.Fatal(err)
		}
		conns := hubconn.New(inv, hubconn.Options{})
		defer conns.Close()
		for _, h := range w.Hubs {
			res, err := conns.Run(ctx, h.Name, []string{"hostname"})
			if err != nil {
				t.Fatalf("%s: hostname over buttctl's SSH: %v", h.Name, err)
			}
			if got := strings.TrimSpace(string(res.Stdout)); got != h.Name {
				t.Fatalf("buttctl's SSH to %s reached %q", h.Name, got)
			}
			docker, err := client.New(client.WithHost("unix://"+testworld.DockerSocket),
				client.WithDialContext(func(ctx context.Context, _, _ string) (net.Conn, error) {
					return conns.DockerDialer(h.Name)(ctx)
				}))
			if err != nil {
				t.Fatal(err)
			}
			info, err := docker.Info(ctx, client.InfoOptions{})
			docker.Close()
			if err != nil || info.Info.Name != h.Name {
				t.Fatalf("%s: engine over buttctl's SSH: %v, name %q", h.Name, err, info.Info.Name)
			}
		}
	})

	t.Run("sshd checks keys both ways", func(t *testing.T) {
		c, err := h1.SSHClient(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		out := run(t, c, "id -un; id -Gn; hostname")
		if !strings.Contains(out, testworld.User+"\n") || !strings.Contains(out, "docker") || !strings.HasSuffix(out, "hub-1\n") {
			t.Fatalf("id/hostname on hub-1: %q", out)
		}
		// hub-2's host key under hub-1's address must be refused.
		bad := filepath.Join(t.TempDir(), "known_hosts")
		kh, _ := os.ReadFile(w.KnownHosts)
		swapped := strings.Replace(strings.Split(string(kh), "\n")[1], h2.Address, h1.Address, 1)
		os.WriteFile(bad, []byte(swapped+"\n"), 0o644)
		if err := sshLogin(h1, w.IdentityFile, bad); err == nil || !strings.Contains(err.Error(), "key mismatch") {
			t.Fatalf("login with a wrong host key: %v, want a key mismatch", err)
		}
	})

	t.Run("engine through an SSH streamlocal forward", func(t *testing.T) {
		c, err := h2.SSHClient(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		docker, err := client.New(client.WithHost("unix://"+testworld.DockerSocket),
			client.WithDialContext(func(ctx context.Context, _, _ string) (net.Conn, error) {
				return c.DialContext(ctx, "unix", testworld.DockerSocket)
			}))
		if err != nil {
			t.Fatal(err)
		}
		defer docker.Close()
		info, err := docker.Info(ctx, client.InfoOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if info.Info.Name != "hub-2" {
			t.Fatalf("the forwarded socket reached engine %q, want hub-2's", info.Info.Name)
		}
	})

	pub := testworld.UniqueName("pub")
	ctr := pubspec.ContainerName(pub)
	port := allocPort(t, w)
	var id string
	t.Run("pub runs on its hub's own engine", func(t *testing.T) {
		if _, err := h1.RunPub(ctx, testworld.Pub{Name: pub, Port: port}, ""); err != nil {
			t.Fatal(err)
		}
		waitHealth(t, h1, ctr, container.Healthy)
		id = whoami(t, h1, ctr)
		if !strings.HasPrefix(id, "@") || !strings.HasSuffix(id, "=.ed25519") {
			t.Fatalf("whoami id %q", id)
		}
		if names := containerNames(t, h2); strings.Contains(names, ctr) {
			t.Fatalf("hub-2's engine lists hub-1's pub: %s", names)
		}
		if _, err := w.Docker().ContainerInspect(ctx, ctr, client.ContainerInspectOptions{}); err == nil {
			t.Fatal("the machine's engine has the hub's pub")
		}
		conn, err := net.DialTimeout("tcp", net.JoinHostPort(h1.Address, strconv.Itoa(port)), 5*time.Second)
		if err != nil {
			t.Fatalf("pub port on the hub's address: %v", err)
		}
		conn.Close()
		res, err := h1.ExecIn(ctx, ctr, "sbot", "invite.create", "1")
		if err != nil || res.ExitCode != 0 {
			t.Fatalf("invite.create: %v %+v", err, res)
		}
		if want := `"` + h1.Address + ":" + strconv.Itoa(port) + ":" + id + "~"; !strings.HasPrefix(res.Stdout, want) {
			t.Fatalf("invite %q, want prefix %q", res.Stdout, want)
		}
		out, err := h1.Exec(ctx, "stat", "-c", "%a %u", "/var/lib/docker/volumes/"+pubspec.VolumeName(pub)+"/_data/secret")
		if err != nil || strings.TrimSpace(out) != "600 1000" {
			t.Fatalf("secret mode and owner: %q %v, want 600 1000", out, err)
		}
	})

	t.Run("whoami stable across restart and recreate", func(t *testing.T) {
		docker := hubDocker(t, h1)
		if _, err := docker.ContainerRestart(ctx, ctr, client.ContainerRestartOptions{}); err != nil {
			t.Fatal(err)
		}
		waitHealth(t, h1, ctr, container.Healthy)
		if got := whoami(t, h1, ctr); got != id {
			t.Fatalf("after restart: %s, was %s", got, id)
		}
		if _, err := docker.ContainerRemove(ctx, ctr, client.ContainerRemoveOptions{Force: true}); err != nil {
			t.Fatal(err)
		}
		if _, err := h1.RunPub(ctx, testworld.Pub{Name: pub, Port: port}, ""); err != nil {
			t.Fatal(err)
		}
		waitHealth(t, h1, ctr, container.Healthy)
		if got := whoami(t, h1, ctr); got != id {
			t.Fatalf("after recreate with the same volume: %s, was %s", got, id)
		}
	})

	t.Run("fault unhealthy makes Docker report unhealthy", func(t *testing.T) {
		sbot(t, h1, ctr, "fault", "unhealthy")
		waitHealth(t, h1, ctr, container.Unhealthy)
		sbot(t, h1, ctr, "fault", "clear")
		waitHealth(t, h1, ctr, container.Healthy)
	})

	t.Run("fault crash makes the pub exit non-zero", func(t *testing.T) {
		crasher := testworld.UniqueName("crash")
		if _, err := h1.RunPub(ctx, testworld.Pub{Name: crasher, Port: allocPort(t, w)}, "no"); err != nil {
			t.Fatal(err)
		}
		waitHealth(t, h1, pubspec.ContainerName(crasher), container.Healthy)
		sbot(t, h1, pubspec.ContainerName(crasher), "fault", "crash")
		st := waitState(t, h1, pubspec.ContainerName(crasher), func(s *container.State) bool { return !s.Running })
		if st.ExitCode != 3 {
			t.Fatalf("exit code %d after fault crash, want 3", st.ExitCode)
		}
	})

	t.Run("engine restart", func(t *testing.T) {
		before := startedAt(t, h1, ctr)
		if err := h1.RestartEngine(ctx); err != nil {
			t.Fatal(err)
		}
		if err := h1.SSHUp(ctx); err != nil {
			t.Fatalf("sshd after engine restart: %v", err)
		}
		waitHealth(t, h1, ctr, container.Healthy)
		if after := startedAt(t, h1, ctr); after == before {
			t.Fatal("the pub was not restarted with the engine")
		}
		if got := whoami(t, h1, ctr); got != id {
			t.Fatalf("after engine restart: %s, was %s", got, id)
		}
	})

	t.Run("sshd kill and restart", func(t *testing.T) {
		c, err := h1.SSHClient(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if err := h1.KillSSHD(ctx); err != nil {
			t.Fatal(err)
		}
		if err := h1.SSHUp(ctx); err == nil {
			t.Fatal("login succeeded with sshd killed")
		}
		if _, err := c.NewSession(); err == nil {
			t.Fatal("an SSH connection opened before the kill still works")
		}
		if err := h1.EngineUp(ctx); err != nil {
			t.Fatalf("engine after sshd kill: %v", err)
		}
		if err := h1.StartSSHD(ctx); err != nil {
			t.Fatal(err)
		}
	})

	pub2 := testworld.UniqueName("pub")
	ctr2 := pubspec.ContainerName(pub2)
	port2 := allocPort(t, w)
	var id2 string
	t.Run("network cut and restore", func(t *testing.T) {
		if _, err := h2.RunPub(ctx, testworld.Pub{Name: pub2, Port: port2}, ""); err != nil {
			t.Fatal(err)
		}
		waitHealth(t, h2, ctr2, container.Healthy)
		id2 = whoami(t, h2, ctr2)
		if err := h2.CutNetwork(ctx); err != nil {
			t.Fatal(err)
		}
		if err := h2.SSHUp(ctx); err == nil {
			t.Fatal("hub-2's sshd answers with its network cut")
		}
		if _, err := net.DialTimeout("tcp", net.JoinHostPort(h2.Address, strconv.Itoa(port2)), time.Second); err == nil {
			t.Fatal("hub-2's pub answers with its network cut")
		}
		if err := h1.SSHUp(ctx); err != nil {
			t.Fatalf("hub-1 with hub-2's network cut: %v", err)
		}
		if err := h2.EngineUp(ctx); err != nil {
			t.Fatalf("hub-2's engine (bypassing the network) with its network cut: %v", err)
		}
		if err := h2.RestoreNetwork(ctx); err != nil {
			t.Fatal(err)
		}
		if err := h2.SSHUp(ctx); err != nil {
			t.Fatalf("hub-2's sshd after restore: %v", err)
		}
	})

	t.Run("power off and on", func(t *testing.T) {
		if err := h2.PowerOff(ctx); err != nil {
			t.Fatal(err)
		}
		if err := h2.SSHUp(ctx); err == nil {
			t.Fatal("hub-2's sshd answers while powered off")
		}
		if err := h2.EngineUp(ctx); err == nil {
			t.Fatal("hub-2's engine answers while powered off")
		}
		if _, err := net.DialTimeout("tcp", net.JoinHostPort(h2.Address, strconv.Itoa(port2)), time.Second); err == nil {
			t.Fatal("hub-2's pub answers while powered off")
		}
		if err := h1.SSHUp(ctx); err != nil {
			t.Fatalf("hub-1 with hub-2 off: %v", err)
		}
		if err := h2.PowerOn(ctx); err != nil {
			t.Fatal(err)
		}
		waitHealth(t, h2, ctr2, container.Healthy)
		if got := whoami(t, h2, ctr2); got != id2 {
			t.Fatalf("after power cycle: %s, was %s", got, id2)
		}
	})

	t.Run("a shared world refuses destructive actions", func(t *testing.T) {
		shared, err := testworld.Attach(filepath.Join(w.Dir, "state.json"))
		if err != nil {
			t.Fatal(err)
		}
		if err := shared.Hubs[0].PowerOff(ctx); err == nil || !strings.Contains(err.Error(), "Private") {
			t.Fatalf("power off of a shared hub: %v", err)
		}
		if err := h1.SSHUp(ctx); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("stop removes exactly what was recorded", func(t *testing.T) {
		hubIDs := []string{h1.ContainerID, h2.ContainerID}
		if err := w.Stop(ctx); err != nil {
			t.Fatal(err)
		}
		for _, id := range hubIDs {
			if _, err := w.Docker().ContainerInspect(ctx, id, client.ContainerInspectOptions{}); err == nil {
				t.Errorf("hub container %.12s still exists", id)
			}
		}
		if _, err := w.Docker().NetworkInspect(ctx, w.Network.ID, client.NetworkInspectOptions{}); err == nil {
			t.Errorf("network %s still exists", w.Network.Name)
		}
		if _, err := w.Docker().VolumeInspect(ctx, h1.Volume, client.VolumeInspectOptions{}); err == nil {
			t.Errorf("volume %s still exists", h1.Volume)
		}
		if _, err := os.Stat(w.Dir); !os.IsNotExist(err) {
			t.Errorf("world dir %s: %v, want it gone", w.Dir, err)
		}
	})
}

func allocPort(t *testing.T, w *testworld.World) int {
	t.Helper()
	p, err := w.AllocPort()
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func run(t *testing.T, c *ssh.Client, cmd string) string {
	t.Helper()
	s, err := c.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	out, err := s.CombinedOutput(cmd)
	if err != nil {
		t.Fatalf("%s: %v: %s", cmd, err, out)
	}
	return string(out)
}

func sshLogin(h *testworld.Hub, identity, knownHostsPath string) error {
	key, err := os.ReadFile(identity)
	if err != nil {
		return err
	}
	signer, err := ssh.ParsePrivateKey(key)
	if err != nil {
		return err
	}
	cb, err := knownhosts.New(knownHostsPath)
	if err != nil {
		return err
	}
	c, err := ssh.Dial("tcp", h.SSHAddr(), &ssh.ClientConfig{User: testworld.User, Auth: []ssh.AuthMethod{ssh.PublicKeys(signer)}, HostKeyCallback: cb, Timeout: 5 * time.Second})
	if err == nil {
		c.Close()
	}
	return err
}

func hubDocker(t *testing.T, h *testworld.Hub) *client.Client {
	t.Helper()
	c, err := h.DockerClient()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func containerNames(t *testing.T, h *testworld.Hub) string {
	t.Helper()
	res, err := hubDocker(t, h).ContainerList(context.Background(), client.ContainerListOptions{All: true})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, c := range res.Items {
		names = append(names, c.Names...)
	}
	return strings.Join(names, " ")
}

// sbot runs sbot in a pub and fails the test unless it exits 0.
func sbot(t *testing.T, h *testworld.Hub, pub string, args ...string) string {
	t.Helper()
	res, err := h.ExecIn(context.Background(), pub, append([]string{"sbot"}, args...)...)
	if err != nil || res.ExitCode != 0 {
		t.Fatalf("%s: sbot %v: %v, exit %d: %s", h.Name, args, err, res.ExitCode, res.Stderr)
	}
	return res.Stdout
}

func whoami(t *testing.T, h *testworld.Hub, pub string) string {
	t.Helper()
	var who struct{ ID string }
	out := sbot(t, h, pub, "whoami")
	if err := json.Unmarshal([]byte(out), &who); err != nil {
		t.Fatalf("whoami printed %q: %v", out, err)
	}
	return who.ID
}

func waitState(t *testing.T, h *testworld.Hub, name string, ok func(*container.State) bool) *container.State {
	t.Helper()
	docker := hubDocker(t, h)
	deadline := time.After(60 * time.Second)
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	var last *container.State
	for {
		res, err := docker.ContainerInspect(context.Background(), name, client.ContainerInspectOptions{})
		if err == nil && res.Container.State != nil {
			last = res.Container.State
			if ok(last) {
				return last
			}
		}
		select {
		case <-deadline:
			t.Fatalf("%s/%s: state did not reach the condition within 60s; last %+v", h.Name, name, last)
		case <-tick.C:
		}
	}
}

func waitHealth(t *testing.T, h *testworld.Hub, name string, want container.HealthStatus) {
	t.Helper()
	waitState(t, h, name, func(s *container.State) bool { return s.Health != nil && s.Health.Status == want })
}

func startedAt(t *testing.T, h *testworld.Hub, name string) string {
	t.Helper()
	return waitState(t, h, name, func(s *container.State) bool { return s.Running }).StartedAt
}
