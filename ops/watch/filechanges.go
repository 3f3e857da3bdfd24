package watch

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"unsafe"

	"golang.org/x/sys/unix"
)

// fileChanges tells, on the channel it returns, that the file at path was
// changed: written and closed, or replaced by a rename onto it (an atomic
// save, as buttctl's own edits are), as inotify reports them on the file's
// directory (a replaced file cannot be watched itself). Nothing polls. A
// burst of changes is one pending value; the channel is closed when ctx is
// done. Where inotify cannot watch the directory, the error says why.
func fileChanges(ctx context.Context, path string) (<-chan struct{}, error) {
	if real, err := filepath.EvalSymlinks(path); err == nil {
		path = real
	}
	dir, name := filepath.Dir(path), filepath.Base(path)
	fd, err := unix.InotifyInit1(unix.IN_CLOEXEC | unix.IN_NONBLOCK)
	if err != nil {
		return nil, fmt.Errorf("inotify: %w", err)
	}
	if _, err := unix.InotifyAddWatch(fd, dir, unix.IN_CLOSE_WRITE|unix.IN_MOVED_TO); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("inotify on %s: %w", dir, err)
	}
	// Non-blocking, so that reads wait in the runtime's poller and Close
	// ends them.
	f := os.NewFile(uintptr(fd), "inotify "+dir)
	out := make(chan struct{}, 1)
	go func() {
		<-ctx.Done()
		f.Close()
	}()
	go func() {
		defer close(out)
		buf := make([]byte, 64*(unix.SizeofInotifyEvent+unix.NAME_MAX+1))
		for {
			n, err := f.Read(buf)
			if err != nil {
				return
			}
			if namesFile(buf[:n], name) {
				select {
				case out <- struct{}{}:
				default: // one is pending already
				}
			}
		}
	}()
	return out, nil
}

// namesFile reports whether a read of inotify events has one about name.
func namesFile(events []byte, name string) bool {
	for len(events) >= unix.SizeofInotifyEvent {
		ev := (*unix.InotifyEvent)(unsafe.Pointer(&events[0]))
		end := unix.SizeofInotifyEvent + int(ev.Len)
		if end > len(events) {
			return false
		}
		if string(bytes.TrimRight(events[unix.SizeofInotifyEvent:end], "\x00")) == name {
			return true
		}
		events = events[end:]
	}
	return false
}
