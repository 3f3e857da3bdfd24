package fleet

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/moby/moby/api/types/container"

	"github.com/buttctl/buttctl/inventory"
	"github.com/buttctl/buttctl/ops/engine"
	"github.com/buttctl/buttctl/ops/hubs"
	"github.com/buttctl/buttctl/ops/pubs"
	"github.com/buttctl/buttctl/ops/pubspec"
)

// DefaultTimeout is how long one hub may take to be observed unless told
// otherwise.
const DefaultTimeout = 15 * time.Second

// inspectParallel is how many containers of one hub are inspected at once.
const inspectParallel = 8

// CloudServers lists the cloud's servers that carry buttctl's hub metadata
// (ops/cloud's HubServers).
type CloudServers func(ctx context.Context) ([]Server, error)

// ObserveOptions tune Observe.
type ObserveOptions struct {
	// Parallel is how many hubs are observed at once (hubs.DefaultParallel).
	Parallel int
	// Timeout is each hub's own deadline (DefaultTimeout); the cloud gets
	// the same.
	Timeout time.Duration
	// Cloud lists the cloud's hub servers; nil when no cloud is configured.
	Cloud CloudServers
	// CloudName names the cloud in the snapshot.
	CloudName string
	// Now is the clock (time.Now).
	Now func() time.Time
}

// Observe asks every hub of svc's inventory at once (at most opts.Parallel
// at a time, each within its own deadline) for its engine, its managed
// containers and volumes, and the cloud for its servers, and returns what
// it found. A hub that fails or does not answer in time is in the snapshot
// with its error; it never holds the others up. Observe only reads.
func Observe(ctx context.Context, svc *pubs.Service, opts ObserveOptions) *Snapshot {
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	timeout := opts.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	parallel := opts.Parallel
	if parallel <= 0 {
		parallel = hubs.DefaultParallel
	}
	inv := svc.Inventory()
	start := now()
	snap := &Snapshot{Taken: start, Hubs: make([]Hub, len(inv.Hubs))}
	wanted := desiredSpecs(inv)

	var wg sync.WaitGroup
	if opts.Cloud != nil {
		wg.Go(func() {
			cctx, cancel := context.WithTimeout(ctx, timeout)
			defer cancel()
			snap.Cloud = &Cloud{Name: opts.CloudName}
			servers, err := opts.Cloud(cctx)
			if err != nil {
				snap.Cloud.Error = err.Error()
			}
			snap.Cloud.Servers = servers
		})
	}
	pubs.Each(ctx, len(inv.Hubs), parallel, func(ctx context.Context, i int) error {
		h := inv.Hubs[i]
		hctx, cancel := context.WithTimeout(ctx, timeout)
		defer cancel()
		snap.Hubs[i] = observeHub(hctx, svc, inv, h, wanted, now)
		if !snap.Hubs[i].Reachable && errors.Is(hctx.Err(), context.DeadlineExceeded) && ctx.Err() == nil {
			snap.Hubs[i].TimedOut = true
			snap.Hubs[i].Error = fmt.Sprintf("%s: did not answer within %s: %s", h.Name, timeout, strings.TrimPrefix(snap.Hubs[i].Error, h.Name+": "))
		}
		return nil
	})
	wg.Wait()
	if snap.Cloud != nil {
		for i := range snap.Hubs {
			snap.Hubs[i].Server = serverOf(snap.Cloud.Servers, inv.Hubs[i])
		}
	}
	snap.Pubs, snap.Orphans = pubsAndOrphans(inv, snap, wanted)
	snap.DurationMS = now().Sub(start).Milliseconds()
	return snap
}

// desired is the spec the inventory asks of one pub, or why there is none.
type desired struct {
	spec pubspec.Spec
	err  error
}

func desiredSpecs(inv *inventory.Inventory) map[string]desired {
	out := make(map[string]desired, len(inv.Pubs))
	for _, p := range inv.Pubs {
		if p.Hub == "" {
			continue
		}
		s, err := pubspec.Build(inv, p)
		out[p.Name] = desired{spec: s, err: err}
	}
	return out
}

func hubOf(inv *inventory.Inventory, h inventory.Hub) Hub {
	return Hub{Name: h.Name, Address: h.Address, Local: h.Local, Capacity: h.Capacity, Placed: len(inv.PubsOn(h.Name)), Containers: []Container{}, Volumes: []Volume{}}
}

