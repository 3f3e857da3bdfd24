package fleet_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/buttctl/buttctl/ops/fleet"
	"github.com/buttctl/buttctl/sshexec/sshdtest"
)

// sshHead is an ssh section with a key and an empty known_hosts: enough to
// try to reach an SSH hub (which the tests make hang or refuse).
func sshHead(t *testing.T) string {
	dir := t.TempDir()
	key := sshdtest.NewKey(t, dir, "id_ed25519", "")
	known := filepath.Join(dir, "known_hosts")
	if err := os.WriteFile(known, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("ssh: {user: test, identity_file: %s, known_hosts: %s, config: none}\n", key.Path, known)
}

// TestObserve observes pubs in every state on this machine's real engine (hub
// local), a hub whose engine does not exist (dead) and a hub that accepts
// SSH connections and never answers (hung): the hung hub is cut at its own
// deadline and reported, the others are observed in full.
func TestObserve(t *testing.T) {
	ports := freePorts(t, 4)
	hangAddr, hangPort := blackhole(t)
	f := newFixture(t, sshHead(t), fmt.Sprintf(`  - {name: local, local: true, capacity: 10}
  - {name: dead, local: true, docker_socket: /nonexistent/fleet-test/docker.sock}
  - {name: hung, address: %s, port: %d}
`, hangAddr, hangPort), fmt.Sprintf(`  - {name: PFX-run, hub: local, port: %d}
  - {name: PFX-stop, hub: local, port: %d, state: stopped}
  - {name: PFX-miss, hub: local, port: %d}
  - {name: PFX-gone, hub: local, port: %d}
  - {name: PFX-free}
  - {name: PFX-dead, hub: dead}
  - {name: PFX-hung, hub: hung}
`, ports[0], ports[1], ports[2], ports[3]))
	ctx := context.Background()
	for _, p := range []string{"run", "stop", "gone"} {
		if _, err := f.svc.Create(ctx, f.pub(p)); err != nil {
			t.Fatal(err)
		}
	}
	// PFX-gone leaves the inventory: its container is an orphan now.
	f.write(strings.Replace(f.text(), fmt.Sprintf("  - {name: %s, hub: local, port: %d}\n", f.pub("gone"), ports[3]), "", 1))

	const timeout = 2 * time.Second
	var snap *fleet.Snapshot
	waitFor(t, "PFX-run to be healthy", func() bool {
		snap = fleet.Observe(ctx, f.svc, fleet.ObserveOptions{Timeout: timeout})
		p := snap.Pub(f.pub("run"))
		return p != nil && p.Status == fleet.StatusRunning
	})

	local, dead, hung := snap.Hub("local"), snap.Hub("dead"), snap.Hub("hung")
	if !local.Reachable || local.Engine == nil || local.Engine.Version == "" || local.Engine.APIVersion == "" || local.Error != "" {
		t.Errorf("local hub: %+v", local)
	}
	if local.Capacity != 10 || local.Placed != 3 {
		t.Errorf("local capacity %d placed %d, want 10 and 3", local.Capacity, local.Placed)
	}
	if dead.Reachable || !strings.Contains(dead.Error, "dead") || !strings.Contains(dead.Error, "/nonexistent/fleet-test/docker.sock") || dead.TimedOut {
		t.Errorf("dead hub: %+v", dead)
	}
	if hung.Reachable || !hung.TimedOut || !strings.Contains(hung.Error, "did not answer within 2s") {
		t.Errorf("hung hub: %+v", hung)
	}
	// The hung hub's deadline bounds the whole observation (SSH's own dial
	// timeout is 10s).
	if hung.DurationMS > 8000 || snap.DurationMS > 8000 {
		t.Errorf("the hung hub took %dms, the observation %dms: its %s deadline was not kept", hung.DurationMS, snap.DurationMS, timeout)
	}

	want := map[string]fleet.PubStatus{
		"run": fleet.StatusRunning, "stop": fleet.StatusStopped, "miss": fleet.StatusMissing,
		"free": fleet.StatusUnplaced, "dead": fleet.StatusUnknown, "hung": fleet.StatusUnknown,
	}
	for short, st := range want {
		p := snap.Pub(f.pub(short))
		if p == nil {
			t.Errorf("pub %s not in the snapshot", short)
			continue
		}
		if p.Status != st {
			t.Errorf("pub %s: status %s, want %s (%+v)", short, p.Status, st, p)
		}
	}
	run := snap.Pub(f.pub("run"))
	c := run.Container
	if c == nil || c.State != "running" || c.Health != "healthy" || c.StartedAt == nil || run.Drift || !run.HasVolume || c.SpecHash == "" || c.SpecHash != run.SpecHash {
		t.Fatalf("PFX-run: %+v container %+v", run, c)
	}
	if c.Config == nil || c.Config.HostPort != ports[0] || c.Config.Memory != 64<<20 || c.Config.Restart != "unless-stopped" || c.Config.Volume != "buttctl-pub-"+f.pub("run")+"-data" || c.Config.ImageEnv != nil {
		t.Errorf("PFX-run config: %+v", c.Config)
	}
	if p := snap.Pub(f.pub("stop")); p.Want != "stopped" || p.Container == nil || p.Container.State != "created" {
		t.Errorf("PFX-stop: %+v", p)
	}
	if p := snap.Pub(f.pub("dead")); !strings.Contains(p.Error, "/nonexistent/fleet-test/docker.sock") {
		t.Errorf("PFX-dead's error should be its hub's: %q", p.Error)
	}

	var orphans []fleet.Orphan
	for _, o := range snap.Orphans {
		if f.mine(o.Container.Pub) {
			orphans = append(orphans, o)
		}
	}
	if len(orphans) != 1 || orphans[0].Container.Pub != f.pub("gone") || orphans[0].Hub != "local" || orphans[0].InInventory || !orphans[0].HasVolume {
		t.Errorf("orphans: %+v", orphans)
	}

	sum := snap.Summary()
	sum.Orphans -= len(snap.Orphans) - len(orphans) // other tests' containers on the shared engine
	if sum.Hubs != 3 || sum.HubsUp != 1 || sum.HubsDown != 2 || sum.Pubs != 6 || sum.Running != 1 || sum.Stopped != 1 || sum.Missing != 1 || sum.Unknown != 2 || sum.Unplaced != 1 {
		t.Errorf("summary %s", sum)
	}
	if !strings.HasPrefix(sum.String(), "hubs=3 hubs_up=1 hubs_down=2 pubs=6 running=1 ") {
		t.Errorf("summary line %q", sum.String())
	}
}

// TestObserveDrift changes the inventory under a running pub: the spec hash
// says it drifted, and the image's own settings are read for the diff.
func TestObserveDrift(t *testing.T) {
	ports := freePorts(t, 1)
	f := newFixture(t, "", "  - {name: local, local: true}\n", fmt.Sprintf("  - {name: PFX-a, hub: local, port: %d}\n", ports[0]))
	ctx := context.Background()
	if _, err := f.svc.Create(ctx, f.pub("a")); err != nil {
		t.Fatal(err)
	}
	f.write(strings.Replace(f.text(), "memory: 64m", "memory: 96m", 1))
	snap := fleet.Observe(ctx, f.svc, fleet.ObserveOptions{})
	p := snap.Pub(f.pub("a"))
	if !p.Drift || p.Container == nil || p.Container.SpecHash == p.SpecHash {
		t.Fatalf("no drift seen: %+v", p)
	}
	cfg := p.Container.Config
	if cfg.Memory != 64<<20 || cfg.ImageHealth == nil || len(cfg.ImageHealth.Test) == 0 || cfg.ImageEnv == nil {
		t.Errorf("config %+v", cfg)
	}
	if sum := snap.Summary(); sum.Drifted != 1 {
		t.Errorf("summary %s", sum)
	}
}

// A pub an operator stopped through buttctl shows the record watch honours.
func TestObserveShowsAnOperatorStop(t *testing.T) {
	ports := freePorts(t, 1)
	f := newFixture(t, "", "  - {name: local, local: true}\n", fmt.Sprintf("  - {name: PFX-op, hub: local, port: %d}\n", ports[0]))
	ctx := context.Background()
	if _, err := f.svc.Create(ctx, f.pub("op")); err != nil {
		t.Fatal(err)
	}
	f.svc.Operator = "ops@console"
	if _, err := f.svc.Stop(ctx, f.pub("op")); err != nil {
		t.Fatal(err)
	}
	p := fleet.Observe(ctx, f.svc, fleet.ObserveOptions{}).Pub(f.pub("op"))
	if p == nil || p.Status != fleet.StatusDown || p.Container == nil || p.Container.OperatorStop == nil || p.Container.OperatorStop.By != "ops@console" {
		t.Fatalf("operator-stopped pub observed as %+v (container %+v)", p, p.Container)
	}
	if _, err := f.svc.Start(ctx, f.pub("op")); err != nil {
		t.Fatal(err)
	}
	if p := fleet.Observe(ctx, f.svc, fleet.ObserveOptions{}).Pub(f.pub("op")); p.Container == nil || p.Container.OperatorStop != nil {
		t.Errorf("after pub start: %+v", p.Container)
	}
}
