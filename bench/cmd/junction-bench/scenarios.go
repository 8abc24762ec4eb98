package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"time"

	"github.com/junctionhq/junction/bench"
)

// maxWorkers is how many concurrent senders the max-rate phase uses.
const maxWorkers = 64

// Results is the whole results file.
type Results struct {
	Started   time.Time        `json:"started"`
	Seconds   float64          `json:"seconds"`
	Command   string           `json:"command"`
	Machine   Machine          `json:"machine"`
	Settings  Settings         `json:"settings"`
	Hop       []HopSummary     `json:"router_hop,omitempty"`
	Webhook   []WebhookSummary `json:"webhook,omitempty"`
	Routing   []GoBench        `json:"routing,omitempty"`
	Footprint *Footprint       `json:"footprint,omitempty"`
}

// Settings are the sizes the run used.
type Settings struct {
	Runs           int     `json:"runs"`
	HopN           int     `json:"hop_n"`
	PayloadBytes   int     `json:"payload_bytes"`
	WebhookSeconds float64 `json:"webhook_seconds_per_rate"`
	MaxRateN       int     `json:"max_rate_n"`
	MaxRateWorkers int     `json:"max_rate_workers"`
	Quick          bool    `json:"quick"`
}

// HopSummary is the router-hop scenario in one sync mode.
type HopSummary struct {
	SyncAlways bool              `json:"sync_always"`
	N          int               `json:"n"`
	Runs       []bench.HopResult `json:"runs"`
	// Medians over the runs.
	BaselinePerSec   float64 `json:"baseline_events_per_sec"`
	JunctionPerSec   float64 `json:"junction_events_per_sec"`
	BaselineCPUus    float64 `json:"baseline_cpu_us_per_event"`
	JunctionCPUus    float64 `json:"junction_cpu_us_per_event"`
	ThroughputRatio  float64 `json:"throughput_ratio"`
	CPUPerEventRatio float64 `json:"cpu_per_event_ratio"`
	// The baseline plus (bench.BaselinePlus), unless skipped: its medians,
	// its rate over the baseline's and Junction's over its own (medians of
	// the runs' ratios).
	PlusPerSec       float64 `json:"baseline_plus_events_per_sec,omitempty"`
	PlusCPUus        float64 `json:"baseline_plus_cpu_us_per_event,omitempty"`
	PlusRatio        float64 `json:"baseline_plus_throughput_ratio,omitempty"`
	JunctionOverPlus float64 `json:"junction_over_baseline_plus_throughput_ratio,omitempty"`
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func runHop(ctx context.Context, o options, work string, syncAlways bool, logf func(string, ...any)) (HopSummary, error) {
	s := HopSummary{SyncAlways: syncAlways, N: o.n}
	if syncAlways {
		s.N = o.syncN
	}
	n := s.N
	var bps, jps, bcpu, jcpu, ratios, pps, pcpu, pratios, jpratios []float64
	pipelines := []bench.Pipeline{bench.Baseline, bench.Junction}
	if o.plus {
		pipelines = []bench.Pipeline{bench.Baseline, bench.BaselinePlus, bench.Junction}
	}
	for i := range o.runs {
		got := map[bench.Pipeline]bench.HopResult{}
		for _, p := range pipelines {
			dir, err := os.MkdirTemp(work, "hop-")
			if err != nil {
				return s, err
			}
			r, err := bench.RunHop(ctx, bench.HopConfig{Pipeline: p, N: n, SyncAlways: syncAlways, Dir: dir, RouterConcurrency: o.routerConcurrency})
			os.RemoveAll(dir)
			if err != nil {
				return s, fmt.Errorf("router hop %s (sync always %v): %w", p, syncAlways, err)
			}
			logf("hop sync_always=%v run %d %s: %.0f events/s, %.1f us CPU/event", syncAlways, i+1, p, r.EventsPerSec, r.CPUMicrosPerEvent)
			s.Runs = append(s.Runs, r)
			got[p] = r
		}
		base, jn := got[bench.Baseline], got[bench.Junction]
		bps, jps = append(bps, base.EventsPerSec), append(jps, jn.EventsPerSec)
		bcpu, jcpu = append(bcpu, base.CPUMicrosPerEvent), append(jcpu, jn.CPUMicrosPerEvent)
		ratios = append(ratios, jn.EventsPerSec/base.EventsPerSec)
		if plus, ok := got[bench.BaselinePlus]; ok {
			pps, pcpu = append(pps, plus.EventsPerSec), append(pcpu, plus.CPUMicrosPerEvent)
			pratios, jpratios = append(pratios, plus.EventsPerSec/base.EventsPerSec), append(jpratios, jn.EventsPerSec/plus.EventsPerSec)
		}
	}
	s.BaselinePerSec, s.JunctionPerSec = median(bps), median(jps)
	s.BaselineCPUus, s.JunctionCPUus = median(bcpu), median(jcpu)
	s.ThroughputRatio = median(ratios)
	s.PlusPerSec, s.PlusCPUus, s.PlusRatio, s.JunctionOverPlus = median(pps), median(pcpu), median(pratios), median(jpratios)
	if s.BaselineCPUus > 0 {
		s.CPUPerEventRatio = s.JunctionCPUus / s.BaselineCPUus
	}
	return s, nil
}

// WebhookSummary is the webhook scenario in one sync mode.
type WebhookSummary struct {
	SyncAlways bool    `json:"sync_always"`
	Seconds    float64 `json:"seconds_per_rate"`
	MaxN       int     `json:"max_rate_n"`
	// Floor are the runs of the load generator posting straight to the
	// verifying receiver, no hub between: what the driver itself can do
	// on this machine.
	Floor    []bench.WebhookResult `json:"floor_runs"`
	Baseline []bench.WebhookResult `json:"baseline_runs"`
	// Plus are the runs of the baseline plus (bench.BaselineConfig.Plus),
	// unless skipped.
	Plus     []bench.WebhookResult `json:"baseline_plus_runs,omitempty"`
	Junction []bench.WebhookResult `json:"junction_runs"`
	// Medians over the runs.
	FloorMedian    WebhookMedian  `json:"floor"`
	BaselineMedian WebhookMedian  `json:"baseline"`
	PlusMedian     *WebhookMedian `json:"baseline_plus,omitempty"`
	JunctionMedian WebhookMedian  `json:"junction"`
	// MaxRateRatio is Junction's max rate over the baseline's.
	MaxRateRatio float64 `json:"max_rate_ratio"`
	// PlusRatio is the baseline plus's max rate over the baseline's,
	// JunctionOverPlus Junction's over the baseline plus's (medians of
	// the runs' ratios).
	PlusRatio        float64 `json:"baseline_plus_max_rate_ratio,omitempty"`
	JunctionOverPlus float64 `json:"junction_over_baseline_plus_max_rate_ratio,omitempty"`
}

// WebhookMedian are the medians of one target's runs.
type WebhookMedian struct {
	Fixed     []FixedMedian `json:"fixed"`
	MaxPerSec float64       `json:"max_events_per_sec"`
	MaxP99    float64       `json:"max_rate_p99_ms"`
	CPUus     float64       `json:"max_rate_cpu_us_per_event"`
	MaxRSSMB  float64       `json:"max_rate_rss_mb"`
	// DriverCPUus and DriverCPUPercent are the driver's own CPU (sender
	// and receiver) over the max-rate phase.
	DriverCPUus      float64 `json:"max_rate_driver_cpu_us_per_event"`
	DriverCPUPercent float64 `json:"max_rate_driver_cpu_percent"`
	// CPUParts is the max-rate CPU per event by part of the path
	// (bench.Parts), with -profile only.
	CPUParts map[string]float64 `json:"max_rate_cpu_parts_us_per_event,omitempty"`
}

// FixedMedian is one fixed rate's latency medians.
type FixedMedian struct {
	Target float64 `json:"target_per_sec"`
	P50    float64 `json:"p50_ms"`
	P99    float64 `json:"p99_ms"`
	P999   float64 `json:"p999_ms"`
	// DriverCPUPercent is the driver's CPU over the phase, in percent of
	// one core.
	DriverCPUPercent float64 `json:"driver_cpu_percent"`
	// CPUus is the measured process's CPU per event over the phase.
	CPUus float64 `json:"cpu_us_per_event"`
}

func medians(rs []bench.WebhookResult) WebhookMedian {
	var m WebhookMedian
	if len(rs) == 0 {
		return m
	}
	for i := range rs[0].Fixed {
		var p50, p99, p999, dpct, cpu []float64
		for _, r := range rs {
			p50 = append(p50, r.Fixed[i].P50)
			p99 = append(p99, r.Fixed[i].P99)
			p999 = append(p999, r.Fixed[i].P999)
			dpct = append(dpct, r.Fixed[i].DriverCPUPercent)
			cpu = append(cpu, r.Fixed[i].CPUMicrosPerEvent)
		}
		m.Fixed = append(m.Fixed, FixedMedian{Target: rs[0].Fixed[i].Target, P50: median(p50), P99: median(p99), P999: median(p999), DriverCPUPercent: median(dpct), CPUus: median(cpu)})
	}
	var rate, p99, cpu, rss, dcpu, dpct []float64
	for _, r := range rs {
		rate, p99 = append(rate, r.Max.Rate), append(p99, r.Max.P99)
		cpu, rss = append(cpu, r.CPUMicrosPerEvent), append(rss, r.MaxRSSMB)
		dcpu, dpct = append(dcpu, r.DriverCPUMicrosPerEvent), append(dpct, r.DriverCPUPercent)
	}
	m.MaxPerSec, m.MaxP99, m.CPUus, m.MaxRSSMB = median(rate), median(p99), median(cpu), median(rss)
	m.DriverCPUus, m.DriverCPUPercent = median(dcpu), median(dpct)
	for _, part := range bench.Parts {
		var us []float64
		for _, r := range rs {
			if r.CPUParts != nil {
				us = append(us, r.CPUParts[part])
			}
		}
		if len(us) > 0 {
			if m.CPUParts == nil {
				m.CPUParts = map[string]float64{}
			}
			m.CPUParts[part] = median(us)
		}
	}
	return m
}

func runWebhook(ctx context.Context, o options, work string, syncAlways bool, logf func(string, ...any)) (WebhookSummary, error) {
	s := WebhookSummary{SyncAlways: syncAlways}
	self, err := os.Executable()
	if err != nil {
		return s, err
	}
	cfg := bench.WebhookConfig{Rates: []float64{500, 2000}, Seconds: o.webhookSecs, MaxN: o.maxN, Workers: maxWorkers, Warmup: 500}
	if syncAlways {
		cfg.Seconds, cfg.MaxN = o.syncWebhookSecs, o.syncMaxN
	}
	s.Seconds, s.MaxN = cfg.Seconds, cfg.MaxN
	var ratios, pratios, jpratios []float64
	targets := []string{"baseline", "junction"}
	if o.plus {
		targets = []string{"baseline", "baseline+", "junction"}
	}
	for i := range o.runs {
		rates := map[string]float64{}
		// The floor first: the driver alone, before a hub runs beside it.
		fl, err := webhookRun(ctx, o, work, self, "floor", syncAlways, cfg)
		if err != nil {
			return s, fmt.Errorf("webhook floor: %w", err)
		}
		logf("webhook sync_always=%v run %d floor: p99 %.2f ms at %g/s, p99 %.2f ms at %g/s, max %.0f/s, driver %.0f%% of a core",
			syncAlways, i+1, fl.Fixed[0].P99, fl.Fixed[0].Target, fl.Fixed[1].P99, fl.Fixed[1].Target, fl.Max.Rate, fl.DriverCPUPercent)
		s.Floor = append(s.Floor, fl)
		for _, target := range targets {
			r, err := webhookRun(ctx, o, work, self, target, syncAlways, cfg)
			if err != nil {
				return s, fmt.Errorf("webhook %s (sync always %v): %w", target, syncAlways, err)
			}
			logf("webhook sync_always=%v run %d %s: p99 %.2f ms at %g/s, p99 %.2f ms at %g/s, max %.0f/s, %.0f MiB",
				syncAlways, i+1, target, r.Fixed[0].P99, r.Fixed[0].Target, r.Fixed[1].P99, r.Fixed[1].Target, r.Max.Rate, r.MaxRSSMB)
			switch target {
			case "baseline":
				s.Baseline = append(s.Baseline, r)
			case "baseline+":
				s.Plus = append(s.Plus, r)
			default:
				s.Junction = append(s.Junction, r)
			}
			rates[target] = r.Max.Rate
		}
		ratios = append(ratios, rates["junction"]/rates["baseline"])
		if p, ok := rates["baseline+"]; ok {
			pratios, jpratios = append(pratios, p/rates["baseline"]), append(jpratios, rates["junction"]/p)
		}
	}
	s.FloorMedian, s.BaselineMedian, s.JunctionMedian = medians(s.Floor), medians(s.Baseline), medians(s.Junction)
	s.MaxRateRatio = median(ratios)
	if len(s.Plus) > 0 {
		m := medians(s.Plus)
		s.PlusMedian = &m
		s.PlusRatio, s.JunctionOverPlus = median(pratios), median(jpratios)
	}
	return s, nil
}

// webhookRun starts one target process, runs the scenario and stops it.
func webhookRun(ctx context.Context, o options, work, self, target string, syncAlways bool, cfg bench.WebhookConfig) (bench.WebhookResult, error) {
	var res bench.WebhookResult
	if target == "floor" {
		// The sender posts straight to a receiver verifying its own
		// signatures: no hub, no process to sample.
		rcv, err := bench.NewFloorReceiver()
		if err != nil {
			return res, err
		}
		defer rcv.Close()
		return bench.RunWebhook(ctx, rcv.URL(), rcv, cfg)
	}
	rcv, err := bench.NewReceiver()
	if err != nil {
		return res, err
	}
	defer rcv.Close()
	dir, err := os.MkdirTemp(work, target+"-")
	if err != nil {
		return res, err
	}
	defer os.RemoveAll(dir)
	httpAddr, err := bench.FreeAddr()
	if err != nil {
		return res, err
	}
	var p *bench.Proc
	if target == "baseline" || target == "baseline+" {
		args := []string{"baseline-serve", "-dir", filepath.Join(dir, "store"), "-http-addr", httpAddr, "-receiver", rcv.URL()}
		if syncAlways {
			args = append(args, "-sync-always")
		}
		name := "baseline"
		if target == "baseline+" {
			args, name = append(args, "-plus"), "baseline-plus"
		}
		if o.profile != "" {
			if args, err = profileArgs(o, &cfg, name, "-pprof-addr", args, syncAlways); err != nil {
				return res, err
			}
		}
		if p, err = bench.StartProc(ctx, self, args, "http://"+httpAddr+"/readyz", filepath.Join(work, name+".log")); err != nil {
			return res, err
		}
	} else {
		grpcAddr, err := bench.FreeAddr()
		if err != nil {
			return res, err
		}
		natsAddr, err := bench.FreeAddr()
		if err != nil {
			return res, err
		}
		conf := filepath.Join(dir, "junction.yaml")
		if err := os.WriteFile(conf, []byte(bench.JunctionYAML(filepath.Join(dir, "data"), httpAddr, grpcAddr, natsAddr, syncAlways)), 0o600); err != nil {
			return res, err
		}
		args := []string{"serve", "--config", conf}
		if o.profile != "" {
			if args, err = profileArgs(o, &cfg, "junction", "--pprof-addr", args, syncAlways); err != nil {
				return res, err
			}
		}
		if p, err = bench.StartProc(ctx, o.junction, args, "http://"+httpAddr+"/readyz", filepath.Join(work, "junction.log")); err != nil {
			return res, err
		}
		if err := bench.RouteToReceiver(ctx, "nats://"+natsAddr, filepath.Join(dir, "data"), rcv.URL()); err != nil {
			p.Stop()
			return res, err
		}
	}
	defer p.Stop()
	cfg.PID = p.PID()
	return bench.RunWebhook(ctx, "http://"+httpAddr+"/webhooks/"+bench.Source, rcv, cfg)
}

// profileArgs adds a pprof address flag to a target's arguments and points
// cfg's profiles of the max-rate phase at it, written to o.profile as
// <target>-sync<bool>-<time>-cpu.pprof and -allocs.pprof.
func profileArgs(o options, cfg *bench.WebhookConfig, target, flag string, args []string, syncAlways bool) ([]string, error) {
	pprofAddr, err := bench.FreeAddr()
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(o.profile, 0o755); err != nil {
		return nil, err
	}
	cfg.PprofURL = "http://" + pprofAddr + "/debug/pprof/"
	cfg.ProfilePrefix = filepath.Join(o.profile, fmt.Sprintf("%s-sync%v-%s-", target, syncAlways, time.Now().Format("150405")))
	cfg.ProfileSeconds = o.profileSecs
	return append(args, flag, pprofAddr), nil
}

// GoBench is the median of one Go benchmark over its runs.
type GoBench struct {
	Name        string  `json:"name"`
	NsPerOp     float64 `json:"ns_per_op"`
	AllocsPerOp float64 `json:"allocs_per_op"`
	Runs        int     `json:"runs"`
}

var benchLine = regexp.MustCompile(`^(Benchmark\S+?)(?:-\d+)?\s+\d+\s+([\d.]+) ns/op(?:.*?\s([\d.]+) allocs/op)?`)

// runRouting runs the router's matching and CEL benchmarks.
func runRouting(ctx context.Context, o options, logf func(string, ...any)) ([]GoBench, error) {
	count := strconv.Itoa(max(o.runs, 3))
	benchtime := "1s"
	if o.quick {
		count, benchtime = "1", "200ms"
	}
	cmd := exec.CommandContext(ctx, "go", "test", "-run", "^$", "-bench", "^(BenchmarkMatch|BenchmarkMatchScan|BenchmarkEvaluate)$",
		"-benchmem", "-count", count, "-benchtime", benchtime, "./services/router/")
	cmd.Dir = o.repo
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	logf("routing: go test -bench (count %s)", count)
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("go test -bench: %w\n%s", err, out.String())
	}
	ns, allocs := map[string][]float64{}, map[string][]float64{}
	var order []string
	sc := bufio.NewScanner(&out)
	for sc.Scan() {
		m := benchLine.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		if _, ok := ns[m[1]]; !ok {
			order = append(order, m[1])
		}
		v, _ := strconv.ParseFloat(m[2], 64)
		ns[m[1]] = append(ns[m[1]], v)
		a, _ := strconv.ParseFloat(m[3], 64)
		allocs[m[1]] = append(allocs[m[1]], a)
	}
	var res []GoBench
	for _, name := range order {
		res = append(res, GoBench{Name: name, NsPerOp: median(ns[name]), AllocsPerOp: median(allocs[name]), Runs: len(ns[name])})
	}
	return res, nil
}

