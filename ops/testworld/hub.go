package testworld

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/moby/moby/api/pkg/stdcopy"
	"github.com/moby/moby/api/types/network"
	"github.com/moby/moby/client"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// Hub is one hub of a world: a container on the world's network with its
// own sshd (port 22 of Address) and dockerd (socket /var/run/docker.sock
// inside; DockerHost from this machine, for assertions that bypass buttctl).
type Hub struct {
	HubState
	world *World
}

// DockerSocket is the engine's socket inside the hub (the inventory's docker_socket).
const DockerSocket = "/var/run/docker.sock"

// upTimeout bounds how long a hub may take to boot or an engine to start.
const upTimeout = 90 * time.Second

// prepareDir writes the hub's directory, mounted at /buttctl in the hub:
// ssh/ (generated host key, authorized_keys), log/ (hub, sshd and dockerd
// logs) and run/ (a second socket of the hub's dockerd).
func (h *Hub) prepareDir(userKey ssh.PublicKey) (ssh.PublicKey, error) {
	for _, d := range []string{"ssh", "log", "run"} {
		if err := os.MkdirAll(filepath.Join(h.Dir, d), 0o755); err != nil {
			return nil, err
		}
	}
	// MkdirAll honours the umask; sshd's StrictModes wants these exact modes.
	for _, d := range []string{h.Dir, filepath.Join(h.Dir, "ssh")} {
		if err := os.Chmod(d, 0o755); err != nil {
			return nil, err
		}
	}
	hostKey, err := writeKeyPair(filepath.Join(h.Dir, "ssh", "ssh_host_ed25519_key"), "root@"+h.Name)
	if err != nil {
		return nil, err
	}
	auth := ssh.MarshalAuthorizedKey(userKey)
	return hostKey, os.WriteFile(filepath.Join(h.Dir, "ssh", "authorized_keys"), auth, 0o644)
}

// create creates the hub's volume and container, records them and starts it.
func (h *Hub) create(ctx context.Context) error {
	docker := h.world.docker
	if _, err := docker.VolumeCreate(ctx, client.VolumeCreateOptions{Name: h.Volume,
		Labels: map[string]string{worldLabel: h.world.ID, hubLabel: h.Name}}); err != nil {
		return fmt.Errorf("%s: creating volume: %w", h.Name, err)
	}
	res, err := docker.ContainerCreate(ctx, h.containerOptions())
	if err != nil {
		return fmt.Errorf("%s: creating container: %w", h.Name, err)
	}
	h.world.saveMu.Lock() // save reads every hub's state from other goroutines
	h.ContainerID = res.ID
	h.world.saveMu.Unlock()
	if err := h.world.save(); err != nil {
		return err
	}
	if _, err := docker.ContainerStart(ctx, h.ContainerID, client.ContainerStartOptions{}); err != nil {
		return fmt.Errorf("%s: starting container: %w%s", h.Name, err, h.logTail())
	}
	return nil
}

// DockerHost is the DOCKER_HOST of the hub's engine from this machine.
func (h *Hub) DockerHost() string {
	return "unix://" + filepath.Join(h.Dir, "run", "docker.sock")
}

// DockerClient returns a client of the hub's engine that bypasses SSH (for
// test assertions). The caller closes it.
func (h *Hub) DockerClient() (*client.Client, error) {
	return client.New(client.WithHost(h.DockerHost()))
}

// SSHAddr is the hub's sshd as host:port.
func (h *Hub) SSHAddr() string { return net.JoinHostPort(h.Address, "22") }

