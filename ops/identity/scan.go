package identity

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/buttctl/buttctl/ops/engine"
	"github.com/buttctl/buttctl/ops/pubs"
)

// Copy is an identity found in a pub container on a hub.
type Copy struct {
	Pub   string `json:"pub"`
	Hub   string `json:"hub"`
	State string `json:"state"` // the container's state
	ID    string `json:"id"`
}

func (c Copy) String() string { return fmt.Sprintf("pub %s on %s (%s)", c.Pub, c.Hub, c.State) }

// Census is the identities of every pub container of the hubs scanned.
type Census struct {
	Copies []Copy
	// Unreachable lists the hubs that could not be asked.
	Unreachable []pubs.HubError
}

// Of returns the copies of identity id.
func (c Census) Of(id string) []Copy {
	var out []Copy
	for _, cp := range c.Copies {
		if cp.ID == id {
			out = append(out, cp)
		}
	}
	return out
}

// Scan reads the identity of every container of buttctl's on every hub of
// the inventory (or of hubs), running or not: it reads each container's
// secret file through the engine's archive API and keeps only its public id.
// A container whose pub never ran has no identity, and a dead one cannot
// run again: both are left out.
func Scan(ctx context.Context, svc *pubs.Service, hubs []string) Census {
	if hubs == nil {
		for _, h := range svc.Inventory().Hubs {
			hubs = append(hubs, h.Name)
		}
	}
	var (
		mu     sync.Mutex
		census Census
		wg     sync.WaitGroup
	)
	for _, hub := range hubs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			copies, err := scanHub(ctx, svc, hub)
			mu.Lock()
			defer mu.Unlock()
			census.Copies = append(census.Copies, copies...)
			if err != nil {
				census.Unreachable = append(census.Unreachable, pubs.HubError{Hub: hub, Err: err})
			}
		}()
	}
	wg.Wait()
	sort.Slice(census.Copies, func(i, j int) bool {
		a, b := census.Copies[i], census.Copies[j]
		if a.Pub != b.Pub {
			return a.Pub < b.Pub
		}
		return a.Hub < b.Hub
	})
	sort.Slice(census.Unreachable, func(i, j int) bool { return census.Unreachable[i].Hub < census.Unreachable[j].Hub })
	return census
}

func scanHub(ctx context.Context, svc *pubs.Service, hub string) ([]Copy, error) {
	e, err := svc.Engine(hub)
	if err != nil {
		return nil, err
	}
	cs, err := e.Containers(ctx)
	if err != nil {
		return nil, err
	}
	// Dead containers cannot be started again (only removed): whatever
	// identity they hold cannot run.
	cs = slices.DeleteFunc(cs, func(c engine.Container) bool { return c.State == "dead" || c.State == "removing" })
	copies := make([]Copy, len(cs))
	errs := pubs.Each(ctx, len(cs), 4, func(ctx context.Context, i int) error {
		c := cs[i]
		secret, err := readSecret(ctx, e, c, svc.Inventory().ImageProfile(c.Image).DataDir)
		if errors.Is(err, ErrNoSecret) {
			return nil
		}
		if err != nil {
			return err
		}
		s, err := ParseSecret(secret)
		if err != nil {
			return fmt.Errorf("container %s: %w", c.Name, err)
		}
		copies[i] = Copy{Pub: c.Pub, Hub: hub, State: c.State, ID: s.ID}
		return nil
	})
	out := copies[:0]
	for _, cp := range copies {
		if cp.ID != "" {
			out = append(out, cp)
		}
	}
	for _, err := range errs {
		if engine.IsUnreachable(err) {
			return out, err
		}
	}
	// A container whose secret could not be read: its identity is unknown,
	// so uniqueness cannot be proven on this hub; unless it was removed
	// (or died) meanwhile.
	var bad []string
	var now map[string]string
	for i, err := range errs {
		if err == nil {
			continue
		}
		if now == nil {
			again, lerr := e.Containers(ctx)
			if lerr != nil {
				return out, lerr
			}
			now = map[string]string{}
			for _, c := range again {
				now[c.ID] = c.State
			}
		}
		if st, ok := now[cs[i].ID]; !ok || st == "dead" || st == "removing" {
			continue
		}
		bad = append(bad, cs[i].Name+": "+strings.TrimPrefix(err.Error(), hub+": "))
	}
	if len(bad) > 0 {
		return out, fmt.Errorf("%s: could not read the identity of %s", hub, strings.Join(bad, "; "))
	}
	return out, nil
}
