package pubs

import (
	"context"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/buttctl/buttctl/inventory"
	"github.com/buttctl/buttctl/ops/engine"
	"github.com/buttctl/buttctl/ops/pubspec"
)

// States a pub can be in besides Docker's container states (created,
// running, paused, restarting, removing, exited, dead).
const (
	// StateMissing: the inventory places the pub on a hub that has no container for it.
	StateMissing = "missing"
	// StateUnreachable: the pub's hub could not be asked.
	StateUnreachable = "unreachable"
)

// Status is what a pub is doing, as `pub list` shows it.
type Status struct {
	Name   string `json:"name"`
	Hub    string `json:"hub"`
	State  string `json:"state"`
	Health string `json:"health"`
	// Uptime is in seconds; 0 unless running.
	Uptime    int64      `json:"uptime"`
	StartedAt *time.Time `json:"started_at,omitempty"`
	Restarts  int        `json:"restarts"`
	Image     string     `json:"image"`
	Port      int        `json:"port"`
	// Identity is the pub's SSB id (@…=.ed25519), when it answered.
	Identity string `json:"identity"`
	// KnownIdentity is the id this machine recorded for the pub (the local
	// identity store: backups, restores, moves), if any.
	KnownIdentity string `json:"known_identity,omitempty"`
	// IdentityChanged says the pub answered with an id other than KnownIdentity.
	IdentityChanged bool `json:"identity_changed,omitempty"`
	// LastBackup is the time of the pub's last backup made on this machine.
	LastBackup *time.Time `json:"last_backup"`
	// Drift says the container was created from a spec other than the inventory's.
	Drift bool `json:"drift"`
	// Orphan says the container is buttctl's but the inventory does not place
	// that pub on that hub.
	Orphan bool `json:"orphan,omitempty"`
	// OperatorStop is set when an operator stopped the pub through buttctl
	// (`pub stop`): watch leaves it stopped until `pub start`.
	OperatorStop *engine.OperatorStop `json:"operator_stop,omitempty"`
	// Error says why the hub could not be asked, or whoami failed.
	Error string `json:"error,omitempty"`
}

// ListOptions tune List.
type ListOptions struct {
	// Identity asks every running pub for its id (one exec per pub).
	Identity bool
	// Hubs restricts the listing to these hubs (all hubs when empty).
	Hubs []string
	// Known, if set, says what is recorded locally of a pub's identity (the
	// identity store of ops/identity): its id and its last backup, if any.
	Known func(pub string) (id string, lastBackup *time.Time)
}

// HubError is a hub List could not ask.
type HubError struct {
	Hub string
	Err error
}

func (e *HubError) Error() string { return e.Err.Error() }
func (e *HubError) Unwrap() error { return e.Err }

// List asks every hub of the inventory, concurrently, for its pubs. Pubs of
// unreachable hubs are listed with State StateUnreachable; the hubs that could
// not be asked are returned too. Rows are ordered by pub name, then hub.
func (s *Service) List(ctx context.Context, o ListOptions) ([]Status, []HubError) {
	hubs := o.Hubs
	if len(hubs) == 0 {
		for _, h := range s.inv.Hubs {
			hubs = append(hubs, h.Name)
		}
	}
	var (
		mu      sync.Mutex
		rows    []Status
		hubErrs []HubError
		wg      sync.WaitGroup
	)
	for _, hub := range hubs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got, err := s.listHub(ctx, hub, o)
			mu.Lock()
			defer mu.Unlock()
			rows = append(rows, got...)
			if err != nil {
				hubErrs = append(hubErrs, HubError{Hub: hub, Err: err})
			}
		}()
	}
	wg.Wait()
	sort.Slice(rows, func(i, j int) bool {
		if rows[i].Name != rows[j].Name {
			return rows[i].Name < rows[j].Name
		}
		return rows[i].Hub < rows[j].Hub
	})
	sort.Slice(hubErrs, func(i, j int) bool { return hubErrs[i].Hub < hubErrs[j].Hub })
	if o.Known != nil {
		for i := range rows {
			r := &rows[i]
			r.KnownIdentity, r.LastBackup = o.Known(r.Name)
			r.IdentityChanged = r.KnownIdentity != "" && r.Identity != "" && r.Identity != r.KnownIdentity
		}
	}
	return rows, hubErrs
}

