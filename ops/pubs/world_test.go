package pubs_test

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/network"
	"github.com/moby/moby/client"

	"github.com/buttctl/buttctl/inventory"
	"github.com/buttctl/buttctl/ops/engine"
	"github.com/buttctl/buttctl/ops/hubconn"
	"github.com/buttctl/buttctl/ops/hubconn/hubconntest"
	"github.com/buttctl/buttctl/ops/pubs"
	"github.com/buttctl/buttctl/ops/pubs/pubstest"
	"github.com/buttctl/buttctl/ops/testworld"
)

// worldService writes an inventory of the world w with pubs, and returns the
// pub operations over it: every hub reached through its own sshd.
func worldService(t *testing.T, w *testworld.World, ps ...testworld.Pub) *pubs.Service {
	t.Helper()
	path := filepath.Join(t.TempDir(), "buttctl.yaml")
	if err := w.WriteInventory(path, ps...); err != nil {
		t.Fatal(err)
	}
	inv, err := inventory.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	conns := hubconn.New(inv, hubconntest.Options())
	s := pubs.New(inv, conns)
	t.Cleanup(func() {
		s.Close()
		conns.Close()
	})
	return s
}

func port(t *testing.T, w *testworld.World) int {
	t.Helper()
	p, err := w.AllocPort()
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestPubsOnTheWorld drives a pub through every operation on a test world's
// hub: its own dockerd, reached through its own sshd, with the test world's
// pub image.
func TestPubsOnTheWorld(t *testing.T) {
	w := testworld.ForTest(t, 2)
	hub := w.Hubs[0]
	pub, p := testworld.UniqueName("pw"), port(t, w)
	s := worldService(t, w, testworld.Pub{Name: pub, Hub: hub.Name, Port: p})
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	res, err := s.Create(ctx, pub)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Started || !res.NewVolume || res.Pulled {
		t.Errorf("create %+v", res)
	}
	var st pubs.Status
	waitFor(t, "the pub to be healthy", func() bool { st = statusOf(t, s, pub); return st.Health == "healthy" && st.Identity != "" })
	if st.State != "running" || st.Port != p || st.Image != testworld.PubImage || st.Drift || !ssbID.MatchString(st.Identity) {
		t.Errorf("status %+v", st)
	}
	id := st.Identity

	// The hub's engine has the container as the spec says.
	docker, err := hub.DockerClient()
	if err != nil {
		t.Fatal(err)
	}
	defer docker.Close()
	c, err := docker.ContainerInspect(ctx, "buttctl-pub-"+pub, client.ContainerInspectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if c.Container.Config.Labels[engine.LabelManaged] != "true" || !strings.Contains(strings.Join(c.Container.Config.Env, " "), "ssb_host="+hub.Address) ||
		c.Container.HostConfig.PortBindings[network.MustParsePort(strconv.Itoa(p)+"/tcp")][0].HostPort != strconv.Itoa(p) {
		t.Errorf("container: labels %v env %v ports %v", c.Container.Config.Labels, c.Container.Config.Env, c.Container.HostConfig.PortBindings)
	}

	// whoami, invite (the hub's address and the pub's port), logs, exec.
	if got, err := s.Whoami(ctx, pub); err != nil || got != id {
		t.Errorf("whoami %q %v", got, err)
	}
	invite, err := s.Invite(ctx, pub, 5)
	if err != nil || !strings.HasPrefix(invite, fmt.Sprintf("%s:%d:%s~", hub.Address, p, id)) {
		t.Errorf("invite %q %v", invite, err)
	}
	var out, errOut bytes.Buffer
	if err := s.Logs(ctx, pub, pubs.LogsOptions{Tail: 20, Grep: regexp.MustCompile(".")}, &out, &errOut); err != nil || out.Len()+errOut.Len() == 0 {
		t.Errorf("logs %q %q %v", out.String(), errOut.String(), err)
	}
	out.Reset()
	if code, err := s.Exec(ctx, pub, engine.ExecOptions{Cmd: []string{"sbot", "whoami"}, Stdout: &out}); err != nil || code != 0 || !strings.Contains(out.String(), id) {
		t.Errorf("exec: %q %d %v", out.String(), code, err)
	}

	// kill -9 of the pub's process, on the hub: the restart policy brings it back.
	before := statusOf(t, s, pub)
	pid := strconv.Itoa(c.Container.State.Pid)
	if out, err := hub.Exec(ctx, "kill", "-9", pid); err != nil {
		t.Fatalf("kill -9 %s on %s: %v: %s", pid, hub.Name, err, out)
	}
	waitFor(t, "the killed pub to be restarted", func() bool {
		st = statusOf(t, s, pub)
		return st.Restarts > before.Restarts && st.State == "running" && st.Identity != ""
	})
	if st.Identity != id {
		t.Errorf("identity after kill -9: %s, was %s", st.Identity, id)
	}

	// A health check turning unhealthy (fault injection), and back.
	if _, err := s.Exec(ctx, pub, engine.ExecOptions{Cmd: []string{"sbot", "fault", "unhealthy"}}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the pub to turn unhealthy", func() bool { return statusOf(t, s, pub).Health == "unhealthy" })
	if _, err := s.Exec(ctx, pub, engine.ExecOptions{Cmd: []string{"sbot", "fault", "clear"}}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the pub to be healthy again", func() bool { return statusOf(t, s, pub).Health == "healthy" })

	// Restart and recreate keep the identity.
	if _, err := s.Restart(ctx, pub); err != nil {
		t.Fatal(err)
	}
	if got := waitWhoami(t, s, pub); got != id {
		t.Errorf("identity after restart: %s, was %s", got, id)
	}
	if _, err := s.Stop(ctx, pub); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Start(ctx, pub); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Kill(ctx, pub, ""); err != nil {
		t.Fatal(err)
	}
	if r, err := s.Remove(ctx, pub, false); err != nil || !r.VolumeExists {
		t.Fatalf("rm: %+v %v", r, err)
	}
	if r, err := s.Create(ctx, pub); err != nil || r.NewVolume {
		t.Fatalf("recreate: %+v %v", r, err)
	}
	if got := waitWhoami(t, s, pub); got != id {
		t.Errorf("identity after recreate: %s, was %s", got, id)
	}
	if r, err := s.Remove(ctx, pub, true); err != nil || !r.VolumeRemoved {
		t.Fatalf("rm --purge: %+v %v", r, err)
	}
}

// TestBadInputOnTheWorld: a port taken on the hub, an image the hub lacks
// and cannot pull (then loaded with load-image), unlabelled containers with
// hostile names, a wrong Docker socket.
func TestBadInputOnTheWorld(t *testing.T) {
	pubstest.Require(t)
	w := testworld.ForTest(t, 2)
	hub := w.Hubs[1]
	taken, imgPub, hostile := testworld.UniqueName("pw-port"), testworld.UniqueName("pw-img"), testworld.UniqueName("pw-hostile")
	takenPort := port(t, w)
	image := pubstest.Derived(t, raw(t)) // on this machine's engine, not on the hub
	s := worldService(t, w,
		testworld.Pub{Name: taken, Hub: hub.Name, Port: takenPort},
		testworld.Pub{Name: imgPub, Hub: hub.Name, Port: port(t, w), Image: image},
		testworld.Pub{Name: hostile, Hub: hub.Name, Port: port(t, w)},
	)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	docker, err := hub.DockerClient()
	if err != nil {
		t.Fatal(err)
	}
	defer docker.Close()
	foreign := func(name string, labels map[string]string, ports network.PortMap) string {
		t.Helper()
		cfg := &container.Config{Image: testworld.PubImage, Labels: labels}
		host := &container.HostConfig{PortBindings: ports}
		if ports == nil {
			host.NetworkMode = "none"
		}
		for p := range ports {
			cfg.ExposedPorts = network.PortSet{p: {}}
		}
		res, err := docker.ContainerCreate(ctx, client.ContainerCreateOptions{Name: name, Config: cfg, HostConfig: host})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			_, _ = docker.ContainerRemove(context.Background(), res.ID, client.ContainerRemoveOptions{Force: true})
		})
		if _, err := docker.ContainerStart(ctx, res.ID, client.ContainerStartOptions{}); err != nil {
			t.Fatal(err)
		}
		return res.ID
	}

	// Someone else's container holds the port on the hub.
	p := network.MustParsePort("8008/tcp")
	foreign(testworld.UniqueName("squatter"), nil, network.PortMap{p: {{HostPort: strconv.Itoa(takenPort)}}})
	_, err = s.Create(ctx, taken)
	want := fmt.Sprintf("pub %s on %s: port %d is already taken on the hub (by another container or program): free it, or give the pub another port in the inventory; removed the new container buttctl-pub-%s and volume buttctl-pub-%s-data", taken, hub.Name, takenPort, taken, taken)
	if err == nil || err.Error() != want {
		t.Errorf("port taken:\n got %v\nwant %s", err, want)
	}
	if _, err := docker.VolumeInspect(ctx, "buttctl-pub-"+taken+"-data", client.VolumeInspectOptions{}); err == nil {
		t.Error("the new volume was left behind")
	}

	// An image the hub lacks and cannot pull; load-image brings it.
	_, err = s.Create(ctx, imgPub)
	if err == nil || !strings.HasPrefix(err.Error(), fmt.Sprintf("pub %s on %s: image %s is not on the hub and the hub could not pull it (", imgPub, hub.Name, image)) ||
		!strings.HasSuffix(err.Error(), fmt.Sprintf("copy it there with 'buttctl hub load-image %s %s'", hub.Name, image)) {
		t.Errorf("missing image: %v", err)
	}
	var progress int
	r, err := s.LoadImage(ctx, hub.Name, image, "", func(sent, size int64) { progress++ })
	if err != nil || r.AlreadyThere || r.Sent < r.Size/2 || progress < 2 {
		t.Fatalf("load-image: %+v, %d progress calls, %v", r, progress, err)
	}
	t.Cleanup(func() { _, _ = docker.ImageRemove(context.Background(), r.ID, client.ImageRemoveOptions{Force: true}) })
	if r2, err := s.LoadImage(ctx, hub.Name, image, "", nil); err != nil || !r2.AlreadyThere {
		t.Errorf("second load-image: %+v %v", r2, err)
	}
	if _, err := s.Create(ctx, imgPub); err != nil {
		t.Fatalf("create after load-image: %v", err)
	}
	waitWhoami(t, s, imgPub)
	if _, err := s.Remove(ctx, imgPub, true); err != nil {
		t.Fatal(err)
	}

	// Unlabelled containers with hostile names are never touched.
	var ids []string
	for _, h := range []struct {
		name   string
		labels map[string]string
	}{
		{"buttctl-pub-" + hostile, nil},
		{hostile, map[string]string{engine.LabelPub: hostile}},
		{"buttctl-pub-" + hostile + "-x", map[string]string{engine.LabelPub: hostile, engine.LabelManaged: "TRUE"}},
	} {
		ids = append(ids, foreign(h.name, h.labels, nil))
	}
	for op, call := range map[string]func() error{
		"stop":    func() error { _, err := s.Stop(ctx, hostile); return err },
		"kill":    func() error { _, err := s.Kill(ctx, hostile, ""); return err },
		"restart": func() error { _, err := s.Restart(ctx, hostile); return err },
		"rm":      func() error { _, err := s.Remove(ctx, hostile, true); return err },
		"exec": func() error {
			_, err := s.Exec(ctx, hostile, engine.ExecOptions{Cmd: []string{"sbot", "fault", "crash"}})
			return err
		},
	} {
		if err := call(); !engine.IsNotFound(err) {
			t.Errorf("%s: %v", op, err)
		}
	}
	if _, err := s.Create(ctx, hostile); err == nil || !strings.Contains(err.Error(), "is already in use") {
		t.Errorf("create over a foreign container: %v", err)
	}
	for _, id := range ids {
		got, err := docker.ContainerInspect(ctx, id, client.ContainerInspectOptions{})
		if err != nil || !got.Container.State.Running || got.Container.RestartCount != 0 {
			t.Errorf("hostile container %s touched: %v %+v", id, err, got.Container.State)
		}
	}

	// A Docker socket that is not there, through SSH.
	s.Inventory().Hubs[1].DockerSocket = "/run/buttctl-test-no-such.sock"
	s2 := pubs.New(s.Inventory(), hubconn.New(s.Inventory(), hubconntest.Options()))
	defer s2.Close()
	_, err = s2.Start(ctx, taken)
	if err == nil || !strings.HasPrefix(err.Error(), fmt.Sprintf("pub %s on %s: Docker engine unreachable at /run/buttctl-test-no-such.sock: ssh: dial unix /run/buttctl-test-no-such.sock: ", taken, hub.Name)) || !engine.IsUnreachable(err) {
		t.Errorf("missing socket: %v", err)
	}
}

// TestUnreachableEngineOnTheWorld stops a hub's dockerd (its sshd stays up).
func TestUnreachableEngineOnTheWorld(t *testing.T) {
	w := testworld.Private(t, 1)
	hub := w.Hubs[0]
	pub := testworld.UniqueName("pw-down")
	s := worldService(t, w, testworld.Pub{Name: pub, Hub: hub.Name, Port: port(t, w)})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if _, err := s.Create(ctx, pub); err != nil {
		t.Fatal(err)
	}
	if err := hub.StopEngine(ctx); err != nil {
		t.Fatal(err)
	}
	s2 := worldService(t, w, testworld.Pub{Name: pub, Hub: hub.Name})
	_, err := s2.Whoami(ctx, pub)
	if err == nil || !strings.HasPrefix(err.Error(), fmt.Sprintf("pub %s on %s: Docker engine unreachable at /var/run/docker.sock: ", pub, hub.Name)) || strings.Contains(err.Error(), "\n") {
		t.Errorf("whoami with the engine down: %v", err)
	}
	rows, errs := s2.List(ctx, pubs.ListOptions{})
	if len(rows) != 1 || rows[0].State != pubs.StateUnreachable || len(errs) != 1 || errs[0].Hub != hub.Name {
		t.Errorf("list with the engine down: %+v %v", rows, errs)
	}
	if err := hub.StartEngine(ctx); err != nil {
		t.Fatal(err)
	}
	// Back up: the pub is there again (restart policy), same service.
	waitFor(t, "the pub after the engine's restart", func() bool { _, err := s2.Whoami(ctx, pub); return err == nil })
}
