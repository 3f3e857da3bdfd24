package pubs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"regexp"
	"strconv"
	"strings"

	"github.com/buttctl/buttctl/ops/engine"
)

// ssbID matches an SSB feed id: "@" base64 of an ed25519 key ".ed25519".
var ssbID = regexp.MustCompile(`@[A-Za-z0-9+/]{43}=\.ed25519`)

// Whoami returns the pub's SSB id (@…=.ed25519), asked of the running pub
// with its image's whoami command.
func (s *Service) Whoami(ctx context.Context, name string) (string, error) {
	t, c, err := s.resolve(ctx, name)
	if err != nil {
		return "", err
	}
	id, err := s.whoami(ctx, t.eng, c, t.pub.Image)
	return id, t.fail(err)
}

func (s *Service) whoami(ctx context.Context, e *engine.Engine, c engine.Container, image string) (string, error) {
	if c.State != "running" {
		return "", fmt.Errorf("not running (%s): start it first", c.State)
	}
	argv := s.inv.ImageProfile(image).Whoami
	out, err := s.run(ctx, e, c, argv)
	if err != nil {
		return "", err
	}
	return ParseWhoami(out)
}

// ParseWhoami reads an SSB id from what a whoami command printed: ssb-server's
// {"id": "@…"}, a JSON string, or the bare id.
func ParseWhoami(out []byte) (string, error) {
	var obj struct {
		ID string `json:"id"`
	}
	text := strings.TrimSpace(string(out))
	if json.Unmarshal(out, &obj) == nil && obj.ID != "" {
		text = obj.ID
	} else {
		var s string
		if json.Unmarshal(out, &s) == nil {
			text = s
		}
	}
	id := ssbID.FindString(text)
	if id == "" || strings.TrimSpace(text) != id {
		return "", fmt.Errorf("whoami printed no SSB id (want @…=.ed25519), got %q", truncate(strings.TrimSpace(string(out)), 120))
	}
	return id, nil
}

// Invite creates an invite for uses peers on the running pub, with the pub's
// public host and port as its address.
func (s *Service) Invite(ctx context.Context, name string, uses int) (string, error) {
	t, err := s.target(name)
	if err != nil {
		return "", err
	}
	if uses < 1 {
		return "", t.fail(badInput("--uses %d: an invite is for 1 or more uses", uses))
	}
	spec, err := specOf(s.inv, t)
	if err != nil {
		return "", err
	}
	c, err := s.container(ctx, t)
	if err != nil {
		return "", err
	}
	if c.State != "running" {
		return "", t.fail(fmt.Errorf("not running (%s): start it first", c.State))
	}
	out, err := s.run(ctx, t.eng, c, s.inv.ImageProfile(t.pub.Image).InviteArgv(uses))
	if err != nil {
		return "", t.fail(err)
	}
	code, err := ReadInvite(out)
	if err != nil {
		return "", t.fail(err)
	}
	inv, err := Readdress(code, spec.PublicHost, spec.HostPort)
	return inv, t.fail(err)
}

// ReadInvite takes the invite out of what an invite command printed
// (ssb-server prints it as a JSON string).
func ReadInvite(out []byte) (string, error) {
	var s string
	if err := json.Unmarshal(out, &s); err != nil {
		s = strings.TrimSpace(string(out))
	}
	if s == "" || strings.ContainsAny(s, " \n\t") {
		// Not echoed: an invite is a secret.
		return "", errors.New("the invite command printed no invite (want host:port:@key.ed25519~seed)")
	}
	return s, nil
}

// Readdress replaces the address of an invite with host:port, for the two
// invite forms of SSB: legacy "HOST:PORT:@KEY.ed25519~SEED" and multiserver
// "net:HOST:PORT~shs:KEY:SEED". Servers put their bind address there
// ([::], 0.0.0.0) or their container's, which peers cannot reach.
func Readdress(invite, host string, port int) (string, error) {
	addr := net.JoinHostPort(host, strconv.Itoa(port))
	if rest, ok := strings.CutPrefix(invite, "net:"); ok {
		if i := strings.Index(rest, "~"); i >= 0 {
			return "net:" + addr + rest[i:], nil
		}
	} else if i := strings.Index(invite, ":@"); i > 0 {
		return addr + invite[i:], nil
	}
	return "", errors.New("the invite the pub printed has no address buttctl can read (want host:port:@key.ed25519~seed)")
}

// run runs argv in the container and returns its output, or an error with
// what it wrote on stderr.
func (s *Service) run(ctx context.Context, e *engine.Engine, c engine.Container, argv []string) ([]byte, error) {
	out, errOut, code, err := e.Output(ctx, c, argv)
	if err != nil {
		return nil, err
	}
	if code != 0 {
		msg := strings.TrimSpace(string(errOut))
		if msg == "" {
			msg = strings.TrimSpace(string(out))
		}
		return nil, fmt.Errorf("%s exited with %d: %s", strings.Join(argv, " "), code, truncate(oneLine(msg), 200))
	}
	return out, nil
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
