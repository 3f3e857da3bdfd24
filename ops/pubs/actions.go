package pubs

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/buttctl/buttctl/inventory"
	"github.com/buttctl/buttctl/ops/engine"
	"github.com/buttctl/buttctl/ops/pubspec"
)

// CreateResult says what Create did.
type CreateResult struct {
	Spec pubspec.Spec
	// Pulled: the hub had to pull the image.
	Pulled bool
	// NewVolume: the data volume was made now (else an existing one, with the
	// pub's identity, was kept).
	NewVolume bool
	// Started: the container was started (the inventory's state is running).
	Started bool
}

// Create makes the pub's container on its hub from the inventory, with its
// data volume (kept if it exists: the identity lives there), and starts it
// unless the inventory says stopped. A pub that already has a container is
// an error. On failure, what this call made is removed again, and the error
// says so.
func (s *Service) Create(ctx context.Context, name string) (res CreateResult, err error) {
	defer s.Begin("create", name).End(&err)
	t, err := s.target(name)
	if err != nil {
		return CreateResult{}, err
	}
	spec, err := specOf(s.inv, t)
	if err != nil {
		return CreateResult{}, err
	}
	res = CreateResult{Spec: spec}
	if c, err := t.eng.PubContainer(ctx, name); err == nil {
		return res, t.fail(fmt.Errorf("already has a container (%s, %s): start it, or 'buttctl pub rm %s' first to create it anew (the data volume is kept)", c.Name, c.State, name))
	} else if !engine.IsNotFound(err) {
		return res, t.fail(err)
	}
	if res.Pulled, err = s.ensureImage(ctx, t, spec.Image); err != nil {
		return res, err
	}
	if _, err := t.eng.EnsureNetwork(ctx, spec.Network); err != nil {
		return res, t.fail(err)
	}
	if res.NewVolume, err = t.eng.EnsureVolume(ctx, spec.Volume, pubspec.VolumeLabels(name)); err != nil {
		return res, t.fail(err)
	}
	cfg, host := spec.Docker()
	c, err := t.eng.Create(ctx, spec.ContainerName, cfg, host)
	if err != nil {
		return res, t.fail(s.undoCreate(ctx, t, spec, nil, res.NewVolume, err))
	}
	if t.pub.State == inventory.StateStopped {
		return res, nil
	}
	if err := t.eng.Start(ctx, c); err != nil {
		return res, t.fail(s.undoCreate(ctx, t, spec, &c, res.NewVolume, explainStart(err, spec)))
	}
	res.Started = true
	return res, nil
}

// ensureImage pulls the image if the hub lacks it; pulled says it did.
func (s *Service) ensureImage(ctx context.Context, t target, image string) (pulled bool, err error) {
	has, err := t.eng.HasImage(ctx, image)
	if err != nil || has {
		return false, t.fail(err)
	}
	if err := t.eng.PullImage(ctx, image); err != nil {
		if engine.IsUnreachable(err) {
			return false, t.fail(err)
		}
		var ee *engine.Error
		cause := err.Error()
		if errors.As(err, &ee) {
			cause = strings.TrimPrefix(ee.Err.Error(), "pull image "+image+": ")
		}
		return false, t.fail(fmt.Errorf("image %s is not on the hub and the hub could not pull it (%s): copy it there with 'buttctl hub load-image %s %s'", image, truncate(cause, 200), t.pub.Hub, image))
	}
	return true, nil
}

