package testworld

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/moby/moby/client"
)

// Images the world builds on the local engine.
const (
	// pubRepo is the test pub's repository: a stand-in for ahdinosaur/ssb-pub.
	pubRepo = "buttctl/testpub"
	// hubRepo and hubBaseRepo are tagged with a hash of their inputs.
	hubRepo     = "buttctl/testhub"
	hubBaseRepo = "buttctl/testhub-base"
	// inputsLabel holds the hash of the inputs an image was built from.
	inputsLabel = "buttctl.testworld.inputs"
	// staleAfter is how old an image of a hash no longer built here must be
	// before a build removes its tag: work trees with other versions of the
	// sources, testing on the same engine, still use theirs.
	staleAfter = 48 * time.Hour
)

// hubDebs are the Debian packages of a hub's root filesystem.
var hubDebs = []string{"openssh-server", "docker.io", "iproute2", "iptables", "procps", "ca-certificates"}

// debianSuite and debianMirror say where debootstrap fetches them from;
// BUTTCTL_DEBIAN_MIRROR overrides the mirror.
const debianSuite = "bookworm"

func debianMirror() string {
	if m := os.Getenv("BUTTCTL_DEBIAN_MIRROR"); m != "" {
		return m
	}
	return "http://deb.debian.org/debian"
}

//go:embed hub
var hubFiles embed.FS

// testpubFS holds the test pub's sources (the program sbot in ./testpub),
// built into PubImage.
//
//go:embed testpub
var testpubFS embed.FS

// pubSources are the files the test pub image is built from (tests left out).
var pubSources = func() map[string][]byte {
	files := map[string][]byte{}
	entries, err := testpubFS.ReadDir("testpub")
	if err != nil {
		panic(err)
	}
	for _, e := range entries {
		name := e.Name()
		if name != "Dockerfile" && (!strings.HasSuffix(name, ".go") || strings.HasSuffix(name, "_test.go")) {
			continue
		}
		b, err := testpubFS.ReadFile("testpub/" + name)
		if err != nil {
			panic(err)
		}
		files[name] = b
	}
	return files
}()

// pubInputs is the hash of pubSources and the Go release that builds them.
var pubInputs = hashInputs(pubSources, runtime.Version())

// PubImage is the test pub image (./testpub), tagged with a hash of its
// inputs: work trees with other versions of it, testing on the same engine,
// each use their own. BuildPubImage builds it; buttctl/testpub:latest names
// the last one built, for people (make run), never for tests.
var PubImage = pubRepo + ":" + pubInputs[:12]

// BuildPubImage builds PubImage on the engine docker reaches, unless an
// image built from the same inputs is already there. It needs `go` (not the
// repository: the sources are compiled into this package).
func BuildPubImage(ctx context.Context, docker *client.Client) error {
	return withBuildLock(func() error {
		if imageHasInputs(ctx, docker, PubImage, pubInputs) {
			return nil
		}
		dir, err := os.MkdirTemp("", "buttctl-testpub-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		// The sources use only the standard library: a module of their own.
		mod := map[string][]byte{"go.mod": []byte("module buttctl-testpub\n\ngo 1.22\n")}
		for name, data := range pubSources {
			if strings.HasSuffix(name, ".go") {
				mod[name] = data
			}
		}
		for name, data := range mod {
			if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
				return err
			}
		}
		build := exec.CommandContext(ctx, "go", "build", "-trimpath", "-ldflags=-s -w", "-o", "sbot", ".")
		build.Dir = dir
		build.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOFLAGS=", "GOWORK=off")
		if out, err := build.CombinedOutput(); err != nil {
			return fmt.Errorf("testpub: go build: %w (is go on PATH?)\n%s", err, out)
		}
		sbot, err := os.ReadFile(filepath.Join(dir, "sbot"))
		if err != nil {
			return err
		}
		ctxTar, err := buildContext([]tarEntry{
			{name: "Dockerfile", data: pubSources["Dockerfile"], mode: 0o644},
			{name: "sbot", data: sbot, mode: 0o755},
			{name: "home/", mode: 0o755},
			{name: "home/node/", mode: 0o755},
			{name: "home/node/.ssb/", mode: 0o700},
		})
		if err != nil {
			return err
		}
		if err := imageBuild(ctx, docker, ctxTar, []string{PubImage, pubRepo + ":latest"}, pubInputs); err != nil {
			return err
		}
		untagStale(ctx, docker, pubRepo, "latest", pubInputs[:12])
		return nil
	})
}

