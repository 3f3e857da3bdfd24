package sshexec

import (
	"fmt"
	"net"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
)

// Host key checking modes, named after OpenSSH's StrictHostKeyChecking.
const (
	HostKeyStrict    = "strict"
	HostKeyAcceptNew = "accept-new"
)

// ConfigNone as Target.ConfigFile reads no ssh_config at all.
const ConfigNone = "none"

// Target is one SSH destination (a hub), as the inventory describes it.
// Empty fields are filled from ssh_config, then from OpenSSH's defaults.
type Target struct {
	// Name is the hub's name, used in every error ("hub-2: ssh: connection refused").
	Name string
	// Host is an address or an ssh_config alias ("" = Name).
	Host string
	Port int
	User string
	// IdentityFiles are tried after the agent's keys and before ssh_config's
	// IdentityFile and the defaults ~/.ssh/id_ed25519, id_ecdsa, id_rsa.
	IdentityFiles []string
	// KnownHosts is the known_hosts file ("" = ~/.ssh/known_hosts).
	KnownHosts string
	// HostKeyChecking is HostKeyStrict (default) or HostKeyAcceptNew.
	HostKeyChecking string
	// Jump is a bastion as OpenSSH's ProxyJump: [user@]host[:port][,...].
	Jump string
	// ConfigFile is the ssh_config to honour ("" = ~/.ssh/config then
	// /etc/ssh/ssh_config; ConfigNone = none).
	ConfigFile string
}

// hop is one SSH connection of a route: a bastion or the target itself,
// with ssh_config applied.
type hop struct {
	name          string // for errors: the hub, or "hub-2: jump host bastion"
	alias         string // as written (ssh_config Host pattern key)
	host          string
	port          int
	user          string
	identityFiles []string
	knownHosts    string
	checking      string
	hashKnown     bool
}

func (h *hop) addr() string { return net.JoinHostPort(h.host, strconv.Itoa(h.port)) }

// key identifies the connection a hop needs; equal keys share a connection.
func (h *hop) key() string {
	return h.user + "@" + h.addr() + "|" + strings.Join(h.identityFiles, ",") + "|" + h.knownHosts + "|" + h.checking
}

// route is the hops to a target: bastions first, the target last.
type route []*hop

func (r route) key() string {
	keys := make([]string, len(r))
	for i, h := range r {
		keys[i] = h.key()
	}
	return strings.Join(keys, " > ")
}

// resolve applies ssh_config and defaults to t and expands its ProxyJump.
func (p *Pool) resolve(t Target) (route, error) {
	name := t.Name
	if name == "" {
		name = t.Host
	}
	alias := t.Host
	if alias == "" {
		alias = t.Name
	}
	if alias == "" {
		return nil, fmt.Errorf("ssh: target has neither a name nor a host")
	}
	cfg, err := p.config(t.ConfigFile)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	checking := t.HostKeyChecking
	switch checking {
	case "":
		checking = HostKeyStrict
	case HostKeyStrict, HostKeyAcceptNew:
	default:
		return nil, fmt.Errorf("%s: ssh: host_key_checking %q: use strict or accept-new", name, checking)
	}
	knownHosts := expandHome(t.KnownHosts)
	if knownHosts == "" {
		knownHosts = filepath.Join(homeDir(), ".ssh", "known_hosts")
	}
	hashKnown := strings.EqualFold(cfg.get(alias, "HashKnownHosts"), "yes")

	target := &hop{name: name, alias: alias, port: t.Port, user: t.User, knownHosts: knownHosts, checking: checking, hashKnown: hashKnown}
	if err := cfg.fill(target, t.IdentityFiles); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}

	jump := t.Jump
	if jump == "" {
		jump = cfg.get(alias, "ProxyJump")
	}
	var r route
	if jump != "" && !strings.EqualFold(jump, "none") {
		for _, spec := range strings.Split(jump, ",") {
			h, err := parseJump(strings.TrimSpace(spec))
			if err != nil {
				return nil, fmt.Errorf("%s: ssh: ProxyJump %q: %w", name, jump, err)
			}
			h.name = name + ": jump host " + h.alias
			h.knownHosts, h.checking, h.hashKnown = knownHosts, checking, hashKnown
			if err := cfg.fill(h, t.IdentityFiles); err != nil {
				return nil, fmt.Errorf("%s: %w", name, err)
			}
			r = append(r, h)
		}
	}
	return append(r, target), nil
}

