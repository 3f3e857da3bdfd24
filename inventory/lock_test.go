package inventory

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

func lockFixture(t *testing.T) string {
	t.Helper()
	return writeInv(t, "version: 1\nhubs: [{name: local, local: true}]\npubs: []\n", 0o644)
}

// TestLockHeldByAnotherProcess: a second process holding the lock makes Lock
// fail at once, naming that process; waiting Lock gets it when it lets go.
func TestLockHeldByAnotherProcess(t *testing.T) {
	p := lockFixture(t)
	h := startHelper(t, "locker", p)
	pid, _ := strconv.Atoi(strings.TrimPrefix(h.expect(t, "locked "), "locked "))
	if pid != h.cmd.Process.Pid {
		t.Fatalf("helper says pid %d, is %d", pid, h.cmd.Process.Pid)
	}

	_, err := Lock(context.Background(), p, LockOptions{Purpose: "test"})
	var le *LockedError
	if !errors.As(err, &le) || le.PID != pid || le.Purpose != "test locker" || le.Since.IsZero() {
		t.Fatalf("Lock = %v, want a LockedError naming pid %d", err, pid)
	}
	want := fmt.Sprintf("inventory %s is locked by pid %d (test locker) since ", p, pid)
	if !strings.HasPrefix(err.Error(), want) {
		t.Errorf("message:\n%s\nwant prefix:\n%s", err, want)
	}

	// An editor's Save waits for the lock too, and gives up naming the holder.
	e, err := Edit(p)
	must(t, err)
	e.LockWait = 0
	must(t, e.AddPub(Pub{Name: "x"}))
	if err := e.Save(); !errors.As(err, &le) || le.PID != pid {
		t.Errorf("Save under another's lock = %v", err)
	}

	// Wait: the holder lets go while we wait.
	got := make(chan error, 1)
	go func() {
		unlock, err := Lock(context.Background(), p, LockOptions{Wait: time.Minute, Purpose: "waiter"})
		if err == nil {
			err = unlock()
		}
		got <- err
	}()
	h.stdin.Close()
	if err := <-got; err != nil {
		t.Errorf("waiting Lock: %v", err)
	}
	must(t, h.cmd.Wait())
}

// TestLockWaiterInAnotherProcess: a process that finds the lock busy waits
// (it says so), and gets the lock once this one lets go.
func TestLockWaiterInAnotherProcess(t *testing.T) {
	p := lockFixture(t)
	unlock, err := Lock(context.Background(), p, LockOptions{Purpose: "parent"})
	must(t, err)
	h := startHelper(t, "trylock", p, "HELPER_WAIT=1m")
	h.expect(t, "lock-busy")
	must(t, unlock())
	h.expect(t, "locked ")
	must(t, h.cmd.Wait())

	// Without waiting, it fails and names this process.
	unlock, err = Lock(context.Background(), p, LockOptions{Purpose: "parent"})
	must(t, err)
	defer unlock()
	h = startHelper(t, "trylock", p, "HELPER_WAIT=0s")
	line := h.expect(t, "error ")
	if want := fmt.Sprintf("is locked by pid %d (parent) since", os.Getpid()); !strings.Contains(line, want) {
		t.Errorf("helper said %q, want %q", line, want)
	}
	if err := h.cmd.Wait(); err == nil {
		t.Error("helper should exit non-zero")
	}
}

// TestLockDeadHolder: a holder killed with SIGKILL never wedges the lock.
func TestLockDeadHolder(t *testing.T) {
	p := lockFixture(t)
	h := startHelper(t, "locker", p)
	h.expect(t, "locked ")
	h.kill(t)
	unlock, err := Lock(context.Background(), p, LockOptions{})
	if err != nil {
		t.Fatalf("lock of a killed holder: %v", err)
	}
	must(t, unlock())
	must(t, unlock()) // twice is harmless
}

func TestLockWithinOneProcess(t *testing.T) {
	p := lockFixture(t)
	unlock, err := Lock(context.Background(), p, LockOptions{Purpose: "first"})
	must(t, err)
	_, err = Lock(context.Background(), p, LockOptions{Wait: 20 * time.Millisecond})
	var le *LockedError
	if !errors.As(err, &le) || le.PID != os.Getpid() || le.Purpose != "first" || !strings.Contains(err.Error(), "gave up after waiting") {
		t.Errorf("second Lock = %v", err)
	}
	// The holder may save: Save does not take the lock again.
	e, err := Edit(p)
	must(t, err)
	e.LockWait = 0
	must(t, e.AddPub(Pub{Name: "x"}))
	must(t, e.Save())

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Lock(ctx, p, LockOptions{Wait: time.Minute}); !errors.Is(err, context.Canceled) {
		t.Errorf("Lock with a cancelled context = %v", err)
	}

	got := make(chan error, 1)
	go func() {
		u, err := Lock(context.Background(), p, LockOptions{Wait: time.Minute})
		if err == nil {
			err = u()
		}
		got <- err
	}()
	must(t, unlock())
	if err := <-got; err != nil {
		t.Errorf("waiting Lock in the same process: %v", err)
	}
}

