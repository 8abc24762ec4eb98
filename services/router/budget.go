package router

import (
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	junctionv1 "github.com/junctionhq/junction/proto/junction/v1"
)

// Defaults for Budget fields left zero.
const (
	// DefaultBudgetCost is the default Budget.Cost: a tenth of CostLimit,
	// about 4 ms of CPU per event on a small machine.
	DefaultBudgetCost = CostLimit / 10
	// DefaultBudgetTime is the default Budget.Time.
	DefaultBudgetTime = 10 * time.Millisecond
	// DefaultBudgetWindow is the default Budget.Window.
	DefaultBudgetWindow = 20
	// DefaultBudgetMaxOver is the default Budget.MaxOver: half the window,
	// so a cheap route that a busy machine happens to hold up now and then
	// is not degraded.
	DefaultBudgetMaxOver = 10
	// DefaultBudgetCooldown is the default Budget.Cooldown.
	DefaultBudgetCooldown = time.Minute
)

// Budget bounds what one route may cost the router per event, so that one
// expensive route cannot take the router's time from the others. Each
// evaluation of a route (its condition and every transform, JSON encoding
// included, parsing the payload not) is measured twice: by its CEL cost,
// as cel-go tracks it at run time, which is deterministic but leaves out
// some work (concatenating large strings costs next to nothing in its
// model), and by its time, which sees everything. On Linux the time is
// the CPU time the evaluating goroutine used (its OS thread's CPU clock,
// the goroutine held on the thread meanwhile), so a machine busy with
// other work, or the Go runtime running other goroutines, does not count
// against a route; elsewhere it is wall time, which does. Reading that CPU
// clock costs two system calls per evaluation, so a route is timed by the
// wall clock (nearly free, and never below the CPU time) until one
// evaluation takes longer than Time by it; that one is not counted, and
// the route's next Window evaluations are timed by the CPU clock, which
// stays on while they go over. When MaxOver of a route's last Window evaluations were over the
// budget, the route is degraded: for Cooldown it is not evaluated, and the
// targets of every event it takes are dead-lettered with reason
// "route_degraded" and the event's own payload (never dropped; redrive
// them with rerender once the route is fixed). Then it is evaluated again
// with a fresh window. Saving the route again (a new revision) ends the
// degradation at once. An evaluation the cost limit cancels counts as over.
type Budget struct {
	// Cost is the most CEL cost one evaluation of a route may take;
	// default DefaultBudgetCost.
	Cost uint64
	// Time is the most time (CPU time on Linux, wall time elsewhere) one
	// evaluation may take; default 10ms.
	// A negative Time does not measure time.
	Time time.Duration
	// Window is how many of a route's latest evaluations are looked at;
	// default 20.
	Window int
	// MaxOver is how many evaluations in the window may be over the
	// budget before the route is degraded; default 10.
	MaxOver int
	// Cooldown is how long a degraded route is not evaluated; default 1m.
	Cooldown time.Duration
}

// Validate reports the first invalid field.
func (b Budget) Validate() error {
	switch {
	case b.Window < 0:
		return fmt.Errorf("window %d: must be positive, or 0 for the default %d", b.Window, DefaultBudgetWindow)
	case b.MaxOver < 0:
		return fmt.Errorf("max over %d: must be positive, or 0 for the default %d", b.MaxOver, DefaultBudgetMaxOver)
	case b.Cooldown < 0:
		return fmt.Errorf("cooldown %s: must be positive, or 0 for the default %s", b.Cooldown, DefaultBudgetCooldown)
	}
	w, m := b.Window, b.MaxOver
	if w == 0 {
		w = DefaultBudgetWindow
	}
	if m == 0 {
		m = DefaultBudgetMaxOver
	}
	if m > w {
		return fmt.Errorf("max over %d: must not be above the window of %d", m, w)
	}
	return nil
}

func (b Budget) withDefaults() Budget {
	if b.Cost == 0 {
		b.Cost = DefaultBudgetCost
	}
	if b.Time == 0 {
		b.Time = DefaultBudgetTime
	}
	if b.Window == 0 {
		b.Window = DefaultBudgetWindow
	}
	if b.MaxOver == 0 {
		b.MaxOver = DefaultBudgetMaxOver
	}
	if b.Cooldown == 0 {
		b.Cooldown = DefaultBudgetCooldown
	}
	return b
}

