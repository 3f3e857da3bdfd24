package testworld

import (
	"context"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"
)

// Environment variables read by ForTest and Private.
const (
	// EnvSkipDocker=1 skips tests that need Docker (CI never sets it).
	EnvSkipDocker = "BUTTCTL_SKIP_DOCKER"
	// EnvWorld is the state file of a world started by `world up` (make test
	// starts one); ForTest then uses it instead of starting its own.
	EnvWorld = "BUTTCTL_TEST_WORLD"
)

// startTimeout bounds a world's start in tests (a first build included).
const startTimeout = 10 * time.Minute

var process struct {
	sync.Mutex
	worlds []*World
}

// ForTest returns a world of at least n hubs shared with other tests:
// the one named by $BUTTCTL_TEST_WORLD when set (make test), else one
// started by the first ForTest of this test process and reused by the next
// ones, stopped when the process exits (see reaper.go). Tests sharing a world
// must name their pubs with UniqueName and take ports from AllocPort, and
// may not break hubs: PowerOff, CutNetwork, StopEngine, KillSSHD fail on a
// shared world; use Private for those.
//
// It skips the test only when BUTTCTL_SKIP_DOCKER=1; without Docker it fails.
func ForTest(t testing.TB, n int) *World {
	t.Helper()
	skipWithoutDocker(t)
	if path := os.Getenv(EnvWorld); path != "" {
		w, err := Attach(path)
		if err != nil {
			t.Fatalf("testworld: %s=%s: %v (unset it to start a world of this test process)", EnvWorld, path, err)
		}
		if len(w.Hubs) < n {
			t.Fatalf("testworld: the world in %s has %d hubs, this test needs %d: start it with more (world up --hubs %d)", path, len(w.Hubs), n, n)
		}
		return w
	}
	process.Lock()
	defer process.Unlock()
	for _, w := range process.worlds {
		if len(w.Hubs) >= n {
			return w
		}
	}
	w := start(t, n)
	w.shared = true
	process.worlds = append(process.worlds, w)
	return w
}

// Private starts a world of n hubs for this test alone (it may power hubs
// off, cut networks, kill engines) and stops it when the test ends.
func Private(t testing.TB, n int) *World {
	t.Helper()
	skipWithoutDocker(t)
	w := start(t, n)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		if err := w.Stop(ctx); err != nil {
			t.Errorf("testworld: stopping world %s: %v", w.ID, err)
		}
	})
	return w
}

func start(t testing.TB, n int) *World {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	w, err := Start(ctx, Options{Hubs: n, Logf: t.Logf})
	if err != nil {
		t.Fatalf("testworld: starting a world of %d hubs: %v", n, err)
	}
	return w
}

func skipWithoutDocker(t testing.TB) {
	t.Helper()
	if os.Getenv(EnvSkipDocker) == "1" {
		t.Skip(EnvSkipDocker + "=1: this test needs Docker")
	}
}

// Attach returns the running world recorded in a state file, as a shared
// world: its users do not stop it, and destructive hub actions fail.
func Attach(statePath string) (*World, error) {
	s, err := LoadState(statePath)
	if err != nil {
		return nil, err
	}
	w, err := fromState(s)
	if err != nil {
		return nil, err
	}
	w.shared = true
	return w, nil
}

// Own returns the world recorded in a state file with full control (the
// `world` command uses it to stop or break a world it started).
func Own(statePath string) (*World, error) {
	s, err := LoadState(statePath)
	if err != nil {
		return nil, err
	}
	return fromState(s)
}

func fromState(s *State) (*World, error) {
	docker, err := LocalDocker()
	if err != nil {
		return nil, err
	}
	w := &World{State: *s, InventoryPath: s.Inventory, docker: docker, logf: func(string, ...any) {}}
	for _, hs := range s.Hubs {
		w.Hubs = append(w.Hubs, &Hub{HubState: hs, world: w})
	}
	if len(w.Hubs) == 0 {
		return nil, fmt.Errorf("world %s has no hubs", s.ID)
	}
	return w, nil
}
