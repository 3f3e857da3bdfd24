//go:build !unix

package inventory

import (
	"errors"
	"os"
)

func tryLock(f *os.File) (bool, error) {
	return false, errors.New("inventory locking needs a Unix system")
}

func lockWait(f *os.File) error {
	return errors.New("inventory locking needs a Unix system")
}

func unlockFile(f *os.File) error { return nil }

func probeLock(f *os.File) (bool, error) {
	return false, errors.New("inventory locking needs a Unix system")
}
