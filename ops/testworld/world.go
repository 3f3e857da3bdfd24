// Package testworld stands up a real fleet on one machine for buttctl's
// tests, benchmarks and demo: N hubs, each a container on a Docker network
// the world creates, with its own address, its own OpenSSH server (generated
// host and user keys, a known_hosts for them) and its own Docker engine (own
// data root, socket and containers), running the test pub image
// buttctl/testpub — a stand-in for ahdinosaur/ssb-pub built from ./testpub.
//
// A world writes an inventory (with comments) that buttctl uses as is, and
// offers the failures tests need: power a hub off and on, cut and restore
// its network, restart its engine, kill and restart its sshd, load an image.
// Everything a world starts is recorded in its state file and stopped by
// recorded ids only (World.Stop, `world down`, `make clean-world`, or the
// next Start after a crash). See ForTest for sharing one world between tests.
package testworld

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/mount"
	"github.com/moby/moby/api/types/network"
	"github.com/moby/moby/client"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// Labels on every Docker object a world creates.
const (
	worldLabel = "buttctl.testworld"     // = the world's ID
	hubLabel   = "buttctl.testworld.hub" // = the hub's name
)

// User is the login user on every hub (in group docker, like a cloud image's user).
const User = "debian"

// Options say what world to start.
type Options struct {
	// Hubs is the number of hubs (default 2).
	Hubs int
	// Dir holds the world's state, keys, inventory and hub logs. Default: a
	// new directory under $BUTTCTL_TESTWORLD_DIR (<tmp>/buttctl-testworld).
	// An existing world recorded in Dir is stopped first.
	Dir string
	// Persistent worlds (`world up`) are not owned by the starting process:
	// only Stop ends them. Others are leftovers once their process is gone.
	Persistent bool
	// Images are loaded into every hub's engine after start (default: PubImage,
	// built with BuildPubImage when needed). Use an empty non-nil slice for none.
	Images []string
	// Logf receives progress lines (default: none).
	Logf func(format string, args ...any)
}

// World is a running test world.
type World struct {
	State
	// InventoryPath is the world's inventory: its hubs, no pubs.
	InventoryPath string
	Hubs          []*Hub

	docker *client.Client // the machine's engine, which runs the hubs
	logf   func(string, ...any)
	// shared worlds serve many tests: destructive hub actions are refused.
	shared   bool
	saveMu   sync.Mutex
	stopOnce sync.Once
	stopErr  error
	reaper   *os.File // write end of the reaper's pipe (see reaper.go)
}

