// Package live follows a fleet as it changes: each hub's Docker events about
// buttctl's containers, reconnected with backoff when a stream drops, and the
// records appended to a JSON-lines audit log. Everything arrives as plain
// values on channels; nothing here knows who reads them (the console bridges
// them into its program).
package live

import (
	"context"
	"errors"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/moby/moby/api/types/events"
	"github.com/moby/moby/client"

	"github.com/buttctl/buttctl/ops/engine"
)

// Actions of an Event besides Docker's own (start, die, kill, stop, restart,
// health_status, oom, create, destroy, pause, unpause).
const (
	// ActionConnected: the hub's event stream is up (again): what happened
	// while it was down is unknown, so look at the hub afresh.
	ActionConnected = "connected"
	// ActionDisconnected: the hub's event stream dropped or could not be
	// opened; Err says why. It is retried with backoff.
	ActionDisconnected = "disconnected"
)

// ActionHealthStatus is Docker's health change; Health carries the new state.
const ActionHealthStatus = "health_status"

// containerActions are the Docker events that change what a pub is doing.
var containerActions = []string{"create", "start", "restart", "die", "kill", "stop", "oom", "destroy", "pause", "unpause", ActionHealthStatus}

// Event is something that happened to a buttctl container on a hub, or to
// the hub's event stream itself.
type Event struct {
	Hub       string    `json:"hub"`
	Time      time.Time `json:"time"`
	Action    string    `json:"action"`
	Pub       string    `json:"pub,omitempty"`
	Container string    `json:"container,omitempty"` // the container's name
	ID        string    `json:"id,omitempty"`
	// Health is healthy, unhealthy or starting (health_status only).
	Health string `json:"health,omitempty"`
	// ExitCode is the main process's exit status (die only).
	ExitCode *int `json:"exit_code,omitempty"`
	// Signal is the signal sent (kill only).
	Signal string `json:"signal,omitempty"`
	// Err says why the stream is down (disconnected only).
	Err string `json:"error,omitempty"`
}

// Engines gives the Docker engine of a hub; *pubs.Service is one.
type Engines interface {
	Engine(hub string) (*engine.Engine, error)
}

// StreamOptions tune Events.
type StreamOptions struct {
	// Backoff after a dropped stream: from Initial (1s), doubling, up to Max
	// (30s), with jitter; reset once a stream has stayed up for Max.
	Initial, Max time.Duration
	// Buffer is the capacity of the returned channel (256).
	Buffer int
}

// Events follows the Docker events of buttctl's containers on every hub
// named, until ctx is done, and delivers them on the returned channel, which
// is closed once every stream has ended. Each hub's stream is opened with its
// own connection; when it cannot be opened or drops, an ActionDisconnected
// event says why and it is reopened with backoff; each (re)connection is an
// ActionConnected event.
func Events(ctx context.Context, src Engines, hubs []string, opts StreamOptions) <-chan Event {
	if opts.Initial <= 0 {
		opts.Initial = time.Second
	}
	if opts.Max <= 0 {
		opts.Max = 30 * time.Second
	}
	if opts.Buffer <= 0 {
		opts.Buffer = 256
	}
	out := make(chan Event, opts.Buffer)
	var wg sync.WaitGroup
	for _, hub := range hubs {
		wg.Go(func() { follow(ctx, src, hub, opts, out) })
	}
	go func() {
		wg.Wait()
		close(out)
	}()
	return out
}

// follow keeps one hub's stream open until ctx is done.
func follow(ctx context.Context, src Engines, hub string, opts StreamOptions, out chan<- Event) {
	delay := opts.Initial
	for ctx.Err() == nil {
		began := time.Now()
		err := stream(ctx, src, hub, out)
		if ctx.Err() != nil {
			return
		}
		if time.Since(began) >= opts.Max {
			delay = opts.Initial
		}
		msg := "event stream ended"
		if err != nil {
			msg = err.Error()
		}
		if !send(ctx, out, Event{Hub: hub, Time: time.Now(), Action: ActionDisconnected, Err: msg}) {
			return
		}
		wait := delay/2 + rand.N(delay/2+1)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		delay = min(delay*2, opts.Max)
	}
}

// stream reads one hub's events until the stream fails or ctx is done.
func stream(ctx context.Context, src Engines, hub string, out chan<- Event) error {
	e, err := src.Engine(hub)
	if err != nil {
		return err
	}
	api, err := e.API(ctx)
	if err != nil {
		return err
	}
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	f := client.Filters{}.
		Add("type", string(events.ContainerEventType)).
		Add("label", engine.LabelManaged+"=true").
		Add("event", containerActions...)
	res := api.Events(sctx, client.EventsListOptions{Filters: f})
	if !send(ctx, out, Event{Hub: hub, Time: time.Now(), Action: ActionConnected}) {
		return nil
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case err := <-res.Err:
			if err == nil {
				return errors.New(hub + ": event stream ended")
			}
			return &engine.Error{Hub: hub, Err: err}
		case m, ok := <-res.Messages:
			if !ok {
				return errors.New(hub + ": event stream ended")
			}
			if !send(ctx, out, FromDocker(hub, m)) {
				return nil
			}
		}
	}
}

func send(ctx context.Context, out chan<- Event, ev Event) bool {
	select {
	case out <- ev:
		return true
	case <-ctx.Done():
		return false
	}
}

// FromDocker turns a Docker container event into an Event of hub.
func FromDocker(hub string, m events.Message) Event {
	ev := Event{
		Hub:       hub,
		Action:    string(m.Action),
		Pub:       m.Actor.Attributes[engine.LabelPub],
		Container: m.Actor.Attributes["name"],
		ID:        m.Actor.ID,
	}
	switch {
	case m.TimeNano != 0:
		ev.Time = time.Unix(0, m.TimeNano)
	case m.Time != 0:
		ev.Time = time.Unix(m.Time, 0)
	default:
		ev.Time = time.Now()
	}
	if a, h, ok := strings.Cut(ev.Action, ":"); ok {
		ev.Action, ev.Health = strings.TrimSpace(a), strings.TrimSpace(h)
	}
	if s, ok := m.Actor.Attributes["exitCode"]; ok && ev.Action == "die" {
		if n, err := strconv.Atoi(s); err == nil {
			ev.ExitCode = &n
		}
	}
	if ev.Action == "kill" {
		ev.Signal = m.Actor.Attributes["signal"]
	}
	return ev
}
