package identity

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// newSecret returns an SSB secret file as ssb-keys writes it (comments
// around the JSON), its id and its base64 private key.
func newSecret(t *testing.T) (file []byte, id, private string) {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	public := base64.StdEncoding.EncodeToString(pub) + ".ed25519"
	private = base64.StdEncoding.EncodeToString(priv)
	body, _ := json.MarshalIndent(map[string]string{"curve": "ed25519", "public": public, "private": private + ".ed25519", "id": "@" + public}, "", "  ")
	file = []byte("# WARNING: Never show this to anyone.\n#\n" + string(body) + "\n#\n# The only part of this file that's safe to share is your public name:\n#\n#   @" + public)
	return file, "@" + public, private
}

func TestParseSecret(t *testing.T) {
	file, id, private := newSecret(t)
	s, err := ParseSecret(file)
	if err != nil || s.ID != id || s.SHA256 != SHA256(file) || len(s.SHA256) != 64 {
		t.Fatalf("ParseSecret = %+v, %v", s, err)
	}
	if PrivateKey(file) != private {
		t.Errorf("PrivateKey = %q", PrivateKey(file))
	}
	// The stand-in's compact form, without comments.
	compact := []byte(strings.Join(strings.Fields(string(comment.ReplaceAllString(string(file), ""))), ""))
	if s2, err := ParseSecret(compact); err != nil || s2.ID != id {
		t.Errorf("compact form: %+v %v", s2, err)
	}
	other, _, _ := newSecret(t)
	otherPublic := strings.Split(strings.Split(string(other), `"public": "`)[1], `"`)[0]
	mine := strings.Split(strings.Split(string(file), `"public": "`)[1], `"`)[0]
	for name, bad := range map[string][]byte{
		"empty":           nil,
		"not json":        []byte("# hello\n" + private + " is my key\n"),
		"public mismatch": []byte(strings.Replace(string(file), `"public": "`+mine, `"public": "`+otherPublic, 1)),
		"id mismatch":     []byte(strings.Replace(string(file), `"id": "@`+mine, `"id": "@`+otherPublic, 1)),
		"short private":   []byte(strings.Replace(string(file), private, private[:40], 1)),
		"other curve":     []byte(strings.Replace(string(file), `"ed25519",`, `"k256",`, 1)),
	} {
		_, err := ParseSecret(bad)
		if err == nil {
			t.Errorf("%s: parsed", name)
			continue
		}
		if strings.Contains(err.Error(), private[:20]) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: the error shows the key or spans lines: %v", name, err)
		}
	}
}

