package engine

import (
	"context"
	"fmt"

	"github.com/moby/moby/client"
)

// EnsureVolume makes sure the named volume exists with labels, which must
// mark it as buttctl's. created says whether this call made it. A volume of
// that name without buttctl's labels is an error, and is left alone.
func (e *Engine) EnsureVolume(ctx context.Context, name string, labels map[string]string) (created bool, err error) {
	if labels[LabelManaged] != "true" || labels[LabelPub] == "" {
		return false, &Error{Hub: e.hub, Err: fmt.Errorf("refusing to create volume %s without buttctl's labels", name)}
	}
	if err := e.ready(ctx); err != nil {
		return false, err
	}
	got, err := e.api.VolumeInspect(ctx, name, client.VolumeInspectOptions{})
	switch {
	case err == nil:
		l := got.Volume.Labels
		if l[LabelManaged] != "true" || l[LabelPub] != labels[LabelPub] {
			return false, &Error{Hub: e.hub, Err: fmt.Errorf("volume %s exists but is not pub %s's (its labels say otherwise): buttctl leaves it alone; rename the pub or remove the volume yourself", name, labels[LabelPub])}
		}
		return false, nil
	case !IsNotFound(err):
		return false, e.fail(err, "inspect volume "+name)
	}
	if _, err := e.api.VolumeCreate(ctx, client.VolumeCreateOptions{Name: name, Labels: labels}); err != nil {
		return false, e.fail(err, "create volume "+name)
	}
	return true, nil
}

// VolumeExists reports whether pub's managed volume name exists.
func (e *Engine) VolumeExists(ctx context.Context, name, pub string) (bool, error) {
	if err := e.ready(ctx); err != nil {
		return false, err
	}
	got, err := e.api.VolumeInspect(ctx, name, client.VolumeInspectOptions{})
	if IsNotFound(err) {
		return false, nil
	}
	if err != nil {
		return false, e.fail(err, "inspect volume "+name)
	}
	l := got.Volume.Labels
	return l[LabelManaged] == "true" && l[LabelPub] == pub, nil
}

// RemoveVolume removes pub's managed volume name, with the data in it. A
// volume without buttctl's labels for pub is left alone (an error); a
// volume that does not exist is not an error.
func (e *Engine) RemoveVolume(ctx context.Context, name, pub string) error {
	if err := e.ready(ctx); err != nil {
		return err
	}
	got, err := e.api.VolumeInspect(ctx, name, client.VolumeInspectOptions{})
	if IsNotFound(err) {
		return nil
	}
	if err != nil {
		return e.fail(err, "inspect volume "+name)
	}
	if l := got.Volume.Labels; l[LabelManaged] != "true" || l[LabelPub] != pub {
		return &Error{Hub: e.hub, Err: fmt.Errorf("volume %s is not pub %s's (its labels say otherwise): leaving it alone", name, pub)}
	}
	if _, err := e.api.VolumeRemove(ctx, name, client.VolumeRemoveOptions{}); err != nil {
		return e.fail(err, "remove volume "+name)
	}
	return nil
}
