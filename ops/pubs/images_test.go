package pubs_test

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/buttctl/buttctl/ops/engine"
	"github.com/buttctl/buttctl/ops/pubs/pubstest"
	"github.com/buttctl/buttctl/sshexec/sshdtest"
)

// TestImageStreamsThroughSSH saves the image from this machine's engine
// and loads it through a real sshd's streamlocal forwarding (into the same
// engine: this machine has one).
func TestImageStreamsThroughSSH(t *testing.T) {
	needDocker(t)
	srv := sshdtest.Start(t)
	s := service(t, sshInventory(t, srv, ""))
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	remote, err := s.Engine("remote")
	if err != nil {
		t.Fatal(err)
	}
	local, err := engine.NewLocal("this machine", pubstest.Socket)
	if err != nil {
		t.Fatal(err)
	}
	defer local.Close()
	var sent, calls atomic.Int64
	if err := engine.TransferImage(ctx, local, remote, pubstest.Image, func(n int64) { sent.Store(n); calls.Add(1) }); err != nil {
		t.Fatal(err)
	}
	_, size, err := local.ImageID(ctx, pubstest.Image)
	if err != nil {
		t.Fatal(err)
	}
	if sent.Load() < size/2 || calls.Load() < 2 {
		t.Errorf("sent %d bytes in %d reads of a %d-byte image", sent.Load(), calls.Load(), size)
	}

	// The same image is not sent twice.
	r, err := s.LoadImage(ctx, "remote", pubstest.Image, "", nil)
	if err != nil || !r.AlreadyThere || r.Sent != 0 || !strings.HasPrefix(r.ID, "sha256:") {
		t.Errorf("LoadImage of an image the hub has: %+v %v", r, err)
	}
	if _, err := s.LoadImage(ctx, "remote", "buttctl-test/no-such-image:1", "", nil); err == nil ||
		err.Error() != "this machine: image buttctl-test/no-such-image:1 is not in the local Docker engine (/var/run/docker.sock): build or pull it here first" {
		t.Errorf("LoadImage of a missing image: %v", err)
	}
}
