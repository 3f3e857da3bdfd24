package testworld

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"
)

// A world owned by a test process has a reaper: a child process (the test
// binary again, caught by init below) that waits for the end of a pipe the
// owner holds open. When the owner exits, however it exits (test timeout,
// panic, SIGKILL), the pipe closes and the reaper stops the world from its
// state file. World.Stop closes the pipe after stopping, and the reaper,
// finding no state, exits.
const reaperEnv = "BUTTCTL_TESTWORLD_REAPER"

func init() {
	if path := os.Getenv(reaperEnv); path != "" {
		os.Exit(reap(path))
	}
}

func (w *World) startReaper() error {
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	r, wr, err := os.Pipe()
	if err != nil {
		return err
	}
	defer r.Close()
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), reaperEnv+"="+filepath.Join(w.Dir, stateFile))
	cmd.ExtraFiles = []*os.File{r}
	// Inheriting stderr keeps `go test` waiting until the reaper is done
	// (for at most its WaitDelay, a minute with the default timeout: reap
	// gives up before).
	cmd.Stderr = os.Stderr
	// Its own process group: ^C to the test run reaches the owner, not the reaper.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		wr.Close()
		return err
	}
	go cmd.Wait()
	w.reaper = wr
	return nil
}

func reap(statePath string) int {
	os.Unsetenv(reaperEnv)
	signal.Ignore(syscall.SIGINT, syscall.SIGHUP)
	io.Copy(io.Discard, os.NewFile(3, "owner")) // returns when the owner is gone
	s, err := LoadState(statePath)
	if errors.Is(err, os.ErrNotExist) {
		return 0 // stopped by its owner
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "testworld reaper: %v\n", err)
		return 1
	}
	ctx, cancel := context.WithTimeout(context.Background(), 45*time.Second)
	defer cancel()
	if err := StopState(ctx, s); err != nil {
		fmt.Fprintf(os.Stderr, "testworld reaper: stopping world %s left by its test process: %v (make clean-world retries)\n", s.ID, err)
		return 1
	}
	return 0
}
