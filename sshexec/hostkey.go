package sshexec

import (
	"crypto/ed25519"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// HostKeyError is a host key buttctl refuses: unknown under strict checking,
// changed, or revoked.
type HostKeyError struct {
	// Host is the known_hosts form of the address ("[127.0.0.5]:2222").
	Host string
	// Offered is the key the server presented.
	Offered ssh.PublicKey
	// Known holds the keys known_hosts has for Host (empty when unknown).
	Known []knownhosts.KnownKey
	// Changed reports a key different from the known one.
	Changed bool
	Revoked bool
	msg     string
}

func (e *HostKeyError) Error() string { return e.msg }

// hostKeyCheck checks one hop's host key against its known_hosts file.
type hostKeyCheck struct {
	pool *Pool
	hop  *hop
	err  *HostKeyError // set when the callback refused the key
}

// algorithms returns the host key algorithms to ask for so that the server
// presents a key type known_hosts already has for this host, as OpenSSH does;
// nil when the host is unknown.
func (c *hostKeyCheck) algorithms() []string {
	db, err := knownhosts.New(c.hop.knownHosts)
	if err != nil {
		return nil
	}
	_, probe, _ := ed25519.GenerateKey(nil)
	signer, _ := ssh.NewSignerFromKey(probe)
	var ke *knownhosts.KeyError
	if !errors.As(db(c.hop.addr(), dummyAddr, signer.PublicKey()), &ke) {
		return nil
	}
	var algos []string
	for _, k := range ke.Want {
		switch t := k.Key.Type(); t {
		case ssh.KeyAlgoRSA:
			for _, a := range []string{ssh.KeyAlgoRSASHA512, ssh.KeyAlgoRSASHA256, ssh.KeyAlgoRSA} {
				algos = appendUnique(algos, a)
			}
		default:
			algos = appendUnique(algos, t)
		}
	}
	return algos
}

var dummyAddr = &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 22}

// check is the ssh.HostKeyCallback.
func (c *hostKeyCheck) check(_ string, remote net.Addr, key ssh.PublicKey) error {
	err := c.verify(key)
	if err == nil {
		return nil
	}
	var hk *HostKeyError
	if errors.As(err, &hk) {
		c.err = hk
	}
	return err
}

func (c *hostKeyCheck) verify(key ssh.PublicKey) error {
	h := c.hop
	known := knownhosts.Normalize(h.addr())
	err := c.lookup(key)
	var ke *knownhosts.KeyError
	if !errors.As(err, &ke) || len(ke.Want) > 0 || h.checking != HostKeyAcceptNew {
		return c.explain(err, key)
	}
	// Unknown host with accept-new: record it, unless another dial just did.
	c.pool.knownHostsMu.Lock()
	defer c.pool.knownHostsMu.Unlock()
	if err := c.lookup(key); !errors.As(err, &ke) || len(ke.Want) > 0 {
		return c.explain(err, key)
	}
	if err := appendKnownHost(h.knownHosts, known, h.hashKnown, key); err != nil {
		return fmt.Errorf("recording the host key of %s in %s: %w", known, h.knownHosts, err)
	}
	c.pool.logf("%s: permanently added %s key %s for %s to %s", h.name, key.Type(), ssh.FingerprintSHA256(key), known, h.knownHosts)
	return nil
}

// lookup checks key against the known_hosts file as it is now. A missing
// file knows no host.
func (c *hostKeyCheck) lookup(key ssh.PublicKey) error {
	db, err := knownhosts.New(c.hop.knownHosts)
	if errors.Is(err, fs.ErrNotExist) {
		return &knownhosts.KeyError{}
	}
	if err != nil {
		return fmt.Errorf("known_hosts %s: %w", c.hop.knownHosts, err)
	}
	return db(c.hop.addr(), dummyAddr, key)
}

// explain turns a knownhosts verdict into an error that says what to do.
func (c *hostKeyCheck) explain(err error, key ssh.PublicKey) error {
	if err == nil {
		return nil
	}
	h := c.hop
	known := knownhosts.Normalize(h.addr())
	fp := fmt.Sprintf("%s %s", keyTypeName(key), ssh.FingerprintSHA256(key))
	var ke *knownhosts.KeyError
	var re *knownhosts.RevokedError
	switch {
	case errors.As(err, &re):
		return &HostKeyError{Host: known, Offered: key, Revoked: true,
			msg: fmt.Sprintf("host key %s of %s is marked @revoked in %s:%d: refusing to connect", fp, known, re.Revoked.Filename, re.Revoked.Line)}
	case errors.As(err, &ke) && len(ke.Want) == 0:
		return &HostKeyError{Host: known, Offered: key,
			msg: fmt.Sprintf("host key %s of %s is not in %s and host_key_checking is strict: check the fingerprint with the hub's admin, then add it (ssh-keyscan %s >> %s) or set host_key_checking: accept-new",
				fp, known, h.knownHosts, keyscanArgs(h), h.knownHosts)}
	case errors.As(err, &ke):
		want := ke.Want[0]
		for _, w := range ke.Want {
			if w.Key.Type() == key.Type() {
				want = w
				break
			}
		}
		return &HostKeyError{Host: known, Offered: key, Known: ke.Want, Changed: true,
			msg: fmt.Sprintf("HOST KEY CHANGED for %s (possible man-in-the-middle attack): it offered %s but %s:%d has %s; if the change is expected, remove the old key with `ssh-keygen -R '%s' -f %s` and connect again",
				known, fp, want.Filename, want.Line, ssh.FingerprintSHA256(want.Key), known, want.Filename)}
	default:
		return err
	}
}

func keyscanArgs(h *hop) string {
	if h.port == 22 {
		return h.host
	}
	return fmt.Sprintf("-p %d %s", h.port, h.host)
}

func keyTypeName(key ssh.PublicKey) string {
	t := strings.TrimPrefix(key.Type(), "ssh-")
	return strings.ToUpper(strings.SplitN(t, "-", 2)[0])
}

// appendKnownHost adds a line for host to the known_hosts file, creating it
// (0600, in a 0700 directory) when missing.
func appendKnownHost(path, host string, hashed bool, key ssh.PublicKey) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	prefix := ""
	if fi.Size() > 0 {
		last := make([]byte, 1)
		if _, err := f.ReadAt(last, fi.Size()-1); err != nil {
			return err
		}
		if last[0] != '\n' {
			prefix = "\n"
		}
	}
	field := host
	if hashed {
		field = knownhosts.HashHostname(host)
	}
	line := prefix + field + " " + strings.TrimSpace(string(ssh.MarshalAuthorizedKey(key))) + "\n"
	if _, err := f.WriteString(line); err != nil {
		return err
	}
	return f.Close()
}
