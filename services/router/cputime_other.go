//go:build !linux

package router

import "time"

// threadTimeIsCPU reports whether threadTime counts CPU time; outside
// Linux it is wall time, which also counts the machine's load.
const threadTimeIsCPU = false

// threadTime is wall time outside Linux.
func threadTime() time.Duration { return wallTime() }
