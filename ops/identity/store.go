package identity

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"syscall"
	"time"
)

// Store is the local identity store: for every pub buttctl has backed up,
// restored or moved, a copy of its secret file and what is known of it (id,
// sha256, hub, last backup). It lives in a 0700 directory of 0700
// directories of 0600 files, under buttctl's XDG state directory:
//
//	identities/<pub>/secret          the pub's secret file, byte for byte
//	identities/<pub>/identity.json   id, secret_sha256, hub, recorded_at, last_backup
//	identities/<pub>/replaced/       earlier identities recorded under that name, never deleted
//	moves/<pub>.json                 the journal of a move of that pub (see Move)
//
// watch re-allocates the pubs of a dead hub from it.
type Store struct {
	dir string
}

// ErrNoIdentity: the store has no identity for that pub.
var ErrNoIdentity = errors.New("no identity recorded")

// Identity is a pub's identity as recorded in the store.
type Identity struct {
	Pub string `json:"pub"`
	Secret
	// Owner is the secret file's owner and mode in the pub's data
	// directory (nil: unknown), for restores from the store.
	Owner *FileOwner `json:"secret_owner,omitempty"`
	// Hub is where the pub ran when its identity was recorded.
	Hub        string    `json:"hub"`
	RecordedAt time.Time `json:"recorded_at"`
	// LastBackup is the pub's last backup, if any.
	LastBackup *BackupRecord `json:"last_backup,omitempty"`
}

// BackupRecord says where and when a pub was last backed up.
type BackupRecord struct {
	At         time.Time `json:"at"`
	File       string    `json:"file"` // absolute path, or "-" for stdout
	Hub        string    `json:"hub"`
	SecretOnly bool      `json:"secret_only,omitempty"`
}

