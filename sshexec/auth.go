package sshexec

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"
)

// AgentNone as PoolOptions.AgentSocket uses no ssh-agent.
const AgentNone = "none"

// defaultIdentities are OpenSSH's default identity files, in its order, under ~/.ssh.
var defaultIdentities = []string{"id_ed25519", "id_ecdsa", "id_rsa"}

// keyring is the keys offered to one hop, in order: the agent's, then the
// identity files'. Problems with keys are kept to explain a refusal.
type keyring struct {
	signers  []ssh.Signer
	agentN   int
	files    []string // identity files whose keys are offered
	problems []string
	agent    net.Conn
}

// keyring loads the keys for h. It never prompts: an encrypted identity file
// is usable only through the agent.
func (p *Pool) keyring(h *hop) *keyring {
	k := &keyring{}
	agentKeys := map[string]bool{}
	if sock := p.agentSocket(); sock != "" {
		c, err := net.DialTimeout("unix", sock, 2*time.Second)
		if err != nil {
			k.problems = append(k.problems, fmt.Sprintf("ssh-agent at %s: %v", sock, err))
		} else {
			k.agent = c
			signers, err := agent.NewClient(c).Signers()
			if err != nil {
				k.problems = append(k.problems, fmt.Sprintf("ssh-agent at %s: %v", sock, err))
			}
			for _, s := range signers {
				agentKeys[string(s.PublicKey().Marshal())] = true
			}
			k.signers = append(k.signers, signers...)
			k.agentN = len(signers)
		}
	}
	files := append([]string(nil), h.identityFiles...)
	explicit := len(files)
	if !p.opts.NoDefaultIdentities {
		for _, name := range defaultIdentities {
			files = appendUnique(files, filepath.Join(homeDir(), ".ssh", name))
		}
	}
	for i, path := range files {
		signer, pub, problem := loadIdentity(path)
		switch {
		case problem == errNoFile && i >= explicit:
			// A missing default identity is normal.
		case problem == errEncrypted:
			if pub == nil || !agentKeys[string(pub.Marshal())] {
				k.problems = append(k.problems, fmt.Sprintf("identity file %s is encrypted and no ssh-agent holds it: run `ssh-add %s` (buttctl never asks for passphrases)", path, path))
			}
		case problem != nil:
			k.problems = append(k.problems, fmt.Sprintf("identity file %s: %v", path, problem))
		case agentKeys[string(signer.PublicKey().Marshal())]:
			// Already offered by the agent.
		default:
			k.signers = append(k.signers, signer)
			k.files = append(k.files, path)
		}
	}
	return k
}

func (p *Pool) agentSocket() string {
	switch s := p.opts.AgentSocket; s {
	case AgentNone:
		return ""
	case "":
		return os.Getenv("SSH_AUTH_SOCK")
	default:
		return s
	}
}

func (k *keyring) close() {
	if k.agent != nil {
		k.agent.Close()
	}
}

var (
	errNoFile    = errors.New("no such file")
	errEncrypted = errors.New("encrypted")
)

// loadIdentity reads a private key file. An encrypted key yields
// errEncrypted and, when the file or its .pub says, its public key.
func loadIdentity(path string) (ssh.Signer, ssh.PublicKey, error) {
	fi, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil, errNoFile
	}
	if err != nil {
		return nil, nil, err
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return nil, nil, fmt.Errorf("permissions %04o are too open, so it is ignored: run `chmod 600 %s`", fi.Mode().Perm(), path)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, err
	}
	signer, err := ssh.ParsePrivateKey(data)
	var missing *ssh.PassphraseMissingError
	if errors.As(err, &missing) {
		pub := missing.PublicKey
		if pub == nil {
			if b, err := os.ReadFile(path + ".pub"); err == nil {
				pub, _, _, _, _ = ssh.ParseAuthorizedKey(b)
			}
		}
		return nil, pub, errEncrypted
	}
	if err != nil {
		return nil, nil, fmt.Errorf("not a private key: %v", err)
	}
	return signer, nil, nil
}

// AuthError is a hub refusing every key buttctl offered, or buttctl having none.
type AuthError struct {
	User, Addr string
	Offered    int
	Problems   []string
	msg        string
}

func (e *AuthError) Error() string { return e.msg }

func (k *keyring) authError(h *hop) *AuthError {
	e := &AuthError{User: h.user, Addr: h.addr(), Offered: len(k.signers), Problems: k.problems}
	var b bytes.Buffer
	if len(k.signers) == 0 {
		fmt.Fprintf(&b, "no key to offer %s@%s: load one into ssh-agent (ssh-add) or set ssh.identity_file in the inventory", h.user, h.addr())
	} else {
		var offered []string
		if k.agentN > 0 {
			offered = append(offered, fmt.Sprintf("%d from ssh-agent", k.agentN))
		}
		offered = append(offered, k.files...)
		fmt.Fprintf(&b, "%s@%s refused every key offered (%s): check the user and the hub's authorized_keys", h.user, h.addr(), strings.Join(offered, ", "))
	}
	for _, p := range k.problems {
		b.WriteString("; ")
		b.WriteString(p)
	}
	e.msg = b.String()
	return e
}