// BuildHubImage returns the hub image, building it when no image built from
// the same inputs exists: a Debian root filesystem made with debootstrap
// (cached as its own image, keyed by suite, mirror and packages) and the
// files under hub/.
func BuildHubImage(ctx context.Context, docker *client.Client) (string, error) {
	baseHash := hashInputs(nil, debianSuite, debianMirror(), strings.Join(hubDebs, ","), "user=debian")
	base := hubBaseRepo + ":" + baseHash[:12]
	files := map[string][]byte{}
	entries, err := hubFiles.ReadDir("hub")
	if err != nil {
		return "", err
	}
	for _, e := range entries {
		b, err := hubFiles.ReadFile("hub/" + e.Name())
		if err != nil {
			return "", err
		}
		files[e.Name()] = b
	}
	hash := hashInputs(files, base)
	image := hubRepo + ":" + hash[:12]
	err = withBuildLock(func() error {
		if imageHasInputs(ctx, docker, image, hash) {
			return nil
		}
		if !imageHasInputs(ctx, docker, base, baseHash) {
			if err := buildHubBase(ctx, docker, base, baseHash); err != nil {
				return err
			}
		}
		var tes []tarEntry
		for name, data := range files {
			mode := int64(0o644)
			if name == "hub-init" || name == "hubctl" {
				mode = 0o755
			}
			if name == "Dockerfile" {
				data = bytes.ReplaceAll(data, []byte("{{BASE}}"), []byte(base))
			}
			tes = append(tes, tarEntry{name: name, data: data, mode: mode})
		}
		ctxTar, err := buildContext(tes)
		if err != nil {
			return err
		}
		if err := imageBuild(ctx, docker, ctxTar, []string{image}, hash); err != nil {
			return err
		}
		untagStale(ctx, docker, hubRepo, hash[:12])
		untagStale(ctx, docker, hubBaseRepo, baseHash[:12])
		return nil
	})
	return image, err
}

// buildHubBase runs debootstrap into a temporary directory and imports it.
func buildHubBase(ctx context.Context, docker *client.Client, tag, hash string) error {
	if _, err := exec.LookPath("debootstrap"); err != nil {
		return errors.New("hub image: debootstrap is not installed: apt-get install debootstrap (make test-deps installs it)")
	}
	root, err := os.MkdirTemp("", "buttctl-testhub-rootfs-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(root)
	run := func(name string, args ...string) error {
		cmd := exec.CommandContext(ctx, name, args...)
		out, err := cmd.CombinedOutput()
		if err != nil {
			tail := string(out)
			if len(tail) > 2000 {
				tail = "…" + tail[len(tail)-2000:]
			}
			return fmt.Errorf("hub image: %s %s: %w\n%s", name, strings.Join(args, " "), err, tail)
		}
		return nil
	}
	if err := run("debootstrap", "--variant=minbase", "--include="+strings.Join(hubDebs, ","),
		debianSuite, root, debianMirror()); err != nil {
		return err
	}
	// The hub's login user, like a cloud image's: in group docker, no password
	// (keys only) but not locked, which sshd without PAM would refuse.
	if err := run("chroot", root, "useradd", "--create-home", "--shell", "/bin/bash", "--groups", "docker", "debian"); err != nil {
		return err
	}
	if err := run("chroot", root, "usermod", "--password", "*", "debian"); err != nil {
		return err
	}
	for _, p := range []string{"var/cache/apt/archives", "var/lib/apt/lists", "usr/share/doc", "usr/share/man", "usr/share/locale"} {
		if err := removeContents(filepath.Join(root, p)); err != nil {
			return err
		}
	}
	keys, _ := filepath.Glob(filepath.Join(root, "etc/ssh/ssh_host_*"))
	for _, k := range keys {
		os.Remove(k) // each hub gets its own, generated by the harness
	}
	tarCmd := exec.CommandContext(ctx, "tar", "--numeric-owner", "--xattrs", "-C", root, "-cf", "-", ".")
	stdout, err := tarCmd.StdoutPipe()
	if err != nil {
		return err
	}
	var stderr bytes.Buffer
	tarCmd.Stderr = &stderr
	if err := tarCmd.Start(); err != nil {
		return err
	}
	res, err := docker.ImageImport(ctx, client.ImageImportSource{Source: stdout, SourceName: "-"}, tag,
		client.ImageImportOptions{Changes: []string{"LABEL " + inputsLabel + "=" + hash}, Message: "buttctl test hub rootfs (debootstrap " + debianSuite + ")"})
	if err == nil {
		_, err = io.Copy(io.Discard, res)
		res.Close()
	}
	if werr := tarCmd.Wait(); err == nil && werr != nil {
		err = fmt.Errorf("tar: %w: %s", werr, stderr.String())
	}
	if err != nil {
		return fmt.Errorf("hub image: import: %w", err)
	}
	return nil
}

func removeContents(dir string) error {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	} else if err != nil {
		return err
	}
	for _, e := range entries {
		if err := os.RemoveAll(filepath.Join(dir, e.Name())); err != nil {
			return err
		}
	}
	return nil
}