func TestLockFileNamesHolder(t *testing.T) {
	p := lockFixture(t)
	unlock, err := Lock(context.Background(), p, LockOptions{Purpose: "buttctl apply"})
	must(t, err)
	b, _ := os.ReadFile(p + ".lock")
	if !strings.Contains(string(b), fmt.Sprintf(`"pid":%d`, os.Getpid())) || !strings.Contains(string(b), `"purpose":"buttctl apply"`) {
		t.Errorf("lock file holds %s", b)
	}
	must(t, unlock())
	if b, _ := os.ReadFile(p + ".lock"); len(b) != 0 {
		t.Errorf("lock file after unlock holds %s", b)
	}
}

// TestConcurrentWritersLoseNothing: two processes and this one add pubs to
// the same inventory at the same time, each through Update (lock, edit,
// save); every pub must be there at the end.
func TestConcurrentWritersLoseNothing(t *testing.T) {
	p := lockFixture(t)
	const n = 15
	h1 := startHelper(t, "adder", p, "HELPER_N="+itoa(n), "HELPER_PREFIX=one")
	h2 := startHelper(t, "adder", p, "HELPER_N="+itoa(n), "HELPER_PREFIX=two")
	for i := range n {
		must(t, Update(context.Background(), p, LockOptions{Wait: time.Minute}, func(e *Editor) error {
			return e.AddPub(Pub{Name: "three-" + itoa(i)})
		}))
	}
	h1.expect(t, "done")
	h2.expect(t, "done")
	must(t, h1.cmd.Wait())
	must(t, h2.cmd.Wait())
	inv := mustLoad(t, p)
	if len(inv.Pubs) != 3*n {
		t.Fatalf("%d pubs, want %d", len(inv.Pubs), 3*n)
	}
	for _, prefix := range []string{"one", "two", "three"} {
		for i := range n {
			if _, ok := inv.Pub(prefix + "-" + itoa(i)); !ok {
				t.Errorf("pub %s-%d lost", prefix, i)
			}
		}
	}
	if entries, _ := filepath.Glob(filepath.Join(filepath.Dir(p), ".*"+tempMarker+"*")); len(entries) != 0 {
		t.Errorf("temporary files left: %v", entries)
	}
}

// TestNamedLocksAndHolder: a named lock (one watcher per inventory) is apart
// from the writers' lock, and Holder tells who holds either without taking it.
func TestNamedLocksAndHolder(t *testing.T) {
	p := lockFixture(t)
	if h, err := Holder(p, "watch"); h != nil || err != nil {
		t.Fatalf("Holder of a lock never taken = %v, %v", h, err)
	}
	h := startHelper(t, "locker", p, "HELPER_LOCK_NAME=watch")
	pid, _ := strconv.Atoi(strings.TrimPrefix(h.expect(t, "locked "), "locked "))

	le, err := Holder(p, "watch")
	if err != nil || le == nil || le.PID != pid || le.Purpose != "test locker" {
		t.Fatalf("Holder(watch) = %v, %v; want pid %d", le, err, pid)
	}
	if le, err := Holder(p, ""); le != nil || err != nil {
		t.Errorf("the writers' lock is free, Holder says %v, %v", le, err)
	}
	_, err = Lock(context.Background(), p, LockOptions{Name: "watch"})
	if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("inventory %s's watch lock is held by pid %d (test locker)", p, pid)) {
		t.Errorf("second watcher: %v", err)
	}
	// Writers are not blocked by a watcher.
	must(t, Update(context.Background(), p, LockOptions{}, func(e *Editor) error { return e.AddPub(Pub{Name: "w"}) }))

	unlock, err := Lock(context.Background(), p, LockOptions{Purpose: "buttctl apply"})
	must(t, err)
	if le, _ := Holder(p, ""); le == nil || le.PID != os.Getpid() || le.Purpose != "buttctl apply" {
		t.Errorf("Holder of our own lock = %v", le)
	}
	must(t, unlock())
	if le, _ := Holder(p, ""); le != nil {
		t.Errorf("Holder after unlock = %v", le)
	}
	if _, err := Lock(context.Background(), p, LockOptions{Name: "../x"}); err == nil {
		t.Error("a lock name with a path in it was accepted")
	}
	h.stdin.Close()
	must(t, h.cmd.Wait())
	if le, _ := Holder(p, "watch"); le != nil {
		t.Errorf("Holder after the watcher left = %v", le)
	}
}
