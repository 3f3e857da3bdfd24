package openstacktest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack"
	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/quotasets"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/networks"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/subnets"
	"golang.org/x/crypto/ssh"

	"github.com/buttctl/buttctl/inventory"
	"github.com/buttctl/buttctl/ops/audit"
	"github.com/buttctl/buttctl/ops/cloud"
	"github.com/buttctl/buttctl/ops/provision"
	"github.com/buttctl/buttctl/sshexec/sshdtest"
)

func init() { cloud.PollInterval = 500 * time.Millisecond }

// userNetwork is a raw network client as the project user, for what the
// tests arrange around buttctl.
func userNetwork(t *testing.T, env *Env) *gophercloud.ServiceClient {
	t.Helper()
	p, err := openstack.AuthenticatedClient(testContext(t), gophercloud.AuthOptions{
		IdentityEndpoint: env.AuthURL, Username: "buttctl", Password: env.Password(t, UserCloud), DomainName: "Default",
		Scope: &gophercloud.AuthScope{ProjectName: "buttctl", DomainName: "Default"},
	})
	if err != nil {
		t.Fatal(err)
	}
	n, err := openstack.NewNetworkV2(p, gophercloud.EndpointOpts{Region: env.Region})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// networkFor makes a network whose only allocatable address is ip: Neutron
// will give the server exactly that address, where the test's sshd listens.
func networkFor(t *testing.T, env *Env, ip string) string {
	t.Helper()
	ctx := testContext(t)
	nc := userNetwork(t, env)
	name := "buttctl-test-" + strings.ReplaceAll(ip, ".", "-")
	n, err := networks.Create(ctx, nc, networks.CreateOpts{Name: name}).Extract()
	if err != nil {
		t.Fatalf("create network: %v", err)
	}
	t.Cleanup(func() { networks.Delete(context.Background(), nc, n.ID) })
	noGateway, off := "", false
	_, err = subnets.Create(ctx, nc, subnets.CreateOpts{
		NetworkID: n.ID, Name: name, IPVersion: gophercloud.IPv4, CIDR: "127.0.0.0/8",
		GatewayIP: &noGateway, EnableDHCP: &off,
		AllocationPools: []subnets.AllocationPool{{Start: ip, End: ip}},
	}).Extract()
	if err != nil {
		t.Fatalf("create subnet: %v", err)
	}
	return name
}

// cloudInitConsole wraps the real cloud. The fake virt driver's console log
// is a fixed text ("FAKE CONSOLE OUTPUT..."), and a fake-driver server has no
// sshd of its own: this test's server stands in for it at the address Neutron
// gave it. So the console log the real Nova returns gets, appended, what
// cloud-init prints there on a real server: the block of that sshd's host
// key fingerprints and keys. Everything else is the real cloud.
type cloudInitConsole struct {
	*cloud.Cloud
	hostKey ssh.PublicKey
	mu      sync.Mutex
	reads   int
}

func (c *cloudInitConsole) ConsoleLog(ctx context.Context, id string, lines int) (string, error) {
	log, err := c.Cloud.ConsoleLog(ctx, id, lines)
	if err != nil {
		return "", err
	}
	c.mu.Lock()
	c.reads++
	c.mu.Unlock()
	fp := ssh.FingerprintSHA256(c.hostKey)
	key := strings.TrimSpace(string(ssh.MarshalAuthorizedKey(c.hostKey)))
	return log + "\n<14>Nov 26 10:00:00 ec2: #############################################################\n" +
		"<14>Nov 26 10:00:00 ec2: -----BEGIN SSH HOST KEY FINGERPRINTS-----\n" +
		"<14>Nov 26 10:00:00 ec2: 256 " + fp + " root@hub (ED25519)\n" +
		"<14>Nov 26 10:00:00 ec2: -----END SSH HOST KEY FINGERPRINTS-----\n" +
		"-----BEGIN SSH HOST KEY KEYS-----\n" + key + " root@hub\n-----END SSH HOST KEY KEYS-----\n", nil
}

const inventoryText = `# the fleet under test
version: 1

# hubs live on the test cloud
cloud:
  name: buttctl
  server: {flavor: %[1]s, image: %[2]s, network: %[3]s, keypair: %[4]s, security_groups: [%[4]s]}

ssh:
  user: %[5]s
  port: %[6]d
  identity_file: %[7]s
  known_hosts: %[8]s
  host_key_checking: strict

hubs:
  - name: local   # this machine
    local: true
`

type fleet struct {
	env       *Env
	cloud     *cloud.Cloud
	dir       string
	path      string
	inv       *inventory.Inventory
	sshd      *sshdtest.Server
	name      string // keypair and security group
	publicKey string
}

func newFleet(t *testing.T, network string) *fleet {
	t.Helper()
	env := Require(t)
	f := &fleet{env: env, cloud: connect(t, env), dir: t.TempDir()}
	f.sshd = sshdtest.Start(t)
	f.name = fmt.Sprintf("buttctl-test-%d", time.Now().UnixNano()%1e9)
	pub, err := os.ReadFile(f.sshd.UserKey.PubPath)
	if err != nil {
		t.Fatal(err)
	}
	f.publicKey = string(pub)
	if network == "" {
		network = networkFor(t, env, f.sshd.IP)
	}
	f.path = filepath.Join(f.dir, "buttctl.yaml")
	text := fmt.Sprintf(inventoryText, env.Flavor, env.Image, network, f.name, f.sshd.User, f.sshd.Port, f.sshd.IdentityPath(), filepath.Join(f.dir, "known_hosts"))
	if err := os.WriteFile(f.path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	f.reload(t)
	t.Cleanup(func() {
		ctx := context.Background()
		if servers, err := f.cloud.HubServers(ctx); err == nil {
			for _, s := range servers {
				if strings.HasPrefix(s.Name, "test-") {
					f.cloud.Delete(ctx, s.ID)
					f.cloud.WaitGone(ctx, s.ID, nil)
				}
			}
		}
		f.cloud.DeleteKeypair(ctx, f.name)
		if sg, err := f.cloud.EnsureSecurityGroup(ctx, f.name, nil); err == nil {
			f.cloud.DeleteSecurityGroup(ctx, sg.ID)
		}
	})
	return f
}

func (f *fleet) reload(t *testing.T) {
	t.Helper()
	inv, err := inventory.Load(f.path)
	if err != nil {
		t.Fatal(err)
	}
	f.inv = inv
}

func (f *fleet) createOptions(hub string, events *[]provision.Event) provision.CreateOptions {
	s := f.inv.Cloud.Server
	var mu sync.Mutex
	return provision.CreateOptions{
		Hub: hub, Flavor: s.Flavor, Image: s.Image, Network: s.Network, Keypair: s.Keypair, SecurityGroups: s.SecurityGroups,
		PublicKey: f.publicKey, SSHUser: f.inv.SSH.User, SSHPort: f.inv.SSH.Port, Ports: []int{8008},
		KnownHosts: f.inv.SSH.KnownHosts, PollInterval: 500 * time.Millisecond,
		HostKeyTimeout: 20 * time.Second, ReadyTimeout: 60 * time.Second,
		WaitReady: provision.WaitReady(f.inv, 500*time.Millisecond), Record: provision.RecordIn(f.path),
		Progress: func(e provision.Event) {
			mu.Lock()
			*events = append(*events, e)
			mu.Unlock()
		},
	}
}

// create → ACTIVE → SSH and Docker → inventory → list → reboot → delete,
// against the real cloud, the real sshd and this machine's Docker engine.
func TestCreateListRebootDelete(t *testing.T) {
	f := newFleet(t, "")
	ctx := testContext(t)
	wrapped := &cloudInitConsole{Cloud: f.cloud, hostKey: f.sshd.HostKey()}
	var events []provision.Event
	auditPath := filepath.Join(t.TempDir(), "audit.jsonl")
	log := audit.File(auditPath, audit.SourceCLI)
	defer log.Close()
	o := f.createOptions("test-hub-1", &events)
	o.Audit = log
	made, err := provision.Create(ctx, wrapped, o)
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	if made.Hub.Address != f.sshd.IP || made.ServerID == "" || !made.Recorded {
		t.Errorf("created %+v, want address %s, a server id, recorded", made, f.sshd.IP)
	}
	if made.Keypair != f.name || len(made.SecurityGroups) != 1 {
		t.Errorf("created keypair %q and groups %v, want %s and one group", made.Keypair, made.SecurityGroups, f.name)
	}
	var steps []string
	password := f.env.Password(t, UserCloud)
	for _, e := range events {
		steps = append(steps, e.Step+":"+e.Status)
		if strings.Contains(e.Message, password) {
			t.Errorf("progress prints the password: %q", e.Message)
		}
	}
	for _, want := range []string{"keypair:done", "security-group:done", "boot:done", "status:ACTIVE", "address:done", "host-key:done", "docker:done", "inventory:done"} {
		if !strings.Contains(strings.Join(steps, " "), want) {
			t.Errorf("progress %v lacks %s", steps, want)
		}
	}
	// The server is really there, tagged, and the inventory says so with its comments.
	s, err := f.cloud.Server(ctx, made.ServerID)
	if err != nil || s.Status != cloud.StatusActive || s.Hub != "test-hub-1" {
		t.Fatalf("server %+v, %v", s, err)
	}
	text, _ := os.ReadFile(f.path)
	for _, want := range []string{"# the fleet under test", "# hubs live on the test cloud", "# this machine", "name: test-hub-1", "address: " + f.sshd.IP, "server_id: " + made.ServerID} {
		if !strings.Contains(string(text), want) {
			t.Errorf("inventory lacks %q:\n%s", want, text)
		}
	}
	kh, _ := os.ReadFile(f.inv.SSH.KnownHosts)
	if !strings.Contains(string(kh), fmt.Sprintf("[%s]:%d ", f.sshd.IP, f.sshd.Port)) {
		t.Errorf("known_hosts %q lacks the verified key for the server's address", kh)
	}

	f.reload(t)
	state, err := provision.CloudState(ctx, f.cloud, f.inv)
	if err != nil {
		t.Fatal(err)
	}
	if len(state) != 1 || state[0].Hub != "test-hub-1" || state[0].Status != cloud.StatusActive || state[0].Flavor != f.env.Flavor ||
		len(state[0].Addresses) != 1 || state[0].Addresses[0] != f.sshd.IP || state[0].Stray || state[0].Created.IsZero() {
		t.Errorf("cloud state %+v", state)
	}

	h, _ := f.inv.Hub("test-hub-1")
	events = nil
	if err := provision.Reboot(ctx, f.cloud, h, provision.RebootOptions{Hard: true, Progress: func(e provision.Event) { events = append(events, e) }, Audit: log}); err != nil {
		t.Fatalf("reboot: %v", err)
	}
	if len(events) < 2 || events[0].Step != "reboot" || events[len(events)-1].Status != cloud.StatusActive {
		t.Errorf("reboot events %+v", events)
	}

	// A hub with pubs is refused unless forced; the server stays.
	if err := inventory.Update(ctx, f.path, inventory.LockOptions{}, func(e *inventory.Editor) error {
		return e.AddPub(inventory.Pub{Name: "scuttle-1", Hub: "test-hub-1"})
	}); err != nil {
		t.Fatal(err)
	}
	f.reload(t)
	err = provision.Delete(ctx, f.cloud, f.inv, "test-hub-1", provision.DeleteOptions{InventoryPath: f.path, Audit: log})
	if !errors.Is(err, provision.ErrHasPubs) || !strings.Contains(err.Error(), "scuttle-1") || !strings.Contains(err.Error(), "--force") {
		t.Fatalf("delete with pubs: %v", err)
	}
	if s, err := f.cloud.Server(ctx, made.ServerID); err != nil || s.Status != cloud.StatusActive {
		t.Fatalf("refused delete touched the server: %+v %v", s, err)
	}
	if err := provision.Delete(ctx, f.cloud, f.inv, "test-hub-1", provision.DeleteOptions{Force: true, InventoryPath: f.path, Audit: log}); err != nil {
		t.Fatalf("delete --force: %v", err)
	}
	if _, err := f.cloud.Server(ctx, made.ServerID); !cloud.IsNotFound(err) {
		t.Errorf("server after delete: %v, want 404", err)
	}
	f.reload(t)
	if _, ok := f.inv.Hub("test-hub-1"); ok {
		t.Error("hub still in the inventory after delete")
	}
	if p, ok := f.inv.Pub("scuttle-1"); !ok || p.Hub != "" {
		t.Errorf("pub after forced delete: %+v %v, want kept without a hub", p, ok)
	}
	// Each operation is in the audit log, as it went; the cloud's password is not.
	recs, err := audit.ReadFile(auditPath)
	var got []string
	for _, r := range recs {
		got = append(got, r.Action+" "+r.Hub+" "+r.Result)
	}
	want := "hub-create test-hub-1 ok, reboot test-hub-1 ok, hub-delete test-hub-1 failed, hub-delete test-hub-1 ok"
	if err != nil || strings.Join(got, ", ") != want {
		t.Errorf("audit log: %v (%v), want %s", got, err, want)
	}
	if text, _ := os.ReadFile(auditPath); strings.Contains(string(text), password) {
		t.Errorf("the audit log holds the cloud's password:\n%s", text)
	}
}

// With the fake driver's real console log there are no host keys to verify:
// create must not trust the server blindly. It stops, keeps the ACTIVE
// server, says exactly what remains and how to go on, and records nothing.
func TestCreateRefusesUnverifiableHostKey(t *testing.T) {
	f := newFleet(t, "")
	ctx := testContext(t)
	var events []provision.Event
	o := f.createOptions("test-hub-2", &events)
	o.HostKeyTimeout = 2 * time.Second
	_, err := provision.Create(ctx, f.cloud, o)
	var ce *provision.CreateError
	if !errors.As(err, &ce) {
		t.Fatalf("create: %v, want a CreateError", err)
	}
	msg := err.Error()
	for _, want := range []string{"no SSH host keys", "host key cannot be verified", "left on the cloud: server ", "ACTIVE at " + f.sshd.IP, "keypair " + f.name, "hub adopt test-hub-2 --server"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q lacks %q", msg, want)
		}
	}
	if strings.Contains(msg, "\n") {
		t.Errorf("error is not one line: %q", msg)
	}
	servers, _ := f.cloud.HubServers(ctx)
	found := false
	for _, s := range servers {
		found = found || s.Hub == "test-hub-2" && s.Status == cloud.StatusActive
	}
	if !found {
		t.Error("the ACTIVE server the error reports is not on the cloud")
	}
	f.reload(t)
	if _, ok := f.inv.Hub("test-hub-2"); ok {
		t.Error("an unverified hub was recorded in the inventory")
	}
	if kh, _ := os.ReadFile(f.inv.SSH.KnownHosts); len(kh) != 0 {
		t.Errorf("known_hosts written without verification: %q", kh)
	}
}

// A server with buttctl.hub metadata that the inventory lacks is a stray;
// adopt records it.
func TestStrayAndAdopt(t *testing.T) {
	f := newFleet(t, "")
	ctx := testContext(t)
	var events []provision.Event
	o := f.createOptions("test-stray", &events)
	o.NoWait = true
	made, err := provision.Create(ctx, f.cloud, o)
	if err != nil || made.Status != cloud.StatusBuild || made.Recorded {
		t.Fatalf("create --no-wait: %+v %v", made, err)
	}
	if _, err := f.cloud.WaitStatus(ctx, made.ServerID, cloud.StatusActive, nil); err != nil {
		t.Fatal(err)
	}
	state, err := provision.CloudState(ctx, f.cloud, f.inv)
	if err != nil {
		t.Fatal(err)
	}
	if len(state) != 1 || !state[0].Stray || state[0].Hub != "test-stray" || state[0].ServerID != made.ServerID {
		t.Fatalf("cloud state %+v, want one stray", state)
	}
	var records bytes.Buffer
	h, err := provision.Adopt(ctx, f.cloud, f.inv, "test-stray", made.ServerID, provision.AdoptOptions{Network: f.inv.Cloud.Server.Network, SSHPort: f.inv.SSH.Port, KnownHosts: f.inv.SSH.KnownHosts, InventoryPath: f.path,
		Audit: audit.Writer(&records, audit.SourceCLI)})
	if err != nil {
		t.Fatalf("adopt: %v", err)
	}
	if recs, err := audit.Read(&records); err != nil || len(recs) != 1 || recs[0].Action != "hub-adopt" || recs[0].Hub != "test-stray" || recs[0].Result != audit.ResultOK {
		t.Errorf("adopt's audit record: %+v %v", recs, err)
	}
	if h.Address != f.sshd.IP {
		t.Errorf("adopted address %q, want %s", h.Address, f.sshd.IP)
	}
	f.reload(t)
	state, err = provision.CloudState(ctx, f.cloud, f.inv)
	if err != nil || len(state) != 1 || state[0].Stray || state[0].Status != cloud.StatusActive {
		t.Errorf("after adopt: %+v %v", state, err)
	}
	// Deleted behind buttctl's back, the hub shows as missing.
	if err := f.cloud.Delete(ctx, made.ServerID); err != nil {
		t.Fatal(err)
	}
	if err := f.cloud.WaitGone(ctx, made.ServerID, nil); err != nil {
		t.Fatal(err)
	}
	state, err = provision.CloudState(ctx, f.cloud, f.inv)
	if err != nil || len(state) != 1 || state[0].Status != cloud.StatusMissing {
		t.Errorf("after deleting the server: %+v %v", state, err)
	}
}

// A tight quota makes the boot fail; what the create made is removed and the
// error names the quota.
func TestQuotaExceeded(t *testing.T) {
	f := newFleet(t, "")
	ctx := testContext(t)
	compute, err := openstack.NewComputeV2(admin(t, f.env), gophercloud.EndpointOpts{Region: f.env.Region})
	if err != nil {
		t.Fatal(err)
	}
	zero, ten := 0, 10
	if _, err := quotasets.Update(ctx, compute, f.env.ProjectID, quotasets.UpdateOpts{Instances: &zero}).Extract(); err != nil {
		t.Fatalf("set quota: %v", err)
	}
	t.Cleanup(func() {
		quotasets.Update(context.Background(), compute, f.env.ProjectID, quotasets.UpdateOpts{Instances: &ten})
	})
	var events []provision.Event
	_, err = provision.Create(ctx, f.cloud, f.createOptions("test-quota", &events))
	if !cloud.IsQuota(err) {
		t.Fatalf("create over quota: %v, want a quota error", err)
	}
	msg := err.Error()
	for _, want := range []string{"403", "Quota exceeded for instances", "raise the quota", "removed what it made: ", "security group " + f.name, "keypair " + f.name} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q lacks %q", msg, want)
		}
	}
	if strings.Contains(msg, "left on the cloud") {
		t.Errorf("error says something remains: %q", msg)
	}
	if _, err := f.cloud.EnsureKeypair(ctx, f.name, f.publicKey); err != nil {
		t.Fatal(err)
	}
}

func TestUnknownFlavorImageNetworkMakeNothing(t *testing.T) {
	f := newFleet(t, "public")
	ctx := testContext(t)
	for _, c := range []struct{ what, flag string }{{"flavor", "--flavor"}, {"image", "--image"}, {"network", "--network"}} {
		var events []provision.Event
		o := f.createOptions("test-unknown", &events)
		switch c.what {
		case "flavor":
			o.Flavor = "m9.huge"
		case "image":
			o.Image = "Plan 9"
		case "network":
			o.Network = "Ext-Net"
		}
		_, err := provision.Create(ctx, f.cloud, o)
		if err == nil || !strings.Contains(err.Error(), "no "+c.what+" named") || !strings.Contains(err.Error(), c.flag) || !strings.Contains(err.Error(), "cloud.server."+c.what) {
			t.Errorf("unknown %s: %v", c.what, err)
		}
		if len(events) != 0 {
			t.Errorf("unknown %s: something was made: %+v", c.what, events)
		}
	}
	created, err := f.cloud.EnsureKeypair(ctx, f.name, f.publicKey)
	if err != nil || !created {
		t.Errorf("keypair existed after refused creates (created=%v, %v)", created, err)
	}
}