// parseJump reads one ProxyJump hop: [user@]host[:port] or ssh://[user@]host[:port].
func parseJump(spec string) (*hop, error) {
	s := strings.TrimPrefix(spec, "ssh://")
	if s == "" {
		return nil, fmt.Errorf("empty hop: write [user@]host[:port]")
	}
	h := &hop{}
	if i := strings.LastIndex(s, "@"); i >= 0 {
		h.user, s = s[:i], s[i+1:]
	}
	host, port := s, ""
	if strings.HasPrefix(s, "[") {
		var err error
		if host, port, err = net.SplitHostPort(s); err != nil {
			if !strings.HasSuffix(s, "]") {
				return nil, err
			}
			host, port = strings.Trim(s, "[]"), ""
		}
	} else if strings.Count(s, ":") == 1 {
		host, port, _ = strings.Cut(s, ":")
	}
	if host == "" {
		return nil, fmt.Errorf("hop %q has no host: write [user@]host[:port]", spec)
	}
	h.alias = host
	if port != "" {
		n, err := strconv.Atoi(port)
		if err != nil || n <= 0 || n > 65535 {
			return nil, fmt.Errorf("hop %q: port %q is not a number from 1 to 65535", spec, port)
		}
		h.port = n
	}
	return h, nil
}

// fill sets what h leaves empty from ssh_config and OpenSSH's defaults.
// Identity files: explicit ones first, then ssh_config's, then the defaults.
func (c *sshConfig) fill(h *hop, explicit []string) error {
	h.host = c.get(h.alias, "HostName")
	if h.host == "" {
		h.host = h.alias
	} else {
		h.host = strings.ReplaceAll(h.host, "%h", h.alias)
	}
	if h.port == 0 {
		if p := c.get(h.alias, "Port"); p != "" {
			n, err := strconv.Atoi(p)
			if err != nil || n <= 0 || n > 65535 {
				return fmt.Errorf("ssh_config %s: Host %s: Port %q is not a number from 1 to 65535", c.path, h.alias, p)
			}
			h.port = n
		} else {
			h.port = 22
		}
	}
	if h.user == "" {
		h.user = c.get(h.alias, "User")
	}
	if h.user == "" {
		h.user = localUser()
	}
	var files []string
	for _, f := range explicit {
		files = appendUnique(files, expandHome(f))
	}
	for _, f := range c.getAll(h.alias, "IdentityFile") {
		f = strings.NewReplacer("%d", homeDir(), "%u", localUser(), "%h", h.host, "%r", h.user).Replace(f)
		files = appendUnique(files, expandHome(f))
	}
	h.identityFiles = files
	return nil
}

func appendUnique(list []string, s string) []string {
	for _, x := range list {
		if x == s {
			return list
		}
	}
	return append(list, s)
}

func homeDir() string {
	if h, err := os.UserHomeDir(); err == nil {
		return h
	}
	if u, err := user.Current(); err == nil {
		return u.HomeDir
	}
	return "/"
}

func localUser() string {
	if u, err := user.Current(); err == nil {
		return u.Username
	}
	return os.Getenv("USER")
}

// expandHome replaces a leading ~/ with the home directory.
func expandHome(p string) string {
	if p == "~" {
		return homeDir()
	}
	if rest, ok := strings.CutPrefix(p, "~/"); ok {
		return filepath.Join(homeDir(), rest)
	}
	return p
}
