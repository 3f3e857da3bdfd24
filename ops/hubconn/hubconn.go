// Package hubconn connects buttctl to the inventory's hubs. It turns each hub
// into an sshexec.Target and owns the one connection pool every operation
// shares; a local hub (local: true) is this machine, reached without SSH:
// its commands run here and its Docker socket is dialled directly.
package hubconn

import (
	"context"
	"fmt"
	"net"
	"path/filepath"
	"strings"
	"time"

	"github.com/buttctl/buttctl/inventory"
	"github.com/buttctl/buttctl/sshexec"
)

// Options tune the connections.
type Options struct {
	// Pool tunes the SSH connection pool (timeouts, keepalives, agent).
	Pool sshexec.PoolOptions
}

// Conns reaches the hubs of one inventory. Safe for concurrent use.
type Conns struct {
	inv  *inventory.Inventory
	pool *sshexec.Pool
}

// New returns the connections to inv's hubs; none is opened until used.
func New(inv *inventory.Inventory, opts Options) *Conns {
	return &Conns{inv: inv, pool: sshexec.NewPool(opts.Pool)}
}

// Inventory is the inventory the hubs come from.
func (c *Conns) Inventory() *inventory.Inventory { return c.inv }

// Pool is the SSH connection pool.
func (c *Conns) Pool() *sshexec.Pool { return c.pool }

// Close closes every SSH connection.
func (c *Conns) Close() error { return c.pool.Close() }

// Hub returns the inventory's hub named name.
func (c *Conns) Hub(name string) (*inventory.Hub, error) {
	h, ok := c.inv.Hub(name)
	if !ok {
		names := make([]string, len(c.inv.Hubs))
		for i, h := range c.inv.Hubs {
			names[i] = h.Name
		}
		where := "the inventory"
		if c.inv.Path != "" {
			where = c.inv.Path
		}
		return nil, fmt.Errorf("hub %q is not in %s (hubs: %s)", name, where, strings.Join(names, ", "))
	}
	return h, nil
}

// IsLocal reports whether hub name is this machine (no SSH).
func (c *Conns) IsLocal(name string) bool {
	h, ok := c.inv.Hub(name)
	return ok && h.Local
}

// Target is the SSH target for hub name: the inventory's ssh section with the
// hub's overrides. Relative paths are relative to the inventory file.
func (c *Conns) Target(name string) (sshexec.Target, error) {
	h, err := c.Hub(name)
	if err != nil {
		return sshexec.Target{}, err
	}
	if h.Local {
		return sshexec.Target{}, fmt.Errorf("%s: a local hub is this machine and has no SSH", name)
	}
	return TargetFor(c.inv, h), nil
}

// TargetFor builds the SSH target of a (non-local) hub of inv.
func TargetFor(inv *inventory.Inventory, h *inventory.Hub) sshexec.Target {
	s := inv.HubSSH(h)
	t := sshexec.Target{
		Name:            h.Name,
		Host:            h.Address,
		Port:            s.Port,
		User:            s.User,
		KnownHosts:      relativeTo(inv.Path, s.KnownHosts),
		HostKeyChecking: s.HostKeyChecking,
		Jump:            s.Jump,
		ConfigFile:      relativeTo(inv.Path, s.Config),
	}
	if s.IdentityFile != "" {
		t.IdentityFiles = []string{relativeTo(inv.Path, s.IdentityFile)}
	}
	return t
}

// relativeTo resolves a path written in the inventory against its directory;
// "", "~/..." , absolute paths and "none" are left as they are.
func relativeTo(invPath, p string) string {
	if p == "" || p == sshexec.ConfigNone || p == "~" || strings.HasPrefix(p, "~/") || filepath.IsAbs(p) || invPath == "" {
		return p
	}
	return filepath.Join(filepath.Dir(invPath), p)
}

// Run runs argv on hub and waits for it; see sshexec.Pool.Run. On a local hub
// argv runs here, without a shell.
func (c *Conns) Run(ctx context.Context, hub string, argv []string) (*sshexec.Result, error) {
	return c.RunWith(ctx, hub, argv, sshexec.RunOptions{})
}

// RunWith is Run with standard streams.
func (c *Conns) RunWith(ctx context.Context, hub string, argv []string, opts sshexec.RunOptions) (*sshexec.Result, error) {
	h, err := c.Hub(hub)
	if err != nil {
		return nil, err
	}
	if h.Local {
		return runLocal(ctx, hub, argv, opts)
	}
	return c.pool.Run(ctx, TargetFor(c.inv, h), argv, opts)
}

// Shell runs argv (or a login shell) on hub attached to stdio, with a PTY
// when stdin is a terminal; see sshexec.Pool.Shell.
func (c *Conns) Shell(ctx context.Context, hub string, argv []string, stdio sshexec.Stdio) error {
	t, err := c.Target(hub)
	if err != nil {
		return err
	}
	return c.pool.Shell(ctx, t, argv, stdio)
}

// DialUnix connects to the unix socket socketPath on hub ("" = the hub's
// docker_socket): through the SSH connection, or directly on a local hub.
func (c *Conns) DialUnix(ctx context.Context, hub, socketPath string) (net.Conn, error) {
	h, err := c.Hub(hub)
	if err != nil {
		return nil, err
	}
	if socketPath == "" {
		socketPath = h.DockerSocket
	}
	if h.Local {
		var d net.Dialer
		conn, err := d.DialContext(ctx, "unix", socketPath)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", hub, err)
		}
		return conn, nil
	}
	return c.pool.DialUnix(ctx, TargetFor(c.inv, h), socketPath)
}

// DockerDialer returns a dialer of hub's Docker socket, for ops/engine.
func (c *Conns) DockerDialer(hub string) func(ctx context.Context) (net.Conn, error) {
	return func(ctx context.Context) (net.Conn, error) { return c.DialUnix(ctx, hub, "") }
}

// Ping measures one SSH round trip to hub over its pooled connection (0 for
// a local hub).
func (c *Conns) Ping(ctx context.Context, hub string) (time.Duration, error) {
	h, err := c.Hub(hub)
	if err != nil {
		return 0, err
	}
	if h.Local {
		return 0, nil
	}
	return c.pool.Ping(ctx, TargetFor(c.inv, h))
}
