package hubs_test

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/buttctl/buttctl/ops/hubconn"
	"github.com/buttctl/buttctl/ops/hubconn/hubconntest"
	"github.com/buttctl/buttctl/ops/hubs"
)

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}

func TestExecClassifiesLikeAnsible(t *testing.T) {
	fleet := hubconntest.Fleet(t, "hub", 3)
	ip, port := hubconntest.Unreachable(t)
	inv := hubconntest.Inventory(t,
		hubconntest.Hub{Name: "hub-1", Server: fleet[0]},
		hubconntest.Hub{Name: "hub-2", Server: fleet[1]},
		hubconntest.Hub{Name: "hub-3", Server: fleet[2]},
		hubconntest.Hub{Name: "hub-down", Address: ip, Port: port},
		hubconntest.Hub{Name: "local", Local: true},
	)
	conns := hubconn.New(inv, hubconntest.Options())
	defer conns.Close()

	var mu sync.Mutex
	var lines []string
	// Two lines, the second without a newline.
	argv := []string{"sh", "-c", "echo one; printf two"}
	res := hubs.Exec(ctxT(t), conns, []string{"hub-1", "hub-down", "local"}, argv, hubs.ExecOptions{
		Parallel: 2,
		OnLine: func(hub string, s hubs.Stream, line string) {
			mu.Lock()
			lines = append(lines, hub+" "+string(s)+" "+line)
			mu.Unlock()
		},
	})
	if len(res) != 3 || res[0].Hub != "hub-1" || res[1].Hub != "hub-down" || res[2].Hub != "local" {
		t.Fatalf("results out of order: %+v", res)
	}
	if res[0].Status != hubs.StatusOK || *res[0].Exit != 0 || res[0].Stdout != "one\ntwo" {
		t.Errorf("hub-1: %+v", res[0])
	}
	if res[1].Status != hubs.StatusUnreachable || res[1].Exit != nil || !strings.Contains(res[1].Error, "hub-down: ssh: ") {
		t.Errorf("hub-down: %+v", res[1])
	}
	if res[2].Status != hubs.StatusOK || res[2].Stdout != "one\ntwo" {
		t.Errorf("local: %+v", res[2])
	}
	slices.Sort(lines)
	want := []string{"hub-1 stdout one", "hub-1 stdout two", "local stdout one", "local stdout two"}
	if !slices.Equal(lines, want) {
		t.Errorf("lines = %q, want %q", lines, want)
	}

	res = hubs.Exec(ctxT(t), conns, []string{"hub-2", "hub-3"}, []string{"sh", "-c", "echo oops >&2; exit 3"}, hubs.ExecOptions{})
	for _, r := range res {
		if r.Status != hubs.StatusFailed || r.Exit == nil || *r.Exit != 3 || r.Stderr != "oops\n" {
			t.Errorf("%s: %+v", r.Hub, r)
		}
	}
	err := hubs.Outcome(append(res, hubs.ExecResult{Hub: "hub-down", Status: hubs.StatusUnreachable}, hubs.ExecResult{Hub: "hub-1", Status: hubs.StatusOK}))
	var fe *hubs.FanOutError
	if !errors.As(err, &fe) || err.Error() != "3 of 4 hubs did not succeed; failed: hub-2 (exit 3), hub-3 (exit 3); unreachable: hub-down" {
		t.Errorf("outcome = %v", err)
	}
	if hubs.Outcome([]hubs.ExecResult{{Hub: "a", Status: hubs.StatusOK}}) != nil {
		t.Error("all ok should be no error")
	}
}

