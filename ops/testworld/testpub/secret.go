package main

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"regexp"
	"strings"
)

// keys is the content of an SSB secret file, with ssb-keys' field order.
type keys struct {
	Curve   string `json:"curve"`
	Public  string `json:"public"`
	Private string `json:"private"`
	ID      string `json:"id"`
}

// newKeys builds the keys of an ed25519 key pair, as ssb-keys names them.
func newKeys(priv ed25519.PrivateKey) keys {
	pub := priv.Public().(ed25519.PublicKey)
	b64pub := base64.StdEncoding.EncodeToString(pub) + ".ed25519"
	return keys{
		Curve:   "ed25519",
		Public:  b64pub,
		Private: base64.StdEncoding.EncodeToString(priv) + ".ed25519",
		ID:      "@" + b64pub,
	}
}

// secretFile renders keys exactly as ssb-keys' storage.js writes them.
func secretFile(k keys) []byte {
	body, _ := json.MarshalIndent(k, "", "  ")
	return []byte(`# WARNING: Never show this to anyone.
# WARNING: Never edit it or use it on multiple devices at once.
#
# This is your SECRET, it gives you magical powers. With your secret you can
# sign your messages so that your friends can verify that the messages came
# from you. If anyone learns your secret, they can use it to impersonate you.
#
# If you use this secret on more than one device you will create a fork and
# your friends will stop replicating your content.
#
` + string(body) + `
#
# The only part of this file that's safe to share is your public name:
#
#   ` + k.ID)
}

var comment = regexp.MustCompile(`\s*#[^\n]*`)

// parseSecret reads a secret file as ssb-keys does (comments dropped, the
// rest parsed as JSON) and checks that its halves belong together.
func parseSecret(data []byte) (keys, error) {
	var k keys
	if err := json.Unmarshal([]byte(comment.ReplaceAllString(string(data), "")), &k); err != nil {
		return k, fmt.Errorf("not an SSB secret (JSON between the comments): %w", err)
	}
	if k.Curve != "ed25519" {
		return k, fmt.Errorf("curve %q: only ed25519 is supported", k.Curve)
	}
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSuffix(k.Private, ".ed25519"))
	if err != nil || len(raw) != ed25519.PrivateKeySize {
		return k, errors.New("private key is not 64 bytes of base64 ending in .ed25519")
	}
	want := newKeys(ed25519.PrivateKey(raw))
	if k.Public != want.Public {
		return k, errors.New("public key does not match the private key")
	}
	if k.ID == "" {
		k.ID = want.ID
	}
	if k.ID != want.ID {
		return k, errors.New("id does not match the public key")
	}
	return k, nil
}

// loadOrCreateSecret returns the keys in path, creating the file (mode 0600,
// never overwriting) when it does not exist. An unreadable or invalid secret
// is an error: the identity is never replaced.
func loadOrCreateSecret(path string) (k keys, created bool, err error) {
	data, err := os.ReadFile(path)
	if err == nil {
		k, err := parseSecret(data)
		if err != nil {
			return k, false, fmt.Errorf("%s: %w (refusing to replace an identity)", path, err)
		}
		return k, false, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return k, false, fmt.Errorf("%w (refusing to replace an identity)", err)
	}
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return k, false, err
	}
	k = newKeys(priv)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return k, false, err
	}
	if _, err := f.Write(secretFile(k)); err != nil {
		f.Close()
		os.Remove(path)
		return k, false, err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		os.Remove(path)
		return k, false, err
	}
	return k, true, f.Close()
}
