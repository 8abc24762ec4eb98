package router

import (
	"runtime"
	"time"
)

var processStart = time.Now()

// wallTime is the monotonic time since the process started.
func wallTime() time.Duration { return time.Since(processStart) }

// evalTimer measures the CPU time one route evaluation takes (see
// Budget.Time): the goroutine is held on its OS thread from start to stop
// so that the thread's CPU clock is the goroutine's.
type evalTimer struct{ start time.Duration }

func startEvalTimer() evalTimer {
	runtime.LockOSThread()
	return evalTimer{start: threadTime()}
}

// stop returns the time since start and releases the thread.
func (t evalTimer) stop() time.Duration {
	took := threadTime() - t.start
	runtime.UnlockOSThread()
	if took < 0 {
		return 0
	}
	return took
}
