package chaos

import (
	"context"
	"strings"
	"sync"
	"time"

	"github.com/moby/moby/client"

	"github.com/buttctl/buttctl/inventory"
	"github.com/buttctl/buttctl/ops/engine"
)

// copyOf is one container of a pub on one hub, as the hub's engine lists it.
type copyOf struct {
	Hub, Pub string
	Running  bool
	Healthy  bool
}

// snapshot is what every hub's engine said at one moment (behind buttctl's
// back: the driver asks the engines directly, not over SSH).
type snapshot struct {
	At time.Time
	// Answered: hub → its engine answered this time.
	Answered map[string]bool
	Copies   []copyOf
}

// running returns pub's running copies.
func (s *snapshot) running(pub string) []copyOf {
	var out []copyOf
	for _, c := range s.Copies {
		if c.Pub == pub && c.Running {
			out = append(out, c)
		}
	}
	return out
}

// pubProblem says what keeps pub from being as inv wants it ("" when it is):
// wanted running, exactly one running copy, on its hub, healthy; wanted
// stopped, no running copy.
func (s *snapshot) pubProblem(inv *inventory.Inventory, pub string) string {
	p, ok := inv.Pub(pub)
	if !ok {
		return pub + " is no longer in the inventory"
	}
	run := s.running(pub)
	if p.State == "stopped" {
		if len(run) > 0 {
			return pub + " is wanted stopped but runs on " + run[0].Hub
		}
		return ""
	}
	switch {
	case !s.Answered[p.Hub]:
		return pub + ": its hub " + p.Hub + " did not answer"
	case len(run) == 0:
		return pub + " is not running (wanted on " + p.Hub + ")"
	case len(run) > 1:
		return pub + " runs on " + run[0].Hub + " and " + run[1].Hub + " at once"
	case run[0].Hub != p.Hub:
		return pub + " runs on " + run[0].Hub + ", the inventory places it on " + p.Hub
	case !run[0].Healthy:
		return pub + " on " + p.Hub + " is not healthy"
	}
	return ""
}

// observer lists every hub's buttctl containers every second, keeps the
// latest snapshot, and times the windows in which one pub ran on two hubs.
type observer struct {
	hubs map[string]*client.Client

	mu     sync.Mutex
	last   *snapshot
	open   map[string]time.Time // pub → since when it runs twice
	dups   Duplicates
	notify chan struct{} // closed and replaced at each snapshot
}

func newObserver(hubs map[string]*client.Client) *observer {
	return &observer{hubs: hubs, open: map[string]time.Time{}, dups: Duplicates{ByPub: map[string]float64{}}, notify: make(chan struct{})}
}

func (o *observer) run(ctx context.Context) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		o.take(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (o *observer) take(ctx context.Context) {
	s := &snapshot{Answered: map[string]bool{}}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for name, api := range o.hubs {
		wg.Go(func() {
			cctx, cancel := context.WithTimeout(ctx, 3*time.Second)
			defer cancel()
			res, err := api.ContainerList(cctx, client.ContainerListOptions{All: true,
				Filters: make(client.Filters).Add("label", engine.LabelManaged+"=true")})
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				return
			}
			s.Answered[name] = true
			for _, c := range res.Items {
				s.Copies = append(s.Copies, copyOf{Hub: name, Pub: c.Labels[engine.LabelPub],
					Running: c.State == "running", Healthy: c.State == "running" && strings.Contains(c.Status, "(healthy)")})
			}
		})
	}
	wg.Wait()
	s.At = time.Now()

	o.mu.Lock()
	defer o.mu.Unlock()
	twice := map[string]bool{}
	count := map[string]int{}
	for _, c := range s.Copies {
		if c.Running {
			count[c.Pub]++
			if count[c.Pub] == 2 {
				twice[c.Pub] = true
			}
		}
	}
	for pub := range twice {
		if _, ok := o.open[pub]; !ok {
			o.open[pub] = s.At
		}
	}
	for pub, since := range o.open {
		if !twice[pub] {
			o.closeWindow(pub, since, s.At)
		}
	}
	o.last = s
	close(o.notify)
	o.notify = make(chan struct{})
}

func (o *observer) closeWindow(pub string, since, now time.Time) {
	d := now.Sub(since).Seconds()
	o.dups.Windows++
	o.dups.TotalS += d
	o.dups.MaxS = max(o.dups.MaxS, d)
	o.dups.ByPub[pub] += d
	delete(o.open, pub)
}

// next waits for a snapshot taken after t.
func (o *observer) next(ctx context.Context, t time.Time) (*snapshot, error) {
	for {
		o.mu.Lock()
		s, ch := o.last, o.notify
		o.mu.Unlock()
		if s != nil && s.At.After(t) {
			return s, nil
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-ch:
		}
	}
}

// finish closes the windows still open and returns them all.
func (o *observer) finish() Duplicates {
	o.mu.Lock()
	defer o.mu.Unlock()
	now := time.Now()
	for pub, since := range o.open {
		o.closeWindow(pub, since, now)
	}
	return o.dups
}
