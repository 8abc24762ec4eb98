package auth

import (
	"errors"
	"math"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Rate-limit defaults: a CLI apply of a few hundred routes or a steady
// publisher at 50 calls a second never waits; a runaway script is held to
// that rate.
const (
	DefaultRPS   = 50
	DefaultBurst = 100
	// DefaultMaxCallers caps the number of limiters kept. Only
	// authenticated callers get one, so the cap is reached only with that
	// many live keys and token subjects.
	DefaultMaxCallers = 10000
)

// RateLimit configures the per-caller token buckets.
type RateLimit struct {
	// RPS is the steady rate of calls per second of one key or token
	// subject. Default 50; negative turns limiting off.
	RPS float64 `yaml:"rps"`
	// Burst is how many calls may come at once. Default 100.
	Burst int `yaml:"burst"`
}

// WithDefaults fills zero fields.
func (r RateLimit) WithDefaults() RateLimit {
	if r.RPS == 0 {
		r.RPS = DefaultRPS
	}
	if r.Burst == 0 {
		r.Burst = DefaultBurst
	}
	return r
}

// Validate says what is wrong.
func (r RateLimit) Validate() error {
	if r.RPS > 0 && r.Burst < 1 {
		return errors.New("auth.rate_limit.burst: must be at least 1")
	}
	return nil
}

// Limiter keeps a token bucket per caller (an API key id or an OIDC
// subject). It holds at most max buckets: when full, one arbitrary bucket is
// dropped to make room (that caller starts again with a full bucket), so
// memory stays bounded whatever happens. It is safe for concurrent use.
type Limiter struct {
	limit rate.Limit
	burst int
	max   int
	now   func() time.Time

	mu      sync.Mutex
	callers map[string]*rate.Limiter
}

// NewLimiter returns a limiter for cfg (defaults applied); nil when cfg.RPS
// is negative (no limiting). max <= 0 means DefaultMaxCallers.
func NewLimiter(cfg RateLimit, max int) *Limiter {
	cfg = cfg.WithDefaults()
	if cfg.RPS < 0 {
		return nil
	}
	if max <= 0 {
		max = DefaultMaxCallers
	}
	return &Limiter{limit: rate.Limit(cfg.RPS), burst: cfg.Burst, max: max, now: time.Now, callers: map[string]*rate.Limiter{}}
}

// Allow takes one token from caller's bucket. When there is none it
// returns false and how long until one is there, rounded up to a whole
// second (at least 1 s) for a Retry-After header.
func (l *Limiter) Allow(caller string) (bool, time.Duration) {
	if l == nil {
		return true, 0
	}
	now := l.now()
	l.mu.Lock()
	lim, ok := l.callers[caller]
	if !ok {
		if len(l.callers) >= l.max {
			for k := range l.callers {
				delete(l.callers, k)
				break
			}
		}
		lim = rate.NewLimiter(l.limit, l.burst)
		l.callers[caller] = lim
	}
	l.mu.Unlock()
	r := lim.ReserveN(now, 1)
	if !r.OK() {
		return false, time.Second
	}
	d := r.DelayFrom(now)
	if d == 0 {
		return true, 0
	}
	r.CancelAt(now)
	return false, time.Duration(math.Ceil(d.Seconds())) * time.Second
}

// Len returns how many callers have a bucket.
func (l *Limiter) Len() int {
	if l == nil {
		return 0
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.callers)
}
