// Package pubs carries out the operations on pubs (list, create, start,
// stop, restart, kill, rm, logs, exec, inspect, whoami, invite) over the
// Docker engines of their hubs. It is what the command line, the console and
// the watch daemon call; it never prints.
package pubs

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/buttctl/buttctl/inventory"
	"github.com/buttctl/buttctl/ops/audit"
	"github.com/buttctl/buttctl/ops/engine"
	"github.com/buttctl/buttctl/ops/pubspec"
)

// HubDialer opens a connection to a Unix socket on a hub: through the hub's
// SSH connection, or directly for a local hub. hubconn.Conns is one.
type HubDialer interface {
	DialUnix(ctx context.Context, hub, socketPath string) (net.Conn, error)
}

// Service operates the pubs of one inventory. It keeps one engine client per
// hub; Close releases them.
type Service struct {
	inv  *inventory.Inventory
	dial HubDialer
	// Now is the clock (tests replace it).
	Now func() time.Time
	// Operator names who acts, in records such as an operator stop:
	// "user@host" of this process by default.
	Operator string
	// Audit receives a record of every change the service makes to a pub
	// or hub (create, start, stop, restart, kill, rm, load-image; and
	// ops/identity's backup, restore and move); nil: none.
	Audit *audit.Log

	engines *engines
}

// engines are a service's engine clients, one per hub, shared by its views.
type engines struct {
	mu sync.Mutex
	m  map[string]*engine.Engine
}

// New returns the pub operations over inv's hubs, reached through dial.
func New(inv *inventory.Inventory, dial HubDialer) *Service {
	return &Service{inv: inv, dial: dial, Now: time.Now, Operator: audit.Actor(), engines: &engines{m: map[string]*engine.Engine{}}}
}

// WithAudit is a view of s that records to l (nil: nowhere), over the same
// inventory and engine clients (closing either view closes them; they are
// opened again when used).
func (s *Service) WithAudit(l *audit.Log) *Service {
	v := *s
	v.Audit = l
	return &v
}

// WithInventory is a view of s over inv, a later reading of the same
// inventory file (same hubs), sharing s's engine clients like WithAudit.
func (s *Service) WithInventory(inv *inventory.Inventory) *Service {
	v := *s
	v.inv = inv
	return &v
}

// Begin starts the audit record of an action on the pub called name (on
// its hub as the inventory places it), to be ended when the action is.
func (s *Service) Begin(action, name string) *audit.Pending {
	r := audit.Record{Action: action, Pub: name}
	if p, ok := s.inv.Pub(name); ok {
		r.Hub = p.Hub
	}
	return s.Audit.Begin(r)
}

// Inventory is the inventory the service operates.
func (s *Service) Inventory() *inventory.Inventory { return s.inv }

// Close releases the engine clients (not the dialer's connections).
func (s *Service) Close() error {
	s.engines.mu.Lock()
	defer s.engines.mu.Unlock()
	for name, e := range s.engines.m {
		e.Close()
		delete(s.engines.m, name)
	}
	return nil
}

// Engine returns the Docker engine of the named hub.
func (s *Service) Engine(hub string) (*engine.Engine, error) {
	h, ok := s.inv.Hub(hub)
	if !ok {
		return nil, fmt.Errorf("hub %s is not in the inventory %s", hub, s.inv.Path)
	}
	s.engines.mu.Lock()
	defer s.engines.mu.Unlock()
	if e, ok := s.engines.m[hub]; ok {
		return e, nil
	}
	socket := h.DockerSocket
	if socket == "" {
		socket = inventory.DefaultDockerSocket
	}
	e, err := engine.New(hub, socket, func(ctx context.Context) (net.Conn, error) {
		return s.dial.DialUnix(ctx, hub, socket)
	})
	if err != nil {
		return nil, err
	}
	s.engines.m[hub] = e
	return e, nil
}

// Error is a failure of an operation on one pub. Its message names the pub
// and its hub.
type Error struct {
	Pub, Hub string
	Err      error
}

func (e *Error) Error() string {
	if e.Hub == "" {
		return "pub " + e.Pub + ": " + strings.TrimPrefix(e.Err.Error(), "pub "+e.Pub+": ")
	}
	msg := strings.TrimPrefix(e.Err.Error(), "pub "+e.Pub+": ")
	return "pub " + e.Pub + " on " + e.Hub + ": " + strings.TrimPrefix(msg, e.Hub+": ")
}

