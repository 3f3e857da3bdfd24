package identity

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"path"
	"time"

	"github.com/buttctl/buttctl/ops/engine"
	"github.com/buttctl/buttctl/ops/pubs"
)

// maxSecretSize bounds what is read as a secret file (ssb-keys' are ~700 bytes).
const maxSecretSize = 64 << 10

// ErrNoSecret: the pub's data directory has no secret file (yet).
var ErrNoSecret = errors.New("no secret file")

// FileOwner is the owner and mode of a pub's secret file, which its server
// must be able to read (ssb-pub runs as uid 1000).
type FileOwner struct {
	UID  int   `json:"uid"`
	GID  int   `json:"gid"`
	Mode int64 `json:"mode"`
}

// readSecret reads the secret file in a container's data directory, through
// the engine's archive API (the container may be in any state).
func readSecret(ctx context.Context, e *engine.Engine, c engine.Container, dataDir string) ([]byte, error) {
	b, _, err := readSecretOwned(ctx, e, c, dataDir)
	return b, err
}

// readSecretOwned is readSecret with the file's owner and mode.
func readSecretOwned(ctx context.Context, e *engine.Engine, c engine.Container, dataDir string) ([]byte, FileOwner, error) {
	var owner FileOwner
	rc, err := e.ReadPath(ctx, c, path.Join(dataDir, SecretFile))
	if engine.IsNotFound(err) {
		return nil, owner, fmt.Errorf("%s has no %s: %w", dataDir, SecretFile, ErrNoSecret)
	}
	if err != nil {
		return nil, owner, err
	}
	defer rc.Close()
	tr := tar.NewReader(rc)
	h, err := tr.Next()
	if err != nil {
		return nil, owner, fmt.Errorf("reading %s/%s: %w", dataDir, SecretFile, err)
	}
	if h.Typeflag != tar.TypeReg || h.Size > maxSecretSize {
		return nil, owner, fmt.Errorf("%s/%s is not a regular file of at most %d bytes", dataDir, SecretFile, maxSecretSize)
	}
	b, err := io.ReadAll(tr)
	if err != nil {
		return nil, owner, fmt.Errorf("reading %s/%s: %w", dataDir, SecretFile, err)
	}
	return b, FileOwner{UID: h.Uid, GID: h.Gid, Mode: h.Mode & 0o7777}, nil
}

// whoami asks container c, running image, for its SSB id.
func whoami(ctx context.Context, svc *pubs.Service, e *engine.Engine, c engine.Container, image string) (string, error) {
	argv := svc.Inventory().ImageProfile(image).Whoami
	out, errOut, code, err := e.Output(ctx, c, argv)
	if err != nil {
		return "", err
	}
	if code != 0 {
		return "", fmt.Errorf("%v exited with %d: %s", argv, code, truncate(oneLine(string(errOut)), 200))
	}
	return pubs.ParseWhoami(out)
}

// whoamiTimeout bounds the wait for a started pub to answer whoami.
const whoamiTimeout = 90 * time.Second

// waitWhoami asks a just started pub for its id until it answers, the
// container stops running, or whoamiTimeout passes.
func waitWhoami(ctx context.Context, svc *pubs.Service, e *engine.Engine, pub, image string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, whoamiTimeout)
	defer cancel()
	delay := 50 * time.Millisecond
	var last error
	for {
		c, err := e.PubContainer(ctx, pub)
		if err != nil {
			return "", err
		}
		if c.State == "exited" || c.State == "dead" {
			return "", fmt.Errorf("the pub's container stopped (%s) instead of answering whoami", c.Status)
		}
		if c.State == "running" {
			id, err := whoami(ctx, svc, e, c, image)
			if err == nil {
				return id, nil
			}
			last = err
		}
		select {
		case <-ctx.Done():
			if last == nil {
				last = ctx.Err()
			}
			return "", fmt.Errorf("no answer to whoami within %s: %w", whoamiTimeout, last)
		case <-time.After(delay):
		}
		delay = min(2*delay, time.Second)
	}
}

func oneLine(s string) string {
	out := make([]rune, 0, len(s))
	space := false
	for _, r := range s {
		if r == '\n' || r == '\t' || r == ' ' || r == '\r' {
			space = len(out) > 0
			continue
		}
		if space {
			out = append(out, ' ')
			space = false
		}
		out = append(out, r)
	}
	return string(out)
}

// pubError names the pub and hub in err.
func pubError(pub, hub string, err error) error {
	if err == nil {
		return nil
	}
	var pe *pubs.Error
	if errors.As(err, &pe) {
		return err
	}
	return &pubs.Error{Pub: pub, Hub: hub, Err: err}
}