// observeHub asks one hub's engine everything Observe reports; ctx carries
// the hub's deadline.
func observeHub(ctx context.Context, svc *pubs.Service, inv *inventory.Inventory, h inventory.Hub, wanted map[string]desired, now func() time.Time) (out Hub) {
	start := now()
	out = hubOf(inv, h)
	defer func() { out.DurationMS = now().Sub(start).Milliseconds() }()
	e, err := svc.Engine(h.Name)
	if err == nil {
		_, err = e.Ping(ctx)
	}
	if err != nil {
		out.Error = err.Error()
		return out
	}

	var (
		wg       sync.WaitGroup
		info     engine.Info
		infoErr  error
		vols     []engine.Volume
		volsErr  error
		cs       []engine.Container
		listErr  error
		inspects []Container
	)
	wg.Go(func() { info, infoErr = e.Info(ctx) })
	wg.Go(func() { vols, volsErr = e.Volumes(ctx) })
	cs, listErr = e.Containers(ctx)
	if listErr == nil {
		inspects = inspectAll(ctx, e, cs, now)
	}
	wg.Wait()
	if err := errors.Join(listErr, volsErr); err != nil {
		out.Error = err.Error()
		return out
	}
	out.Reachable = true
	if infoErr == nil {
		out.Engine = &info
	} else {
		out.Error = infoErr.Error()
	}
	for _, v := range vols {
		out.Volumes = append(out.Volumes, Volume{Name: v.Name, Pub: v.Pub, Created: v.Created})
	}
	out.Containers = inspects
	addImageDefaults(ctx, e, h.Name, inv, out.Containers, wanted)
	return out
}

// inspectAll describes every container, a few at a time. A container that
// is gone by the time it is inspected is left out.
func inspectAll(ctx context.Context, e *engine.Engine, cs []engine.Container, now func() time.Time) []Container {
	out := make([]Container, len(cs))
	gone := make([]bool, len(cs))
	pubs.Each(ctx, len(cs), inspectParallel, func(ctx context.Context, i int) error {
		c := cs[i]
		oc := Container{ID: c.ID, Name: c.Name, Pub: c.Pub, Image: c.Image, State: c.State, Health: c.Health, Created: c.Created, SpecHash: c.SpecHash()}
		ins, err := e.Inspect(ctx, c)
		switch {
		case engine.IsNotFound(err):
			gone[i] = true
		case err != nil:
			oc.Error = err.Error()
		default:
			fromInspection(&oc, ins)
			if oc.State != string(container.StateRunning) {
				if rec, err := e.OperatorStopOf(ctx, c); err == nil && rec.Stopped {
					oc.OperatorStop = &rec
				}
			}
		}
		out[i] = oc
		return nil
	})
	kept := out[:0]
	for i, c := range out {
		if !gone[i] {
			kept = append(kept, c)
		}
	}
	return kept
}

func fromInspection(c *Container, ins engine.Inspection) {
	if s := ins.State; s != nil {
		c.State = string(s.Status)
		c.Health = ""
		if s.Health != nil && s.Health.Status != container.NoHealthcheck {
			c.Health = string(s.Health.Status)
		}
		if s.Running {
			if t, err := time.Parse(time.RFC3339Nano, s.StartedAt); err == nil {
				c.StartedAt = &t
			}
		}
	}
	c.Restarts = ins.RestartCount
	cfg := &Config{Env: []string{}, SecurityOpt: []string{}}
	if k := ins.Config; k != nil {
		cfg.Image = k.Image
		c.Image = k.Image
		cfg.Env = append(cfg.Env, k.Env...)
		cfg.Health = healthOf(k.Healthcheck)
		c.SpecHash = k.Labels[engine.LabelSpec]
	}
	if h := ins.HostConfig; h != nil {
		for _, bindings := range h.PortBindings {
			for _, b := range bindings {
				if n, err := strconv.Atoi(b.HostPort); err == nil && n > 0 {
					cfg.HostPort = n
				}
			}
		}
		cfg.Memory = h.Memory
		cfg.Restart = string(h.RestartPolicy.Name)
		if h.RestartPolicy.Name == container.RestartPolicyOnFailure && h.RestartPolicy.MaximumRetryCount > 0 {
			cfg.Restart += ":" + strconv.Itoa(h.RestartPolicy.MaximumRetryCount)
		}
		cfg.Network = string(h.NetworkMode)
		cfg.SecurityOpt = append(cfg.SecurityOpt, h.SecurityOpt...)
		cfg.LogDriver = h.LogConfig.Type
		cfg.LogOptions = h.LogConfig.Config
		for _, m := range h.Mounts {
			if m.Type == "volume" {
				cfg.Volume, cfg.DataDir = m.Source, m.Target
			}
		}
	}
	c.Config = cfg
}

