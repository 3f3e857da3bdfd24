package pubs_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"

	"github.com/buttctl/buttctl/ops/engine"
	"github.com/buttctl/buttctl/ops/pubs"
	"github.com/buttctl/buttctl/ops/pubs/pubstest"
	"github.com/buttctl/buttctl/sshexec/sshdtest"
)

func TestUnknownPub(t *testing.T) {
	needDocker(t)
	inv := localInventory(t, "  - {name: known, hub: local}\n")
	s := service(t, inv)
	ctx := context.Background()
	for op, call := range map[string]func() error{
		"start":  func() error { _, err := s.Start(ctx, "scuttle-9"); return err },
		"create": func() error { _, err := s.Create(ctx, "scuttle-9"); return err },
		"logs":   func() error { return s.Logs(ctx, "scuttle-9", pubs.LogsOptions{}, nil, nil) },
		"whoami": func() error { _, err := s.Whoami(ctx, "scuttle-9"); return err },
	} {
		err := call()
		if !errors.Is(err, pubs.ErrUnknownPub) || err.Error() != "pub scuttle-9 is not in the inventory test.yaml (pubs: known): check the name, or add it under pubs:" || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: %v", op, err)
		}
	}
}

func TestPubOnAnUnreachableHub(t *testing.T) {
	needDocker(t)
	inv := localInventory(t, "  - {name: stranded, hub: dead}\n  - {name: fine, hub: local}\n")
	s := service(t, inv)
	ctx := context.Background()
	_, err := s.Start(ctx, "stranded")
	want := "pub stranded on dead: Docker engine unreachable at /nonexistent/buttctl-test/docker.sock: dial unix /nonexistent/buttctl-test/docker.sock: connect: no such file or directory (is dockerd running, and is docker_socket right?)"
	if err == nil || err.Error() != want {
		t.Errorf("start:\n got %v\nwant %s", err, want)
	}
	if !engine.IsUnreachable(err) {
		t.Errorf("IsUnreachable(%v) = false", err)
	}
	if _, err := s.Create(ctx, "stranded"); err == nil || err.Error() != want {
		t.Errorf("create: %v", err)
	}

	rows, hubErrs := s.List(ctx, pubs.ListOptions{Identity: true})
	var stranded, fine *pubs.Status
	for i := range rows {
		switch rows[i].Name {
		case "stranded":
			stranded = &rows[i]
		case "fine":
			fine = &rows[i]
		}
	}
	if stranded == nil || stranded.State != pubs.StateUnreachable || stranded.Hub != "dead" || !strings.Contains(stranded.Error, "Docker engine unreachable") {
		t.Errorf("stranded row %+v", stranded)
	}
	if fine == nil || fine.State != pubs.StateMissing {
		t.Errorf("fine row %+v", fine)
	}
	if len(hubErrs) != 1 || hubErrs[0].Hub != "dead" || !strings.HasPrefix(hubErrs[0].Error(), "dead: Docker engine unreachable") {
		t.Errorf("hub errors %v", hubErrs)
	}
}

func TestPortAlreadyTakenOnTheHub(t *testing.T) {
	needDocker(t)
	// A program of someone else's holds the port on the hub (this machine).
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	port := l.Addr().(*net.TCPAddr).Port
	pub := uniq("pt-port")
	inv := localInventory(t, fmt.Sprintf("  - {name: %s, hub: local, port: %d}\n", pub, port))
	s := service(t, inv)
	api := raw(t)
	ctx := context.Background()
	_, err = s.Create(ctx, pub)
	want := fmt.Sprintf("pub %s on local: port %d is already taken on the hub (by another container or program): free it, or give the pub another port in the inventory; removed the new container buttctl-pub-%s and volume buttctl-pub-%s-data", pub, port, pub, pub)
	if err == nil || err.Error() != want {
		t.Errorf("create:\n got %v\nwant %s", err, want)
	}
	if _, err := api.ContainerInspect(ctx, "buttctl-pub-"+pub, client.ContainerInspectOptions{}); err == nil {
		t.Error("the container is still there")
	}
	if _, err := api.VolumeInspect(ctx, "buttctl-pub-"+pub+"-data", client.VolumeInspectOptions{}); err == nil {
		t.Error("the volume is still there")
	}
}

