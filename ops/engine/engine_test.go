package engine_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/network"
	"github.com/moby/moby/client"

	"github.com/buttctl/buttctl/ops/engine"
	"github.com/buttctl/buttctl/ops/pubs/pubstest"
	"github.com/buttctl/buttctl/ops/testworld"
)

const socket = "/var/run/docker.sock"

// local returns the engine of this machine's Docker (the real one, through
// its Unix socket), failing loudly where there is none.
func local(t *testing.T) *engine.Engine {
	t.Helper()
	pubstest.Require(t)
	e, err := engine.NewLocal("local", socket)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return e
}

// raw is a Docker client for arranging and checking the engine behind
// buttctl's back.
func raw(t *testing.T) *client.Client {
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

func managedLabels(pub string) map[string]string {
	return map[string]string{engine.LabelManaged: "true", engine.LabelPub: pub}
}

// removeLater removes a container and volume by their recorded names when the test ends.
func removeLater(t *testing.T, api *client.Client, containerID, volume string) {
	t.Cleanup(func() { pubstest.Remove(api, containerID, volume) })
}

// testNetwork makes a bridge network of buttctl's for one test and removes
// it, by id, after the test's containers.
func testNetwork(t *testing.T, e *engine.Engine, api *client.Client) string {
	t.Helper()
	name := uniq("buttctl-test-net")
	id, err := e.EnsureNetwork(context.Background(), name)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _, _ = api.NetworkRemove(context.Background(), id, client.NetworkRemoveOptions{}) })
	return name
}

func pubConfig(pub, volume, net string) (*container.Config, *container.HostConfig) {
	return &container.Config{
			Image:  pubstest.Image,
			Labels: managedLabels(pub),
			Env:    []string{"ssb_host=pub.example.org"},
		}, &container.HostConfig{
			Binds:       []string{volume + ":/home/node/.ssb"},
			NetworkMode: container.NetworkMode(net),
		}
}

