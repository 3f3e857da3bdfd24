package inventory

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
)

// ErrChanged is returned by Save when the file changed on disk since the
// Editor read it: someone else (an editor, another tool) wrote it in between.
var ErrChanged = errors.New("changed on disk since it was read")

// saveHook, when set (tests), is called at each step of a save.
var saveHook func(step string)

func hook(step string) {
	if saveHook != nil {
		saveHook(step)
	}
}

// writers serialises saves within this process, per file.
var writers sync.Map // file → *sync.Mutex

// Save validates the edited inventory and writes it: nothing is written if it
// is invalid (the *Errors says why, at positions in the edited text) or if the
// file changed on disk since it was read (ErrChanged). The write is atomic: a
// temporary file in the same directory is written, synced and renamed over
// the inventory, and the directory synced; the previous content is kept as
// <file>.bak and the file's mode is kept. Save takes the inventory lock for
// the write unless this process already holds it (see Lock).
func (e *Editor) Save() error {
	if _, err := Parse(e.path, e.text); err != nil {
		var errs *Errors
		if errors.As(err, &errs) {
			return &EditError{Path: e.path, Errs: errs}
		}
		return err
	}
	if bytes.Equal(e.text, e.orig) {
		return nil
	}
	mu, _ := writers.LoadOrStore(e.file, &sync.Mutex{})
	mu.(*sync.Mutex).Lock()
	defer mu.(*sync.Mutex).Unlock()
	if !heldHere(e.file) {
		unlock, err := Lock(context.Background(), e.path, LockOptions{Wait: e.LockWait, Purpose: e.Purpose})
		if err != nil {
			return err
		}
		defer unlock()
	}
	current, err := readLimited(e.file)
	if err != nil {
		return fmt.Errorf("inventory: %w", err)
	}
	if !bytes.Equal(current, e.orig) {
		return fmt.Errorf("inventory %s %w (by an editor or another program); nothing written: run the command again", e.path, ErrChanged)
	}
	removeStaleTemps(e.file)
	if err := writeAtomic(e.file+".bak", e.orig, e.mode); err != nil {
		return fmt.Errorf("inventory: keeping the previous version: %w", err)
	}
	hook("bak-written")
	if err := writeAtomic(e.file, e.text, e.mode); err != nil {
		return fmt.Errorf("inventory: %w", err)
	}
	e.orig = e.text
	return nil
}

// EditError is an edit refused because the inventory would be invalid.
type EditError struct {
	Path string
	Errs *Errors
}

func (e *EditError) Error() string {
	return fmt.Sprintf("inventory %s: edit refused, nothing written; the result would be invalid:\n%s", e.Path, e.Errs)
}

func (e *EditError) Unwrap() error { return e.Errs }

const tempMarker = ".tmp-"

// writeAtomic replaces file with data: temporary file in the same directory,
// fsync, rename, fsync of the directory.
func writeAtomic(file string, data []byte, mode fs.FileMode) error {
	dir, base := filepath.Split(file)
	if dir == "" {
		dir = "."
	}
	tmp, err := os.CreateTemp(dir, "."+base+tempMarker+"*")
	if err != nil {
		return err
	}
	hook("temp-created")
	done := false
	defer func() {
		if !done {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if err := tmp.Chmod(mode); err != nil {
		return err
	}
	half := len(data) / 2
	if _, err := tmp.Write(data[:half]); err != nil {
		return err
	}
	hook("temp-half-written")
	if _, err := tmp.Write(data[half:]); err != nil {
		return err
	}
	if err := tmp.Sync(); err != nil {
		return err
	}
	hook("temp-synced")
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), file); err != nil {
		return err
	}
	done = true
	hook("renamed")
	return syncDir(dir)
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !errors.Is(err, syscall.EINVAL) {
		return err
	}
	return nil
}

// removeStaleTemps removes temporary files a killed save left behind. The
// caller holds the lock, so no other save is writing one.
func removeStaleTemps(file string) {
	dir, base := filepath.Split(file)
	if dir == "" {
		dir = "."
	}
	for _, t := range []string{base, base + ".bak"} {
		matches, _ := filepath.Glob(filepath.Join(dir, "."+globEscape(t)+tempMarker+"*"))
		for _, m := range matches {
			os.Remove(m)
		}
	}
}

func globEscape(s string) string {
	return strings.NewReplacer(`\`, `\\`, "*", `\*`, "?", `\?`, "[", `\[`).Replace(s)
}

// existsError is Create's refusal to overwrite; it matches fs.ErrExist.
type existsError struct{ path string }

func (e *existsError) Error() string {
	return fmt.Sprintf("inventory %s already exists; buttctl never overwrites one: edit it, or move it away first", e.path)
}

func (e *existsError) Is(target error) bool { return target == fs.ErrExist }

// Create writes a new inventory file with data, which must be a valid
// inventory, and never overwrites one: if path exists it fails with an error
// wrapping fs.ErrExist. The directory is created if needed. The file appears
// whole or not at all, and the temporary files of a Create killed before it
// finished are removed.
func Create(path string, data []byte) error {
	if _, err := Parse(path, data); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("inventory: %w", err)
	}
	exists := func() error { return &existsError{path: path} }
	if _, err := os.Lstat(path); err == nil {
		return exists()
	}
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	if unlock, err := lockDir(dir); err == nil {
		defer unlock()
		removeStaleTemps(path)
	}
	tmp, err := os.CreateTemp(dir, "."+base+tempMarker+"*")
	if err != nil {
		return fmt.Errorf("inventory: %w", err)
	}
	defer os.Remove(tmp.Name())
	err = tmp.Chmod(0o644)
	if err == nil {
		_, err = tmp.Write(data)
	}
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("inventory: %w", err)
	}
	// A hard link is an atomic create-if-absent: it fails if path exists.
	if err := os.Link(tmp.Name(), path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return exists()
		}
		return createExclusive(path, data)
	}
	return syncDir(dir)
}

// lockDir makes the Creates of files in dir take turns, with an flock of
// the directory itself (which leaves no file behind), so that one may remove
// the temporary files a killed one left. A Save may not run meanwhile: it
// needs the file that Create finds missing.
func lockDir(dir string) (unlock func(), err error) {
	d, err := os.Open(dir)
	if err != nil {
		return nil, err
	}
	if err := lockWait(d); err != nil {
		d.Close()
		return nil, err
	}
	return func() {
		_ = unlockFile(d)
		d.Close()
	}, nil
}

// createExclusive is Create on file systems without hard links.
func createExclusive(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		if errors.Is(err, fs.ErrExist) {
			return &existsError{path: path}
		}
		return fmt.Errorf("inventory: %w", err)
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
		return fmt.Errorf("inventory: %w", err)
	}
	return nil
}
