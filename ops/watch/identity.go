package watch

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"path"
	"time"

	"github.com/buttctl/buttctl/ops/engine"
	"github.com/buttctl/buttctl/ops/identity"
	"github.com/buttctl/buttctl/ops/pubs"
)

// StoreIdentities keeps pubs' identities in ops/identity's local store (a
// copy of each secret file with its owner and mode, 0600 in a 0700
// directory) and recreates pubs from it with identity.RestoreFromStore,
// which checks that the identity runs nowhere else, that the pub answers
// with it, and places it in the inventory.
type StoreIdentities struct {
	Store *identity.Store
}

// maxSecret bounds what is read as a secret file.
const maxSecret = 64 << 10

// Record reads the secret file of c (pub's container on hub, in any state)
// and keeps it in the store, with its owner and mode, if the store has none,
// or another, for the pub.
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
	owner := &identity.FileOwner{UID: h.Uid, GID: h.Gid, Mode: h.Mode}
	why := ReasonFirstSeen
	if known, err := s.Store.Get(c.Pub); err == nil {
		if known.SHA256 == sec.SHA256 {
			if known.Hub != hub || known.Owner == nil || *known.Owner != *owner {
				// The same identity, now on another hub: noted, not news.
				_, err = s.Store.RecordOwned(c.Pub, hub, secret, owner, time.Now())
			}
			return sec.ID, "", err
		}
		why = ReasonChanged
	}
	if _, err := s.Store.RecordOwned(c.Pub, hub, secret, owner, time.Now()); err != nil {
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

// Restore recreates pub on hub from its kept secret.
func (s *StoreIdentities) Restore(ctx context.Context, svc *pubs.Service, pub, hub string, assumeDown []string) (string, error) {
	res, err := identity.RestoreFromStore(ctx, svc, s.Store, pub, identity.RestoreOptions{To: hub, AssumeDown: assumeDown})
	if err != nil {
		return "", err
	}
	return res.ID, nil
}
