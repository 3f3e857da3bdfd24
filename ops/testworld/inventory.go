package testworld

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// Pub is a pub to write into an inventory with WriteInventory.
type Pub struct {
	Name  string
	Hub   string
	Host  string // ssb_host; default: the hub's address
	Port  int    // 0: the inventory's default (8008)
	State string // "" (running) or "stopped"
	Image string // "": the default, PubImage
}

// WriteInventory writes, at path, an inventory of the world's hubs and the
// given pubs, with comments, that buttctl uses as is.
func (w *World) WriteInventory(path string, pubs ...Pub) error {
	var b strings.Builder
	fmt.Fprintf(&b, `# buttctl inventory of test world %s, written by ops/testworld.
# %d hubs: containers on Docker network %s (%s), each with its own sshd and
# its own dockerd. State, keys and hub logs: %s
# Stop it: make clean-world (or: go run ./ops/testworld/cmd/world down --dir %s)
version: 1

# Hubs are reached as %q with the world's generated key; host keys are
# checked strictly against the world's known_hosts.
ssh:
  user: %s
  identity_file: %s
  known_hosts: %s
  host_key_checking: strict

# buttctl/testpub is a STAND-IN for ahdinosaur/ssb-pub (ops/testworld/testpub),
# already loaded into every hub's engine; hubs reach no image registry.
defaults:
  image: %s
  port: 8008
  memory: 64m

hubs:
`, w.ID, len(w.Hubs), w.Network.Name, w.Network.Subnet, w.Dir, w.Dir, w.User, w.User, w.IdentityFile, w.KnownHosts, PubImage)
	for _, h := range w.Hubs {
		fmt.Fprintf(&b, `  # container %s; logs in %s
  - name: %s
    address: %s
    port: 22
    user: %s
    identity_file: %s
    docker_socket: %s
    capacity: 20
`, h.Container, filepath.Join(h.Dir, "log"), h.Name, h.Address, w.User, w.IdentityFile, DockerSocket)
	}
	if len(pubs) == 0 {
		b.WriteString("\npubs: []\n")
	} else {
		b.WriteString("\npubs:\n")
	}
	for _, p := range pubs {
		host := p.Host
		if host == "" {
			if h := w.Hub(p.Hub); h != nil {
				host = h.Address
			}
		}
		fmt.Fprintf(&b, "  - name: %s\n    hub: %s\n    host: %s\n", p.Name, p.Hub, host)
		if p.Port != 0 {
			fmt.Fprintf(&b, "    port: %d\n", p.Port)
		}
		if p.Image != "" {
			fmt.Fprintf(&b, "    image: %s\n", p.Image)
		}
		if p.State != "" {
			fmt.Fprintf(&b, "    state: %s\n", p.State)
		}
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(b.String()), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// UniqueName returns prefix followed by a random suffix: names of pubs (and
// their containers and volumes) that cannot collide between tests sharing a
// world.
func UniqueName(prefix string) string {
	return prefix + "-" + randomHex(3)
}

// AllocPort returns a host port no other user of this world has been given
// (ports from 20000 up, counted in the world's directory under a file lock,
// so tests in different processes sharing a world do not collide).
func (w *World) AllocPort() (int, error) {
	f, err := os.OpenFile(filepath.Join(w.Dir, "ports"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		return 0, err
	}
	defer syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
	buf := make([]byte, 32)
	n, _ := f.ReadAt(buf, 0)
	next := 20000
	if v, err := strconv.Atoi(strings.TrimSpace(string(buf[:n]))); err == nil {
		next = v
	}
	if next > 65000 {
		return 0, fmt.Errorf("world %s: out of ports", w.ID)
	}
	if err := f.Truncate(0); err != nil {
		return 0, err
	}
	if _, err := f.WriteAt([]byte(strconv.Itoa(next+1)), 0); err != nil {
		return 0, err
	}
	return next, nil
}