// SSHClient logs in to the hub's sshd as the world's user with the world's
// key, checking the host key against the world's known_hosts.
func (h *Hub) SSHClient(ctx context.Context) (*ssh.Client, error) {
	key, err := os.ReadFile(h.world.IdentityFile)
	if err != nil {
		return nil, err
	}
	signer, err := ssh.ParsePrivateKey(key)
	if err != nil {
		return nil, err
	}
	hostKeys, err := knownhosts.New(h.world.KnownHosts)
	if err != nil {
		return nil, err
	}
	cfg := &ssh.ClientConfig{
		User:            h.world.User,
		Auth:            []ssh.AuthMethod{ssh.PublicKeys(signer)},
		HostKeyCallback: hostKeys,
		Timeout:         5 * time.Second,
	}
	d := net.Dialer{Timeout: 5 * time.Second}
	conn, err := d.DialContext(ctx, "tcp", h.SSHAddr())
	if err != nil {
		return nil, err
	}
	if deadline, ok := ctx.Deadline(); ok {
		conn.SetDeadline(deadline)
	}
	c, chans, reqs, err := ssh.NewClientConn(conn, h.SSHAddr(), cfg)
	if err != nil {
		conn.Close()
		return nil, err
	}
	conn.SetDeadline(time.Time{})
	return ssh.NewClient(c, chans, reqs), nil
}

// SSHUp reports whether a login to the hub's sshd succeeds now.
func (h *Hub) SSHUp(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	c, err := h.SSHClient(ctx)
	if err != nil {
		return err
	}
	return c.Close()
}

// EngineUp reports whether the hub's engine answers now (bypassing SSH).
func (h *Hub) EngineUp(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	c, err := h.DockerClient()
	if err != nil {
		return err
	}
	defer c.Close()
	_, err = c.Ping(ctx, client.PingOptions{})
	return err
}

// waitUp waits until the hub's engine and sshd both answer.
func (h *Hub) waitUp(ctx context.Context) error {
	return h.waitFor(ctx, "sshd and engine up", func() error {
		if err := h.EngineUp(ctx); err != nil {
			return fmt.Errorf("engine: %w", err)
		}
		if err := h.SSHUp(ctx); err != nil {
			return fmt.Errorf("sshd: %w", err)
		}
		return nil
	})
}

// waitFor polls cond until it returns nil, the hub container stops, or
// upTimeout passes.
func (h *Hub) waitFor(ctx context.Context, what string, cond func() error) error {
	errStopped := errors.New("the hub container is not running")
	err := poll(ctx, upTimeout, func() error {
		err := cond()
		if err == nil {
			return nil
		}
		if running, _ := h.running(ctx); !running {
			return stopPolling{errStopped}
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("%s: waiting for %s: %w%s", h.Name, what, err, h.logTail())
	}
	return nil
}

// stopPolling makes poll return its error at once.
type stopPolling struct{ error }

// poll calls cond every 100ms until it returns nil or a stopPolling error,
// or timeout passes (then the last error is returned).
func poll(ctx context.Context, timeout time.Duration, cond func() error) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		err := cond()
		if err == nil {
			return nil
		}
		var stop stopPolling
		if errors.As(err, &stop) {
			return stop.error
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w (last: %v)", ctx.Err(), err)
		case <-tick.C:
		}
	}
}

func (h *Hub) running(ctx context.Context) (bool, error) {
	res, err := h.world.docker.ContainerInspect(ctx, h.ContainerID, client.ContainerInspectOptions{})
	if err != nil {
		return false, err
	}
	return res.Container.State != nil && res.Container.State.Running, nil
}

// logTail is the end of the hub's logs, for error messages.
func (h *Hub) logTail() string {
	var b strings.Builder
	for _, f := range []string{"hub.log", "dockerd.log", "sshd.log"} {
		data, err := os.ReadFile(filepath.Join(h.Dir, "log", f))
		if err != nil || len(data) == 0 {
			continue
		}
		lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
		if len(lines) > 8 {
			lines = lines[len(lines)-8:]
		}
		fmt.Fprintf(&b, "\n--- %s (last lines of %s):\n%s", h.Name, filepath.Join(h.Dir, "log", f), strings.Join(lines, "\n"))
	}
	return b.String()
}

// errShared is returned by destructive actions on a shared world.
func (h *Hub) destructive(action string) error {
	if h.world.shared {
		return fmt.Errorf("%s: %s refused: this world is shared by many tests; use testworld.Private for destructive tests", h.Name, action)
	}
	return nil
}

