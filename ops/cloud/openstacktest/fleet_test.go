package openstacktest

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/buttctl/buttctl/inventory"
	"github.com/buttctl/buttctl/ops/cloud"
	bfleet "github.com/buttctl/buttctl/ops/fleet"
	"github.com/buttctl/buttctl/ops/hubconn"
	"github.com/buttctl/buttctl/ops/hubconn/hubconntest"
	"github.com/buttctl/buttctl/ops/pubs"
)

// TestFleetSeesTheCloud: status and plan (ops/fleet) take the hubs' servers
// from the real cloud: a hub whose server is ACTIVE has it in the snapshot,
// a hub whose server is gone is a blocked create-hub in the plan. (The
// fake-driver server has no SSH behind it: its hub is observed as down,
// which is what the snapshot must say too.)
func TestFleetSeesTheCloud(t *testing.T) {
	env := Require(t)
	c := connect(t, env)
	ctx := testContext(t)
	flavor, err := c.FlavorID(ctx, env.Flavor)
	if err != nil {
		t.Fatal(err)
	}
	image, err := c.ImageID(ctx, env.Image)
	if err != nil {
		t.Fatal(err)
	}
	id, err := c.Boot(ctx, cloud.ServerSpec{Name: "fleet-up", Hub: "fleet-up", FlavorID: flavor, ImageID: image, NetworkID: env.NetworkID})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		if err := c.Delete(ctx, id); err == nil {
			_ = c.WaitGone(ctx, id, nil)
		}
	})
	if _, err := c.WaitStatus(ctx, id, cloud.StatusActive, nil); err != nil {
		t.Fatal(err)
	}

	addr, port := hubconntest.Unreachable(t)
	dir := t.TempDir()
	path := filepath.Join(dir, "buttctl.yaml")
	text := fmt.Sprintf(`version: 1
cloud: {name: %s}
ssh: {user: debian, known_hosts: %s, config: none}
hubs:
  - {name: fleet-up, address: %s, port: %d, server_id: %s}
  - {name: fleet-gone, address: %s, port: %d, server_id: 00000000-0000-0000-0000-000000000000}
  - {name: here, local: true}
pubs: []
`, UserCloud, filepath.Join(dir, "known_hosts"), addr, port, id, addr, port+1)
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	inv, err := inventory.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	conns := hubconn.New(inv, hubconntest.Options())
	defer conns.Close()
	svc := pubs.New(inv, conns)
	defer svc.Close()
	snap := bfleet.Observe(ctx, svc, bfleet.ObserveOptions{Timeout: 20 * time.Second, CloudName: UserCloud, Cloud: bfleet.CloudOf(inv, cloud.Config{CloudsFile: env.CloudsFile})})
	if snap.Cloud == nil || snap.Cloud.Error != "" {
		t.Fatalf("cloud: %+v", snap.Cloud)
	}
	up, gone, here := snap.Hub("fleet-up"), snap.Hub("fleet-gone"), snap.Hub("here")
	if up.Server == nil || up.Server.ID != id || up.Server.Status != cloud.StatusActive || up.Server.Hub != "fleet-up" || up.Reachable {
		t.Errorf("fleet-up: %+v server %+v", up, up.Server)
	}
	if gone.Server != nil || here.Server != nil {
		t.Errorf("servers for fleet-gone %+v, here %+v", gone.Server, here.Server)
	}
	plan := bfleet.NewPlan(inv, snap, bfleet.PlanOptions{})
	var kinds []string
	for _, a := range plan.Actions {
		kinds = append(kinds, fmt.Sprintf("%s %s blocked=%v", a.Kind, a.Hub, a.Blocked != ""))
	}
	if strings.Join(kinds, "; ") != "create-hub fleet-gone blocked=true" || !strings.Contains(plan.Actions[0].Reason, "00000000-0000-0000-0000-000000000000") {
		t.Errorf("plan: %v", plan.Actions)
	}

	// Without credentials for the cloud, observing says so and goes on.
	snap = bfleet.Observe(ctx, svc, bfleet.ObserveOptions{Timeout: 20 * time.Second, CloudName: UserCloud, Cloud: bfleet.CloudOf(inv, cloud.Config{CloudsFile: filepath.Join(dir, "no-clouds.yaml")})})
	if snap.Cloud == nil || snap.Cloud.Error == "" || !snap.Hub("here").Reachable {
		t.Errorf("without credentials: cloud %+v", snap.Cloud)
	}
	if p := bfleet.NewPlan(inv, snap, bfleet.PlanOptions{}); len(p.Actions) != 0 || !strings.Contains(strings.Join(p.Warnings, "\n"), "cloud "+UserCloud+" could not be asked") {
		t.Errorf("plan without the cloud: %+v %q", p.Actions, p.Warnings)
	}
}
