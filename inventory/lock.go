package inventory

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"
)

// LockOptions say how to take the inventory lock.
type LockOptions struct {
	// Wait is how long to wait for a holder to let go; 0 fails at once.
	Wait time.Duration
	// Purpose says what the lock is for, for whoever finds it held: "buttctl apply".
	Purpose string
	// Name selects another lock of the same inventory: "" is the writers'
	// lock (<file>.lock) that Save takes; "watch" is <file>.watch.lock, to
	// keep one watcher per inventory without blocking writers. A name is
	// lowercase letters, digits and '-'.
	Name string
}

// lockFile is the lock file of the lock named name of file.
func lockFile(file, name string) (string, error) {
	if name == "" {
		return file + ".lock", nil
	}
	if !IsDNSLabel(name) {
		return "", fmt.Errorf("inventory lock name %q: use lowercase letters, digits and '-'", name)
	}
	return file + "." + name + ".lock", nil
}

// LockedError says who holds the inventory lock.
type LockedError struct {
	Path    string
	Name    string // the lock's name ("" for the writers' lock)
	PID     int
	Purpose string
	Since   time.Time
	Waited  time.Duration
}

func (e *LockedError) Error() string {
	var b strings.Builder
	if e.Name == "" {
		fmt.Fprintf(&b, "inventory %s is locked", e.Path)
	} else {
		fmt.Fprintf(&b, "inventory %s's %s lock is held", e.Path, e.Name)
	}
	if e.PID > 0 {
		fmt.Fprintf(&b, " by pid %d", e.PID)
	} else {
		b.WriteString(" by another process")
	}
	if e.Purpose != "" {
		fmt.Fprintf(&b, " (%s)", e.Purpose)
	}
	if !e.Since.IsZero() {
		fmt.Fprintf(&b, " since %s", e.Since.Format(time.RFC3339))
	}
	if e.Waited > 0 {
		fmt.Fprintf(&b, "; gave up after waiting %s", e.Waited.Round(time.Millisecond))
	}
	b.WriteString("; try again when it is done")
	return b.String()
}

// lockInfo is what the lock file holds while the lock is held.
type lockInfo struct {
	PID     int       `json:"pid"`
	Purpose string    `json:"purpose,omitempty"`
	Since   time.Time `json:"since"`
}

// held are the inventory locks this process holds, by file.
var held = struct {
	sync.Mutex
	m map[string]*procLock
}{m: map[string]*procLock{}}

// procLock lets one holder at a time in this process take a file's lock.
type procLock struct {
	sem  chan struct{}
	info lockInfo
	busy bool
}

func procLockFor(file string) *procLock {
	held.Lock()
	defer held.Unlock()
	l, ok := held.m[file]
	if !ok {
		l = &procLock{sem: make(chan struct{}, 1)}
		held.m[file] = l
	}
	return l
}

// heldHere reports whether this process holds the writers' lock of file.
func heldHere(file string) bool {
	held.Lock()
	defer held.Unlock()
	l, ok := held.m[file+".lock"]
	return ok && l.busy
}

// Holder says who holds the lock named name ("" for the writers' lock) of
// the inventory at path, as the *LockedError Lock would return, or nil when
// it is free. It takes nothing: by the time it returns, that may have changed.
// watch uses it to stand back while apply runs.
func Holder(path, name string) (*LockedError, error) {
	file, err := resolve(path)
	if err != nil {
		return nil, fmt.Errorf("inventory: %w", err)
	}
	lf, err := lockFile(file, name)
	if err != nil {
		return nil, err
	}
	held.Lock()
	if l, ok := held.m[lf]; ok && l.busy {
		info := l.info
		held.Unlock()
		return &LockedError{Path: path, Name: name, PID: info.PID, Purpose: info.Purpose, Since: info.Since}, nil
	}
	held.Unlock()
	f, err := os.Open(lf)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("inventory lock: %w", err)
	}
	defer f.Close()
	busy, err := probeLock(f)
	if err != nil || !busy {
		return nil, err
	}
	info := readLockInfo(f)
	return &LockedError{Path: path, Name: name, PID: info.PID, Purpose: info.Purpose, Since: info.Since}, nil
}

