package identity

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"time"

	"github.com/buttctl/buttctl/ops/engine"
	"github.com/buttctl/buttctl/ops/pubs"
)

// BackupOptions tune Backup.
type BackupOptions struct {
	// SecretOnly backs up the secret file alone; the pub keeps running.
	SecretOnly bool
	// Stop stops the pub (a clean shutdown) for the copy instead of pausing it.
	Stop bool
	// Progress, if set, is told the bytes of data read so far.
	Progress func(n int64)
	// Version is buttctl's, for the manifest.
	Version string
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// BackupResult says what Backup did.
type BackupResult struct {
	Manifest Manifest `json:"manifest"`
	// File is where the backup went ("-" for a stream).
	File string `json:"file"`
	// DataBytes is the size of the data archive read from the hub;
	// Bytes the size of the backup written.
	DataBytes int64 `json:"data_bytes"`
	Bytes     int64 `json:"bytes"`
}

// resumeTimeout bounds the unpause or restart of a pub after its copy, which
// runs even when the backup's context has ended.
const resumeTimeout = 2 * time.Minute

// Backup streams a backup of pub name (a gzip tar: manifest, then its data
// directory) from its hub to w, and records its identity in the store. The
// copy is consistent: a running pub is paused (frozen: a crash-consistent
// snapshot) or, with Stop, stopped for the copy, and resumed after, also
// when the copy fails. With SecretOnly only the secret is read, without
// pausing: it never changes.
func Backup(ctx context.Context, svc *pubs.Service, store *Store, name string, w io.Writer, o BackupOptions) (res BackupResult, err error) {
	rec := svc.Begin("backup", name)
	defer func() {
		rec.Identity = res.Manifest.Identity
		rec.End(&err)
	}()
	now := o.Now
	if now == nil {
		now = time.Now
	}
	p, err := svc.Lookup(name)
	if err != nil {
		return res, err
	}
	hub := p.Hub
	fail := func(err error) error { return pubError(name, hub, err) }
	unlock, err := store.lockPub(name, "buttctl pub backup")
	if err != nil {
		return res, fail(err)
	}
	defer unlock()
	e, err := svc.Engine(hub)
	if err != nil {
		return res, fail(err)
	}
	c, err := e.PubContainer(ctx, name)
	if engine.IsNotFound(err) {
		return res, fail(fmt.Errorf("no container to back up (if only its volume is left, 'buttctl pub create %s' brings the pub back on it): %w", name, engine.ErrNotFound))
	}
	if err != nil {
		return res, fail(err)
	}
	image := c.Image
	if ins, err := e.Inspect(ctx, c); err == nil && ins.Config != nil {
		image = ins.Config.Image
	}
	dataDir := svc.Inventory().ImageProfile(image).DataDir
	secret, owner, err := readSecretOwned(ctx, e, c, dataDir)
	if err != nil {
		if errors.Is(err, ErrNoSecret) {
			err = fmt.Errorf("%w (the pub has never run: it has no identity yet)", err)
		}
		return res, fail(err)
	}
	id, err := store.RecordOwned(name, hub, secret, &owner, now())
	if err != nil {
		return res, fail(err)
	}
	m := Manifest{
		Pub: name, Hub: hub, Identity: id.ID, SecretSHA256: id.SHA256,
		CreatedAt: now().UTC().Truncate(time.Second), Image: image, DataDir: dataDir,
		SecretOnly: o.SecretOnly, Buttctl: o.Version,
	}
	src := path.Join(dataDir, SecretFile)
	switch {
	case o.SecretOnly:
		m.Consistency = "secret only"
	case c.State != "running" && c.State != "paused" && c.State != "restarting":
		m.Consistency = "not running"
		src = dataDir + "/."
	default:
		src = dataDir + "/."
		resume, how, err := quiesce(ctx, e, c, o.Stop)
		if err != nil {
			return res, fail(err)
		}
		m.Consistency = how
		defer func() {
			if rerr := resume(); rerr != nil {
				err = errors.Join(err, fail(rerr))
			}
		}()
	}
	rc, err := e.ReadPath(ctx, c, src)
	if err != nil {
		return res, fail(err)
	}
	defer rc.Close()
	counted := &countingWriter{w: w}
	res.DataBytes, err = WriteBackup(counted, m, &countingReader{r: rc, progress: o.Progress})
	res.Manifest, res.Bytes, res.File = m, counted.n, "-"
	if err != nil {
		return res, fail(fmt.Errorf("backup: %w", err))
	}
	return res, nil
}

// quiesce pauses (or stops) a running container for a copy, and returns
// the function that resumes it and the manifest's word for what was done.
func quiesce(ctx context.Context, e *engine.Engine, c engine.Container, stop bool) (resume func() error, how string, err error) {
	bg := func() (context.Context, context.CancelFunc) {
		return context.WithTimeout(context.WithoutCancel(ctx), resumeTimeout)
	}
	if stop || c.State == "restarting" {
		if c.State == "paused" {
			if err := e.Unpause(ctx, c); err != nil {
				return nil, "", err
			}
		}
		if err := e.Stop(ctx, c, nil); err != nil {
			return nil, "", err
		}
		return func() error {
			ctx, cancel := bg()
			defer cancel()
			if err := e.Start(ctx, c); err != nil {
				return fmt.Errorf("the pub was stopped for the backup and did not start again: %w (start it with 'buttctl pub start %s')", err, c.Pub)
			}
			return nil
		}, "stopped", nil
	}
	if c.State == "paused" {
		// Paused by someone else: it stays as it was found.
		return func() error { return nil }, "paused", nil
	}
	if err := e.Pause(ctx, c); err != nil {
		return nil, "", err
	}
	return func() error {
		ctx, cancel := bg()
		defer cancel()
		if err := e.Unpause(ctx, c); err != nil {
			return fmt.Errorf("the pub was paused for the backup and could not be unpaused: %w (restart it with 'buttctl pub restart %s')", err, c.Pub)
		}
		return nil
	}, "paused", nil
}

// BackupToFile writes a backup of pub name to file, mode 0600, creating
// its directory (0700) if needed, and records it in the store. The backup
// is written to a temporary file beside file and renamed when complete, so
// file is either a whole backup or absent. An existing file is an error.
func BackupToFile(ctx context.Context, svc *pubs.Service, store *Store, name, file string, o BackupOptions) (BackupResult, error) {
	abs, err := filepath.Abs(file)
	if err != nil {
		return BackupResult{}, err
	}
	if _, err := os.Lstat(abs); err == nil {
		return BackupResult{}, fmt.Errorf("%s exists: buttctl does not overwrite backups; choose another -f", file)
	}
	dir := filepath.Dir(abs)
	if _, err := os.Stat(dir); errors.Is(err, os.ErrNotExist) {
		if err := mkdirPrivate(dir); err != nil {
			return BackupResult{}, fmt.Errorf("creating %s: %w", dir, err)
		}
	}
	f, err := os.CreateTemp(dir, "."+filepath.Base(abs)+".partial-*")
	if err != nil {
		return BackupResult{}, err
	}
	tmp := f.Name()
	defer os.Remove(tmp)
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return BackupResult{}, err
	}
	res, err := Backup(ctx, svc, store, name, f, o)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return res, err
	}
	// Link, not rename: it fails, rather than replaces, if file appeared meanwhile.
	if err := os.Link(tmp, abs); err != nil {
		return res, fmt.Errorf("saving the backup as %s: %w", file, err)
	}
	res.File = abs
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
	return res, store.RecordBackup(name, BackupRecord{At: res.Manifest.CreatedAt, File: abs, Hub: res.Manifest.Hub, SecretOnly: o.SecretOnly})
}

// DefaultBackupName is the file name of a backup of pub made at t:
// <pub>-<UTC time>.tar.gz.
func DefaultBackupName(pub string, t time.Time) string {
	return pub + "-" + t.UTC().Format("20060102T150405Z") + ".tar.gz"
}

type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}