// PowerOff kills the hub container at once: sshd, dockerd and every pub on
// the hub die together, as when a server loses power. Its disk (the Docker
// volume) is kept.
func (h *Hub) PowerOff(ctx context.Context) error {
	if err := h.destructive("power off"); err != nil {
		return err
	}
	if _, err := h.world.docker.ContainerKill(ctx, h.ContainerID, client.ContainerKillOptions{Signal: "KILL"}); err != nil {
		return fmt.Errorf("%s: power off: %w", h.Name, err)
	}
	return poll(ctx, upTimeout, func() error {
		if running, err := h.running(ctx); err != nil || running {
			return fmt.Errorf("%s: still running after SIGKILL (%v)", h.Name, err)
		}
		return nil
	})
}

// PowerOn boots a powered-off hub and waits until sshd and the engine
// answer. Pubs with a restart policy come back as the engine starts them.
func (h *Hub) PowerOn(ctx context.Context) error {
	if _, err := h.world.docker.ContainerStart(ctx, h.ContainerID, client.ContainerStartOptions{}); err != nil {
		return fmt.Errorf("%s: power on: %w", h.Name, err)
	}
	return h.waitUp(ctx)
}

// CutNetwork disconnects the hub from the world's network: nothing reaches
// its sshd or its pubs, and the hub reaches nothing; everything on it keeps
// running. DockerClient still works (it does not use the network).
func (h *Hub) CutNetwork(ctx context.Context) error {
	if err := h.destructive("network cut"); err != nil {
		return err
	}
	if _, err := h.world.docker.NetworkDisconnect(ctx, h.world.Network.ID, client.NetworkDisconnectOptions{Container: h.ContainerID, Force: true}); err != nil {
		return fmt.Errorf("%s: cut network: %w", h.Name, err)
	}
	return nil
}

// RestoreNetwork reconnects the hub with its address.
func (h *Hub) RestoreNetwork(ctx context.Context) error {
	_, err := h.world.docker.NetworkConnect(ctx, h.world.Network.ID, client.NetworkConnectOptions{
		Container: h.ContainerID,
		EndpointConfig: &network.EndpointSettings{
			IPAMConfig: &network.EndpointIPAMConfig{IPv4Address: netip.MustParseAddr(h.Address)},
		},
	})
	if err != nil {
		return fmt.Errorf("%s: restore network: %w", h.Name, err)
	}
	return nil
}

// StopEngine stops the hub's dockerd as `systemctl stop docker` would: its
// containers stop with it. sshd keeps running.
func (h *Hub) StopEngine(ctx context.Context) error {
	if err := h.destructive("engine stop"); err != nil {
		return err
	}
	if out, err := h.Exec(ctx, "hubctl", "engine-stop"); err != nil {
		return fmt.Errorf("%s: stop engine: %w: %s", h.Name, err, out)
	}
	return nil
}

// StartEngine starts the hub's dockerd and waits until it answers.
func (h *Hub) StartEngine(ctx context.Context) error {
	if out, err := h.Exec(ctx, "hubctl", "engine-start"); err != nil {
		return fmt.Errorf("%s: start engine: %w: %s", h.Name, err, out)
	}
	return h.waitFor(ctx, "engine", func() error { return h.EngineUp(ctx) })
}

// RestartEngine is StopEngine then StartEngine.
func (h *Hub) RestartEngine(ctx context.Context) error {
	if err := h.StopEngine(ctx); err != nil {
		return err
	}
	return h.StartEngine(ctx)
}

// KillSSHD kills every sshd process of the hub with SIGKILL: the listener
// (new connections are refused) and every session (open connections drop).
func (h *Hub) KillSSHD(ctx context.Context) error {
	if err := h.destructive("sshd kill"); err != nil {
		return err
	}
	if out, err := h.Exec(ctx, "hubctl", "sshd-kill"); err != nil {
		return fmt.Errorf("%s: kill sshd: %w: %s", h.Name, err, out)
	}
	return nil
}