// Start starts a world: it cleans leftovers of crashed runs, builds (or
// reuses) the hub and pub images, creates the network and the hubs, waits
// until every hub's sshd and engine answer, loads the images and writes the
// inventory. On error everything already started is stopped again.
func Start(ctx context.Context, opts Options) (*World, error) {
	if opts.Hubs <= 0 {
		opts.Hubs = 2
	}
	logf := opts.Logf
	if logf == nil {
		logf = func(string, ...any) {}
	}
	docker, err := LocalDocker()
	if err != nil {
		return nil, err
	}
	if stopped, err := CleanLeftovers(ctx); err != nil {
		logf("testworld: cleaning leftovers: %v", err)
	} else if len(stopped) > 0 {
		logf("testworld: stopped leftover worlds of ended processes: %s", strings.Join(stopped, ", "))
	}

	images := opts.Images
	if images == nil {
		t0 := time.Now()
		if err := BuildPubImage(ctx, docker); err != nil {
			return nil, err
		}
		logf("testworld: pub image %s ready (%s)", PubImage, time.Since(t0).Round(time.Millisecond))
		images = []string{PubImage}
	}
	t0 := time.Now()
	hubImage, err := BuildHubImage(ctx, docker)
	if err != nil {
		return nil, err
	}
	logf("testworld: hub image %s ready (%s)", hubImage, time.Since(t0).Round(time.Millisecond))

	id := "tw" + randomHex(3)
	dir := opts.Dir
	if dir == "" {
		dir = filepath.Join(registryDir(), id)
	}
	if dir, err = filepath.Abs(dir); err != nil {
		return nil, err
	}
	if old, err := LoadState(filepath.Join(dir, stateFile)); err == nil {
		logf("testworld: stopping the world %s recorded in %s", old.ID, dir)
		if err := StopState(ctx, old); err != nil {
			return nil, fmt.Errorf("stopping the previous world in %s: %w", dir, err)
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	w := &World{docker: docker, logf: logf}
	w.State = State{
		ID:           id,
		Dir:          dir,
		Created:      time.Now().UTC(),
		User:         User,
		IdentityFile: filepath.Join(dir, "id_ed25519"),
		KnownHosts:   filepath.Join(dir, "known_hosts"),
		Inventory:    filepath.Join(dir, "inventory.yaml"),
		HubImage:     hubImage,
		Network:      NetworkState{Name: "buttctl-" + id},
	}
	w.InventoryPath = w.State.Inventory
	if !opts.Persistent {
		w.Owner = currentOwner()
	}
	if err := w.save(); err != nil {
		return nil, err
	}
	if !opts.Persistent {
		if err := w.startReaper(); err != nil {
			logf("testworld: no reaper for %s (%v): a crash leaves it for the next Start", id, err)
		}
	}
	if err := w.start(ctx, opts.Hubs, images); err != nil {
		if serr := w.Stop(context.WithoutCancel(ctx)); serr != nil {
			err = fmt.Errorf("%w (and stopping what had started: %v)", err, serr)
		}
		return nil, err
	}
	return w, nil
}

func (w *World) start(ctx context.Context, hubs int, images []string) error {
	t0 := time.Now()
	userKey, err := writeKeyPair(w.IdentityFile, "buttctl test world "+w.ID)
	if err != nil {
		return err
	}
	if err := w.createNetwork(ctx); err != nil {
		return err
	}
	prefix := netip.MustParsePrefix(w.Network.Subnet)
	var known strings.Builder
	for i := range hubs {
		name := fmt.Sprintf("hub-%d", i+1)
		addr := nthAddr(prefix, 11+i)
		h := &Hub{
			world: w,
			HubState: HubState{
				Name:      name,
				Address:   addr.String(),
				Dir:       filepath.Join(w.Dir, name),
				Volume:    "buttctl-" + w.ID + "-" + name + "-docker",
				Container: "buttctl-" + w.ID + "-" + name,
			},
		}
		hostKey, err := h.prepareDir(userKey)
		if err != nil {
			return err
		}
		known.WriteString(knownhosts.Line([]string{h.Address}, hostKey) + "\n")
		w.Hubs = append(w.Hubs, h)
	}
	if err := os.WriteFile(w.KnownHosts, []byte(known.String()), 0o644); err != nil {
		return err
	}
	if err := w.save(); err != nil {
		return err
	}
	err = w.eachHub(func(h *Hub) error { return h.create(ctx) })
	if err != nil {
		return err
	}
	err = w.eachHub(func(h *Hub) error { return h.waitUp(ctx) })
	if err != nil {
		return err
	}
	w.logf("testworld: %d hubs up in %s (%s)", hubs, time.Since(t0).Round(time.Millisecond), w.Dir)
	for _, img := range images {
		t1 := time.Now()
		if err := w.eachHub(func(h *Hub) error { return h.LoadImage(ctx, img) }); err != nil {
			return err
		}
		w.logf("testworld: %s loaded into every hub (%s)", img, time.Since(t1).Round(time.Millisecond))
	}
	return w.WriteInventory(w.InventoryPath)
}

// eachHub runs fn on every hub concurrently and joins the errors.
func (w *World) eachHub(fn func(*Hub) error) error {
	errs := make([]error, len(w.Hubs))
	var wg sync.WaitGroup
	for i, h := range w.Hubs {
		wg.Go(func() { errs[i] = fn(h) })
	}
	wg.Wait()
	return errors.Join(errs...)
}

// save records the world's state, hubs included.
func (w *World) save() error {
	w.saveMu.Lock()
	defer w.saveMu.Unlock()
	w.State.Hubs = w.State.Hubs[:0]
	for _, h := range w.Hubs {
		w.State.Hubs = append(w.State.Hubs, h.HubState)
	}
	return w.State.save()
}

// createNetwork creates the world's bridge network on a free /24 of
// 10.200.0.0/13 (user-chosen, so that a reconnected hub keeps its address).
func (w *World) createNetwork(ctx context.Context) error {
	var lastErr error
	for range 20 {
		subnet := randomSubnet()
		if overlapsLocal(subnet) {
			continue
		}
		gw := nthAddr(subnet, 1)
		res, err := w.docker.NetworkCreate(ctx, w.Network.Name, client.NetworkCreateOptions{
			Driver: "bridge",
			IPAM:   &network.IPAM{Config: []network.IPAMConfig{{Subnet: subnet, Gateway: gw}}},
			Labels: map[string]string{worldLabel: w.ID},
		})
		if err != nil {
			lastErr = err
			if strings.Contains(err.Error(), "overlap") {
				continue
			}
			return fmt.Errorf("creating network %s: %w", w.Network.Name, err)
		}
		w.Network.ID, w.Network.Subnet, w.Network.Gateway = res.ID, subnet.String(), gw.String()
		return w.save()
	}
	return fmt.Errorf("creating network %s: no free subnet found: %v", w.Network.Name, lastErr)
}

func randomSubnet() netip.Prefix {
	n, _ := rand.Int(rand.Reader, big.NewInt(8*256))
	v := n.Int64()
	return netip.PrefixFrom(netip.AddrFrom4([4]byte{10, byte(200 + v/256), byte(v % 256), 0}), 24)
}

// overlapsLocal reports whether p overlaps an address of this machine.
func overlapsLocal(p netip.Prefix) bool {
	addrs, _ := net.InterfaceAddrs()
	for _, a := range addrs {
		if ipn, ok := a.(*net.IPNet); ok {
			if q, err := netip.ParsePrefix(ipn.String()); err == nil && q.Overlaps(p) {
				return true
			}
		}
	}
	return false
}

func nthAddr(p netip.Prefix, n int) netip.Addr {
	a := p.Masked().Addr().As4()
	a[3] += byte(n)
	return netip.AddrFrom4(a)
}

// Hub returns the hub named name, or nil.
func (w *World) Hub(name string) *Hub {
	for _, h := range w.Hubs {
		if h.Name == name {
			return h
		}
	}
	return nil
}

// Docker is a client of the machine's engine (the one running the hubs).
func (w *World) Docker() *client.Client { return w.docker }

// Stop stops everything the world recorded. Stopping twice is harmless.
// A shared world (from BUTTCTL_TEST_WORLD) is not stopped by its users.
func (w *World) Stop(ctx context.Context) error {
	if w.shared {
		return nil
	}
	w.stopOnce.Do(func() {
		w.stopErr = StopState(ctx, &w.State)
		if w.reaper != nil {
			w.reaper.Close() // the reaper finds no state and exits
		}
	})
	return w.stopErr
}

// StopState stops and removes exactly what s records: hub containers (and
// any container labelled with the world's ID, in case a crash came between
// creating and recording one), their volumes, the network, and the world's
// directory. Objects already gone are not errors.
func StopState(ctx context.Context, s *State) error {
	docker, err := LocalDocker()
	if err != nil {
		return err
	}
	var errs []error
	containers := map[string]bool{}
	for _, h := range s.Hubs {
		if h.ContainerID != "" {
			containers[h.ContainerID] = true
		}
	}
	if res, err := docker.ContainerList(ctx, client.ContainerListOptions{All: true,
		Filters: make(client.Filters).Add("label", worldLabel+"="+s.ID)}); err == nil {
		for _, c := range res.Items {
			containers[c.ID] = true
		}
	}
	for id := range containers {
		if _, err := docker.ContainerRemove(ctx, id, client.ContainerRemoveOptions{Force: true, RemoveVolumes: true}); err != nil && !cerrdefs.IsNotFound(err) {
			errs = append(errs, fmt.Errorf("removing hub container %.12s: %w", id, err))
		}
	}
	for _, h := range s.Hubs {
		if _, err := docker.VolumeRemove(ctx, h.Volume, client.VolumeRemoveOptions{Force: true}); err != nil && !cerrdefs.IsNotFound(err) {
			errs = append(errs, fmt.Errorf("removing volume %s: %w", h.Volume, err))
		}
	}
	if s.Network.ID != "" {
		if _, err := docker.NetworkRemove(ctx, s.Network.ID, client.NetworkRemoveOptions{}); err != nil && !cerrdefs.IsNotFound(err) {
			errs = append(errs, fmt.Errorf("removing network %s: %w", s.Network.Name, err))
		}
	}
	if len(errs) > 0 {
		return errors.Join(errs...) // keep the state: a later stop can retry
	}
	if s.Dir != "" {
		if err := os.RemoveAll(s.Dir); err != nil {
			return err
		}
	}
	return nil
}

// LocalDocker returns a client of the machine's engine ($DOCKER_HOST or the default socket).
func LocalDocker() (*client.Client, error) {
	c, err := client.New(client.FromEnv)
	if err != nil {
		return nil, fmt.Errorf("docker: %w", err)
	}
	return c, nil
}

// writeKeyPair writes an ed25519 key in OpenSSH format (mode 0600) and its
// .pub, and returns the public key.
func writeKeyPair(path, comment string) (ssh.PublicKey, error) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	block, err := ssh.MarshalPrivateKey(priv, comment)
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(path, pem.EncodeToMemory(block), 0o600); err != nil {
		return nil, err
	}
	sshPub, err := ssh.NewPublicKey(pub)
	if err != nil {
		return nil, err
	}
	line := strings.TrimSpace(string(ssh.MarshalAuthorizedKey(sshPub))) + " " + comment + "\n"
	return sshPub, os.WriteFile(path+".pub", []byte(line), 0o644)
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// hubContainerConfig is what a hub container is made of.
func (h *Hub) containerOptions() client.ContainerCreateOptions {
	init := true
	return client.ContainerCreateOptions{
		Name: h.Container,
		Config: &container.Config{
			Image:    h.world.HubImage,
			Hostname: h.Name,
			Labels:   map[string]string{worldLabel: h.world.ID, hubLabel: h.Name},
		},
		HostConfig: &container.HostConfig{
			// A hub runs its own dockerd, which needs what --privileged gives,
			// but --privileged also asks for CAP_SYS_RESOURCE, which some
			// machines (Firecracker VMs) withhold: so every capability but that one,
			// no seccomp/AppArmor/SELinux confinement, unmasked /proc and /sys,
			// and a private cgroup namespace that hub-init remounts writable.
			CapAdd:        []string{"ALL"},
			CapDrop:       []string{"SYS_RESOURCE"},
			SecurityOpt:   []string{"seccomp=unconfined", "apparmor=unconfined", "label=disable"},
			MaskedPaths:   []string{}, // docker run --security-opt systempaths=unconfined
			ReadonlyPaths: []string{},
			CgroupnsMode:  container.CgroupnsModePrivate,
			Init:          &init,
			NetworkMode:   container.NetworkMode(h.world.Network.Name),
			// /run starts empty at every boot, as on a server: no stale pid files.
			Tmpfs: map[string]string{"/run": "rw,nosuid,nodev,exec,mode=755"},
			Mounts: []mount.Mount{
				{Type: mount.TypeBind, Source: h.Dir, Target: "/buttctl"},
				{Type: mount.TypeVolume, Source: h.Volume, Target: "/var/lib/docker"},
			},
		},
		NetworkingConfig: &network.NetworkingConfig{EndpointsConfig: map[string]*network.EndpointSettings{
			h.world.Network.Name: {IPAMConfig: &network.EndpointIPAMConfig{IPv4Address: netip.MustParseAddr(h.Address)}},
		}},
	}
}
