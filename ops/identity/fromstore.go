package identity

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"

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
