package router

import (
	"testing"
	"time"
)

// TestEvalTimerCountsCPUNotWaiting: the clock Budget.Time is measured
// with counts the work an evaluation does and not the time its goroutine
// waits (here asleep; under load, descheduled), so a busy machine does not
// degrade a cheap route.
func TestEvalTimerCountsCPUNotWaiting(t *testing.T) {
	if !threadTimeIsCPU {
		t.Skip("no per-thread CPU clock here: Budget.Time is wall time")
	}
	timer := startEvalTimer(true)
	time.Sleep(50 * time.Millisecond)
	if took := timer.stop(); took > 10*time.Millisecond {
		t.Errorf("50ms asleep measured as %s of CPU, want next to nothing", took)
	}

	// Work is counted: spin until the clock has seen 5ms of it.
	timer = startEvalTimer(true)
	deadline := time.Now().Add(30 * time.Second)
	n := 0
	for threadTime()-timer.start < 5*time.Millisecond && time.Now().Before(deadline) {
		for i := range 10_000 {
			n += i % 7
		}
	}
	took := timer.stop()
	if took < 5*time.Millisecond {
		t.Errorf("spinning for up to 30s measured as %s of CPU, want at least 5ms (n=%d)", took, n)
	}
}
