//go:build !unix

package limits

import "log/slog"

// RaiseFileLimit does nothing where there is no RLIMIT_NOFILE.
func RaiseFileLimit(log *slog.Logger) {
	log.Debug("file descriptor limit not managed on this system")
}
