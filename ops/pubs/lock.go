package pubs

import (
	"context"
	"time"

	"github.com/buttctl/buttctl/inventory"
)

// PubLockName is the name of pub's lock among the inventory's named locks
// (inventory.LockOptions.Name).
func PubLockName(pub string) string { return "pub-" + pub }

// LockPub takes pub's lock: an operation that takes a pub through states
// `buttctl watch` would otherwise heal or stop (a move, a restore: a
// container created but not started yet, a copy running on a hub the
// inventory does not place it on yet) holds it, and watch leaves the pub
// alone until it is released. wait is how long to wait for another holder.
func LockPub(ctx context.Context, inventoryPath, pub, purpose string, wait time.Duration) (unlock func() error, err error) {
	return inventory.Lock(ctx, inventoryPath, inventory.LockOptions{Name: PubLockName(pub), Purpose: purpose, Wait: wait})
}

// PubLockHolder says who holds pub's lock, or nil when it is free.
func PubLockHolder(inventoryPath, pub string) (*inventory.LockedError, error) {
	return inventory.Holder(inventoryPath, PubLockName(pub))
}
