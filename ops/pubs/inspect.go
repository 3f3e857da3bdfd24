package pubs

import (
	"context"
	"encoding/json"

	"github.com/buttctl/buttctl/ops/engine"
	"github.com/buttctl/buttctl/ops/pubspec"
)

// Inspection is everything buttctl knows of one pub.
type Inspection struct {
	Status Status `json:"status"`
	// Spec is the container the inventory asks for.
	Spec pubspec.Spec `json:"spec"`
	// SpecHash is the hash of the spec the container was created from.
	SpecHash string `json:"spec_hash"`
	// Container is the engine's own description of the container.
	Container json.RawMessage `json:"container"`
}

// Inspect describes the pub: its status, the spec the inventory asks for,
// and the engine's view of its container.
func (s *Service) Inspect(ctx context.Context, name string) (Inspection, error) {
	t, c, err := s.resolve(ctx, name)
	if err != nil {
		return Inspection{}, err
	}
	spec, err := specOf(s.inv, t)
	if err != nil {
		return Inspection{}, err
	}
	ins, err := t.eng.Inspect(ctx, c)
	if err != nil {
		return Inspection{}, t.fail(err)
	}
	st := Status{Name: name, Hub: t.pub.Hub, State: c.State, Health: c.Health, Image: c.Image}
	st.fromInspection(ins, s.Now())
	hash := ins.Config.Labels[engine.LabelSpec]
	st.Drift = hash != spec.Labels[engine.LabelSpec]
	if st.State == "running" {
		if id, err := s.whoami(ctx, t.eng, c, t.pub.Image); err == nil {
			st.Identity = id
		} else {
			st.Error = err.Error()
		}
	}
	return Inspection{Status: st, Spec: spec, SpecHash: hash, Container: ins.Raw}, nil
}
