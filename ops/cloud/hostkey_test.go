package cloud

import (
	"crypto/ed25519"
	"crypto/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

func newHostKey(t *testing.T) ssh.PublicKey {
	t.Helper()
	pub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	k, err := ssh.NewPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func authorized(k ssh.PublicKey) string {
	return strings.TrimSpace(string(ssh.MarshalAuthorizedKey(k)))
}

// consoleWithKeys is what cloud-init's keys_to_console prints (syslog prefix included).
func consoleWithKeys(fps []ssh.PublicKey, keys []ssh.PublicKey) string {
	var b strings.Builder
	b.WriteString("[    2.345] cloud-init[612]: Cloud-init v. 22.4.2 running 'modules:final'\r\n")
	b.WriteString("<14>Nov 26 10:00:00 cloud-init: #############################################################\n")
	b.WriteString("<14>Nov 26 10:00:00 cloud-init: " + beginFingerprints + "\n")
	for _, k := range fps {
		b.WriteString("<14>Nov 26 10:00:00 cloud-init: 256 " + ssh.FingerprintSHA256(k) + " root@hub-1 (ED25519)\n")
	}
	b.WriteString("<14>Nov 26 10:00:00 cloud-init: " + endFingerprints + "\n")
	b.WriteString(beginKeys + "\r\n")
	for _, k := range keys {
		b.WriteString(authorized(k) + " root@hub-1\r\n")
	}
	b.WriteString(endKeys + "\r\n")
	return b.String()
}

func TestHostKeysFromConsoleKeepsOnlyKeysWithPrintedFingerprints(t *testing.T) {
	a, b := newHostKey(t), newHostKey(t)
	keys, err := HostKeysFromConsole("boot noise\n" + consoleWithKeys([]ssh.PublicKey{a}, []ssh.PublicKey{a, b}) + "login: ")
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 1 || authorized(keys[0]) != authorized(a) {
		t.Errorf("keys = %v, want only the fingerprinted one", keys)
	}
}

func TestHostKeysFromConsoleLastBootWins(t *testing.T) {
	old, cur := newHostKey(t), newHostKey(t)
	log := consoleWithKeys([]ssh.PublicKey{old}, []ssh.PublicKey{old}) + "reboot\n" + consoleWithKeys([]ssh.PublicKey{cur}, []ssh.PublicKey{cur})
	keys, err := HostKeysFromConsole(log)
	if err != nil || len(keys) != 1 || authorized(keys[0]) != authorized(cur) {
		t.Errorf("keys = %v, %v; want the last boot's key", keys, err)
	}
}

func TestHostKeysFromConsoleRefusesWhatItCannotVerify(t *testing.T) {
	a, b := newHostKey(t), newHostKey(t)
	for name, log := range map[string]string{
		"nova fake driver": "FAKE CONSOLE OUTPUT\nANOTHER\nLAST LINE",
		"empty":            "",
		"keys cut off":     beginKeys + "\n" + authorized(a) + "\n",
	} {
		if _, err := HostKeysFromConsole(log); err != ErrNoHostKeys {
			t.Errorf("%s: err = %v, want ErrNoHostKeys", name, err)
		}
	}
	if _, err := HostKeysFromConsole(consoleWithKeys([]ssh.PublicKey{a}, []ssh.PublicKey{b})); err == nil || err == ErrNoHostKeys {
		t.Errorf("keys that match no printed fingerprint: err = %v, want a mismatch error", err)
	}
}

func TestRecordHostKeys(t *testing.T) {
	k := newHostKey(t)
	path := filepath.Join(t.TempDir(), "ssh", "known_hosts")
	for range 2 {
		if err := RecordHostKeys(path, "127.77.0.5", 2222, []ssh.PublicKey{k}); err != nil {
			t.Fatal(err)
		}
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Count(string(data), "\n") != 1 {
		t.Errorf("known_hosts has %q, want one line", data)
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Errorf("known_hosts mode %v, want 0600", fi.Mode().Perm())
	}
	cb, err := knownhosts.New(path)
	if err != nil {
		t.Fatal(err)
	}
	addr := &fakeAddr{"127.77.0.5:2222"}
	if err := cb("127.77.0.5:2222", addr, k); err != nil {
		t.Errorf("recorded key not accepted by knownhosts: %v", err)
	}
	if err := cb("127.77.0.5:2222", addr, newHostKey(t)); err == nil {
		t.Error("another key accepted")
	}
}

type fakeAddr struct{ s string }

func (a *fakeAddr) Network() string { return "tcp" }
func (a *fakeAddr) String() string  { return a.s }

func TestUserData(t *testing.T) {
	ud, err := UserData("debian")
	if err != nil {
		t.Fatal(err)
	}
	want := `#cloud-config
package_update: true
packages:
    - docker.io
runcmd:
    - - usermod
      - -aG
      - docker
      - debian
    - - systemctl
      - enable
      - --now
      - docker
ssh:
    emit_keys_to_console: true
ssh_key_console_blacklist: []
`
	if string(ud) != want {
		t.Errorf("user data:\n%s\nwant:\n%s", ud, want)
	}
	for _, bad := range []string{"", "root; rm -rf /", "Debian", "a b", strings.Repeat("a", 40)} {
		if _, err := UserData(bad); err == nil || !strings.Contains(err.Error(), "ssh.user") {
			t.Errorf("UserData(%q): err = %v, want a refusal naming ssh.user", bad, err)
		}
	}
}

func TestBodyMessage(t *testing.T) {
	for body, want := range map[string]string{
		`{"forbidden": {"code": 403, "message": "Quota exceeded for instances: Requested 1, but already used 1 of 1 instances"}}`: "Quota exceeded for instances: Requested 1, but already used 1 of 1 instances",
		`{"NeutronError": {"type": "OverQuota", "message": "Quota exceeded for resources: ['port'].", "detail": ""}}`:             "Quota exceeded for resources: ['port'].",
		`{"error": {"code": 401, "message": "The request you have made requires authentication.", "title": "Unauthorized"}}`:      "The request you have made requires authentication.",
		"<html>\n<body>Bad   Gateway</body></html>": "<html> <body>Bad Gateway</body></html>",
	} {
		if got := bodyMessage([]byte(body)); got != want {
			t.Errorf("bodyMessage(%s) = %q, want %q", body, got, want)
		}
	}
}

func TestPublicAddress(t *testing.T) {
	s := Server{Addresses: []Address{
		{Network: "private", IP: "10.0.0.5"},
		{Network: "Ext-Net", IP: "2001:db8::5"},
		{Network: "Ext-Net", IP: "203.0.113.10"},
	}}
	if got := s.PublicAddress(""); got != "203.0.113.10" {
		t.Errorf("PublicAddress = %q, want the global IPv4", got)
	}
	if got := s.PublicAddress("private"); got != "10.0.0.5" {
		t.Errorf("PublicAddress(private) = %q", got)
	}
	s.Addresses = append(s.Addresses, Address{Network: "private", IP: "198.51.100.9", Floating: true})
	if got := s.PublicAddress(""); got != "198.51.100.9" {
		t.Errorf("PublicAddress with a floating IP = %q", got)
	}
}
