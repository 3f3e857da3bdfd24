// Package pubstest gives the tests of ops and cmd the test pub image on this
// machine's Docker engine: the test world's stand-in for ahdinosaur/ssb-pub
// (ops/testworld/testpub: FROM scratch around the static program sbot, data in
// /home/node/.ssb, port 8008, ssb_host, a health check through `sbot whoami`,
// fault injection, and `sbot cat|tty|winch` for tests of exec).
package pubstest

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"io"
	"os"
	"sync"
	"testing"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/client"

	"github.com/buttctl/buttctl/ops/engine"
	"github.com/buttctl/buttctl/ops/pubspec"
	"github.com/buttctl/buttctl/ops/testworld"
)

// Image is the tag of the test pub image, a hash of its sources: work trees
// with other versions of it, testing on the same engine, do not overwrite
// each other's image.
var Image = testworld.PubImage

var (
	once     sync.Once
	buildErr error
)

// Build builds the image into the engine behind socket, unless it is there
// already (once per process).
func Build(ctx context.Context, socket string) error {
	once.Do(func() {
		api, err := client.New(client.WithHost("unix://" + socket))
		if err != nil {
			buildErr = err
			return
		}
		defer api.Close()
		buildErr = testworld.BuildPubImage(ctx, api)
	})
	return buildErr
}

// Socket is this machine's Docker socket, which the tests use.
const Socket = "/var/run/docker.sock"

// Require fails the test loudly where this machine has no Docker engine
// (skips it with BUTTCTL_SKIP_DOCKER=1), and builds the image.
func Require(t testing.TB) {
	t.Helper()
	if os.Getenv("BUTTCTL_SKIP_DOCKER") == "1" {
		t.Skip("BUTTCTL_SKIP_DOCKER=1")
	}
	if _, err := os.Stat(Socket); err != nil {
		t.Fatalf("this test needs this machine's Docker engine at %s (set BUTTCTL_SKIP_DOCKER=1 to skip it): %v", Socket, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	if err := Build(ctx, Socket); err != nil {
		t.Fatal(err)
	}
}

// Derived builds an image of this test's own on the engine behind api: Image
// with a unique label (the same layers, another id), tagged
// buttctl-test/derived:<random>, and removes it when the test ends. For tests
// that need an image a hub does not have yet.
func Derived(t testing.TB, api *client.Client) string {
	t.Helper()
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	tag := "buttctl-test/derived:" + hex.EncodeToString(b)
	dockerfile := []byte("FROM " + Image + "\nLABEL buttctl.test.derived=" + tag + "\n")
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	if err := tw.WriteHeader(&tar.Header{Name: "Dockerfile", Mode: 0o644, Size: int64(len(dockerfile))}); err != nil {
		t.Fatal(err)
	}
	_, _ = tw.Write(dockerfile)
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	res, err := api.ImageBuild(ctx, &buf, client.ImageBuildOptions{Tags: []string{tag}, Remove: true, ForceRemove: true})
	if err != nil {
		t.Fatalf("building %s: %v", tag, err)
	}
	out, _ := io.ReadAll(res.Body)
	res.Body.Close()
	t.Cleanup(func() { _, _ = api.ImageRemove(context.Background(), tag, client.ImageRemoveOptions{}) })
	if _, err := api.ImageInspect(ctx, tag); err != nil {
		t.Fatalf("building %s: %v: %s", tag, err, out)
	}
	return tag
}

// RemovePubs removes, on the engine behind api, the containers buttctl
// manages for each of pubs (found by label, removed by id) and each pub's
// data volume if it carries that pub's label: what a test created for its
// pubs, nothing of another test's.
func RemovePubs(api *client.Client, pubs ...string) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for _, pub := range pubs {
		filters := client.Filters{}.Add("label", engine.LabelPub+"="+pub).Add("label", engine.LabelManaged+"=true")
		if res, err := api.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: filters}); err == nil {
			for _, c := range res.Items {
				Remove(api, c.ID, "")
			}
		}
		if v, err := api.VolumeInspect(ctx, pubspec.VolumeName(pub), client.VolumeInspectOptions{}); err == nil && v.Volume.Labels[engine.LabelPub] == pub {
			Remove(api, "", v.Volume.Name)
		}
	}
}

// Remove removes a container by id, with its anonymous volumes (those the
// image declares and nothing mounts: test containers made without buttctl
// would leave them behind), and then a volume by name ("" for none),
// retrying a while: on fuse-overlayfs a container can be "dead" for a moment,
// and its removal fail.
func Remove(api *client.Client, containerID, volume string) {
	ctx := context.Background()
	deadline := time.Now().Add(15 * time.Second)
	for containerID != "" {
		_, err := api.ContainerRemove(ctx, containerID, client.ContainerRemoveOptions{Force: true, RemoveVolumes: true})
		if err == nil || cerrdefs.IsNotFound(err) || time.Now().After(deadline) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	for volume != "" {
		_, err := api.VolumeRemove(ctx, volume, client.VolumeRemoveOptions{Force: true})
		if err == nil || cerrdefs.IsNotFound(err) || time.Now().After(deadline) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
}
