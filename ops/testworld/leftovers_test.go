package testworld

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/moby/moby/client"
)

// helperEnv makes the test binary, run as a child process by
// TestWorldOfAKilledProcessIsStopped, start a world and wait to be killed.
const helperEnv = "TESTWORLD_HELPER_START"

func TestMain(m *testing.M) {
	if os.Getenv(helperEnv) == "1" {
		w, err := Start(context.Background(), Options{Hubs: 1, Images: []string{}})
		if err != nil {
			fmt.Println("ERROR", err)
			os.Exit(1)
		}
		fmt.Println("STATE", filepath.Join(w.Dir, stateFile))
		select {} // until killed
	}
	os.Exit(m.Run())
}

// TestWorldOfAKilledProcessIsStopped starts a world in a child process,
// kills that process with SIGKILL (no cleanup can run in it) and checks that
// the world's reaper removes the hub container, network and directory.
func TestWorldOfAKilledProcessIsStopped(t *testing.T) {
	skipWithoutDocker(t)
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), helperEnv+"=1")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var statePath string
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		line := sc.Text()
		if p, ok := strings.CutPrefix(line, "STATE "); ok {
			statePath = p
			break
		}
		if strings.HasPrefix(line, "ERROR") {
			t.Fatal(line)
		}
	}
	if statePath == "" {
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatal("the helper did not start a world")
	}
	s, err := LoadState(statePath)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { StopState(context.Background(), s) }) // in case the reaper fails
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
	waitWorldGone(t, s)
}

// TestCleanLeftoversStopsWorldsOfEndedProcesses records a dead owner for a
// running world and checks that CleanLeftovers stops it, and that it leaves
// worlds of live owners alone.
func TestCleanLeftoversStopsWorldsOfEndedProcesses(t *testing.T) {
	skipWithoutDocker(t)
	ctx := context.Background()
	live, err := Start(ctx, Options{Hubs: 1, Images: []string{}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { live.Stop(ctx) })
	dead, err := Start(ctx, Options{Hubs: 1, Images: []string{}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { dead.Stop(ctx) })

	ended := exec.Command("true")
	if err := ended.Run(); err != nil {
		t.Fatal(err)
	}
	dead.Owner = &Owner{PID: ended.Process.Pid, StartTime: 1}
	if err := dead.save(); err != nil {
		t.Fatal(err)
	}
	stopped, err := CleanLeftovers(ctx)
	if err != nil {
		t.Logf("CleanLeftovers reported (other worlds may be concerned): %v", err)
	}
	if !contains(stopped, dead.ID) || contains(stopped, live.ID) {
		t.Fatalf("stopped %v: want %s and not %s", stopped, dead.ID, live.ID)
	}
	waitWorldGone(t, &dead.State)
	if err := live.Hubs[0].SSHUp(ctx); err != nil {
		t.Fatalf("the live world's hub: %v", err)
	}
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// waitWorldGone waits until the world's hub containers, network and
// directory are gone.
func waitWorldGone(t *testing.T, s *State) {
	t.Helper()
	docker, err := LocalDocker()
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	err = poll(ctx, 2*time.Minute, func() error {
		for _, h := range s.Hubs {
			if _, err := docker.ContainerInspect(ctx, h.ContainerID, client.ContainerInspectOptions{}); err == nil {
				return fmt.Errorf("hub container %s still exists", h.Container)
			}
		}
		if _, err := docker.NetworkInspect(ctx, s.Network.ID, client.NetworkInspectOptions{}); err == nil {
			return fmt.Errorf("network %s still exists", s.Network.Name)
		}
		if _, err := os.Stat(s.Dir); err == nil {
			return fmt.Errorf("directory %s still exists", s.Dir)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("world %s: %v", s.ID, err)
	}
}
