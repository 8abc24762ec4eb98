//go:build !unix

package datadir

import (
	"errors"
	"os"
)

// errLocked is what lockFile returns when another holder has the lock.
var errLocked = errors.New("locked")

// lockFile does nothing where flock is not available: the directory is
// not protected there.
func lockFile(*os.File) error { return nil }

func unlockFile(*os.File) error { return nil }