// undoCreate removes what a failed Create made (the container c if not nil,
// the volume if newVolume) and returns cause with what was undone, or what
// remains.
func (s *Service) undoCreate(ctx context.Context, t target, spec pubspec.Spec, c *engine.Container, newVolume bool, cause error) error {
	var undone, left []string
	if c != nil {
		if err := t.eng.Remove(ctx, *c); err != nil {
			left = append(left, "container "+spec.ContainerName)
		} else {
			undone = append(undone, "container "+spec.ContainerName)
		}
	}
	if newVolume {
		// Nothing ran on it: it holds no identity yet.
		if err := t.eng.RemoveVolume(ctx, spec.Volume, spec.Pub); err != nil {
			left = append(left, "volume "+spec.Volume)
		} else {
			undone = append(undone, "volume "+spec.Volume)
		}
	}
	msg := strings.TrimPrefix(cause.Error(), t.pub.Hub+": ")
	if len(undone) > 0 {
		msg += "; removed the new " + strings.Join(undone, " and ")
	}
	if len(left) > 0 {
		msg += "; could not remove the new " + strings.Join(left, " and ") + ": remove it with 'buttctl pub rm " + spec.Pub + " --purge'"
	}
	if !newVolume {
		msg += "; kept the existing volume " + spec.Volume
	}
	return &undoneError{msg: msg, err: cause}
}

// undoneError rewrites an error's message and keeps it for errors.Is.
type undoneError struct {
	msg string
	err error
}

func (e *undoneError) Error() string { return e.msg }
func (e *undoneError) Unwrap() error { return e.err }

var portTaken = regexp.MustCompile(`port is already allocated|address already in use`)

// explainStart rewrites the engine's words for a start that failed because
// the pub's port is taken on the hub.
func explainStart(err error, spec pubspec.Spec) error {
	if portTaken.MatchString(err.Error()) {
		return &undoneError{msg: fmt.Sprintf("port %d is already taken on the hub (by another container or program): free it, or give the pub another port in the inventory", spec.HostPort), err: err}
	}
	return err
}

// Result says what an action did to one pub.
type Result struct {
	Pub, Hub string
	// Done is false when the pub already was as asked (e.g. start of a running pub).
	Done bool
	// State is the container's state afterwards.
	State string
}

// Start starts the pub's container, and clears the record of an operator
// stop (so that watch keeps it running again).
func (s *Service) Start(ctx context.Context, name string) (r Result, err error) {
	defer s.Begin("start", name).End(&err)
	t, c, err := s.resolve(ctx, name)
	if err != nil {
		return Result{}, err
	}
	r = Result{Pub: name, Hub: t.pub.Hub, State: c.State}
	if err := s.clearOperatorStop(ctx, t, c); err != nil {
		return r, err
	}
	if c.State == "running" {
		return r, nil
	}
	if err := t.eng.Start(ctx, c); err != nil {
		spec, _ := pubspec.Build(s.inv, t.pub)
		return r, t.fail(explainStart(err, spec))
	}
	r.Done, r.State = true, "running"
	return r, nil
}

// Stop stops the pub's container (SIGTERM, then SIGKILL after its stop
// timeout). It first records in the container that an operator stopped it
// (engine.OperatorStop, by Operator), so that watch leaves it stopped until
// Start or Restart.
func (s *Service) Stop(ctx context.Context, name string) (r Result, err error) {
	defer s.Begin("stop", name).End(&err)
	t, c, err := s.resolve(ctx, name)
	if err != nil {
		return Result{}, err
	}
	r = Result{Pub: name, Hub: t.pub.Hub, State: c.State}
	if rec, err := t.eng.OperatorStopOf(ctx, c); err != nil || !rec.Stopped {
		if err := t.eng.SetOperatorStop(ctx, c, engine.OperatorStop{Stopped: true, By: s.Operator, At: s.Now().UTC()}); err != nil {
			return r, t.fail(err)
		}
	}
	if c.State != "running" && c.State != "restarting" && c.State != "paused" {
		return r, nil
	}
	if err := t.eng.Stop(ctx, c, nil); err != nil {
		return r, t.fail(err)
	}
	r.Done, r.State = true, "exited"
	return r, nil
}

