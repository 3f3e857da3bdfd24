package openstacktest

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack"
	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/flavors"

	"github.com/buttctl/buttctl/ops/provision"
)

// A server the scheduler cannot place (a flavor with more disk than the fake
// hypervisor) goes to ERROR after the API accepted it: create deletes the
// server, the keypair and the security group it made, and says why.
func TestCreateThatEndsInErrorRemovesWhatItMade(t *testing.T) {
	f := newFleet(t, "")
	ctx := testContext(t)
	compute, err := openstack.NewComputeV2(admin(t, f.env), gophercloud.EndpointOpts{Region: f.env.Region})
	if err != nil {
		t.Fatal(err)
	}
	public := true
	huge, err := flavors.Create(ctx, compute, flavors.CreateOpts{Name: f.name + "-huge", RAM: 512, VCPUs: 1, Disk: gophercloud.IntToPointer(1 << 20), IsPublic: &public}).Extract()
	if err != nil {
		t.Fatalf("create flavor: %v", err)
	}
	t.Cleanup(func() { flavors.Delete(context.Background(), compute, huge.ID) })

	var events []provision.Event
	o := f.createOptions("test-error", &events)
	o.Flavor = huge.Name
	_, err = provision.Create(ctx, f.cloud, o)
	var ce *provision.CreateError
	if !errors.As(err, &ce) {
		t.Fatalf("create: %v, want a CreateError", err)
	}
	msg := err.Error()
	for _, want := range []string{"went to ERROR", "No valid host", "removed what it made: server ", "security group " + f.name, "keypair " + f.name} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q lacks %q", msg, want)
		}
	}
	if strings.Contains(msg, "left on the cloud") {
		t.Errorf("error says something remains: %q", msg)
	}
	servers, err := f.cloud.HubServers(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range servers {
		if s.Hub == "test-error" {
			t.Errorf("server %s (%s) is still there", s.ID, s.Status)
		}
	}
	if created, err := f.cloud.EnsureKeypair(ctx, f.name, f.publicKey); err != nil || !created {
		t.Errorf("keypair still there after the failed create (created=%v, %v)", created, err)
	}
}
