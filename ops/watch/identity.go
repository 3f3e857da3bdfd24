package watch

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"sync"
	"time"

	"github.com/buttctl/buttctl/ops/engine"
	"github.com/buttctl/buttctl/ops/identity"
	"github.com/buttctl/buttctl/ops/pubs"
)

// StoreIdentities keeps pubs' identities in ops/identity's local store (a
// copy of each secret file, 0600 in a 0700 directory) and recreates pubs
// from it with identity.Restore, which checks that the identity runs
// nowhere else, that the pub answers with it, and places it in the
// inventory.
type StoreIdentities struct {
	Store *identity.Store
	// OwnersPath keeps, beside the store, who owned each secret file in
	// its container (uid, gid, mode), so that a pub recreated from the
	// store can read it (ssb-pub runs as node, not root). "" keeps none.
	OwnersPath string

	mu sync.Mutex
}

// owner is who owned a pub's secret file.
type owner struct {
	UID  int   `json:"uid"`
	GID  int   `json:"gid"`
	Mode int64 `json:"mode"`
}

// maxSecret bounds what is read as a secret file.
const maxSecret = 64 << 10

// Record reads the secret file of c (pub's container on hub, in any state)
// and keeps it in the store if the store has none, or another, for the pub.
func (s *StoreIdentities) Record(ctx context.Context, svc *pubs.Service, hub string, c engine.Container) (string, string, error) {
	p, err := svc.Lookup(c.Pub)
	if err != nil {
		return "", "", err
	}
	eng, err := svc.Engine(hub)
	if err != nil {
		return "", "", err
	}
	dataDir := svc.Inventory().ImageProfile(p.Image).DataDir
	rc, err := eng.ReadPath(ctx, c, path.Join(dataDir, identity.SecretFile))
	if err != nil {
		return "", "", err
	}
	defer rc.Close()
	tr := tar.NewReader(rc)
	h, err := tr.Next()
	if err != nil {
		return "", "", fmt.Errorf("reading the secret file: %w", err)
	}
	if h.Typeflag != tar.TypeReg || h.Size > maxSecret {
		return "", "", errors.New("the secret file is not a small regular file")
	}
	secret, err := io.ReadAll(tr)
	if err != nil {
		return "", "", fmt.Errorf("reading the secret file: %w", err)
	}
	sec, err := identity.ParseSecret(secret)
	if err != nil {
		return "", "", err
	}
	s.keepOwner(c.Pub, owner{UID: h.Uid, GID: h.Gid, Mode: h.Mode})
	why := ReasonFirstSeen
	if known, err := s.Store.Get(c.Pub); err == nil {
		if known.SHA256 == sec.SHA256 {
			if known.Hub != hub {
				// The same identity, now on another hub: noted, not news.
				_, err = s.Store.Record(c.Pub, hub, secret, time.Now())
			}
			return sec.ID, "", err
		}
		why = ReasonChanged
	}
	if _, err := s.Store.Record(c.Pub, hub, secret, time.Now()); err != nil {
		return sec.ID, "", err
	}
	return sec.ID, why, nil
}

// Has reports whether the store keeps an identity of pub.
func (s *StoreIdentities) Has(pub string) bool {
	_, err := s.Store.Get(pub)
	return err == nil
}

// Busy says whether a backup, restore or move of pub is under way.
func (s *StoreIdentities) Busy(pub string) string {
	if s.Store.Busy(pub) {
		return "a backup, restore or move of it is under way"
	}
	if s.Store.Moving(pub) {
		return "a move of it was interrupted: settle it with 'buttctl pub move'"
	}
	return ""
}

// Restore recreates pub on hub from its kept secret (a secret-only backup
// made on the fly) with identity.Restore.
func (s *StoreIdentities) Restore(ctx context.Context, svc *pubs.Service, pub, hub string, assumeDown []string) (string, error) {
	secret, known, err := s.Store.SecretOf(pub)
	if err != nil {
		return "", err
	}
	p, err := svc.Lookup(pub)
	if err != nil {
		return "", err
	}
	o := s.ownerOf(pub)
	var data bytes.Buffer
	tw := tar.NewWriter(&data)
	if err := tw.WriteHeader(&tar.Header{Name: identity.SecretFile, Mode: o.Mode, Uid: o.UID, Gid: o.GID, Size: int64(len(secret)), ModTime: known.RecordedAt, Typeflag: tar.TypeReg}); err != nil {
		return "", err
	}
	if _, err := tw.Write(secret); err != nil {
		return "", err
	}
	if err := tw.Close(); err != nil {
		return "", err
	}
	m := identity.Manifest{
		Pub: pub, Hub: known.Hub, Identity: known.ID, SecretSHA256: known.SHA256, CreatedAt: time.Now().UTC(),
		Image: p.Image, DataDir: svc.Inventory().ImageProfile(p.Image).DataDir, SecretOnly: true,
		Consistency: "secret only", Buttctl: "buttctl watch",
	}
	pr, pw := io.Pipe()
	go func() {
		_, err := identity.WriteBackup(pw, m, &data)
		pw.CloseWithError(err)
	}()
	defer pr.Close()
	res, err := identity.Restore(ctx, svc, s.Store, pub, pr, identity.RestoreOptions{To: hub, AssumeDown: assumeDown})
	if err != nil {
		return "", err
	}
	return res.ID, nil
}

func (s *StoreIdentities) keepOwner(pub string, o owner) {
	if s.OwnersPath == "" {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	owners := s.readOwners()
	if owners[pub] == o {
		return
	}
	owners[pub] = o
	b, err := json.MarshalIndent(owners, "", "  ")
	if err != nil {
		return
	}
	_ = os.MkdirAll(filepath.Dir(s.OwnersPath), 0o700)
	tmp := s.OwnersPath + ".tmp"
	if err := os.WriteFile(tmp, append(b, '\n'), 0o600); err == nil {
		_ = os.Rename(tmp, s.OwnersPath)
	}
}

// ownerOf is who owned pub's secret file; root, 0600 when not known.
func (s *StoreIdentities) ownerOf(pub string) owner {
	s.mu.Lock()
	defer s.mu.Unlock()
	if o, ok := s.readOwners()[pub]; ok {
		if o.Mode == 0 {
			o.Mode = 0o600
		}
		return o
	}
	return owner{Mode: 0o600}
}

func (s *StoreIdentities) readOwners() map[string]owner {
	owners := map[string]owner{}
	if s.OwnersPath == "" {
		return owners
	}
	if b, err := os.ReadFile(s.OwnersPath); err == nil {
		_ = json.Unmarshal(b, &owners)
	}
	return owners
}
