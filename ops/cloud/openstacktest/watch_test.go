package openstacktest

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack"
	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/instanceactions"

	"github.com/buttctl/buttctl/ops/audit"
	"github.com/buttctl/buttctl/ops/cloud"
	"github.com/buttctl/buttctl/ops/hubconn"
	"github.com/buttctl/buttctl/ops/watch"
	"github.com/buttctl/buttctl/sshexec"
)

// A hub that stops answering is marked down by buttctl watch and
// hard-rebooted through the real OpenStack API — once per backoff window,
// however many times watch finds it still down.
func TestWatchHardRebootsADownHubOncePerWindow(t *testing.T) {
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
	name := fmt.Sprintf("test-watch-%d", time.Now().UnixNano()%1e9)
	id, err := c.Boot(ctx, cloud.ServerSpec{Name: name, Hub: name, FlavorID: flavor, ImageID: image, NetworkID: env.NetworkID})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx := context.Background()
		_ = c.Delete(ctx, id)
		_ = c.WaitGone(ctx, id, nil)
	})
	if _, err := c.WaitStatus(ctx, id, cloud.StatusActive, nil); err != nil {
		t.Fatal(err)
	}

	// The hub's address answers nothing: its "server" is down.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	dir := t.TempDir()
	path := filepath.Join(dir, "buttctl.yaml")
	text := fmt.Sprintf(`version: 1
cloud: {name: %s}
ssh: {known_hosts: %s, config: none}
hubs:
  - {name: %s, address: 127.0.0.1, port: %d, server_id: %s}
pubs: []
watch: {hub_down_after: 2s, reboot_hubs: true, backoff: {initial: 500ms, max: 1m}}
`, UserCloud, filepath.Join(dir, "known_hosts"), name, port, id)
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	log := audit.File(filepath.Join(dir, "audit.jsonl"), audit.SourceWatch)
	defer log.Close()
	w, err := watch.New(watch.Config{
		InventoryPath: path, Audit: log,
		Log:   slog.New(slog.NewTextHandler(os.Stderr, nil)),
		Conn:  hubconn.Options{Pool: sshexec.PoolOptions{AgentSocket: sshexec.AgentNone, NoDefaultIdentities: true, DialTimeout: time.Second}},
		Cloud: &watch.CloudReboots{Config: cloud.Config{Name: UserCloud, CloudsFile: env.CloudsFile}},
	})
	if err != nil {
		t.Fatal(err)
	}
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- w.Run(runCtx) }()
	defer func() { stop(); <-done }()

	records := func() []audit.Record {
		recs, err := audit.ReadFile(filepath.Join(dir, "audit.jsonl"))
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			t.Fatal(err)
		}
		return recs
	}
	of := func(action string) []audit.Record {
		var out []audit.Record
		for _, r := range records() {
			if r.Action == action {
				out = append(out, r)
			}
		}
		return out
	}
	deadline := time.Now().Add(2 * time.Minute)
	for len(of(watch.ActionReboot)) == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("no reboot within 2 minutes: %+v", records())
		}
		time.Sleep(200 * time.Millisecond)
	}
	reboot := of(watch.ActionReboot)[0]
	down := of(watch.ActionHubDown)
	if reboot.Result != watch.ResultOK || reboot.Hub != name || len(down) != 1 || reboot.Time.Before(down[0].Time) {
		t.Fatalf("reboot %+v after hub-down %+v", reboot, down)
	}
	// The cloud did it: the server's actions hold a reboot.
	compute, err := openstack.NewComputeV2(admin(t, env), gophercloud.EndpointOpts{Region: env.Region})
	if err != nil {
		t.Fatal(err)
	}
	pages, err := instanceactions.List(compute, id, nil).AllPages(ctx)
	if err != nil {
		t.Fatal(err)
	}
	actions, err := instanceactions.ExtractInstanceActions(pages)
	if err != nil {
		t.Fatal(err)
	}
	reboots := 0
	for _, a := range actions {
		if a.Action == "reboot" {
			reboots++
		}
	}
	if reboots != 1 {
		t.Errorf("the server has %d reboot actions: %+v", reboots, actions)
	}
	// Watch keeps finding the hub down (reconnects every few seconds) but
	// reboots it only once within backoff.max (1m).
	until := time.Now().Add(10 * time.Second)
	for time.Now().Before(until) {
		time.Sleep(500 * time.Millisecond)
	}
	if n := len(of(watch.ActionReboot)); n != 1 {
		t.Errorf("%d reboots within the backoff window; want 1", n)
	}
	if st := w.State(); len(st.Hubs) != 1 || !st.Hubs[0].Down || st.Hubs[0].LastReboot == nil {
		t.Errorf("hub state %+v", st.Hubs)
	}
}