// Restart restarts the pub's container (starts it if it was not running),
// and clears the record of an operator stop.
func (s *Service) Restart(ctx context.Context, name string) (r Result, err error) {
	defer s.Begin("restart", name).End(&err)
	t, c, err := s.resolve(ctx, name)
	if err != nil {
		return Result{}, err
	}
	r = Result{Pub: name, Hub: t.pub.Hub, State: c.State}
	if err := s.clearOperatorStop(ctx, t, c); err != nil {
		return r, err
	}
	if err := t.eng.Restart(ctx, c, nil); err != nil {
		spec, _ := pubspec.Build(s.inv, t.pub)
		return r, t.fail(explainStart(err, spec))
	}
	r.Done, r.State = true, "running"
	return r, nil
}

// clearOperatorStop clears c's record of an operator stop, if it has one.
func (s *Service) clearOperatorStop(ctx context.Context, t target, c engine.Container) error {
	rec, err := t.eng.OperatorStopOf(ctx, c)
	if err != nil {
		return t.fail(err)
	}
	if !rec.Stopped {
		return nil
	}
	return t.fail(t.eng.SetOperatorStop(ctx, c, engine.OperatorStop{By: s.Operator, At: s.Now().UTC()}))
}

// Kill sends signal ("" for SIGKILL) to the pub's running container.
func (s *Service) Kill(ctx context.Context, name, signal string) (r Result, err error) {
	defer s.Begin("kill", name).End(&err)
	t, c, err := s.resolve(ctx, name)
	if err != nil {
		return Result{}, err
	}
	r = Result{Pub: name, Hub: t.pub.Hub, State: c.State}
	if c.State != "running" && c.State != "restarting" && c.State != "paused" {
		return r, t.fail(fmt.Errorf("not running (%s): nothing to kill", c.State))
	}
	if err := t.eng.Kill(ctx, c, signal); err != nil {
		return r, t.fail(err)
	}
	r.Done = true
	if got, err := t.eng.PubContainer(ctx, name); err == nil {
		r.State = got.State
	}
	return r, nil
}

// RemoveResult says what Remove did.
type RemoveResult struct {
	Pub, Hub         string
	ContainerRemoved bool
	// Volume is the pub's data volume; VolumeRemoved says it is gone (purge).
	Volume        string
	VolumeRemoved bool
	VolumeExists  bool
}

// Remove removes the pub's container (stopping it first). The data volume,
// and with it the pub's identity, is kept unless purge.
func (s *Service) Remove(ctx context.Context, name string, purge bool) (r RemoveResult, err error) {
	defer s.Begin("rm", name).End(&err)
	t, err := s.target(name)
	if err != nil {
		return RemoveResult{}, err
	}
	r = RemoveResult{Pub: name, Hub: t.pub.Hub, Volume: pubspec.VolumeName(name)}
	c, err := t.eng.PubContainer(ctx, name)
	switch {
	case err == nil:
		if err := t.eng.Remove(ctx, c); err != nil {
			return r, t.fail(err)
		}
		r.ContainerRemoved = true
	case !engine.IsNotFound(err):
		return r, t.fail(err)
	}
	if r.VolumeExists, err = t.eng.VolumeExists(ctx, r.Volume, name); err != nil {
		return r, t.fail(fmt.Errorf("%w (container removed: %v)", err, r.ContainerRemoved))
	}
	if purge && r.VolumeExists {
		if err := t.eng.RemoveVolume(ctx, r.Volume, name); err != nil {
			return r, t.fail(fmt.Errorf("%w (container removed: %v; the volume remains)", err, r.ContainerRemoved))
		}
		r.VolumeRemoved, r.VolumeExists = true, false
	}
	if !r.ContainerRemoved && !r.VolumeRemoved {
		if r.VolumeExists {
			return r, t.fail(fmt.Errorf("no container to remove (its volume %s is kept; add --purge to delete it and the pub's identity): %w", r.Volume, engine.ErrNotFound))
		}
		return r, t.fail(fmt.Errorf("no container and no volume to remove: %w", engine.ErrNotFound))
	}
	return r, nil
}