func TestImageMissingAndUnpullable(t *testing.T) {
	needDocker(t)
	pub := uniq("pt-img")
	inv := localInventory(t, fmt.Sprintf("  - {name: %s, hub: local, image: buttctl-test/no-such-image:1, port: %d}\n", pub, freePort(t)))
	s := service(t, inv)
	api := raw(t)
	ctx := context.Background()
	_, err := s.Create(ctx, pub)
	if err == nil || !strings.HasPrefix(err.Error(), "pub "+pub+" on local: image buttctl-test/no-such-image:1 is not on the hub and the hub could not pull it (") ||
		!strings.HasSuffix(err.Error(), "): copy it there with 'buttctl hub load-image local buttctl-test/no-such-image:1'") || strings.Contains(err.Error(), "\n") {
		t.Errorf("create: %v", err)
	}
	if _, err := api.VolumeInspect(ctx, "buttctl-pub-"+pub+"-data", client.VolumeInspectOptions{}); err == nil {
		t.Error("a volume was made for a pub whose image is missing")
	}
}

// TestUnlabelledContainersAreUntouched puts containers without buttctl's
// labels on the hub, named and labelled to look like a pub's, and checks that
// no operation touches them.
func TestUnlabelledContainersAreUntouched(t *testing.T) {
	needDocker(t)
	pub := uniq("pt-hostile")
	inv := localInventory(t, fmt.Sprintf("  - {name: %s, hub: local, port: %d}\n", pub, freePort(t)))
	s := service(t, inv)
	api := raw(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	var hostile []string
	for _, h := range []struct {
		name   string
		labels map[string]string
	}{
		{"buttctl-pub-" + pub, nil},                    // the pub's very container name
		{pub, map[string]string{engine.LabelPub: pub}}, // the pub label without managed
		{"buttctl-pub-" + pub + "-x", map[string]string{engine.LabelPub: pub, engine.LabelManaged: "false"}},
		{"buttctl-pub-" + pub + "--rm-rf", map[string]string{engine.LabelManaged: "yes", engine.LabelPub: pub}},
	} {
		res, err := api.ContainerCreate(ctx, client.ContainerCreateOptions{
			Name:       h.name,
			Config:     &container.Config{Image: pubstest.Image, Labels: h.labels},
			HostConfig: &container.HostConfig{NetworkMode: "none"},
		})
		if err != nil {
			t.Fatal(err)
		}
		id := res.ID
		t.Cleanup(func() { pubstest.Remove(api, id, "") })
		if _, err := api.ContainerStart(ctx, id, client.ContainerStartOptions{}); err != nil {
			t.Fatal(err)
		}
		hostile = append(hostile, id)
	}

	if st := statusOf(t, s, pub); st.State != pubs.StateMissing {
		t.Errorf("listed an unlabelled container as the pub: %+v", st)
	}
	for op, call := range map[string]func() error{
		"stop":    func() error { _, err := s.Stop(ctx, pub); return err },
		"kill":    func() error { _, err := s.Kill(ctx, pub, ""); return err },
		"restart": func() error { _, err := s.Restart(ctx, pub); return err },
		"rm":      func() error { _, err := s.Remove(ctx, pub, true); return err },
		"logs":    func() error { return s.Logs(ctx, pub, pubs.LogsOptions{}, &bytes.Buffer{}, &bytes.Buffer{}) },
		"exec": func() error {
			_, err := s.Exec(ctx, pub, engine.ExecOptions{Cmd: []string{"sbot", "fault", "crash"}})
			return err
		},
	} {
		if err := call(); !engine.IsNotFound(err) {
			t.Errorf("%s: %v", op, err)
		}
	}
	// create refuses to take the name; it removes only what it made itself.
	if _, err := s.Create(ctx, pub); err == nil || !strings.Contains(err.Error(), "Conflict. The container name \"/buttctl-pub-"+pub+"\" is already in use") || !strings.Contains(err.Error(), "removed the new volume") {
		t.Errorf("create over a foreign container: %v", err)
	}
	for _, id := range hostile {
		got, err := api.ContainerInspect(ctx, id, client.ContainerInspectOptions{})
		if err != nil || !got.Container.State.Running || got.Container.RestartCount != 0 {
			t.Errorf("hostile container %s touched: %v %+v", id, err, got.Container.State)
		}
	}
}

func TestPubOnAnUnreachableSSHHub(t *testing.T) {
	needDocker(t)
	t.Run("sshd down", func(t *testing.T) {
		srv := sshdtest.Start(t)
		srv.Stop()
		s := service(t, sshInventory(t, srv, "  - {name: far, hub: remote}\n"))
		_, err := s.Start(context.Background(), "far")
		if err == nil || !strings.HasPrefix(err.Error(), "pub far on remote: Docker engine unreachable at /var/run/docker.sock: ") || !engine.IsUnreachable(err) || strings.Contains(err.Error(), "\n") ||
			!strings.Contains(err.Error(), "connection refused") || strings.Contains(err.Error(), "dockerd") {
			t.Errorf("start: %v", err)
		}
	})
	t.Run("forwarding forbidden", func(t *testing.T) {
		srv := sshdtest.Start(t, sshdtest.WithStreamLocalForwarding(false))
		s := service(t, sshInventory(t, srv, "  - {name: far, hub: remote}\n"))
		rows, hubErrs := s.List(context.Background(), pubs.ListOptions{})
		if len(rows) != 1 || rows[0].State != pubs.StateUnreachable || len(hubErrs) != 1 || !strings.Contains(hubErrs[0].Error(), "AllowStreamLocalForwarding yes") {
			t.Errorf("rows %+v, hub errors %v", rows, hubErrs)
		}
	})
}

// TestListWithAHungHub lists a hub whose sshd stopped answering (its
// processes are stopped) next to a working one: the working hub's pubs are
// listed, the hung hub's are unreachable, within the caller's deadline.
func TestListWithAHungHub(t *testing.T) {
	needDocker(t)
	key := sshdtest.NewKey(t, t.TempDir(), "id_ed25519", "")
	good := sshdtest.Start(t, sshdtest.WithUserKey(key))
	hung := sshdtest.Start(t, sshdtest.WithUserKey(key), sshdtest.WithKnownHosts(good.KnownHostsPath))
	inv := parseInventory(t, fmt.Sprintf("ssh: {identity_file: %s, known_hosts: %s, config: none}\n", good.IdentityPath(), good.KnownHostsPath),
		fmt.Sprintf("  - {name: good, address: %s, port: %d, user: %s}\n  - {name: hung, address: %s, port: %d, user: %s}\n", good.IP, good.Port, good.User, hung.IP, hung.Port, hung.User),
		"  - {name: fine, hub: good}\n  - {name: stuck, hub: hung}\n")
	s := service(t, inv)
	if _, errs := s.List(context.Background(), pubs.ListOptions{}); len(errs) != 0 {
		t.Fatal(errs)
	}
	defer hung.SuspendConnections()()
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	all, errs := s.List(ctx, pubs.ListOptions{})
	var rows []pubs.Status // other tests' pubs run on this engine too
	for _, r := range all {
		if !r.Orphan {
			rows = append(rows, r)
		}
	}
	if len(rows) != 2 || rows[0].Name != "fine" || rows[0].State != pubs.StateMissing || rows[1].Name != "stuck" || rows[1].State != pubs.StateUnreachable {
		t.Errorf("rows %+v", rows)
	}
	if len(errs) != 1 || errs[0].Hub != "hung" || errs[0].Error() != "hung: list containers: no answer in time (context deadline exceeded)" {
		t.Errorf("hub errors %v", errs)
	}
}