// Lock takes the lock that serialises writers of the inventory at path:
// <file>.lock, an flock(2) lock the kernel drops when its holder dies, so a
// crashed holder never wedges it. The lock file names the holder (pid,
// purpose, since) for the *LockedError the next one gets. With Wait > 0,
// Lock waits that long (or until ctx is done) for the holder to let go.
// Within one process, one caller at a time holds it too.
//
// apply holds it while it runs; Editor.Save takes it for its write unless
// this process holds it already. opts.Name takes another lock of the same
// inventory instead (watch: Name "watch", one watcher per inventory).
// Unlock is safe to call more than once.
func Lock(ctx context.Context, path string, opts LockOptions) (unlock func() error, err error) {
	file, err := resolve(path)
	if err != nil {
		return nil, fmt.Errorf("inventory: %w", err)
	}
	lf, err := lockFile(file, opts.Name)
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	parent := ctx
	start := time.Now()
	ctx, cancel := context.WithDeadline(ctx, start.Add(opts.Wait))
	defer cancel()
	locked := func(info lockInfo) error {
		if err := parent.Err(); err != nil {
			return fmt.Errorf("waiting for the lock of inventory %s: %w", path, err)
		}
		return &LockedError{Path: path, Name: opts.Name, PID: info.PID, Purpose: info.Purpose, Since: info.Since, Waited: time.Since(start)}
	}

	pl := procLockFor(lf)
	select {
	case pl.sem <- struct{}{}:
	default:
		select {
		case pl.sem <- struct{}{}:
		case <-ctx.Done():
			held.Lock()
			info := pl.info
			held.Unlock()
			return nil, locked(info)
		}
	}
	release := func() { <-pl.sem }

	f, err := os.OpenFile(lf, os.O_RDWR|os.O_CREATE, 0o644)
	if errors.Is(err, os.ErrPermission) {
		f, err = os.Open(lf)
	}
	if err != nil {
		release()
		return nil, fmt.Errorf("inventory lock: %w", err)
	}
	delay := 5 * time.Millisecond
	for {
		busy, err := tryLock(f)
		if err == nil && !busy {
			break
		}
		if err != nil {
			f.Close()
			release()
			return nil, fmt.Errorf("inventory lock %s: %w", lf, err)
		}
		hook("lock-busy")
		timer := time.NewTimer(delay)
		select {
		case <-timer.C:
			delay = min(delay*2, 200*time.Millisecond)
		case <-ctx.Done():
			timer.Stop()
			info := readLockInfo(f)
			f.Close()
			release()
			return nil, locked(info)
		}
	}
	info := lockInfo{PID: os.Getpid(), Purpose: opts.Purpose, Since: time.Now().UTC().Truncate(time.Second)}
	if b, err := json.Marshal(info); err == nil {
		_ = f.Truncate(0)
		_, _ = f.WriteAt(append(b, '\n'), 0)
	}
	held.Lock()
	pl.info, pl.busy = info, true
	held.Unlock()

	var once sync.Once
	return func() error {
		var err error
		once.Do(func() {
			held.Lock()
			pl.info, pl.busy = lockInfo{}, false
			held.Unlock()
			_ = f.Truncate(0)
			err = unlockFile(f)
			if cerr := f.Close(); err == nil {
				err = cerr
			}
			release()
		})
		return err
	}, nil
}

// readLockInfo reads who holds the lock (zero if it cannot tell).
func readLockInfo(f *os.File) lockInfo {
	var info lockInfo
	buf := make([]byte, 512)
	n, _ := f.ReadAt(buf, 0)
	_ = json.Unmarshal(buf[:n], &info)
	return info
}

// Update locks the inventory at path, opens it for editing, lets edit change
// it and saves the result: the read-modify-write every one-shot command that
// changes the inventory needs. Nothing is written if edit fails.
func Update(ctx context.Context, path string, opts LockOptions, edit func(*Editor) error) error {
	unlock, err := Lock(ctx, path, opts)
	if err != nil {
		return err
	}
	defer unlock()
	e, err := Edit(path)
	if err != nil {
		return err
	}
	e.Purpose = opts.Purpose
	if err := edit(e); err != nil {
		return err
	}
	return e.Save()
}
