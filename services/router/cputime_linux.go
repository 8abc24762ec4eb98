package router

import (
	"time"

	"golang.org/x/sys/unix"
)

// threadTimeIsCPU reports whether threadTime counts CPU time (and not
// wall time).
var threadTimeIsCPU = func() bool {
	var ts unix.Timespec
	return unix.ClockGettime(unix.CLOCK_THREAD_CPUTIME_ID, &ts) == nil
}()

// threadTime is the CPU time the calling OS thread has used. Between two
// readings on a goroutine locked to its thread (runtime.LockOSThread) it
// is the CPU time that goroutine used: time the machine gave to other
// threads, or the Go runtime to other goroutines, is not in it.
func threadTime() time.Duration {
	if !threadTimeIsCPU {
		return wallTime()
	}
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_THREAD_CPUTIME_ID, &ts); err != nil {
		return 0
	}
	return time.Duration(ts.Nano())
}