func TestPingNegotiatesAnAPIVersionTheEngineSpeaks(t *testing.T) {
	e := local(t)
	v, err := e.Ping(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	srv, err := raw(t).ServerVersion(context.Background(), client.ServerVersionOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if v != srv.APIVersion && v != client.MaxAPIVersion {
		t.Errorf("negotiated %s; the engine speaks %s", v, srv.APIVersion)
	}
	if v < client.MinAPIVersion {
		t.Errorf("negotiated %s, below the minimum %s", v, client.MinAPIVersion)
	}
}

func TestUnreachableEngineIsOneErrorNamingTheHub(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "docker.sock")
	e, err := engine.NewLocal("hub-9", missing)
	if err != nil {
		t.Fatal(err)
	}
	_, err = e.Containers(context.Background())
	if err == nil {
		t.Fatal("listing containers on a missing socket succeeded")
	}
	msg := err.Error()
	if msg != "hub-9: Docker engine unreachable at "+missing+": dial unix "+missing+": connect: no such file or directory (is dockerd running, and is docker_socket right?)" {
		t.Errorf("error = %q", msg)
	}
	if !engine.IsUnreachable(err) {
		t.Errorf("IsUnreachable(%v) = false", err)
	}
}

// TestPermissionDeniedOnTheSocket dials the real Docker socket as a user
// outside the docker group (the test binary re-run as nobody).
func TestPermissionDeniedOnTheSocket(t *testing.T) {
	if os.Getenv("BUTTCTL_ENGINE_DIAL_AS_NOBODY") == "1" {
		e, err := engine.NewLocal("hub-3", socket)
		if err != nil {
			fmt.Println(err)
			os.Exit(0)
		}
		_, err = e.Ping(context.Background())
		fmt.Printf("unreachable=%v %v\n", engine.IsUnreachable(err), err)
		os.Exit(0)
	}
	local(t)
	if os.Getuid() != 0 {
		t.Skip("needs root to run a helper as another user")
	}
	dir, err := os.MkdirTemp("", "buttctl-engine-test-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "engine.test")
	self, err := os.ReadFile(os.Args[0])
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bin, self, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-test.run=^TestPermissionDeniedOnTheSocket$")
	cmd.Env = append(os.Environ(), "BUTTCTL_ENGINE_DIAL_AS_NOBODY=1")
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	got := strings.TrimSpace(string(out))
	want := "unreachable=true hub-3: Docker engine unreachable at /var/run/docker.sock: dial unix /var/run/docker.sock: connect: permission denied (the user has no access to the Docker socket: add it to the docker group, or set docker_socket)"
	if got != want {
		t.Errorf("as nobody:\n got %s\nwant %s", got, want)
	}
}

func TestHandlesComeOnlyFromLabelledLookups(t *testing.T) {
	e := local(t)
	ctx := context.Background()
	if err := e.Start(ctx, engine.Container{ID: "deadbeef", Name: "forged"}); err == nil || !strings.Contains(err.Error(), "refusing to touch container \"forged\"") {
		t.Errorf("start of a forged handle: %v", err)
	}
	cfg := &container.Config{Image: pubstest.Image, Labels: map[string]string{engine.LabelPub: "x"}}
	if _, err := e.Create(ctx, uniq("buttctl-test-unlabelled"), cfg, nil); err == nil || !strings.Contains(err.Error(), "without buttctl's labels") {
		t.Errorf("create without the managed label: %v", err)
	}
	if _, err := e.EnsureVolume(ctx, uniq("buttctl-test-vol"), map[string]string{"other": "x"}); err == nil {
		t.Error("created a volume without buttctl's labels")
	}
}

func TestUnlabelledContainersAreInvisible(t *testing.T) {
	e := local(t)
	api := raw(t)
	ctx := context.Background()
	pub := uniq("et-hostile")
	// Same pub label but not managed, and managed=false: neither is buttctl's.
	for i, labels := range []map[string]string{
		{engine.LabelPub: pub},
		{engine.LabelPub: pub, engine.LabelManaged: "false"},
	} {
		res, err := api.ContainerCreate(ctx, client.ContainerCreateOptions{
			Name:   fmt.Sprintf("buttctl-pub-%s-%d", pub, i),
			Config: &container.Config{Image: pubstest.Image, Labels: labels},
		})
		if err != nil {
			t.Fatal(err)
		}
		removeLater(t, api, res.ID, "")
	}
	all, err := e.Containers(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range all {
		if c.Pub == pub {
			t.Errorf("unlabelled container %s listed as managed", c.Name)
		}
	}
	if _, err := e.PubContainer(ctx, pub); !engine.IsNotFound(err) {
		t.Errorf("PubContainer found an unlabelled container: %v", err)
	}
}

func TestContainerLifecycle(t *testing.T) {
	e := local(t)
	api := raw(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	net := testNetwork(t, e, api)
	pub := uniq("et-life")
	vol := "buttctl-pub-" + pub + "-data"
	removeLater(t, api, "", vol)

	created, err := e.EnsureVolume(ctx, vol, managedLabels(pub))
	if err != nil || !created {
		t.Fatalf("EnsureVolume = %v, %v; want created", created, err)
	}
	if again, err := e.EnsureVolume(ctx, vol, managedLabels(pub)); err != nil || again {
		t.Fatalf("second EnsureVolume = %v, %v; want existing", again, err)
	}
	if _, err := e.EnsureVolume(ctx, vol, managedLabels("someone-else")); err == nil {
		t.Error("EnsureVolume accepted another pub's volume")
	}

	cfg, host := pubConfig(pub, vol, net)
	c, err := e.Create(ctx, "buttctl-pub-"+pub, cfg, host)
	if err != nil {
		t.Fatal(err)
	}
	removeLater(t, api, c.ID, "")
	if err := e.Start(ctx, c); err != nil {
		t.Fatal(err)
	}
	found, err := e.PubContainer(ctx, pub)
	if err != nil {
		t.Fatal(err)
	}
	if found.ID != c.ID || found.State != "running" || found.Name != "buttctl-pub-"+pub {
		t.Errorf("PubContainer = %+v", found)
	}

	id := waitWhoami(t, e, found)
	var out, errOut bytes.Buffer
	waitFor(t, "the server's banner in the logs", func() bool {
		out.Reset()
		errOut.Reset()
		if err := e.Logs(ctx, found, engine.LogsOptions{}, &out, &errOut); err != nil {
			t.Fatal(err)
		}
		return strings.Contains(out.String(), "serving "+id)
	})
	if !strings.Contains(out.String(), "as pub.example.org") {
		t.Errorf("logs = %q", out.String())
	}

	// Output and exit codes of commands run inside.
	if _, stderr, code, err := e.Output(ctx, found, []string{"sbot", "nonsense"}); err != nil || code != 1 || !strings.Contains(string(stderr), "unknown command") {
		t.Errorf("failing exec: code %d, stderr %q, err %v", code, stderr, err)
	}
	var echoed bytes.Buffer
	code, err := e.Exec(ctx, found, engine.ExecOptions{Cmd: []string{"sbot", "cat"}, Stdin: strings.NewReader("hello\nworld\n"), Stdout: &echoed})
	if err != nil || code != 0 || echoed.String() != "hello\nworld\n" {
		t.Errorf("exec with stdin: %q, code %d, %v", echoed.String(), code, err)
	}
	var tty bytes.Buffer
	code, err = e.Exec(ctx, found, engine.ExecOptions{Cmd: []string{"sbot", "tty"}, TTY: true, Size: engine.TermSize{Width: 123, Height: 45}, Stdout: &tty})
	if err != nil || code != 0 || strings.TrimSpace(tty.String()) != "tty 123x45" {
		t.Errorf("exec with a TTY: %q, code %d, %v", tty.String(), code, err)
	}

	if err := e.Stop(ctx, found, nil); err != nil {
		t.Fatal(err)
	}
	if got, _ := e.PubContainer(ctx, pub); got.State != "exited" {
		t.Errorf("after stop, state %q", got.State)
	}
	if err := e.Start(ctx, found); err != nil {
		t.Fatal(err)
	}
	if again := waitWhoami(t, e, found); again != id {
		t.Errorf("identity changed across stop/start: %s → %s", id, again)
	}
	if err := e.Kill(ctx, found, ""); err != nil {
		t.Fatal(err)
	}
	ins, err := e.Inspect(ctx, found)
	if err != nil {
		t.Fatal(err)
	}
	if ins.State.Running || ins.State.ExitCode != 137 {
		t.Errorf("after kill: running %v, exit code %d", ins.State.Running, ins.State.ExitCode)
	}
	if err := e.Remove(ctx, found); err != nil {
		t.Fatal(err)
	}
	if _, err := e.PubContainer(ctx, pub); !engine.IsNotFound(err) {
		t.Errorf("after remove: %v", err)
	}
	if ok, err := e.VolumeExists(ctx, vol, pub); err != nil || !ok {
		t.Errorf("volume gone with the container: %v %v", ok, err)
	}
	if err := e.RemoveVolume(ctx, vol, pub); err != nil {
		t.Fatal(err)
	}
	if ok, err := e.VolumeExists(ctx, vol, pub); err != nil || ok {
		t.Errorf("volume still there after RemoveVolume: %v %v", ok, err)
	}
}

func TestVolumesWithoutLabelsAreLeftAlone(t *testing.T) {
	e := local(t)
	api := raw(t)
	ctx := context.Background()
	pub := uniq("et-vol")
	vol := "buttctl-pub-" + pub + "-data"
	if _, err := api.VolumeCreate(ctx, client.VolumeCreateOptions{Name: vol}); err != nil {
		t.Fatal(err)
	}
	removeLater(t, api, "", vol)
	if err := e.RemoveVolume(ctx, vol, pub); err == nil || !strings.Contains(err.Error(), "leaving it alone") {
		t.Errorf("RemoveVolume of an unlabelled volume: %v", err)
	}
	if _, err := e.EnsureVolume(ctx, vol, managedLabels(pub)); err == nil {
		t.Error("EnsureVolume adopted an unlabelled volume")
	}
	if _, err := api.VolumeInspect(ctx, vol, client.VolumeInspectOptions{}); err != nil {
		t.Errorf("unlabelled volume gone: %v", err)
	}
}

func TestStartFailsClearlyWhenThePortIsTaken(t *testing.T) {
	e := local(t)
	api := raw(t)
	ctx := context.Background()
	net := testNetwork(t, e, api)
	pub := uniq("et-port")
	cfg, host := pubConfig(pub, "buttctl-pub-"+pub+"-data", net)
	removeLater(t, api, "", "buttctl-pub-"+pub+"-data")
	port := network.MustParsePort("8008/tcp")
	cfg.ExposedPorts = network.PortSet{port: {}}
	host.PortBindings = network.PortMap{port: {{HostPort: "0"}}}
	first, err := e.Create(ctx, "buttctl-pub-"+pub+"-a", cfg, host)
	if err != nil {
		t.Fatal(err)
	}
	removeLater(t, api, first.ID, "")
	if err := e.Start(ctx, first); err != nil {
		t.Fatal(err)
	}
	ins, err := e.Inspect(ctx, first)
	if err != nil {
		t.Fatal(err)
	}
	taken := ins.NetworkSettings.Ports[port][0].HostPort
	host.PortBindings = network.PortMap{port: {{HostPort: taken}}}
	second, err := e.Create(ctx, "buttctl-pub-"+pub+"-b", cfg, host)
	if err != nil {
		t.Fatal(err)
	}
	removeLater(t, api, second.ID, "")
	err = e.Start(ctx, second)
	if err == nil {
		t.Fatal("two containers started on one host port")
	}
	if !strings.HasPrefix(err.Error(), "local: start container buttctl-pub-"+pub+"-b: ") || !strings.Contains(err.Error(), taken) {
		t.Errorf("error = %q", err)
	}
}

func TestEnsureNetwork(t *testing.T) {
	e := local(t)
	api := raw(t)
	ctx := context.Background()
	name := uniq("buttctl-test-net")
	id, err := e.EnsureNetwork(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _, _ = api.NetworkRemove(ctx, id, client.NetworkRemoveOptions{}) })
	if again, err := e.EnsureNetwork(ctx, name); err != nil || again != id {
		t.Errorf("second EnsureNetwork = %s, %v; want %s", again, err, id)
	}
	n, err := api.NetworkInspect(ctx, id, client.NetworkInspectOptions{})
	if err != nil || n.Network.Labels[engine.LabelManaged] != "true" {
		t.Errorf("network labels: %v %v", n.Network.Labels, err)
	}

	foreign := uniq("buttctl-test-foreign")
	res, err := api.NetworkCreate(ctx, foreign, client.NetworkCreateOptions{Driver: "bridge"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _, _ = api.NetworkRemove(ctx, res.ID, client.NetworkRemoveOptions{}) })
	if _, err := e.EnsureNetwork(ctx, foreign); err == nil || !strings.Contains(err.Error(), "is not buttctl's") {
		t.Errorf("EnsureNetwork adopted a foreign network: %v", err)
	}
}

func TestTransferImageOfAMissingImage(t *testing.T) {
	e := local(t)
	err := engine.TransferImage(context.Background(), e, e, "buttctl-test/no-such-image:1", nil)
	if !engine.IsNotFound(err) || !strings.Contains(err.Error(), "local: image buttctl-test/no-such-image:1 is not there") {
		t.Errorf("err = %v", err)
	}
}

func TestPullWithoutARegistryFailsClearly(t *testing.T) {
	e := local(t)
	err := e.PullImage(context.Background(), "buttctl-test/no-such-image:1")
	if err == nil || !strings.HasPrefix(err.Error(), "local: pull image buttctl-test/no-such-image:1: ") {
		t.Errorf("err = %v", err)
	}
}

func TestParseSince(t *testing.T) {
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	for in, want := range map[string]time.Time{
		"10m":                       now.Add(-10 * time.Minute),
		"1h30m":                     now.Add(-90 * time.Minute),
		"2026-04-30T08:00:00Z":      time.Date(2026, 4, 30, 8, 0, 0, 0, time.UTC),
		"2026-04-30T10:00:00+02:00": time.Date(2026, 4, 30, 8, 0, 0, 0, time.UTC),
		"2026-04-30":                time.Date(2026, 4, 30, 0, 0, 0, 0, time.UTC),
		"1767225600":                time.Unix(1767225600, 0),
	} {
		got, err := engine.ParseSince(in, now)
		if err != nil || !got.Equal(want) {
			t.Errorf("ParseSince(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "yesterday", "-5m", "2026-13-01", "10 minutes"} {
		if _, err := engine.ParseSince(bad, now); err == nil {
			t.Errorf("ParseSince(%q) accepted", bad)
		} else if !strings.HasPrefix(err.Error(), "--since ") {
			t.Errorf("ParseSince(%q): %v", bad, err)
		}
	}
}

func waitWhoami(t *testing.T, e *engine.Engine, c engine.Container) string {
	t.Helper()
	var id string
	waitFor(t, "sbot whoami to answer", func() bool {
		out, _, code, err := e.Output(context.Background(), c, []string{"sbot", "whoami"})
		if err != nil {
			t.Fatal(err)
		}
		if code != 0 {
			return false
		}
		var who struct{ ID string }
		if err := json.Unmarshal(out, &who); err != nil {
			t.Fatalf("whoami printed %q: %v", out, err)
		}
		id = who.ID
		return true
	})
	if !strings.HasPrefix(id, "@") || !strings.HasSuffix(id, ".ed25519") {
		t.Fatalf("whoami = %q", id)
	}
	return id
}

// waitFor polls cond until it holds, failing the test after a deadline.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for delay := 10 * time.Millisecond; !cond(); delay = min(2*delay, 500*time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(delay)
	}
}

// fakeEngine answers /_ping on a Unix socket as an engine speaking
// apiVersion would, and records the paths of the other requests. A fake:
// no engine older than this machine's (API 1.41) can run here.
func fakeEngine(t *testing.T, apiVersion string) (sock string, paths chan string) {
	t.Helper()
	dir, err := os.MkdirTemp("", "buttctl-fake-engine-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	sock = filepath.Join(dir, "docker.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	paths = make(chan string, 10)
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Api-Version", apiVersion)
		if r.URL.Path == "/_ping" {
			return
		}
		paths <- r.URL.Path
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, "[]")
	})}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	return sock, paths
}

