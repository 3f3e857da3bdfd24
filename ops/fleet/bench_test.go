package fleet_test

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/buttctl/buttctl/inventory"
	"github.com/buttctl/buttctl/ops/fleet"
	"github.com/buttctl/buttctl/ops/fleet/fleettest"
	"github.com/buttctl/buttctl/ops/hubconn"
	"github.com/buttctl/buttctl/ops/hubconn/hubconntest"
	"github.com/buttctl/buttctl/ops/pubs"
	"github.com/buttctl/buttctl/ops/testworld"
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

// reportAgainstFloor observes each hub of hubInvs alone and the whole
// fleet inv, rounds times, and reports the fleet's median wall time, the
// floor (the slowest hub's median alone: no fan-out can beat it) and their
// ratio, cold (fresh connections) and warm. This machine runs other work
// too: medians keep one stall from deciding the ratio.
func reportAgainstFloor(b *testing.B, inv *inventory.Inventory, hubInvs []*inventory.Inventory, rounds int) {
	coldAlone := make([][]time.Duration, len(hubInvs))
	warmAlone := make([][]time.Duration, len(hubInvs))
	var cold, warm []time.Duration
	for range b.N * rounds {
		for i, hi := range hubInvs {
			c, w, _ := observeOnce(b, hi)
			coldAlone[i], warmAlone[i] = append(coldAlone[i], c), append(warmAlone[i], w)
		}
		c, w, _ := observeOnce(b, inv)
		cold, warm = append(cold, c), append(warm, w)
	}
	report := func(name string, fleet []time.Duration, alone [][]time.Duration) {
		var floor time.Duration
		for _, a := range alone {
			floor = max(floor, median(a))
		}
		f := median(fleet)
		b.ReportMetric(float64(f.Microseconds())/1000, name+"-ms")
		b.ReportMetric(float64(floor.Microseconds())/1000, name+"-floor-ms")
		b.ReportMetric(float64(f)/float64(floor), name+"-ratio")
	}
	report("cold", cold, coldAlone)
	report("warm", warm, warmAlone)
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
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
	reportAgainstFloor(b, inv, hubInvs, 3)
}

// BenchmarkObserveWorld observes the test world at its largest size (5
// hubs, each its own engine behind its own sshd, 4 pubs each) and runs a
// no-op apply over it (lock, observe, plan, nothing to do), against the
// floor: the slowest hub observed alone.
func BenchmarkObserveWorld(b *testing.B) {
	const hubs, perHub = 5, 4
	w := testworld.Private(b, hubs)
	prefix := fleettest.Prefix("bw")
	var pubsList []testworld.Pub
	for i := range hubs * perHub {
		pubsList = append(pubsList, testworld.Pub{Name: fmt.Sprintf("%s-p%d", prefix, i+1), Hub: w.Hubs[i%hubs].Name, Port: 8008 + i/hubs})
	}
	path := filepath.Join(b.TempDir(), "buttctl.yaml")
	if err := w.WriteInventory(path, pubsList...); err != nil {
		b.Fatal(err)
	}
	inv, err := inventory.Load(path)
	if err != nil {
		b.Fatal(err)
	}
	// Create the pubs with an apply, once.
	conns := hubconn.New(inv, hubconntest.Options())
	svc := pubs.New(inv, conns)
	ctx := context.Background()
	plan := fleet.NewPlan(inv, fleet.Observe(ctx, svc, fleet.ObserveOptions{}), fleet.PlanOptions{})
	if r := fleet.Apply(ctx, svc, plan, fleet.ApplyOptions{Wait: 2 * time.Minute}); r.Err() != nil {
		b.Fatal(r.Err())
	}
	svc.Close()
	conns.Close()

	hubInvs := make([]*inventory.Inventory, len(inv.Hubs))
	for i, h := range inv.Hubs {
		sub := *inv
		sub.Hubs, sub.Pubs = []inventory.Hub{h}, inv.PubsOn(h.Name)
		hubInvs[i] = &sub
	}
	b.ResetTimer()
	reportAgainstFloor(b, inv, hubInvs, 5)

	// A no-op apply, as `buttctl apply` runs it: fresh connections, the
	// lock, observe, plan; nothing to do. Against the cold floor.
	var noops, floors []time.Duration
	for range 5 {
		var floor time.Duration
		for _, hi := range hubInvs {
			c, _, _ := observeOnce(b, hi)
			floor = max(floor, c)
		}
		start := time.Now()
		unlock, err := inventory.Lock(ctx, path, inventory.LockOptions{Purpose: "benchmark"})
		if err != nil {
			b.Fatal(err)
		}
		conns := hubconn.New(inv, hubconntest.Options())
		svc := pubs.New(inv, conns)
		plan := fleet.NewPlan(inv, fleet.Observe(ctx, svc, fleet.ObserveOptions{}), fleet.PlanOptions{})
		report := fleet.Apply(ctx, svc, plan, fleet.ApplyOptions{})
		noops, floors = append(noops, time.Since(start)), append(floors, floor)
		unlock()
		svc.Close()
		conns.Close()
		if !plan.Empty() || len(report.Results) != 0 {
			b.Fatalf("the no-op apply had something to do: %+v", plan.Actions)
		}
	}
	b.ReportMetric(float64(median(noops).Microseconds())/1000, "noop-apply-ms")
	b.ReportMetric(float64(median(noops))/float64(median(floors)), "noop-apply-ratio")
}
