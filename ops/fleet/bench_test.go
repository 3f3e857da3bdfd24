package fleet_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/buttctl/buttctl/inventory"
	"github.com/buttctl/buttctl/ops/fleet"
	"github.com/buttctl/buttctl/ops/hubconn"
	"github.com/buttctl/buttctl/ops/hubconn/hubconntest"
	"github.com/buttctl/buttctl/ops/pubs"
)

// observeOnce observes inv over fresh connections (cold: SSH handshakes and
// engine pings included) and then again over the same ones (warm, as watch
// and the console observe), and returns both times and the snapshots.
func observeOnce(b *testing.B, inv *inventory.Inventory) (cold, warm time.Duration, snap *fleet.Snapshot) {
	b.Helper()
	conns := hubconn.New(inv, hubconntest.Options())
	defer conns.Close()
	svc := pubs.New(inv, conns)
	defer svc.Close()
	opts := fleet.ObserveOptions{Timeout: 30 * time.Second, Parallel: len(inv.Hubs)}
	start := time.Now()
	snap = fleet.Observe(context.Background(), svc, opts)
	cold = time.Since(start)
	start = time.Now()
	snap = fleet.Observe(context.Background(), svc, opts)
	warm = time.Since(start)
	for _, h := range snap.Hubs {
		if !h.Reachable {
			b.Fatalf("hub %s: %s", h.Name, h.Error)
		}
	}
	return cold, warm, snap
}

// reportAgainstFloor observes each hub of hubInvs alone (the floor is the
// slowest of them: no fan-out can beat it) and the whole fleet inv, and
// reports the fleet's wall time as a ratio of the floor, cold and warm.
func reportAgainstFloor(b *testing.B, inv *inventory.Inventory, hubInvs []*inventory.Inventory) {
	var coldFloor, warmFloor, cold, warm time.Duration
	for range b.N {
		for _, hi := range hubInvs {
			c, w, _ := observeOnce(b, hi)
			coldFloor, warmFloor = max(coldFloor, c), max(warmFloor, w)
		}
		c, w, _ := observeOnce(b, inv)
		cold, warm = cold+c, warm+w
	}
	n := float64(b.N)
	b.ReportMetric(float64(cold.Milliseconds())/n, "cold-ms")
	b.ReportMetric(float64(coldFloor.Milliseconds()), "cold-floor-ms")
	b.ReportMetric(float64(cold)/n/float64(coldFloor), "cold-ratio")
	b.ReportMetric(float64(warm.Milliseconds())/n, "warm-ms")
	b.ReportMetric(float64(warmFloor.Milliseconds()), "warm-floor-ms")
	b.ReportMetric(float64(warm)/n/float64(warmFloor), "warm-ratio")
}

// BenchmarkObserveFanOut50 observes 50 hubs, each a real OpenSSH sshd on
// loopback whose docker_socket is this machine's engine, reached through the
// sshd (streamlocal): the SSH and Docker API fan-out of Observe, measured
// honestly (50 sshds and one engine share this machine's cores).
func BenchmarkObserveFanOut50(b *testing.B) {
	sock := hubconntest.RequireDocker(b)
	servers := hubconntest.Fleet(b, "fan", 50)
	hubs := make([]hubconntest.Hub, len(servers))
	hubInvs := make([]*inventory.Inventory, len(servers))
	for i, s := range servers {
		hubs[i] = hubconntest.Hub{Name: fmt.Sprintf("fan-%d", i+1), Server: s, DockerSocket: sock}
		hubInvs[i] = hubconntest.Inventory(b, hubs[i])
	}
	inv := hubconntest.Inventory(b, hubs...)
	b.ResetTimer()
	reportAgainstFloor(b, inv, hubInvs)
}
