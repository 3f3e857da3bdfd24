package sshexec_test

import (
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/buttctl/buttctl/sshexec"
	"github.com/buttctl/buttctl/sshexec/sshdtest"
)

func TestAgentAuth(t *testing.T) {
	srv := sshdtest.Start(t, sshdtest.WithName("hub-agent"))
	agent := sshdtest.StartAgent(t)
	agent.Add(srv.IdentityPath())
	target := srv.Target()
	target.IdentityFiles = nil // only the agent holds the key

	p := newPool(t, sshexec.PoolOptions{AgentSocket: agent.Socket})
	res, err := p.Run(ctxT(t), target, []string{"echo", "via agent"}, sshexec.RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if string(res.Stdout) != "via agent\n" {
		t.Errorf("stdout = %q", res.Stdout)
	}

	// Without the agent there is no key to offer.
	p2 := newPool(t, sshexec.PoolOptions{})
	_, err = p2.Run(ctxT(t), target, []string{"true"}, sshexec.RunOptions{})
	var ae *sshexec.AuthError
	if !errors.As(err, &ae) || !strings.Contains(err.Error(), "hub-agent: ssh: no key to offer") {
		t.Fatalf("err = %v, want an AuthError saying there is no key", err)
	}
}

func TestAgentKeysComeBeforeIdentityFiles(t *testing.T) {
	// The agent holds a key the server refuses; the identity file's key is
	// accepted. Both are offered, agent first, and the login succeeds.
	srv := sshdtest.Start(t)
	other := sshdtest.NewKey(t, t.TempDir(), "other", "")
	agent := sshdtest.StartAgent(t)
	agent.Add(other.Path)
	p := newPool(t, sshexec.PoolOptions{AgentSocket: agent.Socket})
	if _, err := p.Run(ctxT(t), srv.Target(), []string{"true"}, sshexec.RunOptions{}); err != nil {
		t.Fatal(err)
	}
	log := readFile(t, srv.LogPath)
	refused := strings.Index(log, "Failed publickey")
	accepted := strings.Index(log, "Accepted publickey")
	if refused < 0 || accepted < refused {
		t.Errorf("want the agent's key tried (and refused) before the file's key was accepted; sshd log:\n%s", log)
	}
}

func TestEncryptedKeyWithoutAgentSaysSSHAdd(t *testing.T) {
	dir := t.TempDir()
	key := sshdtest.NewKey(t, dir, "id_locked", "correct horse")
	srv := sshdtest.Start(t, sshdtest.WithName("hub-enc"), sshdtest.WithAuthorizedKey(key.AuthorizedKey()))
	target := srv.Target()
	target.IdentityFiles = []string{key.Path}

	p := newPool(t, sshexec.PoolOptions{})
	_, err := p.Run(ctxT(t), target, []string{"true"}, sshexec.RunOptions{})
	if err == nil {
		t.Fatal("login with an encrypted key and no agent succeeded")
	}
	msg := err.Error()
	for _, want := range []string{"hub-enc: ssh: ", key.Path + " is encrypted", "ssh-add " + key.Path} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q lacks %q", msg, want)
		}
	}

	// With the same key in the agent, the encrypted file is not a problem.
	agent := sshdtest.StartAgent(t)
	unlocked := writeUnlockedCopy(t, key)
	agent.Add(unlocked)
	pa := newPool(t, sshexec.PoolOptions{AgentSocket: agent.Socket})
	if _, err := pa.Run(ctxT(t), target, []string{"true"}, sshexec.RunOptions{}); err != nil {
		t.Fatal(err)
	}
}

// writeUnlockedCopy writes key's private key without a passphrase, as
// `ssh-add` would hold it after asking for the passphrase.
func writeUnlockedCopy(t *testing.T, key *sshdtest.Key) string {
	t.Helper()
	path := t.TempDir() + "/unlocked"
	if err := os.WriteFile(path, sshdtest.MarshalPrivate(t, key), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestWrongKeyIsRefusedNamingWhatWasOffered(t *testing.T) {
	srv := sshdtest.Start(t, sshdtest.WithName("hub-x"))
	other := sshdtest.NewKey(t, t.TempDir(), "id_other", "")
	target := srv.Target()
	target.IdentityFiles = []string{other.Path}
	p := newPool(t, sshexec.PoolOptions{})
	_, err := p.Run(ctxT(t), target, []string{"true"}, sshexec.RunOptions{})
	var ae *sshexec.AuthError
	var ce *sshexec.ConnectError
	if !errors.As(err, &ae) || !errors.As(err, &ce) {
		t.Fatalf("err = %v (%T), want an AuthError inside a ConnectError", err, err)
	}
	if !strings.Contains(err.Error(), "refused every key offered ("+other.Path+")") {
		t.Errorf("error %q should name the key offered", err)
	}
}

func TestTooOpenIdentityFileIsIgnored(t *testing.T) {
	srv := sshdtest.Start(t)
	if err := os.Chmod(srv.IdentityPath(), 0o644); err != nil {
		t.Fatal(err)
	}
	p := newPool(t, sshexec.PoolOptions{})
	_, err := p.Run(ctxT(t), srv.Target(), []string{"true"}, sshexec.RunOptions{})
	if err == nil || !strings.Contains(err.Error(), "chmod 600 "+srv.IdentityPath()) {
		t.Fatalf("err = %v, want the key ignored with a chmod 600 hint", err)
	}
}
