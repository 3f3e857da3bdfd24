package watch

import (
	"context"
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// event is an inotify event as the kernel writes it: the header, then the
// name NUL-padded to padded bytes.
func event(name string, padded int) []byte {
	b := make([]byte, unix.SizeofInotifyEvent+padded)
	binary.NativeEndian.PutUint32(b[12:], uint32(padded)) // Len, after Wd, Mask, Cookie
	copy(b[unix.SizeofInotifyEvent:], name)
	return b
}

func TestNamesFile(t *testing.T) {
	other, mine := event("buttctl.yaml.lock", 32), event("buttctl.yaml", 16)
	both := append(append([]byte{}, other...), mine...)
	for _, c := range []struct {
		events []byte
		want   bool
	}{
		{mine, true}, {other, false}, {both, true}, {event("buttctl.yaml.tmp", 16), false},
		{both[:len(both)-4], false}, // cut short: not read past the end
	} {
		if got := namesFile(c.events, "buttctl.yaml"); got != c.want {
			t.Errorf("%q: %v, want %v", c.events, got, c.want)
		}
	}
}

// An atomic save (a rename onto the file) and an in-place write are told;
// the channel closes with ctx.
func TestFileChanges(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "buttctl.yaml")
	if err := os.WriteFile(path, []byte("version: 1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	changes, err := fileChanges(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	next := func(what string) {
		t.Helper()
		select {
		case <-changes:
		case <-time.After(10 * time.Second):
			t.Fatalf("%s was not told", what)
		}
	}
	tmp := filepath.Join(dir, ".buttctl.yaml.tmp")
	if err := os.WriteFile(tmp, []byte("version: 1\nhubs: []\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
	next("a rename onto the file")
	if err := os.WriteFile(path, []byte("version: 1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	next("a write of the file")
	cancel()
	select {
	case _, open := <-changes:
		for open {
			_, open = <-changes
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the channel did not close with ctx")
	}
}
