package cloud

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// The markers cloud-init's keys_to_console module prints around a server's
// SSH host keys on its console at first boot.
const (
	beginFingerprints = "-----BEGIN SSH HOST KEY FINGERPRINTS-----"
	endFingerprints   = "-----END SSH HOST KEY FINGERPRINTS-----"
	beginKeys         = "-----BEGIN SSH HOST KEY KEYS-----"
	endKeys           = "-----END SSH HOST KEY KEYS-----"
)

// ErrNoHostKeys says the console log holds no host keys (yet).
var ErrNoHostKeys = errors.New("the console log shows no SSH host keys")

var (
	fingerprintRE = regexp.MustCompile(`\b\d+ (SHA256:[A-Za-z0-9+/]+=*)`)
	keyRE         = regexp.MustCompile(`\b((?:ssh|ecdsa|sk)-[a-z0-9@.-]+) (AAAA[A-Za-z0-9+/]+=*)`)
)

// HostKeysFromConsole reads the host keys cloud-init printed on the console.
// When the log has both blocks, only keys whose fingerprint cloud-init also
// printed are returned, and a key block that matches none of them is an
// error. The last blocks win (the latest boot).
func HostKeysFromConsole(log string) ([]ssh.PublicKey, error) {
	fpLines, fpFound := lastBlock(log, beginFingerprints, endFingerprints)
	keyLines, keysFound := lastBlock(log, beginKeys, endKeys)
	if !keysFound {
		return nil, ErrNoHostKeys
	}
	fingerprints := map[string]bool{}
	for _, l := range fpLines {
		if m := fingerprintRE.FindStringSubmatch(l); m != nil {
			fingerprints[m[1]] = true
		}
	}
	var keys []ssh.PublicKey
	for _, l := range keyLines {
		m := keyRE.FindStringSubmatch(l)
		if m == nil {
			continue
		}
		k, _, _, _, err := ssh.ParseAuthorizedKey([]byte(m[1] + " " + m[2]))
		if err != nil {
			continue
		}
		if fpFound && !fingerprints[ssh.FingerprintSHA256(k)] {
			continue
		}
		keys = append(keys, k)
	}
	if len(keys) == 0 {
		if fpFound {
			return nil, fmt.Errorf("the console log's SSH host keys do not match the fingerprints printed with them")
		}
		return nil, ErrNoHostKeys
	}
	return keys, nil
}

// lastBlock returns the lines between the last begin marker and the end
// marker after it.
func lastBlock(log, begin, end string) ([]string, bool) {
	i := strings.LastIndex(log, begin)
	if i < 0 {
		return nil, false
	}
	rest := log[i+len(begin):]
	j := strings.Index(rest, end)
	if j < 0 {
		return nil, false
	}
	return strings.Split(strings.ReplaceAll(rest[:j], "\r", ""), "\n"), true
}

// RecordHostKeys appends keys for host (an address, port 22 unless port says
// otherwise) to the known_hosts file path, creating it 0600 (and its
// directory 0700) if needed. Keys already recorded for host are not repeated.
func RecordHostKeys(path, host string, port int, keys []ssh.PublicKey) error {
	addr := host
	if port != 0 && port != 22 {
		addr = fmt.Sprintf("[%s]:%d", host, port)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	existing, err := os.ReadFile(path)
	if err != nil && !os.IsNotExist(err) {
		return err
	}
	var add strings.Builder
	for _, k := range keys {
		line := knownhosts.Line([]string{knownhosts.Normalize(addr)}, k)
		if !strings.Contains(string(existing), line) {
			add.WriteString(line + "\n")
		}
	}
	if add.Len() == 0 {
		return nil
	}
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	prefix := ""
	if len(existing) > 0 && !strings.HasSuffix(string(existing), "\n") {
		prefix = "\n"
	}
	if _, err := f.WriteString(prefix + add.String()); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