// OpenStore opens the identity store in dir. Nothing is created until
// something is recorded (then dir is made 0700); a store directory that
// others may read is made private again.
func OpenStore(dir string) (*Store, error) {
	if dir == "" {
		return nil, errors.New("identity store: no directory")
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	s := &Store{dir: abs}
	if st, err := os.Stat(abs); err == nil && st.IsDir() {
		if err := s.ensure(); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// ensure makes the store's directories, 0700.
func (s *Store) ensure() error {
	for _, d := range []string{s.dir, s.path("identities"), s.path("moves")} {
		if err := mkdirPrivate(d); err != nil {
			return fmt.Errorf("identity store %s: %w", s.dir, err)
		}
	}
	return nil
}

// Dir is the store's directory.
func (s *Store) Dir() string { return s.dir }

func (s *Store) path(elem ...string) string {
	return filepath.Join(append([]string{s.dir}, elem...)...)
}

// mkdirPrivate makes dir (and the parents it creates) 0700; an existing dir
// open to others is made 0700.
func mkdirPrivate(dir string) error {
	st, err := os.Stat(dir)
	switch {
	case err == nil:
		if !st.IsDir() {
			return fmt.Errorf("%s is not a directory", dir)
		}
		if st.Mode().Perm()&0o077 != 0 {
			return os.Chmod(dir, 0o700)
		}
		return nil
	case !errors.Is(err, fs.ErrNotExist):
		return err
	}
	if parent := filepath.Dir(dir); parent != dir {
		// Missing parents are made here, 0700; existing ones (such as
		// ~/.local/state) are left as they are.
		if _, err := os.Stat(parent); errors.Is(err, fs.ErrNotExist) {
			if err := mkdirPrivate(parent); err != nil {
				return err
			}
		}
	}
	if err := os.Mkdir(dir, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
		return err
	}
	return os.Chmod(dir, 0o700)
}

var storeName = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_.-]*$`)

func checkName(pub string) error {
	if !storeName.MatchString(pub) || strings.Contains(pub, "..") {
		return fmt.Errorf("identity store: %q is not a pub name", pub)
	}
	return nil
}

// lock takes the store's lock (flock on a file in it) until unlock.
func (s *Store) lock() (unlock func(), err error) {
	if err := s.ensure(); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(s.path(".lock"), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("identity store: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, fmt.Errorf("identity store: lock: %w", err)
	}
	return func() {
		_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	}, nil
}

// Record keeps secret, the secret file of pub running on hub, in the store
// and returns what is recorded. If the store held another identity for pub,
// that one is moved to replaced/, never deleted.
func (s *Store) Record(pub, hub string, secret []byte, now time.Time) (Identity, error) {
	return s.RecordOwned(pub, hub, secret, nil, now)
}

// RecordOwned is Record with the secret file's owner and mode (nil: unknown).
func (s *Store) RecordOwned(pub, hub string, secret []byte, owner *FileOwner, now time.Time) (Identity, error) {
	if err := checkName(pub); err != nil {
		return Identity{}, err
	}
	sec, err := ParseSecret(secret)
	if err != nil {
		return Identity{}, fmt.Errorf("pub %s: %w", pub, err)
	}
	unlock, err := s.lock()
	if err != nil {
		return Identity{}, err
	}
	defer unlock()
	dir := s.path("identities", pub)
	if err := mkdirPrivate(dir); err != nil {
		return Identity{}, fmt.Errorf("identity store: %w", err)
	}
	old, err := s.get(pub)
	switch {
	case err == nil && old.SHA256 == sec.SHA256:
		old.Hub, old.ID = hub, sec.ID
		if owner != nil {
			old.Owner = owner
		}
		return old, s.writeJSON(filepath.Join(dir, "identity.json"), old)
	case err == nil:
		if err := s.retire(pub, old, now); err != nil {
			return Identity{}, err
		}
	case !errors.Is(err, ErrNoIdentity):
		return Identity{}, err
	}
	id := Identity{Pub: pub, Secret: sec, Owner: owner, Hub: hub, RecordedAt: now.UTC()}
	if err := writePrivate(filepath.Join(dir, SecretFile), secret); err != nil {
		return Identity{}, fmt.Errorf("identity store: %w", err)
	}
	return id, s.writeJSON(filepath.Join(dir, "identity.json"), id)
}

// retire moves pub's recorded identity to replaced/<time>-<sha8>.*.
func (s *Store) retire(pub string, old Identity, now time.Time) error {
	rdir := s.path("identities", pub, "replaced")
	if err := mkdirPrivate(rdir); err != nil {
		return fmt.Errorf("identity store: %w", err)
	}
	base := filepath.Join(rdir, now.UTC().Format("20060102T150405Z")+"-"+old.SHA256[:8])
	if err := os.Rename(s.path("identities", pub, SecretFile), base+".secret"); err != nil {
		return fmt.Errorf("identity store: keeping the earlier identity of %s: %w", pub, err)
	}
	return os.Rename(s.path("identities", pub, "identity.json"), base+".json")
}

// RecordBackup notes pub's last backup. The identity must be recorded.
func (s *Store) RecordBackup(pub string, b BackupRecord) error {
	unlock, err := s.lock()
	if err != nil {
		return err
	}
	defer unlock()
	id, err := s.get(pub)
	if err != nil {
		return err
	}
	b.At = b.At.UTC()
	id.LastBackup = &b
	return s.writeJSON(s.path("identities", pub, "identity.json"), id)
}

// Get returns what the store knows of pub's identity (ErrNoIdentity if nothing).
func (s *Store) Get(pub string) (Identity, error) {
	if err := checkName(pub); err != nil {
		return Identity{}, err
	}
	return s.get(pub)
}

func (s *Store) get(pub string) (Identity, error) {
	var id Identity
	b, err := os.ReadFile(s.path("identities", pub, "identity.json"))
	if errors.Is(err, fs.ErrNotExist) {
		return id, fmt.Errorf("pub %s: %w in the identity store %s", pub, ErrNoIdentity, s.dir)
	}
	if err != nil {
		return id, fmt.Errorf("identity store: %w", err)
	}
	if err := json.Unmarshal(b, &id); err != nil {
		return id, fmt.Errorf("identity store: %s: %v", s.path("identities", pub, "identity.json"), err)
	}
	return id, nil
}

// SecretOf returns the recorded secret file of pub, checked against its
// recorded sha256.
func (s *Store) SecretOf(pub string) ([]byte, Identity, error) {
	id, err := s.Get(pub)
	if err != nil {
		return nil, id, err
	}
	path := s.path("identities", pub, SecretFile)
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, id, fmt.Errorf("identity store: %w", err)
	}
	if SHA256(b) != id.SHA256 {
		return nil, id, fmt.Errorf("identity store: %s does not match its recorded sha256 %s: it was changed outside buttctl", path, id.SHA256)
	}
	return b, id, nil
}

// List returns every identity in the store, by pub name.
func (s *Store) List() ([]Identity, error) {
	entries, err := os.ReadDir(s.path("identities"))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("identity store: %w", err)
	}
	var out []Identity
	for _, e := range entries {
		if !e.IsDir() || checkName(e.Name()) != nil {
			continue
		}
		id, err := s.get(e.Name())
		if errors.Is(err, ErrNoIdentity) {
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, id)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Pub < out[j].Pub })
	return out, nil
}

func (s *Store) writeJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	if err := writePrivate(path, append(b, '\n')); err != nil {
		return fmt.Errorf("identity store: %w", err)
	}
	return nil
}

// writePrivate writes data to path atomically (temporary file, sync, rename,
// directory sync), mode 0600.
func writePrivate(path string, data []byte) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer os.Remove(tmp)
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
	return nil
}

// Known returns the recorded id and last backup time of pub ("" and nil if
// the store knows nothing of it): pubs.ListOptions.Known.
func (s *Store) Known(pub string) (id string, lastBackup *time.Time) {
	known, err := s.Get(pub)
	if err != nil {
		return "", nil
	}
	if known.LastBackup != nil {
		t := known.LastBackup.At
		lastBackup = &t
	}
	return known.ID, lastBackup
}
