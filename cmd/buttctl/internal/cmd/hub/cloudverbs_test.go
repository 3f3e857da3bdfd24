package hub

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/buttctl/buttctl/cmd/buttctl/internal/cmdutil"
	"github.com/buttctl/buttctl/inventory"
	"github.com/buttctl/buttctl/ops/provision"
)

// The verbs' behaviour against a real cloud is tested in
// ops/cloud/openstacktest (provision drives the real OpenStack there); these
// tests cover flags, and what the verbs decide before any cloud is reached.

func loadInventory(t *testing.T, text string) *inventory.Inventory {
	t.Helper()
	path := filepath.Join(t.TempDir(), "buttctl.yaml")
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	inv, err := inventory.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	return inv
}

const noCloudInventory = `version: 1
ssh: {user: debian}
hubs:
  - {name: hub-1, address: 203.0.113.10, server_id: 6f1c0a}
pubs:
  - {name: scuttle-1, hub: hub-1}
`

const cloudInventory = `version: 1
cloud: {name: test, server: {flavor: m1.tiny, image: debian-12, network: public}}
ssh: {user: debian}
hubs:
  - {name: hub-1, address: 203.0.113.10, server_id: 6f1c0a}
  - {name: hub-2, address: 203.0.113.11, server_id: 7a2d1b}
pubs:
  - {name: scuttle-1, hub: hub-1}
`

func TestCreateFlags(t *testing.T) {
	f, _, _ := testFactory(t, loadInventory(t, cloudInventory))
	var got *CreateOptions
	cmd := NewCmdCreate(f, func(o *CreateOptions) error { got = o; return nil })
	cmd.SetArgs([]string{"hub-3", "--flavor", "b2-7", "--image", "Debian 12", "--network", "Ext-Net", "--keypair", "me", "--security-group", "a", "--security-group", "b", "--no-wait", "-o", "json"})
	if err := cmd.Execute(); err != nil {
		t.Fatal(err)
	}
	if got.Name != "hub-3" || got.Flavor != "b2-7" || got.Image != "Debian 12" || got.Network != "Ext-Net" || got.Keypair != "me" ||
		strings.Join(got.SecurityGroups, ",") != "a,b" || !got.NoWait || got.Output != "json" {
		t.Errorf("options %+v", got)
	}
	cmd = NewCmdCreate(f, func(*CreateOptions) error { return nil })
	cmd.SetArgs([]string{"Hub_3"})
	cmd.SilenceErrors, cmd.SilenceUsage = true, true
	if err := cmd.Execute(); cmdutil.ExitCode(err) != cmdutil.ExitUsage {
		t.Errorf("bad hub name: %v (exit %d), want a usage error", err, cmdutil.ExitCode(err))
	}
}

