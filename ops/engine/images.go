package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"

	"github.com/moby/moby/api/types/jsonstream"
	"github.com/moby/moby/client"
)

// HasImage reports whether the image ref is on the hub.
func (e *Engine) HasImage(ctx context.Context, ref string) (bool, error) {
	if err := e.ready(ctx); err != nil {
		return false, err
	}
	_, err := e.api.ImageInspect(ctx, ref)
	if IsNotFound(err) {
		return false, nil
	}
	if err != nil {
		return false, e.fail(err, "inspect image "+ref)
	}
	return true, nil
}

// PullImage has the hub's engine pull ref from its registry.
func (e *Engine) PullImage(ctx context.Context, ref string) error {
	if err := e.ready(ctx); err != nil {
		return err
	}
	resp, err := e.api.ImagePull(ctx, ref, client.ImagePullOptions{})
	if err != nil {
		return e.fail(err, "pull image "+ref)
	}
	defer resp.Close()
	return e.fail(resp.Wait(ctx), "pull image "+ref)
}

// TransferImage streams the image ref from one engine to another (save, then
// load; nothing touches the disk on the way). progress, if not nil, is called
// with the number of bytes sent so far.
func TransferImage(ctx context.Context, from, to *Engine, ref string, progress func(sent int64)) error {
	if has, err := from.HasImage(ctx, ref); err != nil {
		return err
	} else if !has {
		return &Error{Hub: from.hub, Err: fmt.Errorf("image %s is not there: build or pull it there first: %w", ref, ErrNotFound)}
	}
	if err := to.ready(ctx); err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	saved, err := from.api.ImageSave(ctx, []string{ref})
	if err != nil {
		return from.fail(err, "save image "+ref)
	}
	defer saved.Close()
	src := &countingReader{r: saved, progress: progress}
	loaded, err := to.api.ImageLoad(ctx, src, client.ImageLoadWithQuiet(true))
	if err != nil {
		if src.readErr() != nil {
			return from.fail(src.readErr(), "save image "+ref)
		}
		return to.fail(err, "load image "+ref)
	}
	defer loaded.Close()
	if err := readLoadResult(loaded); err != nil {
		if src.readErr() != nil {
			return from.fail(src.readErr(), "save image "+ref)
		}
		return to.fail(err, "load image "+ref)
	}
	if src.readErr() != nil {
		return from.fail(src.readErr(), "save image "+ref)
	}
	if has, err := to.HasImage(ctx, ref); err != nil {
		return err
	} else if !has {
		return &Error{Hub: to.hub, Err: fmt.Errorf("load image %s: the engine took the stream but has no such image afterwards", ref)}
	}
	return nil
}

// readLoadResult reads the engine's JSON messages after an image load and
// returns the first error among them.
func readLoadResult(r io.Reader) error {
	dec := json.NewDecoder(r)
	for {
		var m jsonstream.Message
		if err := dec.Decode(&m); errors.Is(err, io.EOF) {
			return nil
		} else if err != nil {
			return err
		}
		if m.Error != nil {
			return errors.New(strings.TrimSpace(m.Error.Message))
		}
	}
}

// countingReader reports progress and remembers a read error, so that a
// failure of the sending engine is not blamed on the receiving one.
// It is read by the HTTP transport's goroutine, hence the lock.
type countingReader struct {
	r        io.Reader
	progress func(int64)

	mu  sync.Mutex
	n   int64
	err error
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.mu.Lock()
	c.n += int64(n)
	total := c.n
	if err != nil && !errors.Is(err, io.EOF) {
		c.err = err
	}
	c.mu.Unlock()
	if c.progress != nil && n > 0 {
		c.progress(total)
	}
	return n, err
}

func (c *countingReader) readErr() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

// ImageID returns the id of image ref on the hub, or "" when it is not there.
func (e *Engine) ImageID(ctx context.Context, ref string) (id string, size int64, err error) {
	if err := e.ready(ctx); err != nil {
		return "", 0, err
	}
	res, err := e.api.ImageInspect(ctx, ref)
	if IsNotFound(err) {
		return "", 0, nil
	}
	if err != nil {
		return "", 0, e.fail(err, "inspect image "+ref)
	}
	return res.ID, res.Size, nil
}