// engineArchive is a tar like the engine's archive of a data directory.
func engineArchive(t *testing.T, files map[string]string) []byte {
	t.Helper()
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	if err := tw.WriteHeader(&tar.Header{Name: "./", Typeflag: tar.TypeDir, Mode: 0o700, Uid: 1000, Gid: 1000}); err != nil {
		t.Fatal(err)
	}
	for _, name := range sortedKeys(files) {
		if strings.HasSuffix(name, "/") {
			if err := tw.WriteHeader(&tar.Header{Name: "./" + name, Typeflag: tar.TypeDir, Mode: 0o755}); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err := tw.WriteHeader(&tar.Header{Name: "./" + name, Typeflag: tar.TypeReg, Mode: 0o600, Size: int64(len(files[name])), Uid: 1000, Gid: 1000}); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write([]byte(files[name])); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.WriteHeader(&tar.Header{Name: "./log/hard", Typeflag: tar.TypeLink, Linkname: "./log/offset"}); err != nil {
		t.Fatal(err)
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func sortedKeys(m map[string]string) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	for i := range ks {
		for j := i + 1; j < len(ks); j++ {
			if ks[j] < ks[i] {
				ks[i], ks[j] = ks[j], ks[i]
			}
		}
	}
	return ks
}

func readAllEntries(t *testing.T, r io.Reader) (map[string]string, map[string]*tar.Header) {
	t.Helper()
	files, heads := map[string]string{}, map[string]*tar.Header{}
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return files, heads
		}
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(tr)
		files[h.Name], heads[h.Name] = string(b), h
	}
}

func TestBackupFormatRoundTrip(t *testing.T) {
	secret, id, _ := newSecret(t)
	data := map[string]string{"secret": string(secret), "log/": "", "log/offset": strings.Repeat("x", 100000), "gossip.json": "[]"}
	m := Manifest{Pub: "scuttle-1", Hub: "hub-1", Identity: id, SecretSHA256: SHA256(secret), CreatedAt: time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC), Image: "ahdinosaur/ssb-pub", DataDir: "/home/node/.ssb", Consistency: "paused"}
	var out bytes.Buffer
	n, err := WriteBackup(&out, m, bytes.NewReader(engineArchive(t, data)))
	if err != nil {
		t.Fatal(err)
	}
	if n == 0 {
		t.Error("no data bytes counted")
	}
	// The file, as any tar tool sees it: manifest first, data under data/.
	gz, err := gzip.NewReader(bytes.NewReader(out.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	entries, heads := readAllEntries(t, gz)
	if _, ok := entries["manifest.json"]; !ok || entries["data/secret"] != string(secret) || entries["data/log/offset"] != data["log/offset"] || heads["data/log/hard"].Linkname != "data/log/offset" || heads["data/secret"].Uid != 1000 {
		t.Errorf("entries: %v", sortedKeys(entries))
	}
	var raw map[string]any
	if err := json.Unmarshal([]byte(entries["manifest.json"]), &raw); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"format", "version", "pub", "hub", "identity", "secret_sha256", "created_at", "image", "data_dir", "secret_only", "consistency"} {
		if _, ok := raw[k]; !ok {
			t.Errorf("manifest lacks %s: %s", k, entries["manifest.json"])
		}
	}
	if strings.Contains(entries["manifest.json"], PrivateKey(secret)) {
		t.Error("the manifest holds the private key")
	}

	b, err := OpenBackup(bytes.NewReader(out.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	m.Format, m.Version = FormatName, FormatVersion
	if b.Manifest != m {
		t.Errorf("manifest\n got %+v\nwant %+v", b.Manifest, m)
	}
	back, heads := readAllEntries(t, b.Data())
	if back["./secret"] != string(secret) || back["./log/offset"] != data["log/offset"] || heads["./"] == nil || heads["./log/hard"].Linkname != "./log/offset" {
		t.Errorf("data entries: %v", sortedKeys(back))
	}
}

func TestBackupFormatRefusesBadData(t *testing.T) {
	secret, id, _ := newSecret(t)
	m := Manifest{Pub: "p", Hub: "h", Identity: id, SecretSHA256: SHA256(secret)}
	if _, err := WriteBackup(io.Discard, m, bytes.NewReader(engineArchive(t, map[string]string{"gossip.json": "[]"}))); err == nil || !strings.Contains(err.Error(), "no secret file") {
		t.Errorf("no secret: %v", err)
	}
	if _, err := WriteBackup(io.Discard, m, bytes.NewReader(engineArchive(t, map[string]string{"secret": "changed"}))); err == nil || !strings.Contains(err.Error(), "changed while it was copied") {
		t.Errorf("changed secret: %v", err)
	}
	if _, err := OpenBackup(strings.NewReader("not gzip")); err == nil || !strings.HasPrefix(err.Error(), "not a buttctl backup") {
		t.Errorf("not gzip: %v", err)
	}

	// A hand-made backup whose entries leave data/, or whose secret differs.
	for name, entries := range map[string]map[string]string{
		"escape":   {"data/secret": string(secret), "data/../../etc/passwd": "x"},
		"outside":  {"data/secret": string(secret), "etc/passwd": "x"},
		"damaged":  {"data/secret": "not it"},
		"nosecret": {"data/gossip.json": "[]"},
	} {
		var buf bytes.Buffer
		gz := gzip.NewWriter(&buf)
		tw := tar.NewWriter(gz)
		mb, _ := json.Marshal(Manifest{Format: FormatName, Version: 1, Pub: "p", Identity: id, SecretSHA256: SHA256(secret)})
		_ = tw.WriteHeader(&tar.Header{Name: "manifest.json", Size: int64(len(mb)), Mode: 0o600})
		_, _ = tw.Write(mb)
		for _, n := range sortedKeys(entries) {
			_ = tw.WriteHeader(&tar.Header{Name: n, Size: int64(len(entries[n])), Mode: 0o600, Typeflag: tar.TypeReg})
			_, _ = tw.Write([]byte(entries[n]))
		}
		tw.Close()
		gz.Close()
		b, err := OpenBackup(&buf)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		_, err = io.Copy(io.Discard, b.Data())
		if err == nil {
			t.Errorf("%s: the data streamed without error", name)
		}
	}
}

func TestStorePermissionsAndHistory(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "state", "buttctl")
	s, err := OpenStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("opening the store made it (%v): only a write should", err)
	}
	if list, err := s.List(); err != nil || len(list) != 0 {
		t.Errorf("List of a store that is not there: %v %v", list, err)
	}
	secret, id, _ := newSecret(t)
	t0 := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	got, err := s.Record("scuttle-1", "hub-1", secret, t0)
	if err != nil || got.ID != id || got.SHA256 != SHA256(secret) || got.Hub != "hub-1" {
		t.Fatalf("Record = %+v, %v", got, err)
	}
	for _, d := range []string{filepath.Join(root, "state"), dir, filepath.Join(dir, "identities"), filepath.Join(dir, "moves")} {
		if st, err := os.Stat(d); err != nil || st.Mode().Perm() != 0o700 {
			t.Errorf("%s: %v %v", d, st.Mode(), err)
		}
	}
	if err := s.RecordBackup("scuttle-1", BackupRecord{At: t0.Add(time.Hour), File: "/backups/x.tar.gz", Hub: "hub-1"}); err != nil {
		t.Fatal(err)
	}
	got, err = s.Get("scuttle-1")
	if err != nil || got.LastBackup == nil || !got.LastBackup.At.Equal(t0.Add(time.Hour)) || got.LastBackup.File != "/backups/x.tar.gz" {
		t.Errorf("Get = %+v, %v", got, err)
	}
	b, _, err := s.SecretOf("scuttle-1")
	if err != nil || !bytes.Equal(b, secret) {
		t.Errorf("SecretOf: %v", err)
	}
	// Same identity again (on another hub): one identity, hub updated, backup kept.
	if got, err = s.Record("scuttle-1", "hub-2", secret, t0.Add(2*time.Hour)); err != nil || got.Hub != "hub-2" || got.LastBackup == nil || !got.RecordedAt.Equal(t0) {
		t.Errorf("re-record: %+v %v", got, err)
	}
	// Another identity under the same name: the first one is kept aside.
	secret2, id2, _ := newSecret(t)
	if got, err = s.Record("scuttle-1", "hub-2", secret2, t0.Add(3*time.Hour)); err != nil || got.ID != id2 || got.LastBackup != nil {
		t.Errorf("new identity: %+v %v", got, err)
	}
	kept, _ := filepath.Glob(filepath.Join(dir, "identities", "scuttle-1", "replaced", "*.secret"))
	if len(kept) != 1 {
		t.Fatalf("replaced: %v", kept)
	}
	if b, _ := os.ReadFile(kept[0]); !bytes.Equal(b, secret) {
		t.Error("the replaced identity's secret was not kept")
	}
	if _, err := s.Get("nobody"); !errors.Is(err, ErrNoIdentity) {
		t.Errorf("Get(nobody) = %v", err)
	}
	if _, err := s.Record("../evil", "h", secret, t0); err == nil {
		t.Error("recorded a pub name that leaves the store")
	}
	if _, err := s.Record("bad", "h", []byte("not a secret"), t0); err == nil {
		t.Error("recorded a file that is not a secret")
	}
	list, err := s.List()
	if err != nil || len(list) != 1 || list[0].Pub != "scuttle-1" {
		t.Errorf("List = %+v %v", list, err)
	}
	// Every file is 0600, every directory 0700.
	err = filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		want := os.FileMode(0o600)
		if info.IsDir() {
			want = 0o700
		}
		if info.Mode().Perm() != want {
			t.Errorf("%s: mode %v, want %v", p, info.Mode().Perm(), want)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// Tampering is noticed.
	if err := os.WriteFile(filepath.Join(dir, "identities", "scuttle-1", "secret"), secret, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.SecretOf("scuttle-1"); err == nil || !strings.Contains(err.Error(), "changed outside buttctl") {
		t.Errorf("tampered: %v", err)
	}
	// A store directory opened up by someone is made private again.
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := OpenStore(dir); err != nil {
		t.Fatal(err)
	}
	if st, _ := os.Stat(dir); st.Mode().Perm() != 0o700 {
		t.Errorf("reopened store mode %v", st.Mode().Perm())
	}
}

func TestPubLockIsExclusive(t *testing.T) {
	s, err := OpenStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if s.Busy("p") {
		t.Error("busy before any lock")
	}
	unlock, err := s.lockPub("p", "buttctl pub move")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.lockPub("p", "buttctl pub backup"); !errors.Is(err, ErrBusy) || !strings.Contains(err.Error(), "by buttctl pub move, pid ") {
		t.Errorf("second lock: %v", err)
	}
	if !s.Busy("p") {
		t.Error("not busy while locked")
	}
	unlock()
	if s.Busy("p") {
		t.Error("busy after unlock")
	}
	again, err := s.lockPub("p", "x")
	if err != nil {
		t.Fatalf("lock after unlock: %v", err)
	}
	again()
}
