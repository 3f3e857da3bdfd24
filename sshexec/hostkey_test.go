package sshexec_test

import (
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"

	"github.com/buttctl/buttctl/sshexec"
	"github.com/buttctl/buttctl/sshexec/sshdtest"
)

func TestUnknownHostKeyStrictRefuses(t *testing.T) {
	srv := sshdtest.Start(t, sshdtest.WithName("hub-new"))
	target := srv.Target()
	target.KnownHosts = filepath.Join(t.TempDir(), "known_hosts") // does not exist
	p := newPool(t, sshexec.PoolOptions{})
	_, err := p.Run(ctxT(t), target, []string{"true"}, sshexec.RunOptions{})
	var hk *sshexec.HostKeyError
	if !errors.As(err, &hk) || hk.Changed {
		t.Fatalf("err = %v, want an unknown-host HostKeyError", err)
	}
	fp := ssh.FingerprintSHA256(srv.HostKey())
	for _, want := range []string{"hub-new: ssh: ", fp, target.KnownHosts, "accept-new", "ssh-keyscan -p"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
	if _, err := os.Stat(target.KnownHosts); !os.IsNotExist(err) {
		t.Error("strict checking wrote a known_hosts file")
	}
}

func TestAcceptNewRecordsUnknownHostKey(t *testing.T) {
	srv := sshdtest.Start(t)
	target := srv.Target()
	target.KnownHosts = filepath.Join(t.TempDir(), "ssh", "known_hosts")
	target.HostKeyChecking = sshexec.HostKeyAcceptNew
	var notices []string
	p := newPool(t, sshexec.PoolOptions{Logf: func(f string, a ...any) { notices = append(notices, fmt.Sprintf(f, a...)) }})
	if _, err := p.Run(ctxT(t), target, []string{"true"}, sshexec.RunOptions{}); err != nil {
		t.Fatal(err)
	}
	got := readFile(t, target.KnownHosts)
	if want := knownhosts.Line([]string{srv.Addr()}, srv.HostKey()) + "\n"; got != want {
		t.Errorf("known_hosts = %q, want %q", got, want)
	}
	if fi, _ := os.Stat(target.KnownHosts); fi.Mode().Perm() != 0o600 {
		t.Errorf("known_hosts mode %o, want 600", fi.Mode().Perm())
	}
	if len(notices) != 1 || !strings.Contains(notices[0], "permanently added") {
		t.Errorf("notices = %q", notices)
	}
	// The recorded key now passes strict checking in a fresh pool.
	target.HostKeyChecking = sshexec.HostKeyStrict
	if _, err := newPool(t, sshexec.PoolOptions{}).Run(ctxT(t), target, []string{"true"}, sshexec.RunOptions{}); err != nil {
		t.Fatal(err)
	}
}

func TestAcceptNewHonoursHashKnownHosts(t *testing.T) {
	srv := sshdtest.Start(t)
	cfg := filepath.Join(t.TempDir(), "ssh_config")
	os.WriteFile(cfg, []byte("Host *\n    HashKnownHosts yes\n"), 0o600)
	target := srv.Target()
	target.ConfigFile = cfg
	target.KnownHosts = filepath.Join(t.TempDir(), "known_hosts")
	target.HostKeyChecking = sshexec.HostKeyAcceptNew
	if _, err := newPool(t, sshexec.PoolOptions{}).Run(ctxT(t), target, []string{"true"}, sshexec.RunOptions{}); err != nil {
		t.Fatal(err)
	}
	got := readFile(t, target.KnownHosts)
	if !strings.HasPrefix(got, "|1|") || strings.Contains(got, srv.IP) {
		t.Errorf("known_hosts = %q, want a hashed entry", got)
	}
	target.HostKeyChecking = sshexec.HostKeyStrict
	if _, err := newPool(t, sshexec.PoolOptions{}).Run(ctxT(t), target, []string{"true"}, sshexec.RunOptions{}); err != nil {
		t.Fatalf("strict check against the hashed entry: %v", err)
	}
}

func TestHashedKnownHostsEntryIsAccepted(t *testing.T) {
	srv := sshdtest.Start(t)
	target := srv.Target()
	target.KnownHosts = filepath.Join(t.TempDir(), "known_hosts")
	line := knownhosts.HashHostname(knownhosts.Normalize(srv.Addr())) + " " + string(ssh.MarshalAuthorizedKey(srv.HostKey()))
	os.WriteFile(target.KnownHosts, []byte("# comment\n"+line), 0o600)
	if _, err := newPool(t, sshexec.PoolOptions{}).Run(ctxT(t), target, []string{"true"}, sshexec.RunOptions{}); err != nil {
		t.Fatal(err)
	}
}

func TestChangedHostKeyIsAlwaysRefused(t *testing.T) {
	srv := sshdtest.Start(t, sshdtest.WithName("hub-mitm"))
	_, old, _ := ed25519.GenerateKey(rand.Reader)
	oldSigner, _ := ssh.NewSignerFromKey(old)
	known := filepath.Join(t.TempDir(), "known_hosts")
	content := "# line 1\nother.example.org " + strings.TrimSpace(string(ssh.MarshalAuthorizedKey(oldSigner.PublicKey()))) + "\n" +
		knownhosts.Line([]string{srv.Addr()}, oldSigner.PublicKey()) + "\n"
	os.WriteFile(known, []byte(content), 0o600)

	for _, mode := range []string{sshexec.HostKeyStrict, sshexec.HostKeyAcceptNew} {
		target := srv.Target()
		target.KnownHosts = known
		target.HostKeyChecking = mode
		_, err := newPool(t, sshexec.PoolOptions{}).Run(ctxT(t), target, []string{"true"}, sshexec.RunOptions{})
		var hk *sshexec.HostKeyError
		if !errors.As(err, &hk) || !hk.Changed {
			t.Fatalf("%s: err = %v, want a changed-key HostKeyError", mode, err)
		}
		for _, want := range []string{"hub-mitm: ssh: HOST KEY CHANGED", ssh.FingerprintSHA256(srv.HostKey()), known + ":3", "ssh-keygen -R '[" + srv.IP + "]:"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("%s: error %q lacks %q", mode, err, want)
			}
		}
		if got := readFile(t, known); got != content {
			t.Errorf("%s: known_hosts was modified:\n%s", mode, got)
		}
	}
}

func TestRotatedHostKeyIsRefusedAfterRestart(t *testing.T) {
	srv := sshdtest.Start(t, sshdtest.WithName("hub-rot"))
	p := newPool(t, sshexec.PoolOptions{})
	if _, err := p.Run(ctxT(t), srv.Target(), []string{"true"}, sshexec.RunOptions{}); err != nil {
		t.Fatal(err)
	}
	srv.RotateHostKey()
	srv.Restart()
	_, err := p.Run(ctxT(t), srv.Target(), []string{"true"}, sshexec.RunOptions{})
	var hk *sshexec.HostKeyError
	if !errors.As(err, &hk) || !hk.Changed || !strings.Contains(err.Error(), srv.KnownHostsPath+":1") {
		t.Fatalf("err = %v, want the changed key refused naming %s:1", err, srv.KnownHostsPath)
	}
}
