// Package pubstest builds a stand-in pub image for the tests of ops, from the
// sbot program beside it: FROM scratch around a static Go binary, data in
// /home/node/.ssb, port 8008, ssb_host, a health check through `sbot whoami`.
// Besides the test world's pub image (ops/testworld), it has the commands
// tests of exec need (cat, tty, winch), and builds in seconds on this
// machine's engine, for the tests of the local hub.
package pubstest

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/client"
)

//go:embed sbot/main.go
var sbotSource []byte

// Image is the tag of the stand-in image. The tag is a hash of its sources:
// work trees with other versions of sbot, testing on the same engine, do not
// overwrite each other's image.
var Image = func() string {
	sum := sha256.Sum256(append(append([]byte{}, sbotSource...), dockerfile...))
	return "buttctl-standin/pub:" + hex.EncodeToString(sum[:6])
}()

const dockerfile = `FROM scratch
COPY sbot /bin/sbot
ENV ssb_host=""
EXPOSE 8008
VOLUME /home/node/.ssb
HEALTHCHECK --interval=1s --timeout=3s --retries=2 CMD ["/bin/sbot", "whoami"]
ENTRYPOINT ["/bin/sbot"]
CMD ["server"]
`

var (
	once     sync.Once
	buildErr error
)

// Build builds the image into the engine behind socket (once per process).
func Build(ctx context.Context, socket string) error {
	once.Do(func() { buildErr = build(ctx, socket) })
	return buildErr
}

func build(ctx context.Context, socket string) error {
	_, self, _, _ := runtime.Caller(0)
	dir, err := os.MkdirTemp("", "standin-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	bin := filepath.Join(dir, "sbot")
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-o", bin, ".")
	cmd.Dir = filepath.Join(filepath.Dir(self), "sbot")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("build sbot: %v: %s", err, out)
	}
	binary, err := os.ReadFile(bin)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, f := range []struct {
		name string
		mode int64
		data []byte
	}{{"Dockerfile", 0o644, []byte(dockerfile)}, {"sbot", 0o755, binary}} {
		if err := tw.WriteHeader(&tar.Header{Name: f.name, Mode: f.mode, Size: int64(len(f.data))}); err != nil {
			return err
		}
		if _, err := tw.Write(f.data); err != nil {
			return err
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	api, err := client.New(client.WithHost("unix://" + socket))
	if err != nil {
		return err
	}
	defer api.Close()
	res, err := api.ImageBuild(ctx, &buf, client.ImageBuildOptions{Tags: []string{Image}, Remove: true, ForceRemove: true, Version: "1"})
	if err != nil {
		return fmt.Errorf("build %s: %w", Image, err)
	}
	defer res.Body.Close()
	out, _ := io.ReadAll(res.Body)
	if _, err := api.ImageInspect(ctx, Image); err != nil {
		return fmt.Errorf("build %s: %v: %s", Image, err, out)
	}
	return nil
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

// Remove removes a container by id, and then a volume by name ("" for
// none), retrying a while: on fuse-overlayfs a container can be "dead" for a
// moment, and its removal fail.
func Remove(api *client.Client, containerID, volume string) {
	ctx := context.Background()
	deadline := time.Now().Add(15 * time.Second)
	for containerID != "" {
		_, err := api.ContainerRemove(ctx, containerID, client.ContainerRemoveOptions{Force: true})
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
