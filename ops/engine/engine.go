// Package engine talks to the Docker engine of one hub through the Docker API:
// over a dialer that reaches the hub's Docker socket (through the hub's SSH
// connection, or the local socket for a local hub), with API version
// negotiation down to 1.40. It only ever touches containers and volumes that
// carry buttctl's labels: every lookup filters by them, and the handles it
// hands out can only come from such a lookup.
package engine

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/moby/moby/client"
)

// Dialer opens a connection to a hub's Docker socket.
type Dialer func(ctx context.Context) (net.Conn, error)

// pingTimeout bounds the first request to an engine when the caller set no deadline.
const pingTimeout = 20 * time.Second

// Engine is the Docker engine of one hub.
type Engine struct {
	hub    string
	socket string
	api    *client.Client

	mu      sync.Mutex             // serialises the first ping
	version atomic.Pointer[string] // negotiated API version; nil until the engine answered

	lastDialErr atomic.Pointer[dialError]
	info        atomic.Pointer[cachedInfo]
}

// New returns the engine of hub, reached through dial. socket names the
// Docker socket on the hub, for messages. Nothing is dialled until first use.
func New(hub, socket string, dial Dialer) (*Engine, error) {
	e := &Engine{hub: hub, socket: socket}
	api, err := client.New(
		client.WithHost("unix://"+socket),
		client.WithDialContext(func(ctx context.Context, _, _ string) (net.Conn, error) {
			c, err := dial(ctx)
			if err != nil {
				de := &dialError{err: err}
				e.lastDialErr.Store(de)
				return nil, de
			}
			return c, nil
		}),
	)
	if err != nil {
		return nil, &Error{Hub: hub, Err: err}
	}
	e.api = api
	return e, nil
}

// NewLocal returns the engine behind the Unix socket at socketPath on this machine.
func NewLocal(hub, socketPath string) (*Engine, error) {
	var d net.Dialer
	return New(hub, socketPath, func(ctx context.Context) (net.Conn, error) {
		return d.DialContext(ctx, "unix", socketPath)
	})
}

// Hub is the name of the hub this engine runs on.
func (e *Engine) Hub() string { return e.hub }

// Close releases the engine's idle connections.
func (e *Engine) Close() error { return e.api.Close() }

// Ping checks that the engine answers and negotiates the API version; it
// returns the version in use. Every other method pings first, once.
func (e *Engine) Ping(ctx context.Context) (string, error) {
	if v := e.version.Load(); v != nil {
		return *v, nil
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if v := e.version.Load(); v != nil {
		return *v, nil
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, pingTimeout)
		defer cancel()
	}
	p, err := e.api.Ping(ctx, client.PingOptions{NegotiateAPIVersion: true, ForceNegotiate: true})
	if err != nil {
		return "", e.fail(err, "")
	}
	if p.APIVersion == "" {
		return "", &Error{Hub: e.hub, Err: fmt.Errorf("the Docker engine at %s did not say which API version it speaks", e.socket)}
	}
	v := e.api.ClientVersion()
	e.version.Store(&v)
	return v, nil
}

func (e *Engine) ready(ctx context.Context) error {
	_, err := e.Ping(ctx)
	return err
}

// API is the underlying Docker client, for operations this package does not
// wrap (such as the event stream). Callers must filter by buttctl's labels
// themselves; prefer the methods of Engine.
func (e *Engine) API(ctx context.Context) (*client.Client, error) {
	if err := e.ready(ctx); err != nil {
		return nil, err
	}
	return e.api, nil
}

// dialError is a failure to reach the Docker socket, kept so that errors the
// Docker client reports without their cause can be explained.
type dialError struct{ err error }

func (d *dialError) Error() string { return d.err.Error() }
func (d *dialError) Unwrap() error { return d.err }

// errorsAsDial finds a dialError in err's chain.
func errorsAsDial(err error) (*dialError, bool) {
	var de *dialError
	ok := errors.As(err, &de)
	return de, ok
}
