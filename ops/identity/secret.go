package identity

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
)

// SecretFile is the name of the identity file in a pub's data directory.
const SecretFile = "secret"

// Secret is what buttctl knows of a pub's secret file without showing it:
// the public id it proves, and the sha256 of its exact bytes.
type Secret struct {
	// ID is the SSB id, @<base64 public key>.ed25519.
	ID string `json:"id"`
	// SHA256 is the hex sha256 of the secret file's bytes.
	SHA256 string `json:"secret_sha256"`
}

var comment = regexp.MustCompile(`\s*#[^\n]*`)

// ParseSecret reads an SSB secret file as ssb-keys does (lines of comments
// dropped, the rest JSON), checks that its private key proves its public id,
// and returns the id and the file's sha256. Its errors never quote the file.
func ParseSecret(data []byte) (Secret, error) {
	var k struct {
		Curve   string `json:"curve"`
		Public  string `json:"public"`
		Private string `json:"private"`
		ID      string `json:"id"`
	}
	if len(data) == 0 {
		return Secret{}, errors.New("the secret file is empty")
	}
	if err := json.Unmarshal([]byte(comment.ReplaceAllString(string(data), "")), &k); err != nil {
		// Not %w: a JSON syntax error may quote the secret.
		return Secret{}, errors.New("the secret file is not an SSB secret (JSON between # comments)")
	}
	if k.Curve != "ed25519" {
		return Secret{}, fmt.Errorf("the secret file's curve is %q: only ed25519 is supported", truncate(k.Curve, 20))
	}
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSuffix(k.Private, ".ed25519"))
	if err != nil || len(raw) != ed25519.PrivateKeySize || !strings.HasSuffix(k.Private, ".ed25519") {
		return Secret{}, errors.New("the secret file's private key is not 64 bytes of base64 ending in .ed25519")
	}
	pub := ed25519.PrivateKey(raw).Public().(ed25519.PublicKey)
	id := "@" + base64.StdEncoding.EncodeToString(pub) + ".ed25519"
	if k.Public != id[1:] {
		return Secret{}, errors.New("the secret file's public key does not match its private key")
	}
	if k.ID != "" && k.ID != id {
		return Secret{}, errors.New("the secret file's id does not match its public key")
	}
	return Secret{ID: id, SHA256: SHA256(data)}, nil
}

// SHA256 is the hex sha256 of b.
func SHA256(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// PrivateKey returns the base64 private key in a secret file, for tests that
// search outputs for it ("" if there is none).
func PrivateKey(data []byte) string {
	var k struct {
		Private string `json:"private"`
	}
	_ = json.Unmarshal([]byte(comment.ReplaceAllString(string(data), "")), &k)
	return strings.TrimSuffix(k.Private, ".ed25519")
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