// untagStale removes the tags of repo other than keep whose images are
// older than staleAfter: images built from older inputs, which other work
// trees may still use while they are recent. Images used by a container (a
// running world's hubs) stay; errors are ignored, the next build tries again.
func untagStale(ctx context.Context, docker *client.Client, repo string, keep ...string) {
	res, err := docker.ImageList(ctx, client.ImageListOptions{Filters: make(client.Filters).Add("reference", repo)})
	if err != nil {
		return
	}
	for _, img := range res.Items {
		if time.Since(time.Unix(img.Created, 0)) < staleAfter {
			continue
		}
		for _, ref := range img.RepoTags {
			tag, ok := strings.CutPrefix(ref, repo+":")
			if ok && !slices.Contains(keep, tag) {
				docker.ImageRemove(ctx, ref, client.ImageRemoveOptions{})
			}
		}
	}
}

// imageHasInputs reports whether image exists and was built from hash.
func imageHasInputs(ctx context.Context, docker *client.Client, image, hash string) bool {
	res, err := docker.ImageInspect(ctx, image)
	if err != nil || res.Config == nil {
		return false
	}
	return res.Config.Labels[inputsLabel] == hash
}

func imageBuild(ctx context.Context, docker *client.Client, buildContext io.Reader, tags []string, hash string) error {
	res, err := docker.ImageBuild(ctx, buildContext, client.ImageBuildOptions{
		Tags:        tags,
		Remove:      true,
		ForceRemove: true,
		Labels:      map[string]string{inputsLabel: hash},
	})
	if err != nil {
		return fmt.Errorf("building %s: %w", tags[0], err)
	}
	defer res.Body.Close()
	if err := readJSONMessages(res.Body); err != nil {
		return fmt.Errorf("building %s: %w", tags[0], err)
	}
	return nil
}

// readJSONMessages drains a build or load progress stream and returns the
// first error it reports, with the output that came before it.
func readJSONMessages(r io.Reader) error {
	dec := json.NewDecoder(r)
	var log strings.Builder
	for {
		var m struct {
			Stream string `json:"stream"`
			Error  string `json:"error"`
		}
		if err := dec.Decode(&m); err == io.EOF {
			return nil
		} else if err != nil {
			return err
		}
		log.WriteString(m.Stream)
		if m.Error != "" {
			return fmt.Errorf("%s\n%s", m.Error, log.String())
		}
	}
}

type tarEntry struct {
	name string // a trailing slash makes a directory
	data []byte
	mode int64
}

func buildContext(entries []tarEntry) (io.Reader, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		h := &tar.Header{Name: e.name, Mode: e.mode, Size: int64(len(e.data)), Typeflag: tar.TypeReg}
		if strings.HasSuffix(e.name, "/") {
			h.Typeflag, h.Size = tar.TypeDir, 0
		}
		if err := tw.WriteHeader(h); err != nil {
			return nil, err
		}
		if _, err := tw.Write(e.data); err != nil {
			return nil, err
		}
	}
	return &buf, tw.Close()
}

// hashInputs hashes files (by name) and extra strings.
func hashInputs(files map[string][]byte, extra ...string) string {
	h := sha256.New()
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(h, "file %q %d\n", n, len(files[n]))
		h.Write(files[n])
	}
	for _, e := range extra {
		fmt.Fprintf(h, "extra %q\n", e)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// withBuildLock serialises image builds across the processes of a test run.
func withBuildLock(fn func() error) error {
	if err := os.MkdirAll(registryDir(), 0o755); err != nil {
		return err
	}
	f, err := os.OpenFile(filepath.Join(registryDir(), "build.lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		return err
	}
	defer syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
	return fn()
}
