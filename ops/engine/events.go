package engine

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/moby/moby/api/types/events"
	"github.com/moby/moby/client"
)

// Event is a change of a managed container, from the engine's event stream.
type Event struct {
	Time   time.Time
	Action string // one of the Event* actions
	// Health is the new health status of a health_status event: healthy,
	// unhealthy or starting.
	Health      string
	ContainerID string
	Container   string // its name
	Pub         string // its buttctl.pub label
	// ExitCode is a die event's exit code (-1 when the engine did not say).
	ExitCode int
}

// Container actions Events reports.
const (
	EventStart   = "start"
	EventDie     = "die"
	EventStop    = "stop"
	EventKill    = "kill"
	EventOOM     = "oom"
	EventDestroy = "destroy"
	EventCreate  = "create"
	EventPause   = "pause"
	EventUnpause = "unpause"
	EventHealth  = "health_status"
)

// DefaultEventActions are the actions Events asks for unless told otherwise:
// what a watcher of pubs needs to see them go down, come up, change health
// or disappear.
var DefaultEventActions = []string{EventHealth, EventDie, EventOOM, EventDestroy, EventStop, EventStart, EventPause, EventUnpause, EventCreate}

// EventsOptions tune Events.
type EventsOptions struct {
	// Since replays the events from that time on (the engine keeps a short
	// backlog); zero for only new ones.
	Since time.Time
	// Actions filters the actions (DefaultEventActions when empty).
	Actions []string
	// Connected, if set, is called once the engine has accepted the stream:
	// every change after that is delivered.
	Connected func()
}

// Events streams the engine's events about buttctl's containers (filtered
// by LabelManaged on the engine) to handle, in the engine's order, until ctx
// is done (it then returns ctx's error) or the stream fails or ends (an
// error matching ErrUnreachable: the engine or the connection to it went
// away). handle runs on Events' goroutine and should not block for long.
func (e *Engine) Events(ctx context.Context, o EventsOptions, handle func(Event)) error {
	if err := e.ready(ctx); err != nil {
		return err
	}
	actions := o.Actions
	if len(actions) == 0 {
		actions = DefaultEventActions
	}
	f := client.Filters{}.Add("type", string(events.ContainerEventType)).Add("label", LabelManaged+"=true").Add("event", actions...)
	opts := client.EventsListOptions{Filters: f}
	if !o.Since.IsZero() {
		opts.Since = strconv.FormatInt(o.Since.Unix(), 10)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	res := e.api.Events(ctx, opts)
	// The client returns once the engine answered the request or it
	// failed, and reports a failure just after: a ping round trip later,
	// a failed request has said so, and an answering engine is streaming.
	if _, err := e.api.Ping(ctx, client.PingOptions{}); err != nil {
		return e.streamEnded(ctx, err)
	}
	select {
	case err := <-res.Err:
		return e.streamEnded(ctx, err)
	default:
	}
	if o.Connected != nil {
		o.Connected()
	}
	for {
		select {
		case m, ok := <-res.Messages:
			if !ok {
				return e.streamEnded(ctx, io.EOF)
			}
			if ev, ok := toEvent(m); ok {
				handle(ev)
			}
		case err := <-res.Err:
			return e.streamEnded(ctx, err)
		}
	}
}

// streamEnded explains why the event stream stopped.
func (e *Engine) streamEnded(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if err == nil {
		err = io.EOF
	}
	if f := e.fail(err, "event stream"); f != nil {
		var ee *Error
		if errors.As(f, &ee) {
			if !ee.Unreachable {
				// The engine accepted the stream, so any end of it is the
				// engine or the way to it going away.
				ee.Unreachable = true
				ee.Err = fmt.Errorf("%w (%w)", ee.Err, ErrUnreachable)
			}
			return ee
		}
		return f
	}
	return &Error{Hub: e.hub, Err: fmt.Errorf("event stream ended: %w", ErrUnreachable), Unreachable: true}
}

// toEvent converts a message of the stream, keeping only managed containers.
func toEvent(m events.Message) (Event, bool) {
	attrs := m.Actor.Attributes
	if m.Type != events.ContainerEventType || attrs[LabelManaged] != "true" {
		return Event{}, false
	}
	ev := Event{
		Action:      string(m.Action),
		ContainerID: m.Actor.ID,
		Container:   attrs["name"],
		Pub:         attrs[LabelPub],
		ExitCode:    -1,
	}
	if m.TimeNano != 0 {
		ev.Time = time.Unix(0, m.TimeNano)
	} else {
		ev.Time = time.Unix(m.Time, 0)
	}
	if status, ok := strings.CutPrefix(ev.Action, EventHealth+":"); ok {
		ev.Action, ev.Health = EventHealth, strings.TrimSpace(status)
	}
	if code, err := strconv.Atoi(attrs["exitCode"]); err == nil {
		ev.ExitCode = code
	}
	return ev, true
}
