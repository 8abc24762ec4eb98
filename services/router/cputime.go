package router

import (
	"runtime"
	"time"
)

var processStart = time.Now()

// wallTime is the monotonic time since the process started.
func wallTime() time.Duration { return time.Since(processStart) }

// evalTimer measures the time one route evaluation takes (see
// Budget.Time), by one of two clocks. The wall clock is nearly free and
// bounds the CPU time from above: a goroutine cannot use more CPU than
// the time that passed. The thread's CPU clock is exact but costs two
// system calls and holding the goroutine on its OS thread from start to
// stop (so that the thread's clock is the goroutine's). Routes are timed
// by the wall clock until one evaluation takes longer than the budget by
// it; then by the CPU clock (see health.cpuTimed).
type evalTimer struct {
	start time.Duration
	cpu   bool
}

// startEvalTimer starts a timer on the thread's CPU clock when cpu is
// true and the platform has one, on the wall clock otherwise.
func startEvalTimer(cpu bool) evalTimer {
	if cpu && threadTimeIsCPU {
		runtime.LockOSThread()
		return evalTimer{start: threadTime(), cpu: true}
	}
	return evalTimer{start: wallTime()}
}

// now reads the timer's clock.
func (t evalTimer) now() time.Duration {
	if t.cpu {
		return threadTime()
	}
	return wallTime()
}

// stop returns the time since start and releases the thread.
func (t evalTimer) stop() time.Duration {
	took := t.now() - t.start
	if t.cpu {
		runtime.UnlockOSThread()
	}
	if took < 0 {
		return 0
	}
	return took
}

// exact reports whether the timer measured CPU time (or, where there is
// no per-thread CPU clock, the only time there is): a reading over the
// budget is the route's own doing. A wall-clock reading over it may be
// time the goroutine waited.
func (t evalTimer) exact() bool { return t.cpu || !threadTimeIsCPU }