func (e *Error) Unwrap() error { return e.Err }

// ErrBadInput marks errors in what the caller asked (a bad --since, a bad
// number of uses), as opposed to failures on the hub.
var ErrBadInput = errors.New("bad input")

// ErrUnknownPub: the inventory has no such pub.
var ErrUnknownPub = errors.New("unknown pub")

// unknownPub says that name is not a pub of the inventory, and which are.
func (s *Service) unknownPub(name string) error {
	names := make([]string, 0, len(s.inv.Pubs))
	for _, p := range s.inv.Pubs {
		names = append(names, p.Name)
	}
	known := "it has no pubs"
	switch {
	case len(names) > 8:
		known = "pubs: " + strings.Join(names[:8], ", ") + ", …"
	case len(names) > 0:
		known = "pubs: " + strings.Join(names, ", ")
	}
	return &unknownPubError{msg: fmt.Sprintf("pub %s is not in the inventory %s (%s): check the name, or add it under pubs:", name, s.inv.Path, known)}
}

type unknownPubError struct{ msg string }

func (e *unknownPubError) Error() string        { return e.msg }
func (e *unknownPubError) Is(target error) bool { return target == ErrUnknownPub }

// badInput wraps a message as ErrBadInput.
func badInput(format string, a ...any) error {
	return &inputError{msg: fmt.Sprintf(format, a...)}
}

type inputError struct{ msg string }

func (e *inputError) Error() string        { return e.msg }
func (e *inputError) Is(target error) bool { return target == ErrBadInput }

// target is a pub of the inventory, with its hub's engine.
type target struct {
	pub inventory.Pub
	eng *engine.Engine
}

func (t target) fail(err error) error {
	if err == nil {
		return nil
	}
	var pe *Error
	if errors.As(err, &pe) {
		return err
	}
	return &Error{Pub: t.pub.Name, Hub: t.pub.Hub, Err: err}
}

// target finds the pub called name and its hub's engine.
func (s *Service) target(name string) (target, error) {
	p, ok := s.inv.Pub(name)
	if !ok {
		return target{}, s.unknownPub(name)
	}
	if p.Hub == "" {
		return target{}, &Error{Pub: name, Err: errors.New("has no hub in the inventory: set its hub")}
	}
	e, err := s.Engine(p.Hub)
	if err != nil {
		return target{}, &Error{Pub: name, Hub: p.Hub, Err: err}
	}
	return target{pub: *p, eng: e}, nil
}

// Lookup returns the inventory's pub called name, or an error matching
// ErrUnknownPub that lists the known ones.
func (s *Service) Lookup(name string) (inventory.Pub, error) {
	p, ok := s.inv.Pub(name)
	if !ok {
		return inventory.Pub{}, s.unknownPub(name)
	}
	return *p, nil
}

// container finds the pub's managed container; a pub without one is an error
// that says how to create it.
func (s *Service) container(ctx context.Context, t target) (engine.Container, error) {
	c, err := t.eng.PubContainer(ctx, t.pub.Name)
	if engine.IsNotFound(err) {
		return c, t.fail(fmt.Errorf("no container (create it with 'buttctl pub create %s'): %w", t.pub.Name, engine.ErrNotFound))
	}
	return c, t.fail(err)
}

// resolve is target then container.
func (s *Service) resolve(ctx context.Context, name string) (target, engine.Container, error) {
	t, err := s.target(name)
	if err != nil {
		return t, engine.Container{}, err
	}
	c, err := s.container(ctx, t)
	return t, c, err
}

// Each runs op(ctx, i) for i in [0, n), at most parallel at a time (1 or
// less: one at a time), and returns the errors by i (nil for successes).
func Each(ctx context.Context, n, parallel int, op func(ctx context.Context, i int) error) []error {
	if parallel < 1 {
		parallel = 1
	}
	errs := make([]error, n)
	sem := make(chan struct{}, parallel)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			errs[i] = op(ctx, i)
		}()
	}
	wg.Wait()
	return errs
}

// specOf builds the pub's spec, naming the pub and hub in errors.
func specOf(inv *inventory.Inventory, t target) (pubspec.Spec, error) {
	s, err := pubspec.Build(inv, t.pub)
	return s, t.fail(err)
}
