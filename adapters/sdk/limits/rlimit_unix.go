//go:build unix

package limits

import (
	"log/slog"
	"syscall"
)

// RaiseFileLimit raises the soft limit on open files to the hard limit,
// so that the connection caps, not the descriptor limit, decide when
// clients are refused, and logs both limits.
func RaiseFileLimit(log *slog.Logger) {
	var l syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &l); err != nil {
		log.Warn("file descriptor limit unknown", "err", err)
		return
	}
	soft := l.Cur
	if l.Cur < l.Max {
		raised := l
		raised.Cur = l.Max
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &raised); err != nil {
			log.Warn("file descriptor limit not raised", "soft", soft, "hard", l.Max, "err", err)
			return
		}
		l = raised
	}
	log.Info("file descriptor limit", "soft", l.Cur, "hard", l.Max, "soft_before", soft)
}
