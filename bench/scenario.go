package bench

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"
)

// WebhookConfig is one run of the webhook scenario against one target.
type WebhookConfig struct {
	// Rates are the fixed rates measured, events per second.
	Rates []float64
	// Seconds is how long each fixed rate is held.
	Seconds float64
	// MaxN is how many events the max-rate phase sends.
	MaxN int
	// Workers is how many concurrent senders the max-rate phase uses.
	Workers int
	// Warmup is how many events are sent, unmeasured, first.
	Warmup int
	// PayloadSize is the JSON body size; default 512.
	PayloadSize int
	// PID, when not 0, is the process sampled for CPU and memory during
	// the max-rate phase.
	PID int
	// PprofURL, when set, is the target's /debug/pprof/ base URL: a CPU
	// profile of ProfileSeconds and the allocations made during the
	// max-rate phase are written to ProfilePrefix + "cpu.pprof" and
	// "allocs.pprof" (read with `go tool pprof -diff_base`: see
	// docs/benchmarks.md).
	PprofURL       string
	ProfilePrefix  string
	ProfileSeconds int
}

// FixedResult is one fixed-rate phase.
type FixedResult struct {
	Target float64 `json:"target_per_sec"`
	Latency
	// DriverCPUPercent is the driver process's CPU (sender and receiver
	// together) over the phase, in percent of one core: near 100 times
	// the cores, the driver itself is saturated.
	DriverCPUPercent float64 `json:"driver_cpu_percent,omitempty"`
	// CPUMicrosPerEvent is the measured process's CPU over the phase per
	// event (with a PID). Below saturation it varies less from run to run
	// than the max-rate phase's, which moves with how much each pull and
	// flush could batch.
	CPUMicrosPerEvent float64 `json:"cpu_us_per_event,omitempty"`
}

// WebhookResult is what one run of the webhook scenario measured.
type WebhookResult struct {
	Fixed []FixedResult `json:"fixed"`
	Max   Latency       `json:"max"`
	// MaxRSSMB is the largest resident memory seen during the max-rate
	// phase; CPUMicrosPerEvent the process's CPU over it per event.
	MaxRSSMB          float64 `json:"max_rss_mb,omitempty"`
	CPUMicrosPerEvent float64 `json:"cpu_us_per_event,omitempty"`
	// SyscallsPerEvent is the process's read and write system calls over
	// the max-rate phase per event (/proc/<pid>/io syscr+syscw): a count
	// of work that, unlike CPU time, other load on the machine does not
	// inflate.
	SyscallsPerEvent float64 `json:"syscalls_per_event,omitempty"`
	// AllocBytesPerEvent and MallocsPerEvent are the Go heap allocations of
	// the process over the max-rate phase per event (runtime.MemStats
	// TotalAlloc and Mallocs, read through pprof: only with PprofURL).
	AllocBytesPerEvent float64 `json:"alloc_bytes_per_event,omitempty"`
	MallocsPerEvent    float64 `json:"mallocs_per_event,omitempty"`
	// CPUParts is CPUMicrosPerEvent divided among the parts of the
	// webhook's path (Parts) by the CPU profile's samples: only with
	// PprofURL.
	CPUParts map[string]float64 `json:"cpu_parts_us_per_event,omitempty"`
	// DriverCPUMicrosPerEvent and DriverCPUPercent are the driver
	// process's CPU (the load generator and the receiver, which share it)
	// over the max-rate phase: per event, and in percent of one core.
	DriverCPUMicrosPerEvent float64 `json:"driver_cpu_us_per_event,omitempty"`
	DriverCPUPercent        float64 `json:"driver_cpu_percent,omitempty"`
	// BadSignatures counts deliveries the receiver refused.
	BadSignatures int64 `json:"bad_signatures"`
}

