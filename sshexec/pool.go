package sshexec

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// PoolOptions tune a Pool. Zero values mean the defaults given.
type PoolOptions struct {
	// DialTimeout bounds the TCP connect plus SSH handshake of one hop (10s).
	DialTimeout time.Duration
	// KeepAliveInterval is OpenSSH's ServerAliveInterval (15s); negative disables.
	KeepAliveInterval time.Duration
	// KeepAliveCountMax is OpenSSH's ServerAliveCountMax (3): intervals without
	// an answer before the connection is dropped.
	KeepAliveCountMax int
	// MaxHandshakes bounds concurrent new SSH handshakes across the pool (16).
	MaxHandshakes int
	// MaxSessions bounds concurrent commands on one connection (10, sshd's
	// MaxSessions default); unix-socket dials do not count.
	MaxSessions int
	// AgentSocket is the ssh-agent to use ("" = $SSH_AUTH_SOCK, AgentNone = none).
	AgentSocket string
	// NoDefaultIdentities skips ~/.ssh/id_ed25519, id_ecdsa and id_rsa.
	NoDefaultIdentities bool
	// Logf receives notices, such as a host key recorded by accept-new.
	Logf func(format string, args ...any)
}

func (o *PoolOptions) setDefaults() {
	if o.DialTimeout <= 0 {
		o.DialTimeout = 10 * time.Second
	}
	if o.KeepAliveInterval == 0 {
		o.KeepAliveInterval = 15 * time.Second
	}
	if o.KeepAliveCountMax <= 0 {
		o.KeepAliveCountMax = 3
	}
	if o.MaxHandshakes <= 0 {
		o.MaxHandshakes = 16
	}
	if o.MaxSessions <= 0 {
		o.MaxSessions = 10
	}
}

// Pool keeps one SSH connection per target and shares it between every
// operation, like OpenSSH's ControlMaster. A dropped connection is redialled
// by the next operation. Safe for concurrent use.
type Pool struct {
	opts       PoolOptions
	ctx        context.Context // cancelled by Close
	cancel     context.CancelFunc
	handshakes chan struct{}

	mu      sync.Mutex
	configs map[string]*sshConfig
	conns   map[string]*conn // by route key
	closed  bool

	knownHostsMu sync.Mutex
}

// conn is one pooled connection, or a dial in flight.
type conn struct {
	key      string
	ready    chan struct{} // closed when the dial ends
	err      error         // the dial's error, once ready
	client   *ssh.Client
	dead     chan struct{} // closed when the connection is gone
	sessions chan struct{}
	waiters  int
	cancel   context.CancelFunc
}

func (c *conn) alive() bool {
	select {
	case <-c.dead:
		return false
	default:
		return true
	}
}

// ErrPoolClosed is returned by operations on a closed Pool.
var ErrPoolClosed = errors.New("ssh: connection pool closed")

// NewPool returns an empty pool.
func NewPool(opts PoolOptions) *Pool {
	opts.setDefaults()
	ctx, cancel := context.WithCancel(context.Background())
	return &Pool{
		opts:       opts,
		ctx:        ctx,
		cancel:     cancel,
		handshakes: make(chan struct{}, opts.MaxHandshakes),
		configs:    map[string]*sshConfig{},
		conns:      map[string]*conn{},
	}
}

// Close closes every connection. Operations in flight fail.
func (p *Pool) Close() error {
	p.mu.Lock()
	p.closed = true
	conns := p.conns
	p.conns = map[string]*conn{}
	p.mu.Unlock()
	p.cancel()
	for _, c := range conns {
		select {
		case <-c.ready:
			if c.client != nil {
				c.client.Close()
			}
		default:
		}
	}
	return nil
}

func (p *Pool) logf(format string, args ...any) {
	if p.opts.Logf != nil {
		p.opts.Logf(format, args...)
	}
}

// ConnectError is a failure to reach or log in to a hop: a hub that is
// unreachable, in Ansible's words.
type ConnectError struct {
	Target string // the hub's name
	Addr   string // host:port of the hop that failed
	Err    error
}

func (e *ConnectError) Error() string { return e.Target + ": ssh: " + e.Err.Error() }
func (e *ConnectError) Unwrap() error { return e.Err }

