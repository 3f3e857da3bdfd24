package engine

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/moby/moby/client"
)

// OperatorStop is the record, kept in a container itself, that an operator
// stopped it through buttctl: `buttctl watch` leaves such a container
// alone until an operator starts it again. Keeping the record in the
// container (a small file at OperatorStopPath in its own file system, not
// in the pub's data volume) makes it visible to every buttctl that reaches
// the hub — a central watch and an agent on the hub alike — and makes it go
// away with the container.
type OperatorStop struct {
	// Stopped says the container was stopped by an operator and must stay so.
	Stopped bool `json:"stopped"`
	// By says who: "user@host" of the buttctl that stopped it.
	By string `json:"by,omitempty"`
	// At is when the record was written.
	At time.Time `json:"at"`
}

// OperatorStopPath is where the record lives in a container's file system.
const OperatorStopPath = "/.buttctl-operator-stop"

// maxOperatorStop bounds what is read as a record.
const maxOperatorStop = 4 << 10

// SetOperatorStop writes the operator-stop record of a managed container
// (in any state). Writing one with Stopped false clears it.
func (e *Engine) SetOperatorStop(ctx context.Context, c Container, s OperatorStop) error {
	body, err := json.Marshal(s)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	if err := tw.WriteHeader(&tar.Header{Name: OperatorStopPath[1:], Mode: 0o644, Size: int64(len(body)), ModTime: s.At}); err != nil {
		return err
	}
	if _, err := tw.Write(body); err != nil {
		return err
	}
	if err := tw.Close(); err != nil {
		return err
	}
	return e.do(ctx, c, "record the operator stop of container", func() error {
		_, err := e.api.CopyToContainer(ctx, c.ID, client.CopyToContainerOptions{DestinationPath: "/", Content: &buf})
		return err
	})
}

// OperatorStopOf reads the operator-stop record of a managed container; a
// container without one has the zero record (not stopped).
func (e *Engine) OperatorStopOf(ctx context.Context, c Container) (OperatorStop, error) {
	var s OperatorStop
	var body []byte
	err := e.do(ctx, c, "read the operator stop of container", func() error {
		res, err := e.api.CopyFromContainer(ctx, c.ID, client.CopyFromContainerOptions{SourcePath: OperatorStopPath})
		if err != nil {
			return err
		}
		defer res.Content.Close()
		tr := tar.NewReader(res.Content)
		h, err := tr.Next()
		if err != nil {
			return fmt.Errorf("reading %s: %w", OperatorStopPath, err)
		}
		if h.Typeflag != tar.TypeReg || h.Size > maxOperatorStop {
			return fmt.Errorf("%s is not a small regular file", OperatorStopPath)
		}
		body, err = io.ReadAll(tr)
		return err
	})
	if IsNotFound(err) {
		return s, nil
	}
	if err != nil {
		return s, err
	}
	if err := json.Unmarshal(body, &s); err != nil {
		return OperatorStop{}, &Error{Hub: e.hub, Err: errors.New("container " + c.Name + ": " + OperatorStopPath + " is not an operator-stop record: remove the container's record with 'buttctl pub start'")}
	}
	return s, nil
}
