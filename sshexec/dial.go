package sshexec

import (
	"context"
	"errors"
	"fmt"
	"net"

	"golang.org/x/crypto/ssh"
)

// DialUnix connects to the unix socket socketPath on t through t's pooled
// connection (direct-streamlocal@openssh.com), e.g. the hub's Docker socket.
// The hub's sshd must allow it (AllowStreamLocalForwarding, on by default)
// and the SSH user must be allowed to open the socket.
func (p *Pool) DialUnix(ctx context.Context, t Target, socketPath string) (net.Conn, error) {
	r, err := p.resolve(t)
	if err != nil {
		return nil, err
	}
	name := r.target().name
	for attempt := 0; ; attempt++ {
		c, err := p.client(ctx, r)
		if err != nil {
			return nil, err
		}
		nc, err := c.client.DialContext(ctx, "unix", socketPath)
		if err == nil {
			return nc, nil
		}
		if ctx.Err() != nil {
			return nil, fmt.Errorf("%s: ssh: dial unix %s: %w", name, socketPath, ctx.Err())
		}
		var oce *ssh.OpenChannelError
		if errors.As(err, &oce) {
			hint := ""
			switch oce.Reason {
			case ssh.Prohibited, ssh.ConnectionFailed:
				hint = fmt.Sprintf(" (the socket is missing, %s may not open it, or the hub's sshd forbids it: AllowStreamLocalForwarding yes)", r.target().user)
			}
			return nil, fmt.Errorf("%s: ssh: dial unix %s: %s%s", name, socketPath, oce.Message, hint)
		}
		if p.broken(c, err) && attempt == 0 {
			continue
		}
		return nil, fmt.Errorf("%s: ssh: dial unix %s: %w", name, socketPath, err)
	}
}

// broken reports whether err from opening a channel means the connection is
// gone (rather than the server refusing the channel); if so it is dropped.
func (p *Pool) broken(c *conn, err error) bool {
	var oce *ssh.OpenChannelError
	if errors.As(err, &oce) {
		return false
	}
	p.forget(c)
	return true
}