// Connect makes sure a connection to t is up, dialling it if needed.
func (p *Pool) Connect(ctx context.Context, t Target) error {
	r, err := p.resolve(t)
	if err != nil {
		return err
	}
	_, err = p.client(ctx, r)
	return err
}

// Ping measures one SSH round trip to t over its pooled connection
// (dialling first if needed; the dial is not counted).
func (p *Pool) Ping(ctx context.Context, t Target) (time.Duration, error) {
	r, err := p.resolve(t)
	if err != nil {
		return 0, err
	}
	c, err := p.client(ctx, r)
	if err != nil {
		return 0, err
	}
	start := time.Now()
	reply := make(chan error, 1)
	go func() {
		_, _, err := c.client.SendRequest("keepalive@openssh.com", true, nil)
		reply <- err
	}()
	select {
	case err := <-reply:
		if err != nil {
			c.client.Close()
			return 0, fmt.Errorf("%s: ssh: %w", r.target().name, ErrConnectionLost)
		}
		return time.Since(start), nil
	case <-ctx.Done():
		return 0, fmt.Errorf("%s: ssh: ping: %w", r.target().name, ctx.Err())
	}
}

func (r route) target() *hop { return r[len(r)-1] }

// client returns the live pooled connection for r, dialling it (once, however
// many callers wait) when there is none. A dial nobody waits for any more is
// abandoned.
func (p *Pool) client(ctx context.Context, r route) (*conn, error) {
	key := r.key()
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil, ErrPoolClosed
	}
	c := p.conns[key]
	if c != nil {
		select {
		case <-c.ready:
			if c.err == nil && c.alive() {
				p.mu.Unlock()
				return c, nil
			}
			c = nil
		default:
		}
	}
	if c == nil {
		dctx, cancel := context.WithCancel(p.ctx)
		c = &conn{key: key, ready: make(chan struct{}), dead: make(chan struct{}), cancel: cancel,
			sessions: make(chan struct{}, p.opts.MaxSessions)}
		p.conns[key] = c
		go p.dial(dctx, c, r)
	}
	c.waiters++
	p.mu.Unlock()

	select {
	case <-c.ready:
		p.mu.Lock()
		c.waiters--
		p.mu.Unlock()
		if c.err != nil {
			return nil, c.err
		}
		return c, nil
	case <-ctx.Done():
		p.mu.Lock()
		c.waiters--
		if c.waiters == 0 {
			c.cancel()
			if p.conns[key] == c {
				delete(p.conns, key)
			}
		}
		p.mu.Unlock()
		return nil, &ConnectError{Target: r.target().name, Addr: r.target().addr(), Err: fmt.Errorf("connecting to %s: %w", r.target().addr(), ctx.Err())}
	}
}

// forget drops c from the pool and closes it, so the next caller redials.
func (p *Pool) forget(c *conn) {
	p.mu.Lock()
	if p.conns[c.key] == c {
		delete(p.conns, c.key)
	}
	p.mu.Unlock()
	if c.client != nil {
		c.client.Close()
	}
}

func (p *Pool) dial(ctx context.Context, c *conn, r route) {
	defer c.cancel()
	client, err := p.dialRoute(ctx, r)
	if err == nil && ctx.Err() != nil {
		client.Close()
		err = ctx.Err()
	}
	if err != nil {
		var ce *ConnectError
		if !errors.As(err, &ce) {
			err = &ConnectError{Target: r.target().name, Addr: r.target().addr(), Err: err}
		}
		c.err = err
		close(c.dead)
		close(c.ready)
		return
	}
	c.client = client
	close(c.ready)
	go func() {
		client.Wait()
		close(c.dead)
	}()
	if p.opts.KeepAliveInterval > 0 {
		go p.keepalive(c)
	}
}