func (s *Service) listHub(ctx context.Context, hub string, o ListOptions) ([]Status, error) {
	wanted := s.inv.PubsOn(hub)
	e, err := s.Engine(hub)
	var cs []engine.Container
	if err == nil {
		cs, err = e.Containers(ctx)
	}
	if err != nil {
		rows := make([]Status, 0, len(wanted))
		for _, p := range wanted {
			rows = append(rows, Status{Name: p.Name, Hub: hub, State: StateUnreachable, Image: p.Image, Port: p.Port, Error: err.Error()})
		}
		return rows, err
	}
	byPub := map[string]engine.Container{}
	for _, c := range cs {
		byPub[c.Pub] = c
	}
	var rows []Status
	for _, p := range wanted {
		c, ok := byPub[p.Name]
		if !ok {
			rows = append(rows, Status{Name: p.Name, Hub: hub, State: StateMissing, Image: p.Image, Port: p.Port})
			continue
		}
		delete(byPub, p.Name)
		rows = append(rows, s.status(ctx, e, c, &p))
	}
	for _, c := range byPub {
		rows = append(rows, s.status(ctx, e, c, nil))
	}
	if o.Identity {
		s.fillIdentities(ctx, e, cs, rows)
	}
	return rows, nil
}

// status describes container c of pub p (nil when the inventory does not
// place it on this hub).
func (s *Service) status(ctx context.Context, e *engine.Engine, c engine.Container, p *inventory.Pub) Status {
	st := Status{Name: c.Pub, Hub: e.Hub(), State: c.State, Health: c.Health, Image: c.Image, Orphan: p == nil}
	ins, err := e.Inspect(ctx, c)
	if err != nil {
		st.Error = err.Error()
		return st
	}
	st.fromInspection(ins, s.Now())
	if st.State != "running" {
		if rec, err := e.OperatorStopOf(ctx, c); err == nil && rec.Stopped {
			st.OperatorStop = &rec
		}
	}
	if p != nil {
		if spec, err := pubspec.Build(s.inv, *p); err == nil {
			st.Drift = ins.Config.Labels[engine.LabelSpec] != spec.Labels[engine.LabelSpec]
		}
	}
	return st
}

func (st *Status) fromInspection(ins engine.Inspection, now time.Time) {
	if ins.State != nil {
		st.State = string(ins.State.Status)
		st.Health = ""
		if ins.State.Health != nil {
			st.Health = string(ins.State.Health.Status)
		}
		if ins.State.Running {
			if t, err := time.Parse(time.RFC3339Nano, ins.State.StartedAt); err == nil {
				st.StartedAt = &t
				st.Uptime = int64(now.Sub(t).Seconds())
			}
		}
	}
	st.Restarts = ins.RestartCount
	if ins.Config != nil {
		st.Image = ins.Config.Image
	}
	if ins.HostConfig != nil {
		for _, bindings := range ins.HostConfig.PortBindings {
			for _, b := range bindings {
				if n, err := strconv.Atoi(b.HostPort); err == nil && n > 0 {
					st.Port = n
				}
			}
		}
	}
}

// fillIdentities asks the running pubs among rows for their ids, a few at a time.
func (s *Service) fillIdentities(ctx context.Context, e *engine.Engine, cs []engine.Container, rows []Status) {
	byPub := map[string]engine.Container{}
	for _, c := range cs {
		byPub[c.Pub] = c
	}
	var idx []int
	for i, r := range rows {
		if r.State == "running" {
			idx = append(idx, i)
		}
	}
	Each(ctx, len(idx), 4, func(ctx context.Context, k int) error {
		r := &rows[idx[k]]
		id, err := s.whoami(ctx, e, byPub[r.Name], r.Image)
		if err != nil {
			if r.Error == "" {
				r.Error = err.Error()
			}
		} else {
			r.Identity = id
		}
		return nil
	})
}