// RunWebhook runs the webhook scenario against url (the target's webhook
// endpoint, whose deliveries go to rcv): a warm-up, each fixed rate, then
// the max-rate phase. It fails with ErrIncomplete unless every event of
// every phase was delivered and verified.
func RunWebhook(ctx context.Context, url string, rcv *Receiver, cfg WebhookConfig) (WebhookResult, error) {
	if cfg.PayloadSize == 0 {
		cfg.PayloadSize = 512
	}
	s, err := NewSender(url, cfg.PayloadSize)
	if err != nil {
		return WebhookResult{}, err
	}
	defer s.Close()
	var res WebhookResult
	if err := awaitRoute(ctx, s, rcv); err != nil {
		return res, err
	}
	base := 0
	check := func(phase string, l Latency, err error) error {
		if err != nil {
			last := ""
			if p := s.LastErr.Load(); p != nil {
				last = *p
			}
			return fmt.Errorf("%s: %w (failed sends %d, last: %s)", phase, err, l.Sends, last)
		}
		return nil
	}
	if cfg.Warmup > 0 {
		l, err := MaxRate(ctx, s, rcv, base, cfg.Warmup, max(cfg.Workers, 1))
		if err := check("warm-up", l, err); err != nil {
			return res, err
		}
		base += cfg.Warmup
	}
	for _, rate := range cfg.Rates {
		n := int(rate * cfg.Seconds)
		dc := startDriverCPU()
		var cpu0 time.Duration
		if cfg.PID != 0 {
			cpu0, _ = CPU(cfg.PID)
		}
		l, err := FixedRate(ctx, s, rcv, base, n, rate)
		if err := check(fmt.Sprintf("%g/s", rate), l, err); err != nil {
			return res, err
		}
		_, pct := dc.stop(n)
		fr := FixedResult{Target: rate, Latency: l, DriverCPUPercent: pct}
		if cfg.PID != 0 && cpu0 > 0 {
			if cpu1, err := CPU(cfg.PID); err == nil {
				fr.CPUMicrosPerEvent = float64((cpu1 - cpu0).Microseconds()) / float64(n)
			}
		}
		res.Fixed = append(res.Fixed, fr)
		base += n
	}
	if cfg.MaxN > 0 {
		var cpu0 time.Duration
		var sys0 int64
		stop := make(chan struct{})
		var wg sync.WaitGroup
		if cfg.PID != 0 {
			cpu0, _ = CPU(cfg.PID)
			sys0, _ = Syscalls(cfg.PID)
			wg.Go(func() {
				t := time.NewTicker(50 * time.Millisecond)
				defer t.Stop()
				for {
					if rss, _, err := Mem(cfg.PID); err == nil {
						res.MaxRSSMB = max(res.MaxRSSMB, rss)
					}
					select {
					case <-stop:
						return
					case <-t.C:
					}
				}
			})
		}
		var profErr, cpuProfErr error // cpuProfErr is set by its own goroutine
		var mem0 [2]int64
		if cfg.PprofURL != "" {
			if mem0, profErr = memStats(ctx, cfg.PprofURL); profErr != nil {
				return res, fmt.Errorf("profile: %w", profErr)
			}
			if profErr = fetchProfile(ctx, cfg.PprofURL+"allocs", cfg.ProfilePrefix+"allocs-before.pprof"); profErr == nil {
				wg.Go(func() {
					cpuProfErr = fetchProfile(ctx, fmt.Sprintf("%sprofile?seconds=%d", cfg.PprofURL, max(cfg.ProfileSeconds, 1)), cfg.ProfilePrefix+"cpu.pprof")
				})
			}
		}
		dc := startDriverCPU()
		l, err := MaxRate(ctx, s, rcv, base, cfg.MaxN, cfg.Workers)
		res.DriverCPUMicrosPerEvent, res.DriverCPUPercent = dc.stop(cfg.MaxN)
		if cfg.PprofURL != "" && profErr == nil {
			var mem1 [2]int64
			if mem1, profErr = memStats(ctx, cfg.PprofURL); profErr == nil {
				res.AllocBytesPerEvent = float64(mem1[0]-mem0[0]) / float64(cfg.MaxN)
				res.MallocsPerEvent = float64(mem1[1]-mem0[1]) / float64(cfg.MaxN)
				profErr = fetchProfile(ctx, cfg.PprofURL+"allocs", cfg.ProfilePrefix+"allocs.pprof")
			}
		}
		close(stop)
		wg.Wait()
		profErr = errors.Join(profErr, cpuProfErr)
		if profErr != nil {
			return res, fmt.Errorf("profile: %w", profErr)
		}
		if cfg.PID != 0 {
			if cpu1, err := CPU(cfg.PID); err == nil {
				res.CPUMicrosPerEvent = float64((cpu1 - cpu0).Microseconds()) / float64(cfg.MaxN)
			}
			if cfg.PprofURL != "" {
				shares, err := CPUShares(cfg.ProfilePrefix + "cpu.pprof")
				if err != nil {
					return res, fmt.Errorf("profile: %w", err)
				}
				res.CPUParts = map[string]float64{}
				for part, share := range shares {
					res.CPUParts[part] = share * res.CPUMicrosPerEvent
				}
			}
			if sys1, err := Syscalls(cfg.PID); err == nil && sys0 > 0 {
				res.SyscallsPerEvent = float64(sys1-sys0) / float64(cfg.MaxN)
			}
		}
		if err := check("max rate", l, err); err != nil {
			return res, err
		}
		res.Max = l
	}
	res.BadSignatures = rcv.Bad.Load()
	if res.BadSignatures > 0 {
		return res, fmt.Errorf("%d deliveries failed signature verification", res.BadSignatures)
	}
	return res, nil
}

// driverCPU measures the driver process's own CPU over a phase.
type driverCPU struct {
	cpu0  time.Duration
	start time.Time
	err   error
}

func startDriverCPU() driverCPU {
	c, err := CPU(os.Getpid())
	return driverCPU{cpu0: c, start: time.Now(), err: err}
}

// stop returns the CPU used since start per event of n, in µs, and in
// percent of one core; zeros when /proc could not be read.
func (d driverCPU) stop(n int) (usPerEvent, percent float64) {
	c, err := CPU(os.Getpid())
	wall := time.Since(d.start)
	if d.err != nil || err != nil || n <= 0 || wall <= 0 {
		return 0, 0
	}
	used := c - d.cpu0
	return float64(used.Microseconds()) / float64(n), 100 * used.Seconds() / wall.Seconds()
}

// probeBase is where the seqs of route probes start, far above any phase.
const probeBase = 1 << 30

// awaitRoute sends one event at a time until one reaches the receiver: a
// route just stored applies within moments, and events routed before it
// applied are (rightly) delivered nowhere.
func awaitRoute(ctx context.Context, s *Sender, rcv *Receiver) error {
	for i := range 200 {
		p := newPhase(probeBase+i, 1)
		rcv.cur.Store(p)
		if err := s.Send(ctx, probeBase+i); err == nil {
			if waitPhase(ctx, p, 250*time.Millisecond) == nil {
				return nil
			}
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
	}
	return fmt.Errorf("%w: no probe event reached the receiver in 200 tries: is the route applied?", ErrIncomplete)
}