// health is the budget state of one compiled route (one revision).
type health struct {
	// cpuLeft is how many more evaluations are timed by the thread's CPU
	// clock: set to the window's length when a wall-clock reading went
	// over Budget.Time, and again while exact readings do; 0 times by the
	// wall clock (see evalTimer).
	cpuLeft atomic.Int32

	mu       sync.Mutex
	window   []bool // ring of the latest evaluations: over the budget
	next     int
	over     int
	degraded bool
	reason   string
	since    time.Time
	until    time.Time
}

// budgets keeps the health of every route and reports its changes.
type budgets struct {
	b      Budget
	now    func() time.Time
	report func(c *Compiled, st *junctionv1.RouteStatus)
}

// degraded reports whether c is degraded now, and why. A route whose
// cooldown ended is evaluated again, with a fresh window.
func (bs *budgets) degraded(c *Compiled) (string, bool) {
	h := &c.health
	h.mu.Lock()
	if !h.degraded {
		h.mu.Unlock()
		return "", false
	}
	now := bs.now()
	if now.Before(h.until) {
		defer h.mu.Unlock()
		return h.reason, true
	}
	h.degraded = false
	h.window, h.next, h.over = nil, 0, 0
	h.since = now
	h.mu.Unlock()
	bs.report(c, &junctionv1.RouteStatus{
		State:  junctionv1.RouteStatus_STATE_HEALTHY,
		Reason: "cooldown over: evaluated again",
		Since:  timestamppb.New(now),
	})
	return "", false
}

// restore degrades c until until, as another router (or this one before a
// restart) reported it.
func (bs *budgets) restore(c *Compiled, reason string, since, until time.Time) {
	h := &c.health
	h.mu.Lock()
	defer h.mu.Unlock()
	h.degraded, h.reason, h.since, h.until = true, reason, since, until
}

// cpuTimed reports whether the route's next evaluation is to be timed by
// the thread's CPU clock.
func (h *health) cpuTimed() bool { return h.cpuLeft.Load() > 0 }

// observe records one evaluation of c that cost cost and took took. A
// time that is not exact (wall clock) and over Budget.Time is not counted
// against the route, which may only have waited for the CPU: it makes the
// route's next Window evaluations timed exactly, and those count.
func (bs *budgets) observe(c *Compiled, cost uint64, took time.Duration, exact bool, res Result) {
	h := &c.health
	slow := bs.b.Time > 0 && took > bs.b.Time
	switch {
	case slow:
		h.cpuLeft.Store(int32(bs.b.Window))
		if !exact {
			slow = false
		}
	case exact && h.cpuLeft.Load() > 0:
		h.cpuLeft.Add(-1)
	}
	over := cost > bs.b.Cost || slow || costLimited(res)
	h.mu.Lock()
	if h.degraded {
		h.mu.Unlock()
		return
	}
	if h.window == nil {
		h.window = make([]bool, bs.b.Window)
	}
	if h.window[h.next] {
		h.over--
	}
	h.window[h.next] = over
	if over {
		h.over++
	}
	h.next = (h.next + 1) % len(h.window)
	if h.over < bs.b.MaxOver {
		h.mu.Unlock()
		return
	}
	now := bs.now()
	h.degraded = true
	h.since, h.until = now, now.Add(bs.b.Cooldown)
	h.reason = fmt.Sprintf("%d of its last %d evaluations went over the budget of cost %d", h.over, len(h.window), bs.b.Cost)
	if bs.b.Time > 0 {
		h.reason += fmt.Sprintf(" or %s", bs.b.Time)
	}
	h.reason += fmt.Sprintf(" (the last cost %d, took %s): not evaluated for %s, its targets are dead-lettered with reason route_degraded", cost, took.Round(time.Microsecond), bs.b.Cooldown)
	st := degradedStatus(h)
	h.mu.Unlock()
	bs.report(c, st)
}

func degradedStatus(h *health) *junctionv1.RouteStatus {
	return &junctionv1.RouteStatus{
		State:     junctionv1.RouteStatus_STATE_DEGRADED,
		Reason:    h.reason,
		Since:     timestamppb.New(h.since),
		RetryTime: timestamppb.New(h.until),
	}
}

// costLimited reports whether the cost limit cancelled an evaluation.
func costLimited(res Result) bool {
	for _, f := range res.Failures {
		if f.Err != nil && isCostLimit(f.Err) {
			return true
		}
	}
	return false
}
