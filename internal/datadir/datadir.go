// Package datadir gives a data directory one owner. `junction serve` keeps
// the embedded NATS file store there, and two processes writing one store
// corrupt it (each keeps its own index of the same files). Lock takes an
// exclusive OS lock on a file in the directory; the kernel releases it when
// the process dies, so a kill -9 leaves nothing to clean up, and a second
// process on the same directory fails at once with the holder's pid.
package datadir

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// LockFile is the name of the lock file inside a data directory.
const LockFile = "junction.lock"

// ErrInUse is returned by Lock when another process holds the directory.
var ErrInUse = errors.New("data directory is in use")

// Lock creates dir if needed and takes its lock, writing this process's pid
// into the lock file. The returned unlock releases it (the process exiting
// does too). It fails with ErrInUse, naming the holder's pid, when another
// process (or another Lock in this one) holds it.
func Lock(dir string) (unlock func(), err error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("data directory %s: %w", dir, err)
	}
	path := filepath.Join(dir, LockFile)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("data directory lock %s: %w", path, err)
	}
	if err := lockFile(f); err != nil {
		holder := readPID(path)
		f.Close()
		if errors.Is(err, errLocked) {
			return nil, fmt.Errorf("%w: %s is held by another junction process%s; stop it or give this one another --data-dir", ErrInUse, dir, holder)
		}
		return nil, fmt.Errorf("data directory lock %s: %w", path, err)
	}
	if err := f.Truncate(0); err == nil {
		_, _ = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	return func() {
		_ = unlockFile(f)
		f.Close()
	}, nil
}

// readPID returns " (pid N)" from the lock file, or "" when it holds none.
func readPID(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 0 {
		return ""
	}
	return fmt.Sprintf(" (pid %d)", pid)
}
