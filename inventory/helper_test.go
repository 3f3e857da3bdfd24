package inventory

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The tests below run this test binary again as a second process (a writer
// to kill, a lock holder) by setting helperEnv; TestMain dispatches.
const helperEnv = "BUTTCTL_INVENTORY_TEST_HELPER"

func TestMain(m *testing.M) {
	if mode := os.Getenv(helperEnv); mode != "" {
		os.Exit(runHelper(mode, os.Getenv("HELPER_PATH")))
	}
	os.Exit(m.Run())
}

// helper is a running second process.
type helper struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	out   *bufio.Scanner
}

func startHelper(t *testing.T, mode, path string, env ...string) *helper {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), append([]string{helperEnv + "=" + mode, "HELPER_PATH=" + path}, env...)...)
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	h := &helper{cmd: cmd, stdin: stdin, out: bufio.NewScanner(stdout)}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			cmd.Wait()
		}
	})
	return h
}

// expect reads lines until one starts with prefix, and returns it.
func (h *helper) expect(t *testing.T, prefix string) string {
	t.Helper()
	for h.out.Scan() {
		if strings.HasPrefix(h.out.Text(), prefix) {
			return h.out.Text()
		}
	}
	t.Fatalf("helper ended before printing %q (%v)", prefix, h.out.Err())
	return ""
}

func (h *helper) kill(t *testing.T) {
	t.Helper()
	if err := h.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	h.cmd.Wait()
}

func runHelper(mode, path string) int {
	switch mode {
	case "saver":
		return saver(path)
	case "locker":
		unlock, err := Lock(context.Background(), path, LockOptions{Purpose: "test locker", Name: os.Getenv("HELPER_LOCK_NAME")})
		if err != nil {
			fmt.Println("error", err)
			return 1
		}
		fmt.Println("locked", os.Getpid())
		io.Copy(io.Discard, os.Stdin) // hold until the parent closes stdin
		unlock()
		return 0
	case "trylock":
		wait, _ := time.ParseDuration(os.Getenv("HELPER_WAIT"))
		saveHook = func(step string) { fmt.Println(step) }
		unlock, err := Lock(context.Background(), path, LockOptions{Wait: wait, Purpose: "test trylock"})
		if err != nil {
			fmt.Println("error", err)
			return 1
		}
		fmt.Println("locked", os.Getpid())
		unlock()
		return 0
	case "adder":
		n, _ := strconv.Atoi(os.Getenv("HELPER_N"))
		prefix := os.Getenv("HELPER_PREFIX")
		for i := range n {
			err := Update(context.Background(), path, LockOptions{Wait: time.Minute, Purpose: "test adder"}, func(e *Editor) error {
				return e.AddPub(Pub{Name: fmt.Sprintf("%s-%d", prefix, i)})
			})
			if err != nil {
				fmt.Println("error", err)
				return 1
			}
		}
		fmt.Println("done")
		return 0
	}
	fmt.Println("unknown helper mode", mode)
	return 2
}

// saver edits and saves the inventory forever, printing each step of each
// save. With HELPER_BLOCK_AT=step#n it stops at the n-th time it reaches
// step and waits there to be killed.
func saver(path string) int {
	blockStep, nth, _ := strings.Cut(os.Getenv("HELPER_BLOCK_AT"), "#")
	blockAt, _ := strconv.Atoi(nth)
	seen := 0
	saveHook = func(step string) {
		fmt.Println(step)
		if step == blockStep {
			if seen++; seen == blockAt {
				fmt.Println("blocked")
				io.Copy(io.Discard, os.Stdin)
				os.Exit(3)
			}
		}
	}
	for i := 0; ; i++ {
		e, err := Edit(path)
		if err != nil {
			fmt.Println("error", err)
			return 1
		}
		state := StateRunning
		if i%2 == 0 {
			state = StateStopped
		}
		if err := e.SetPubState("a", state); err != nil {
			fmt.Println("error", err)
			return 1
		}
		if _, ok := e.Inventory().Pub("b"); ok {
			err = e.RemovePub("b")
		} else {
			err = e.AddPub(Pub{Name: "b", Hub: "local", Port: 9000 + i%100})
		}
		if err == nil {
			err = e.Save()
		}
		if err != nil {
			fmt.Println("error", err)
			return 1
		}
		fmt.Println("saved", i)
	}
}