// Footprint is the resident memory and start-up time of idle processes.
type Footprint struct {
	ServeIdleRSSMB   float64   `json:"serve_idle_rss_mb"`
	ServeReadySecs   float64   `json:"serve_start_to_ready_s"`
	AdapterIdleRSSMB float64   `json:"adapter_idle_rss_mb"`
	AdapterReadySecs float64   `json:"adapter_start_to_ready_s"`
	ServeRSS         []float64 `json:"serve_idle_rss_runs"`
	ServeReady       []float64 `json:"serve_ready_runs"`
	AdapterRSS       []float64 `json:"adapter_idle_rss_runs"`
	AdapterReady     []float64 `json:"adapter_ready_runs"`
}

// idleSettle is how long a process idles before its memory is read.
const idleSettle = 2 * time.Second

func runFootprint(ctx context.Context, o options, work string, logf func(string, ...any)) (*Footprint, error) {
	f := &Footprint{}
	for i := range o.runs {
		dir, err := os.MkdirTemp(work, "idle-")
		if err != nil {
			return nil, err
		}
		var addrs [4]string
		for k := range addrs {
			if addrs[k], err = bench.FreeAddr(); err != nil {
				return nil, err
			}
		}
		conf := filepath.Join(dir, "junction.yaml")
		if err := os.WriteFile(conf, []byte(bench.JunctionYAML(filepath.Join(dir, "data"), addrs[0], addrs[1], addrs[2], false)), 0o600); err != nil {
			return nil, err
		}
		serve, err := bench.StartProc(ctx, o.junction, []string{"serve", "--config", conf}, "http://"+addrs[0]+"/readyz", filepath.Join(work, "idle-junction.log"))
		if err != nil {
			return nil, err
		}
		aconf := filepath.Join(dir, "adapter.yaml")
		err = os.WriteFile(aconf, []byte(bench.AdapterYAML("nats://"+addrs[2], addrs[3], filepath.Join(dir, "data"))), 0o600)
		var adapter *bench.Proc
		if err == nil {
			adapter, err = bench.StartProc(ctx, o.adapter, []string{"--config", aconf}, "http://"+addrs[3]+"/readyz", filepath.Join(work, "idle-adapter.log"))
		}
		if err != nil {
			serve.Stop()
			return nil, err
		}
		time.Sleep(idleSettle)
		srss, _, err1 := bench.Mem(serve.PID())
		arss, _, err2 := bench.Mem(adapter.PID())
		adapter.Stop()
		serve.Stop()
		os.RemoveAll(dir)
		if err1 != nil || err2 != nil {
			return nil, fmt.Errorf("read memory: %v %v", err1, err2)
		}
		logf("footprint run %d: serve %.1f MiB ready in %v, adapter %.1f MiB ready in %v", i+1, srss, serve.Ready, arss, adapter.Ready)
		f.ServeRSS, f.ServeReady = append(f.ServeRSS, srss), append(f.ServeReady, serve.Ready.Seconds())
		f.AdapterRSS, f.AdapterReady = append(f.AdapterRSS, arss), append(f.AdapterReady, adapter.Ready.Seconds())
	}
	f.ServeIdleRSSMB, f.ServeReadySecs = median(f.ServeRSS), median(f.ServeReady)
	f.AdapterIdleRSSMB, f.AdapterReadySecs = median(f.AdapterRSS), median(f.AdapterReady)
	return f, nil
}