// healthOf is a Docker health check in the inventory's terms.
func healthOf(h *container.HealthConfig) *inventory.HealthCheck {
	if h == nil {
		return nil
	}
	return &inventory.HealthCheck{
		Test:        slices.Clone(h.Test),
		Interval:    inventory.Duration(h.Interval),
		Timeout:     inventory.Duration(h.Timeout),
		Retries:     h.Retries,
		StartPeriod: inventory.Duration(h.StartPeriod),
	}
}

// addImageDefaults reads, for the containers of pubs placed on hub whose
// spec hash drifted, their image's own environment and health check: what
// the diff needs to tell what the spec set from what the image did.
func addImageDefaults(ctx context.Context, e *engine.Engine, hub string, inv *inventory.Inventory, cs []Container, wanted map[string]desired) {
	type imageDefaults struct {
		env    []string
		health *inventory.HealthCheck
		err    error
	}
	images := map[string]*imageDefaults{}
	var drifted []int
	for i, c := range cs {
		p, ok := inv.Pub(c.Pub)
		d := wanted[c.Pub]
		if !ok || p.Hub != hub || d.err != nil || c.Config == nil || c.SpecHash == d.spec.Labels[engine.LabelSpec] {
			continue
		}
		drifted = append(drifted, i)
		images[c.Config.Image] = nil
	}
	if len(drifted) == 0 {
		return
	}
	refs := make([]string, 0, len(images))
	for ref := range images {
		refs = append(refs, ref)
	}
	got := make([]imageDefaults, len(refs))
	pubs.Each(ctx, len(refs), inspectParallel, func(ctx context.Context, i int) error {
		ic, err := e.ImageConfig(ctx, refs[i])
		got[i] = imageDefaults{env: ic.Env, health: healthOf(ic.Health), err: err}
		return nil
	})
	for i, ref := range refs {
		images[ref] = &got[i]
	}
	for _, i := range drifted {
		im := images[cs[i].Config.Image]
		if im.err != nil {
			continue
		}
		cs[i].Config.ImageEnv = append([]string{}, im.env...)
		cs[i].Config.ImageHealth = im.health
	}
}

// serverOf finds a hub's cloud server: by its server_id, else by the
// server's buttctl.hub metadata.
func serverOf(servers []Server, h inventory.Hub) *Server {
	if h.Local {
		return nil
	}
	for _, s := range servers {
		if h.ServerID != "" && s.ID == h.ServerID {
			return &s
		}
	}
	for _, s := range servers {
		if h.ServerID == "" && s.Hub == h.Name {
			return &s
		}
	}
	return nil
}

// pubsAndOrphans matches what the hubs run with what the inventory wants.
func pubsAndOrphans(inv *inventory.Inventory, snap *Snapshot, wanted map[string]desired) ([]Pub, []Orphan) {
	out := make([]Pub, 0, len(inv.Pubs))
	for _, p := range inv.Pubs {
		op := Pub{Name: p.Name, Hub: p.Hub, Want: p.State}
		if op.Want == "" {
			op.Want = inventory.StateRunning
		}
		if p.Hub == "" {
			op.Status = StatusUnplaced
			out = append(out, op)
			continue
		}
		d := wanted[p.Name]
		if d.err != nil {
			op.Error = d.err.Error()
		} else {
			op.SpecHash = d.spec.Labels[engine.LabelSpec]
		}
		h := snap.Hub(p.Hub)
		switch {
		case h == nil:
			op.Status = StatusUnknown
		case !h.Reachable:
			op.Status = StatusUnknown
			if op.Error == "" {
				op.Error = h.Error
			}
		default:
			op.HasVolume = h.HasVolume(p.Name)
			c := h.Container(p.Name)
			if c == nil {
				op.Status = StatusMissing
				break
			}
			cc := *c
			op.Container = &cc
			op.Drift = d.err == nil && c.SpecHash != op.SpecHash
			op.Status = statusOf(cc, op.Want)
		}
		out = append(out, op)
	}
	var orphans []Orphan
	for _, h := range snap.Hubs {
		for _, c := range h.Containers {
			p, ok := inv.Pub(c.Pub)
			if ok && p.Hub == h.Name && c.Name == pubspec.ContainerName(p.Name) {
				continue
			}
			orphans = append(orphans, Orphan{Hub: h.Name, Container: c, InInventory: ok, HasVolume: h.HasVolume(c.Pub)})
		}
	}
	if orphans == nil {
		orphans = []Orphan{}
	}
	return out, orphans
}

func statusOf(c Container, want string) PubStatus {
	if c.State == string(container.StateRunning) {
		switch c.Health {
		case string(container.Unhealthy):
			return StatusUnhealthy
		case string(container.Starting):
			return StatusStarting
		}
		return StatusRunning
	}
	if want == inventory.StateStopped {
		return StatusStopped
	}
	return StatusDown
}
