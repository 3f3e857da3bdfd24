package main

import (
	"crypto/ed25519"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// rfc8032Secret is an ssb-keys secret file for RFC 8032's first ed25519 test
// vector, written by hand in ssb-keys' format (not by this package).
const rfc8032Secret = `# WARNING: Never show this to anyone.
# WARNING: Never edit it or use it on multiple devices at once.
#
# This is your SECRET, it gives you magical powers. With your secret you can
# sign your messages so that your friends can verify that the messages came
# from you. If anyone learns your secret, they can use it to impersonate you.
#
# If you use this secret on more than one device you will create a fork and
# your friends will stop replicating your content.
#
{
  "curve": "ed25519",
  "public": "11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=.ed25519",
  "private": "nWGxne/9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2DXWpgBgrEKt9VL/tPJZAc6DuFy89qmIyWvAhpo9wdRGg==.ed25519",
  "id": "@11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=.ed25519"
}
#
# The only part of this file that's safe to share is your public name:
#
#   @11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=.ed25519`

func rfc8032Key() ed25519.PrivateKey {
	seed := []byte{0x9d, 0x61, 0xb1, 0x9d, 0xef, 0xfd, 0x5a, 0x60, 0xba, 0x84, 0x4a, 0xf4, 0x92, 0xec, 0x2c, 0xc4,
		0x44, 0x49, 0xc5, 0x69, 0x7b, 0x32, 0x69, 0x19, 0x70, 0x3b, 0xac, 0x03, 0x1c, 0xae, 0x7f, 0x60}
	return ed25519.NewKeyFromSeed(seed)
}

func TestSecretFileIsSSBKeysFormat(t *testing.T) {
	got := string(secretFile(newKeys(rfc8032Key())))
	if got != rfc8032Secret {
		t.Fatalf("secret file differs from ssb-keys' format:\n%s\nwant:\n%s", got, rfc8032Secret)
	}
}

func TestParseSecretReadsSSBKeysFile(t *testing.T) {
	k, err := parseSecret([]byte(rfc8032Secret))
	if err != nil {
		t.Fatal(err)
	}
	if k.ID != "@11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=.ed25519" {
		t.Fatalf("id = %q", k.ID)
	}
}

func TestParseSecretRejectsMismatchedHalves(t *testing.T) {
	other := newKeys(ed25519.NewKeyFromSeed(make([]byte, 32)))
	bad := strings.Replace(rfc8032Secret, `"public": "11qY`, `"public": "`+strings.TrimSuffix(other.Public, ".ed25519")+`.ed25519", "x": "`, 1)
	if _, err := parseSecret([]byte(bad)); err == nil {
		t.Fatal("a secret whose public key does not match its private key was accepted")
	}
	for _, s := range []string{"", "{}", `{"curve":"k256"}`, "# only comments\n"} {
		if _, err := parseSecret([]byte(s)); err == nil {
			t.Errorf("parseSecret(%q) accepted", s)
		}
	}
}

func TestLoadOrCreateSecretCreatesOnceWithMode0600(t *testing.T) {
	path := filepath.Join(t.TempDir(), "secret")
	k1, created, err := loadOrCreateSecret(path)
	if err != nil || !created {
		t.Fatalf("first call: created=%v err=%v", created, err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("mode = %v, want 0600", fi.Mode().Perm())
	}
	k2, created, err := loadOrCreateSecret(path)
	if err != nil || created {
		t.Fatalf("second call: created=%v err=%v", created, err)
	}
	if k1 != k2 {
		t.Fatalf("identity changed: %s then %s", k1.ID, k2.ID)
	}
}

func TestLoadOrCreateSecretNeverReplacesABrokenSecret(t *testing.T) {
	path := filepath.Join(t.TempDir(), "secret")
	broken := []byte("# truncated\n{\n  \"curve\": \"ed25519\",\n")
	if err := os.WriteFile(path, broken, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, _, err := loadOrCreateSecret(path); err == nil {
		t.Fatal("a broken secret was accepted")
	}
	after, _ := os.ReadFile(path)
	if string(after) != string(broken) {
		t.Fatal("a broken secret was overwritten")
	}
}

func TestLoadOrCreateSecretFailsOnAnUnreadableSecret(t *testing.T) {
	path := filepath.Join(t.TempDir(), "secret")
	// A directory in the secret's place: reading it fails even as root.
	if err := os.Mkdir(path, 0o700); err != nil {
		t.Fatal(err)
	}
	_, created, err := loadOrCreateSecret(path)
	if err == nil || created || !strings.Contains(err.Error(), "refusing to replace an identity") {
		t.Fatalf("unreadable secret: created=%v err=%v", created, err)
	}
	if fi, err := os.Stat(path); err != nil || !fi.IsDir() {
		t.Fatalf("the unreadable secret was replaced: %v", err)
	}
}