func TestNegotiatesDownToAPI140(t *testing.T) {
	sock, paths := fakeEngine(t, "1.40")
	e, err := engine.NewLocal("old-hub", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	if v, err := e.Ping(context.Background()); err != nil || v != "1.40" {
		t.Fatalf("Ping = %q, %v", v, err)
	}
	if _, err := e.Containers(context.Background()); err != nil {
		t.Fatal(err)
	}
	if p := <-paths; p != "/v1.40/containers/json" {
		t.Errorf("requested %s", p)
	}
}

func TestEngineTooOld(t *testing.T) {
	sock, _ := fakeEngine(t, "1.39")
	e, err := engine.NewLocal("ancient", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	_, err = e.Containers(context.Background())
	if err == nil || !strings.HasPrefix(err.Error(), "ancient: the Docker engine at "+sock+" is too old: ") || !strings.HasSuffix(err.Error(), "(buttctl needs API 1.40 or later, Docker 19.03+)") || !engine.IsUnreachable(err) {
		t.Errorf("err = %v", err)
	}
}

// A creator killed between making its network and removing its duplicate
// left two of one name, which an engine before API 1.44 allows (the test
// world's hubs run Debian's Docker 20.10): the next EnsureNetwork keeps the
// oldest and removes the other, so container starts by name work again.
func TestEnsureNetworkRemovesADuplicateLeftBehind(t *testing.T) {
	h := testworld.ForTest(t, 1).Hubs[0]
	api, err := h.DockerClient()
	if err != nil {
		t.Fatal(err)
	}
	defer api.Close()
	ctx := context.Background()
	name := uniq("buttctl-test-dup")
	var ids []string
	for range 2 {
		res, err := api.NetworkCreate(ctx, name, client.NetworkCreateOptions{Driver: "bridge", Labels: map[string]string{engine.LabelManaged: "true"}})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, res.ID)
		t.Cleanup(func() { _, _ = api.NetworkRemove(ctx, res.ID, client.NetworkRemoveOptions{}) })
	}
	sock := strings.TrimPrefix(h.DockerHost(), "unix://")
	e, err := engine.New(h.Name, sock, func(ctx context.Context) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "unix", sock)
	})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	kept, err := e.EnsureNetwork(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	res, err := api.NetworkList(ctx, client.NetworkListOptions{Filters: client.Filters{}.Add("name", name)})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Items) != 1 || res.Items[0].ID != kept || (kept != ids[0] && kept != ids[1]) {
		t.Errorf("after EnsureNetwork: %d networks named %s, kept %s (made %v)", len(res.Items), name, kept, ids)
	}
}