func TestExecTimeoutPerHub(t *testing.T) {
	fleet := hubconntest.Fleet(t, "hub", 2)
	inv := hubconntest.Inventory(t, hubconntest.Hub{Name: "hub-1", Server: fleet[0]}, hubconntest.Hub{Name: "hub-2", Server: fleet[1]})
	conns := hubconn.New(inv, hubconntest.Options())
	defer conns.Close()
	// Warm the connections so that the timeout hits the command, not the dial.
	hubs.Exec(ctxT(t), conns, []string{"hub-1", "hub-2"}, []string{"true"}, hubs.ExecOptions{})
	start := time.Now()
	res := hubs.Exec(ctxT(t), conns, []string{"hub-1", "hub-2"}, []string{"sleep", "30"}, hubs.ExecOptions{Timeout: 300 * time.Millisecond})
	for _, r := range res {
		if r.Status != hubs.StatusFailed || !r.TimedOut || !strings.Contains(r.Error, "timed out after 300ms") {
			t.Errorf("%s: %+v", r.Hub, r)
		}
	}
	if time.Since(start) > 20*time.Second {
		t.Errorf("timeouts were not applied in parallel (took %s)", time.Since(start))
	}
}

func TestGatherFacts(t *testing.T) {
	sock := hubconntest.RequireDocker(t)
	fleet := hubconntest.Fleet(t, "hub", 1)
	ip, port := hubconntest.Unreachable(t)
	inv := hubconntest.Inventory(t,
		hubconntest.Hub{Name: "hub-1", Server: fleet[0], DockerSocket: sock},
		hubconntest.Hub{Name: "hub-down", Address: ip, Port: port},
		hubconntest.Hub{Name: "local", Local: true, DockerSocket: sock},
	)
	conns := hubconn.New(inv, hubconntest.Options())
	defer conns.Close()
	facts := hubs.Gather(ctxT(t), conns, []string{"hub-1", "hub-down", "local"}, hubs.FactsOptions{Timeout: 30 * time.Second})

	wantDocker, err := exec.Command("docker", "version", "--format", "{{.Server.Version}}").Output()
	if err != nil {
		t.Fatalf("docker version: %v", err)
	}
	for _, f := range []hubs.Facts{facts[0], facts[2]} {
		if !f.Reachable || f.Error != "" {
			t.Errorf("%s: %+v", f.Hub, f)
			continue
		}
		if f.OS == "" || !strings.HasPrefix(f.Kernel, "Linux ") || f.UptimeSeconds <= 0 || f.DiskTotalBytes <= 0 || f.DiskFreeBytes <= 0 || f.DiskPath == "" {
			t.Errorf("%s: incomplete facts %+v", f.Hub, f)
		}
		if f.DockerVersion != strings.TrimSpace(string(wantDocker)) {
			t.Errorf("%s: docker version %q (%s), want %q", f.Hub, f.DockerVersion, f.DockerError, wantDocker)
		}
	}
	if facts[0].SSHLatencyMS <= 0 || facts[2].SSHLatencyMS != 0 || !facts[2].Local {
		t.Errorf("latency: hub-1 %v, local %v", facts[0].SSHLatencyMS, facts[2].SSHLatencyMS)
	}
	down := facts[1]
	if down.Reachable || !strings.Contains(down.Error, "hub-down: ssh: ") || down.Address != ip {
		t.Errorf("hub-down: %+v", down)
	}
}

func TestParseFactsOutput(t *testing.T) {
	// The facts command's output as Debian 12 prints it.
	out := "Linux 6.1.0-18-amd64\n@@\nPRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nNAME=\"Debian GNU/Linux\"\n@@\n12345.67 40000.00\n@@\n0.15 0.10 0.05 1/123 4567\n@@\n/dev/vda1 20508240 5242880 14217216 27% /\n"
	f := hubs.ParseFactsForTest(out)
	want := hubs.Facts{Kernel: "Linux 6.1.0-18-amd64", OS: "Debian GNU/Linux 12 (bookworm)", UptimeSeconds: 12345,
		Load: [3]float64{0.15, 0.10, 0.05}, DiskTotalBytes: 20508240 * 1024, DiskFreeBytes: 14217216 * 1024, DiskPath: "/"}
	if fmt.Sprint(f) != fmt.Sprint(want) {
		t.Errorf("got  %+v\nwant %+v", f, want)
	}
}
