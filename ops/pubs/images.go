package pubs

import (
	"context"
	"fmt"
	"sync/atomic"

	"github.com/buttctl/buttctl/inventory"
	"github.com/buttctl/buttctl/ops/audit"
	"github.com/buttctl/buttctl/ops/engine"
)

// LoadImageResult says what LoadImage did.
type LoadImageResult struct {
	Hub, Image string
	// ID is the image's id, the same on both engines.
	ID string
	// Size is the image's size as the local engine reports it (the stream is
	// about as large).
	Size int64
	// Sent is the number of bytes streamed; 0 when the hub had the image already.
	Sent int64
	// AlreadyThere: the hub had this very image (same id); nothing was sent.
	AlreadyThere bool
}

// LoadImage streams image from this machine's Docker engine (at
// localSocket; "" for the default) to the engine of hub, for hubs that
// reach no registry. progress, if not nil, gets the bytes sent so far and
// the image's size.
func (s *Service) LoadImage(ctx context.Context, hub, image, localSocket string, progress func(sent, size int64)) (r LoadImageResult, err error) {
	defer s.Audit.Begin(audit.Record{Action: "load-image", Hub: hub, Image: image}).End(&err)
	r = LoadImageResult{Hub: hub, Image: image}
	if localSocket == "" {
		localSocket = inventory.DefaultDockerSocket
	}
	to, err := s.Engine(hub)
	if err != nil {
		return r, err
	}
	from, err := engine.NewLocal("this machine", localSocket)
	if err != nil {
		return r, err
	}
	defer from.Close()
	if r.ID, r.Size, err = from.ImageID(ctx, image); err != nil {
		return r, err
	}
	if r.ID == "" {
		return r, fmt.Errorf("this machine: image %s is not in the local Docker engine (%s): build or pull it here first", image, localSocket)
	}
	if there, _, err := to.ImageID(ctx, image); err != nil {
		return r, err
	} else if there == r.ID {
		r.AlreadyThere = true
		return r, nil
	}
	var sent atomic.Int64 // written by the HTTP transport's goroutine
	err = engine.TransferImage(ctx, from, to, image, func(n int64) {
		sent.Store(n)
		if progress != nil {
			progress(n, r.Size)
		}
	})
	r.Sent = sent.Load()
	return r, err
}
