package watch_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/moby/moby/client"

	"github.com/buttctl/buttctl/inventory"
	"github.com/buttctl/buttctl/ops/hubconn"
	"github.com/buttctl/buttctl/ops/hubconn/hubconntest"
	"github.com/buttctl/buttctl/ops/pubs"
	"github.com/buttctl/buttctl/ops/pubs/pubstest"
	"github.com/buttctl/buttctl/ops/pubspec"
	"github.com/buttctl/buttctl/ops/watch"
)

const (
	idleHubs    = 20
	idlePubs    = 200
	idleWindow  = 60 * time.Second
	clockTicks  = 100 // USER_HZ: /proc/<pid>/stat counts CPU time in 1/100 s
	idleCPUGoal = 1.0 // % of one core
	idleRSSGoal = 50  // MB
)

// BenchmarkIdleWatch20Hubs200Pubs runs the real `buttctl watch` binary over
// 20 hubs and 200 healthy pubs, then measures, over 60 s of nothing
// happening, its CPU time (as a share of one core) and its peak resident
// memory. The hubs are 20 real OpenSSH sshds on loopback whose
// docker_socket is this machine's engine (the issue allows hubs to share
// engines for this figure); every hub's event stream runs through its own
// SSH connection, and a full reconcile falls within the window.
func BenchmarkIdleWatch20Hubs200Pubs(b *testing.B) {
	pubstest.Require(b)
	servers := hubconntest.Fleet(b, "idle", idleHubs)
	dir := b.TempDir()
	var text strings.Builder
	fmt.Fprintf(&text, "version: 1\nssh: {user: %s, identity_file: %s, known_hosts: %s, config: none}\n", servers[0].User, servers[0].IdentityPath(), servers[0].KnownHostsPath)
	fmt.Fprintf(&text, "defaults: {image: %q, restart: \"no\", memory: 16m, health: {interval: 30s, timeout: 5s, retries: 2}}\nhubs:\n", pubstest.Image)
	for i, s := range servers {
		fmt.Fprintf(&text, "  - {name: h%02d, address: %s, port: %d}\n", i+1, s.IP, s.Port)
	}
	prefix := uniq("wi")
	var names []string
	text.WriteString("pubs:\n")
	ports := quietPorts(b, idlePubs)
	for i := range idlePubs {
		name := fmt.Sprintf("%s-%03d", prefix, i)
		names = append(names, name)
		fmt.Fprintf(&text, "  - {name: %s, hub: h%02d, port: %d}\n", name, i%idleHubs+1, ports[i])
	}
	text.WriteString("watch: {reconcile: 60s}\n")
	path := filepath.Join(dir, "buttctl.yaml")
	if err := os.WriteFile(path, []byte(text.String()), 0o600); err != nil {
		b.Fatal(err)
	}
	inv, err := inventory.Load(path)
	if err != nil {
		b.Fatal(err)
	}
	api, err := client.New(client.WithHost("unix://" + socket))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		pubs.Each(ctx, len(names), 4, func(ctx context.Context, i int) error {
			_, _ = api.ContainerRemove(ctx, pubspec.ContainerName(names[i]), client.ContainerRemoveOptions{Force: true})
			_, _ = api.VolumeRemove(ctx, pubspec.VolumeName(names[i]), client.VolumeRemoveOptions{Force: true})
			return nil
		})
		api.Close()
	})

	// The pubs, created through buttctl over each hub's SSH connection.
	conns := hubconn.New(inv, hubconntest.Options())
	svc := pubs.New(inv, conns)
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	created := time.Now()
	errs := pubs.Each(ctx, len(names), 6, func(ctx context.Context, i int) error {
		_, err := svc.Create(ctx, names[i])
		return err
	})
	svc.Close()
	conns.Close()
	for _, err := range errs {
		if err != nil {
			b.Fatal(err)
		}
	}
	b.Logf("%d pubs created in %s", idlePubs, time.Since(created).Round(time.Second))

	bin := buildButtctl(b)
	state := filepath.Join(dir, "state")
	cmd := exec.Command(bin, "-i", path, "watch", "--log-format", "json", "--audit-log", filepath.Join(dir, "audit.jsonl"))
	cmd.Env = append(os.Environ(), "XDG_STATE_HOME="+state, "SSH_AUTH_SOCK=")
	logf, err := os.Create(filepath.Join(dir, "watch.log"))
	if err != nil {
		b.Fatal(err)
	}
	defer logf.Close()
	cmd.Stderr = logf
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	stopped := false
	stop := func() {
		if stopped {
			return
		}
		stopped = true
		_ = cmd.Process.Signal(syscall.SIGTERM)
		_ = cmd.Wait()
	}
	defer stop()
	statePath := watch.DefaultPaths(filepath.Join(state, "buttctl"), path).State
	settled := time.Now()
	waitFor(b, 10*time.Minute, "watch to connect every hub and see every pub running", func() bool {
		st, err := watch.ReadState(statePath)
		if err != nil {
			return false
		}
		up, running := 0, 0
		for _, h := range st.Hubs {
			if h.Connected {
				up++
			}
		}
		for _, p := range st.Pubs {
			if p.Phase == watch.PhaseRunning {
				running++
			}
		}
		return up == idleHubs && running == idlePubs
	})
	b.Logf("watch settled in %s", time.Since(settled).Round(time.Millisecond))
	settlePeak := procStatus(b, cmd.Process.Pid, "VmHWM")

	b.ResetTimer()
	for range b.N {
		// Measure the idle window alone: reset the peak RSS, read the CPU time.
		if err := os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", cmd.Process.Pid), []byte("5"), 0); err != nil {
			b.Fatalf("resetting the peak RSS: %v", err)
		}
		cpu0, t0 := cpuTicks(b, cmd.Process.Pid), time.Now()
		sleepUntil(t0.Add(idleWindow))
		cpu1, t1 := cpuTicks(b, cmd.Process.Pid), time.Now()
		cpuPct := float64(cpu1-cpu0) / clockTicks / t1.Sub(t0).Seconds() * 100
		peak := procStatus(b, cmd.Process.Pid, "VmHWM")
		b.ReportMetric(cpuPct, "cpu-%-of-core")
		b.ReportMetric(float64(peak)/1024, "peak-rss-MB")
		b.ReportMetric(float64(settlePeak)/1024, "settle-peak-rss-MB")
		b.ReportMetric(cpuPct/idleCPUGoal, "cpu/goal")
		b.ReportMetric(float64(peak)/1024/idleRSSGoal, "rss/goal")
		b.ReportMetric(0, "ns/op")
		fmt.Fprintf(os.Stderr, "%s: %d hubs, %d pubs, idle %s: CPU %.2f%% of a core (goal < %.0f%%), peak RSS %.1f MB (goal < %d MB; %.1f MB before the window)\n",
			b.Name(), idleHubs, idlePubs, t1.Sub(t0).Round(time.Second), cpuPct, idleCPUGoal, float64(peak)/1024, idleRSSGoal, float64(settlePeak)/1024)
	}
	b.StopTimer()
	st, err := watch.ReadState(statePath)
	if err != nil {
		b.Fatal(err)
	}
	if st.LastReconcile == nil {
		b.Error("no full reconcile within the window")
	}
	stop()
	if cmd.ProcessState == nil || cmd.ProcessState.ExitCode() != 0 {
		b.Errorf("watch did not exit cleanly on SIGTERM: %v", cmd.ProcessState)
	}
}