// Two buttctl processes creating pubs on one hub at once can each make the
// network (an engine before API 1.44 allows two of one name) before one
// removes its own: a container created meanwhile must still start, on the
// network every creator keeps (the oldest), not fail as "ambiguous".
func TestCreateJoinsTheOldestNetworkOfItsName(t *testing.T) {
	h := testworld.ForTest(t, 1).Hubs[0]
	api, err := h.DockerClient()
	if err != nil {
		t.Fatal(err)
	}
	defer api.Close()
	ctx := context.Background()
	name := uniq("buttctl-test-dup")
	var ids []string
	for range 2 {
		res, err := api.NetworkCreate(ctx, name, client.NetworkCreateOptions{Driver: "bridge", Labels: map[string]string{engine.LabelManaged: "true"}})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, res.ID)
		t.Cleanup(func() { _, _ = api.NetworkRemove(ctx, res.ID, client.NetworkRemoveOptions{}) })
	}
	list, err := api.NetworkList(ctx, client.NetworkListOptions{Filters: client.Filters{}.Add("name", name)})
	if err != nil {
		t.Fatal(err)
	}
	if len(list.Items) != 2 {
		t.Fatalf("the hub's engine kept %d networks named %s, want 2 (a duplicate is what this test is about)", len(list.Items), name)
	}
	oldest := list.Items[0]
	for _, n := range list.Items[1:] {
		if n.Created.Before(oldest.Created) || (n.Created.Equal(oldest.Created) && n.ID < oldest.ID) {
			oldest = n
		}
	}
	sock := strings.TrimPrefix(h.DockerHost(), "unix://")
	e, err := engine.New(h.Name, sock, func(ctx context.Context) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "unix", sock)
	})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	pub := uniq("dupnet")
	c, err := e.Create(ctx, "buttctl-pub-"+pub, &container.Config{Image: testworld.PubImage, Labels: managedLabels(pub)},
		&container.HostConfig{NetworkMode: container.NetworkMode(name)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pubstest.Remove(api, c.ID, "") })
	if err := e.Start(ctx, c); err != nil {
		t.Fatalf("start with two networks named %s: %v", name, err)
	}
	insp, err := api.ContainerInspect(ctx, c.ID, client.ContainerInspectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got := insp.Container.NetworkSettings.Networks[name]; got == nil || got.NetworkID != oldest.ID {
		t.Errorf("the container joined %+v, want the oldest network %s", got, oldest.ID)
	}
}
