//go:build unix

package datadir

import (
	"errors"
	"os"
	"syscall"
)

// errLocked is what lockFile returns when another holder has the lock.
var errLocked = errors.New("locked")

// lockFile takes an exclusive flock without waiting. flock locks belong to
// the open file description, so a second open of the same file, in this
// process or another, is refused too.
func lockFile(f *os.File) error {
	err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
	if errors.Is(err, syscall.EWOULDBLOCK) {
		return errLocked
	}
	return err
}

func unlockFile(f *os.File) error {
	return syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
}
