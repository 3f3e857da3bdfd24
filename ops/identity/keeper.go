package identity

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"time"

	"github.com/buttctl/buttctl/ops/engine"
	"github.com/buttctl/buttctl/ops/pubs"
)

// RestoreFromStore recreates pub on o.To (default: its hub) from the
// identity kept in the store, as a secret-only backup: the rest of its data
// re-syncs from its peers. It is Restore, with every check of Restore.
func RestoreFromStore(ctx context.Context, svc *pubs.Service, store *Store, pub string, o RestoreOptions) (RestoreResult, error) {
	secret, id, err := store.SecretOf(pub)
	if err != nil {
		return RestoreResult{Pub: pub}, pubError(pub, "", err)
	}
	owner := FileOwner{Mode: 0o600}
	if id.Owner != nil {
		owner = *id.Owner
	}
	var data bytes.Buffer
	tw := tar.NewWriter(&data)
	if err := tw.WriteHeader(&tar.Header{Name: SecretFile, Typeflag: tar.TypeReg, Size: int64(len(secret)),
		Mode: owner.Mode, Uid: owner.UID, Gid: owner.GID, ModTime: id.RecordedAt}); err != nil {
		return RestoreResult{Pub: pub}, err
	}
	if _, err := tw.Write(secret); err != nil {
		return RestoreResult{Pub: pub}, err
	}
	if err := tw.Close(); err != nil {
		return RestoreResult{Pub: pub}, err
	}
	var backup bytes.Buffer
	m := Manifest{Pub: pub, Hub: id.Hub, Identity: id.ID, SecretSHA256: id.SHA256, CreatedAt: id.RecordedAt,
		SecretOnly: true, Consistency: "secret only", DataDir: svc.Inventory().ImageProfile(imageOf(svc, pub)).DataDir}
	if _, err := WriteBackup(&backup, m, &data); err != nil {
		return RestoreResult{Pub: pub}, pubError(pub, "", fmt.Errorf("the identity store's copy: %w", err))
	}
	return Restore(ctx, svc, store, pub, &backup, o)
}

func imageOf(svc *pubs.Service, pub string) string {
	if p, ok := svc.Inventory().Pub(pub); ok {
		return p.Image
	}
	return ""
}

// Keeper is the identity store as `buttctl watch` uses it (its Identities):
// it records the identities of the pubs watch sees running, and recreates
// pubs from them when their volume or their hub is lost.
type Keeper struct {
	Store *Store
	// Now is the clock (default time.Now).
	Now func() time.Time
}

func (k Keeper) now() time.Time {
	if k.Now != nil {
		return k.Now()
	}
	return time.Now()
}

// Record keeps the secret of c, pub c.Pub's container on hub, with its owner;
// changed says it is new to the store or differs from what it held.
func (k Keeper) Record(ctx context.Context, svc *pubs.Service, hub string, c engine.Container) (id string, changed bool, err error) {
	e, err := svc.Engine(hub)
	if err != nil {
		return "", false, err
	}
	image := c.Image
	if ins, err := e.Inspect(ctx, c); err == nil && ins.Config != nil {
		image = ins.Config.Image
	}
	secret, owner, err := readSecretOwned(ctx, e, c, svc.Inventory().ImageProfile(image).DataDir)
	if err != nil {
		return "", false, pubError(c.Pub, hub, err)
	}
	before, berr := k.Store.Get(c.Pub)
	got, err := k.Store.RecordOwned(c.Pub, hub, secret, &owner, k.now())
	if err != nil {
		return "", false, pubError(c.Pub, hub, err)
	}
	return got.ID, berr != nil || before.SHA256 != got.SHA256, nil
}

// Has reports whether the store keeps an identity of pub.
func (k Keeper) Has(pub string) bool {
	_, err := k.Store.Get(pub)
	return err == nil
}

// Restore recreates pub on hub from its kept identity (RestoreFromStore);
// the hubs in assumeDown are known to be dead. The caller holds the pub's
// lock (pubs.LockPub).
func (k Keeper) Restore(ctx context.Context, svc *pubs.Service, pub, hub string, assumeDown []string) (string, error) {
	res, err := RestoreFromStore(ctx, svc, k.Store, pub, RestoreOptions{To: hub, AssumeDown: assumeDown, PubLocked: true, Now: k.Now})
	return res.ID, err
}

// Busy says why pub is not watch's to touch now ("" when it is): an
// unfinished move, or a backup, restore or move running on this machine.
func (k Keeper) Busy(pub string) string {
	if j, ok, err := k.Store.MoveJournal(pub); err == nil && ok && j.State == JournalMoving {
		return fmt.Sprintf("an unfinished move from %s to %s: run 'buttctl pub move %s --to %s' to settle it", j.From, j.To, pub, j.To)
	}
	if k.Store.Busy(pub) {
		return "a backup, restore or move of it is running"
	}
	return ""
}