// dialRoute connects the last hop of r, through the pooled connection to the
// hops before it when there are bastions.
func (p *Pool) dialRoute(ctx context.Context, r route) (*ssh.Client, error) {
	h := r.target()
	var netConn net.Conn
	if len(r) > 1 {
		jump := r[len(r)-2]
		for attempt := 0; ; attempt++ {
			via, err := p.client(ctx, r[:len(r)-1])
			if err != nil {
				return nil, err
			}
			dctx, cancel := context.WithTimeout(ctx, p.opts.DialTimeout)
			netConn, err = via.client.DialContext(dctx, "tcp", h.addr())
			cancel()
			if err == nil {
				break
			}
			if ctx.Err() == nil && p.broken(via, err) && attempt == 0 {
				continue // the bastion's pooled connection was dead: redial it
			}
			return nil, &ConnectError{Target: h.name, Addr: h.addr(), Err: fmt.Errorf("through jump host %s: dial %s: %w", jump.alias, h.addr(), err)}
		}
	}

	select {
	case p.handshakes <- struct{}{}:
		defer func() { <-p.handshakes }()
	case <-ctx.Done():
		if netConn != nil {
			netConn.Close()
		}
		return nil, ctx.Err()
	}

	if netConn == nil {
		d := net.Dialer{Timeout: p.opts.DialTimeout}
		var err error
		netConn, err = d.DialContext(ctx, "tcp", h.addr())
		if err != nil {
			return nil, &ConnectError{Target: h.name, Addr: h.addr(), Err: err}
		}
	}
	return p.handshake(ctx, netConn, h)
}

// handshake runs the SSH handshake and authentication of h over netConn.
func (p *Pool) handshake(ctx context.Context, netConn net.Conn, h *hop) (*ssh.Client, error) {
	netConn.SetDeadline(time.Now().Add(p.opts.DialTimeout))
	stop := context.AfterFunc(ctx, func() { netConn.Close() })
	defer stop()

	keys := p.keyring(h)
	defer keys.close()
	hk := &hostKeyCheck{pool: p, hop: h}
	cfg := &ssh.ClientConfig{
		User:              h.user,
		Auth:              []ssh.AuthMethod{ssh.PublicKeysCallback(func() ([]ssh.Signer, error) { return keys.signers, nil })},
		HostKeyCallback:   hk.check,
		HostKeyAlgorithms: hk.algorithms(),
		Timeout:           p.opts.DialTimeout,
	}
	sshConn, chans, reqs, err := ssh.NewClientConn(netConn, h.addr(), cfg)
	if err != nil {
		netConn.Close()
		var fail error
		switch {
		case hk.err != nil:
			fail = hk.err
		case ctx.Err() != nil:
			fail = fmt.Errorf("connecting to %s: %w", h.addr(), ctx.Err())
		case strings.Contains(err.Error(), "unable to authenticate"):
			fail = keys.authError(h)
		case strings.Contains(err.Error(), "no common algorithm for host key") && len(cfg.HostKeyAlgorithms) > 0:
			fail = fmt.Errorf("%s offers no host key of the types %s has for it (%s): its host keys were replaced; if that is expected, remove the old ones with `ssh-keygen -R '%s' -f %s`",
				h.addr(), h.knownHosts, strings.Join(cfg.HostKeyAlgorithms, ", "), knownhosts.Normalize(h.addr()), h.knownHosts)
		case isTimeout(err):
			fail = fmt.Errorf("%s: handshake timed out after %s", h.addr(), p.opts.DialTimeout)
		default:
			fail = fmt.Errorf("%s: %w", h.addr(), err)
		}
		return nil, &ConnectError{Target: h.name, Addr: h.addr(), Err: fail}
	}
	netConn.SetDeadline(time.Time{})
	return ssh.NewClient(sshConn, chans, reqs), nil
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// keepalive sends keepalive@openssh.com every interval and closes the
// connection after KeepAliveCountMax intervals without an answer.
func (p *Pool) keepalive(c *conn) {
	interval := p.opts.KeepAliveInterval
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		select {
		case <-c.dead:
			return
		case <-tick.C:
		}
		reply := make(chan error, 1)
		go func() {
			_, _, err := c.client.SendRequest("keepalive@openssh.com", true, nil)
			reply <- err
		}()
		timeout := time.NewTimer(interval * time.Duration(p.opts.KeepAliveCountMax))
		select {
		case err := <-reply:
			timeout.Stop()
			if err != nil {
				c.client.Close()
				return
			}
		case <-timeout.C:
			p.logf("ssh: %s: no answer to keepalives for %s: closing the connection", c.key, interval*time.Duration(p.opts.KeepAliveCountMax))
			c.client.Close()
			return
		case <-c.dead:
			timeout.Stop()
			return
		}
	}
}
