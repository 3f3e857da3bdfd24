// Package provision puts hubs on an OpenStack cloud and takes them off:
// create (keypair, security group, server, host key from the console, SSH
// and Docker), adopt, reboot and delete, and the cloud's view of the
// inventory's hubs (status, strays). It records hubs in the inventory only
// once they are really there, and removes them only once they are gone.
package provision

import (
	"context"
	"time"

	"github.com/buttctl/buttctl/ops/cloud"
)

// Cloud is what provisioning needs of a cloud; *cloud.Cloud is one.
type Cloud interface {
	FlavorID(ctx context.Context, name string) (string, error)
	ImageID(ctx context.Context, name string) (string, error)
	NetworkID(ctx context.Context, name string) (string, error)
	EnsureKeypair(ctx context.Context, name, publicKey string) (bool, error)
	DeleteKeypair(ctx context.Context, name string) error
	EnsureSecurityGroup(ctx context.Context, name string, ports []int) (*cloud.SecurityGroup, error)
	DeleteSecurityGroup(ctx context.Context, id string) error
	Boot(ctx context.Context, spec cloud.ServerSpec) (string, error)
	Server(ctx context.Context, id string) (*cloud.Server, error)
	HubServers(ctx context.Context) ([]cloud.Server, error)
	WaitStatus(ctx context.Context, id, want string, change func(cloud.Server)) (*cloud.Server, error)
	WaitGone(ctx context.Context, id string, change func(cloud.Server)) error
	Delete(ctx context.Context, id string) error
	Reboot(ctx context.Context, id string, hard bool) error
	ConsoleLog(ctx context.Context, id string, lines int) (string, error)
	SetHubMetadata(ctx context.Context, id, hub string) error
}

var _ Cloud = (*cloud.Cloud)(nil)

// Event is one step of a long operation, for progress display.
type Event struct {
	Hub     string `json:"hub"`
	Step    string `json:"step"`   // keypair, security-group, boot, status, address, host-key, ssh, docker, inventory, delete, reboot
	Status  string `json:"status"` // a server status, or done
	Message string `json:"message"`
}

// Progress receives events; nil discards them.
type Progress func(Event)

func (p Progress) emit(hub, step, status, msg string) {
	if p != nil {
		p(Event{Hub: hub, Step: step, Status: status, Message: msg})
	}
}

// pollUntil calls try every interval until it reports done or ctx ends.
func pollUntil(ctx context.Context, interval time.Duration, try func() (bool, error)) error {
	for {
		done, err := try()
		if done || err != nil {
			return err
		}
		t := time.NewTimer(interval)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
}