func TestCreateOptionsFromInventoryDefaults(t *testing.T) {
	inv := loadInventory(t, cloudInventory)
	dir := filepath.Dir(inv.Path)
	if err := os.WriteFile(filepath.Join(dir, "id.pub"), []byte("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHsTzQ+Jq2fZ7sE0Hsxb7Yk4mWbP5v0sX0n0j6m7a1cT me\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	inv.SSH.IdentityFile = "id"
	po, err := createOptions(&CreateOptions{Name: "hub-3", Flavor: "b2-7"}, inv)
	if err != nil {
		t.Fatal(err)
	}
	if po.Flavor != "b2-7" || po.Image != "debian-12" || po.Network != "public" || po.Keypair != "buttctl" ||
		strings.Join(po.SecurityGroups, ",") != "buttctl-hub" || po.SSHUser != "debian" || !strings.HasPrefix(po.PublicKey, "ssh-ed25519 ") ||
		len(po.Ports) != 1 || po.Ports[0] != 8008 || !strings.HasSuffix(po.KnownHosts, "/.ssh/known_hosts") {
		t.Errorf("create options %+v", po)
	}
	inv.SSH.IdentityFile = "missing"
	if _, err := createOptions(&CreateOptions{Name: "hub-3"}, inv); err == nil || !strings.Contains(err.Error(), "ssh.identity_file") {
		t.Errorf("no public key: %v", err)
	}
}

func TestCloudVerbsWithoutCloudSayNoCloud(t *testing.T) {
	inv := loadInventory(t, noCloudInventory)
	f, _, _ := testFactory(t, inv)
	connectCalled := false
	connect := func(context.Context, *inventory.Inventory) (provision.Cloud, error) {
		connectCalled = true
		return nil, errors.New("must not connect")
	}
	runs := map[string]func() error{
		"create": func() error {
			return createRun(&CreateOptions{IO: f.IOStreams, Inventory: f.Inventory, Connect: connect, Name: "hub-9", Timeout: 1e9})
		},
		"adopt": func() error {
			return adoptRun(&AdoptOptions{IO: f.IOStreams, Inventory: f.Inventory, Connect: connect, Name: "hub-9", ServerID: "x", Timeout: 1e9})
		},
		"reboot": func() error {
			return rebootRun(&RebootOptions{IO: f.IOStreams, Inventory: f.Inventory, Connect: connect, Name: "hub-1", Yes: true})
		},
		"delete": func() error {
			return deleteRun(&DeleteOptions{IO: f.IOStreams, Inventory: f.Inventory, Connect: connect, Name: "hub-1", Yes: true, Force: true})
		},
	}
	for verb, run := range runs {
		err := run()
		if err == nil || !strings.Contains(err.Error(), "no cloud is configured in "+inv.Path) || !strings.Contains(err.Error(), "hub "+verb) {
			t.Errorf("%s without a cloud: %v", verb, err)
		}
	}
	if connectCalled {
		t.Error("a verb tried to reach a cloud that is not configured")
	}
}

func TestDeleteRefusesHubWithPubsAndNeedsYesOffTTY(t *testing.T) {
	inv := loadInventory(t, cloudInventory)
	f, out, _ := testFactory(t, inv)
	connect := func(context.Context, *inventory.Inventory) (provision.Cloud, error) {
		return nil, errors.New("must not connect")
	}
	err := deleteRun(&DeleteOptions{IO: f.IOStreams, Inventory: f.Inventory, Connect: connect, Name: "hub-1", Yes: true})
	if err == nil || !strings.Contains(err.Error(), "scuttle-1") || !strings.Contains(err.Error(), "--force") {
		t.Errorf("delete of a hub with pubs: %v", err)
	}
	err = deleteRun(&DeleteOptions{IO: f.IOStreams, Inventory: f.Inventory, Connect: connect, Name: "hub-2"})
	if cmdutil.ExitCode(err) != cmdutil.ExitUsage || !strings.Contains(err.Error(), "--yes") {
		t.Errorf("delete off a TTY without --yes: %v (exit %d)", err, cmdutil.ExitCode(err))
	}
	err = rebootRun(&RebootOptions{IO: f.IOStreams, Inventory: f.Inventory, Connect: connect, Name: "hub-2", Hard: true})
	if cmdutil.ExitCode(err) != cmdutil.ExitUsage || !strings.Contains(err.Error(), "--yes") {
		t.Errorf("reboot off a TTY without --yes: %v", err)
	}
	if out.Len() != 0 {
		t.Errorf("refusals printed %q", out)
	}
}

func TestDeleteConfirmsOnTTY(t *testing.T) {
	inv := loadInventory(t, cloudInventory)
	f, out, _ := testFactory(t, inv)
	f.IOStreams.SetTTY(true, true, false)
	f.IOStreams.In = strings.NewReader("n\n")
	connected := false
	connect := func(context.Context, *inventory.Inventory) (provision.Cloud, error) {
		connected = true
		return nil, errors.New("must not connect")
	}
	err := deleteRun(&DeleteOptions{IO: f.IOStreams, Inventory: f.Inventory, Connect: connect, Name: "hub-2", Timeout: 1e9})
	if err == nil || !strings.Contains(err.Error(), "not confirmed") || connected {
		t.Errorf("answer n: %v, connected=%v", err, connected)
	}
	if !strings.Contains(out.String(), "Delete hub hub-2 and its server 7a2d1b for good? [y/N]") {
		t.Errorf("question %q", out)
	}
	f.IOStreams.In = strings.NewReader("y\n")
	err = deleteRun(&DeleteOptions{IO: f.IOStreams, Inventory: f.Inventory, Connect: connect, Name: "hub-2", Timeout: 1e9})
	if !connected || err == nil || !strings.Contains(err.Error(), "must not connect") {
		t.Errorf("answer y: %v, connected=%v", err, connected)
	}
}

func TestCloudVerbsRegistered(t *testing.T) {
	f, _, _ := testFactory(t, loadInventory(t, cloudInventory))
	cmd := NewCmdHub(f)
	for _, verb := range []string{"create", "adopt", "reboot", "delete"} {
		if c, _, err := cmd.Find([]string{verb}); err != nil || c.Name() != verb {
			t.Errorf("hub %s not registered: %v", verb, err)
		}
	}
}