// quietPorts returns n free TCP ports below the kernel's ephemeral range
// (which connections keep taking), from a random start.
func quietPorts(b *testing.B, n int) []int {
	b.Helper()
	var out []int
	for p := 20000 + rand.IntN(8000); len(out) < n && p < 32000; p++ {
		l, err := net.Listen("tcp", fmt.Sprintf(":%d", p))
		if err != nil {
			continue
		}
		l.Close()
		out = append(out, p)
	}
	if len(out) < n {
		b.Fatalf("only %d free ports below 32000", len(out))
	}
	return out
}

// buildButtctl builds the buttctl binary into a temporary directory.
func buildButtctl(b *testing.B) string {
	b.Helper()
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		b.Fatal(err)
	}
	root := filepath.Dir(strings.TrimSpace(string(out)))
	bin := filepath.Join(b.TempDir(), "buttctl")
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/buttctl")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// cpuTicks is pid's user plus system CPU time, in clock ticks.
func cpuTicks(b *testing.B, pid int) int64 {
	b.Helper()
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		b.Fatal(err)
	}
	// The command name may hold spaces: fields count from after its ')'.
	rest := string(raw[strings.LastIndexByte(string(raw), ')')+2:])
	f := strings.Fields(rest)
	utime, _ := strconv.ParseInt(f[11], 10, 64)
	stime, _ := strconv.ParseInt(f[12], 10, 64)
	return utime + stime
}

// procStatus reads a kB figure of /proc/<pid>/status.
func procStatus(b *testing.B, pid int, key string) int64 {
	b.Helper()
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		b.Fatal(err)
	}
	for _, line := range strings.Split(string(raw), "\n") {
		if v, ok := strings.CutPrefix(line, key+":"); ok {
			n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return n
		}
	}
	b.Fatalf("no %s in /proc/%d/status", key, pid)
	return 0
}