// StartSSHD starts the hub's sshd and waits until a login succeeds.
func (h *Hub) StartSSHD(ctx context.Context) error {
	if out, err := h.Exec(ctx, "hubctl", "sshd-start"); err != nil {
		return fmt.Errorf("%s: start sshd: %w: %s", h.Name, err, out)
	}
	return h.waitFor(ctx, "sshd", func() error { return h.SSHUp(ctx) })
}

// LoadImage copies image from this machine's engine into the hub's engine
// (save, then load: hubs reach no registry). It does nothing when the hub
// already has the same image.
func (h *Hub) LoadImage(ctx context.Context, image string) error {
	src, err := h.world.docker.ImageInspect(ctx, image)
	if err != nil {
		return fmt.Errorf("%s: load image %s: not on this machine's engine: %w", h.Name, image, err)
	}
	hub, err := h.DockerClient()
	if err != nil {
		return err
	}
	defer hub.Close()
	if dst, err := hub.ImageInspect(ctx, image); err == nil && dst.ID == src.ID {
		return nil
	}
	saved, err := h.world.docker.ImageSave(ctx, []string{image})
	if err != nil {
		return fmt.Errorf("%s: load image %s: save: %w", h.Name, image, err)
	}
	defer saved.Close()
	loaded, err := hub.ImageLoad(ctx, saved, client.ImageLoadWithQuiet(true))
	if err != nil {
		return fmt.Errorf("%s: load image %s: %w", h.Name, image, err)
	}
	defer loaded.Close()
	if err := readJSONMessages(loaded); err != nil {
		return fmt.Errorf("%s: load image %s: %w", h.Name, image, err)
	}
	return nil
}

// ExecResult is the outcome of a command run with Exec or ExecIn.
type ExecResult struct {
	Stdout, Stderr string
	ExitCode       int
}

// Exec runs argv as root inside the hub (not through SSH) and returns its
// combined output; a non-zero exit is an error.
func (h *Hub) Exec(ctx context.Context, argv ...string) (string, error) {
	res, err := execIn(ctx, h.world.docker, h.ContainerID, "root", argv)
	out := res.Stdout + res.Stderr
	if err == nil && res.ExitCode != 0 {
		err = fmt.Errorf("%s: %s: exit status %d", h.Name, strings.Join(argv, " "), res.ExitCode)
	}
	return out, err
}

// ExecIn runs argv in a container on the hub's engine (bypassing SSH), as
// the container's user, e.g. ExecIn(ctx, "pub-1", "sbot", "whoami").
func (h *Hub) ExecIn(ctx context.Context, containerName string, argv ...string) (ExecResult, error) {
	hub, err := h.DockerClient()
	if err != nil {
		return ExecResult{}, err
	}
	defer hub.Close()
	return execIn(ctx, hub, containerName, "", argv)
}

func execIn(ctx context.Context, docker *client.Client, containerID, user string, argv []string) (ExecResult, error) {
	created, err := docker.ExecCreate(ctx, containerID, client.ExecCreateOptions{
		User: user, Cmd: argv, AttachStdout: true, AttachStderr: true,
	})
	if err != nil {
		return ExecResult{}, err
	}
	att, err := docker.ExecAttach(ctx, created.ID, client.ExecAttachOptions{})
	if err != nil {
		return ExecResult{}, err
	}
	defer att.Close()
	var stdout, stderr bytes.Buffer
	if _, err := stdcopy.StdCopy(&stdout, &stderr, att.Reader); err != nil && !errors.Is(err, io.EOF) {
		return ExecResult{}, err
	}
	res := ExecResult{Stdout: stdout.String(), Stderr: stderr.String()}
	// The output ends a moment before the engine records the exit code.
	err = poll(ctx, 10*time.Second, func() error {
		insp, err := docker.ExecInspect(ctx, created.ID, client.ExecInspectOptions{})
		if err != nil {
			return stopPolling{err}
		}
		if insp.Running {
			return errors.New("exec still running")
		}
		res.ExitCode = insp.ExitCode
		return nil
	})
	return res, err
}
