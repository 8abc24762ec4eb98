// Command junction-bench runs Junction's benchmarks side by side with raw
// JetStream baselines and writes the results as JSON and as a table
// (`make bench`; docs/benchmarks.md). Figures are printed, never judged.
//
//	junction-bench -junction bin/junction -adapter bin/webhook-adapter -out bench/results
//
// BENCH_QUICK=1 (or -quick) runs every scenario once at a small size.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"time"

	"github.com/junctionhq/junction/bench"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "baseline-serve" {
		if err := baselineServe(os.Args[2:]); err != nil {
			fmt.Fprintln(os.Stderr, "baseline-serve:", err)
			os.Exit(1)
		}
		return
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "junction-bench:", err)
		os.Exit(1)
	}
}

// baselineServe runs the baseline with HTTP in and out until SIGTERM.
func baselineServe(args []string) error {
	fs := flag.NewFlagSet("baseline-serve", flag.ContinueOnError)
	dir := fs.String("dir", "", "JetStream store directory")
	addr := fs.String("http-addr", "127.0.0.1:0", "webhook listen address")
	receiver := fs.String("receiver", "", "URL deliveries are POSTed to")
	syncAlways := fs.Bool("sync-always", false, "flush before every ack")
	plus := fs.Bool("plus", false, "run the baseline plus: idempotency, routing and the delivery log added the shortest way (bench.BaselineConfig.Plus)")
	pprofAddr := fs.String("pprof-addr", "", "serve Go's profiles (/debug/pprof/) on this address, as junction serve's --pprof-addr does (off when empty)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if *pprofAddr != "" {
		stopPprof, err := servePprof(*pprofAddr)
		if err != nil {
			return fmt.Errorf("pprof: %w", err)
		}
		defer stopPprof()
	}
	b, err := bench.StartBaseline(ctx, bench.BaselineConfig{Dir: *dir, SyncAlways: *syncAlways, HTTPAddr: *addr, ReceiverURL: *receiver, Plus: *plus})
	if err != nil {
		return err
	}
	<-ctx.Done()
	b.Close()
	return nil
}

// options are the driver's settings.
type options struct {
	junction, adapter, out, work, repo string
	quick                              bool
	plus                               bool // run the baseline plus beside the baseline
	runs, n                            int
	skip                               string
	webhookSecs, syncWebhookSecs       float64
	maxN, syncN, syncMaxN              int
	routerConcurrency                  int
	profile                            string
	profileSecs                        int
}

func run(ctx context.Context, args []string, stdout io.Writer) error {
	var o options
	fs := flag.NewFlagSet("junction-bench", flag.ContinueOnError)
	fs.StringVar(&o.junction, "junction", "bin/junction", "junction binary")
	fs.StringVar(&o.adapter, "adapter", "bin/webhook-adapter", "webhook-adapter binary")
	fs.StringVar(&o.out, "out", "bench/results", "directory for results JSON and table")
	fs.StringVar(&o.work, "work", "", "directory for stores and logs (default a temp dir, removed after)")
	fs.StringVar(&o.repo, "repo", ".", "repository root, for the Go benchmarks of services/router")
	fs.BoolVar(&o.quick, "quick", os.Getenv("BENCH_QUICK") != "", "one run of each at a small size (env BENCH_QUICK=1)")
	fs.IntVar(&o.runs, "runs", 3, "runs of each measurement; medians are reported")
	fs.IntVar(&o.n, "n", 200000, "events per router-hop run")
	fs.Float64Var(&o.webhookSecs, "webhook-seconds", 10, "seconds each fixed webhook rate is held")
	fs.IntVar(&o.maxN, "max-n", 20000, "events of each max-rate webhook run")
	fs.IntVar(&o.syncN, "sync-n", 10000, "events per router-hop run with sync always")
	fs.Float64Var(&o.syncWebhookSecs, "sync-webhook-seconds", 5, "seconds each fixed webhook rate is held with sync always")
	fs.IntVar(&o.syncMaxN, "sync-max-n", 5000, "events of each max-rate webhook run with sync always")
	fs.IntVar(&o.routerConcurrency, "router-concurrency", 0, "router Options.Concurrency in the router-hop scenario (0: the router's default)")
	fs.StringVar(&o.profile, "profile", "", "directory for CPU and allocation profiles of junction serve and of the baseline server during each max-rate webhook run (off when empty)")
	fs.IntVar(&o.profileSecs, "profile-seconds", 8, "seconds of each CPU profile (-profile); keep it below the max-rate phase")
	fs.StringVar(&o.skip, "skip", "", "comma-separated scenarios to skip: hop, webhook, routing, footprint, sync; plus skips the baseline plus in hop and webhook")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if o.quick {
		o.runs, o.n, o.webhookSecs, o.maxN = 1, 20000, 3, 5000
		o.syncN, o.syncWebhookSecs, o.syncMaxN = 2000, 2, 1000
	}
	skip := map[string]bool{}
	for s := range strings.SplitSeq(o.skip, ",") {
		skip[strings.TrimSpace(s)] = true
	}
	o.plus = !skip["plus"]
	work := o.work
	if work == "" {
		d, err := os.MkdirTemp("", "junction-bench-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(d)
		work = d
	}
	res := &Results{Started: time.Now().UTC(), Machine: describeMachine(), Command: strings.Join(append([]string{"junction-bench"}, args...), " "),
		Settings: Settings{Runs: o.runs, HopN: o.n, PayloadBytes: 512, WebhookSeconds: o.webhookSecs, MaxRateN: o.maxN, MaxRateWorkers: maxWorkers, Quick: o.quick}}
	logf := func(format string, a ...any) {
		fmt.Fprintf(os.Stderr, "%s "+format+"\n", append([]any{time.Now().Format("15:04:05")}, a...)...)
	}

	syncModes := []bool{false, true}
	if skip["sync"] {
		syncModes = []bool{false}
	}
	if !skip["hop"] {
		for _, sa := range syncModes {
			h, err := runHop(ctx, o, work, sa, logf)
			if err != nil {
				return err
			}
			res.Hop = append(res.Hop, h)
		}
	}
	if !skip["webhook"] {
		for _, sa := range syncModes {
			w, err := runWebhook(ctx, o, work, sa, logf)
			if err != nil {
				return err
			}
			res.Webhook = append(res.Webhook, w)
		}
	}
	if !skip["routing"] {
		r, err := runRouting(ctx, o, logf)
		if err != nil {
			return err
		}
		res.Routing = r
	}
	if !skip["footprint"] {
		f, err := runFootprint(ctx, o, work, logf)
		if err != nil {
			return err
		}
		res.Footprint = f
	}
	res.Seconds = time.Since(res.Started).Seconds()
	if err := os.MkdirAll(o.out, 0o755); err != nil {
		return err
	}
	name := "results"
	if o.quick {
		name = "results-quick"
	}
	b, err := json.MarshalIndent(res, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(o.out, name+".json"), append(b, '\n'), 0o644); err != nil {
		return err
	}
	table := res.Table()
	if err := os.WriteFile(filepath.Join(o.out, name+".md"), []byte(table), 0o644); err != nil {
		return err
	}
	fmt.Fprint(stdout, table)
	fmt.Fprintf(stdout, "\nwritten: %s, %s\n", filepath.Join(o.out, name+".json"), filepath.Join(o.out, name+".md"))
	return nil
}

// Machine describes where the run happened.
type Machine struct {
	NProc     int    `json:"nproc"`
	CPUModel  string `json:"cpu_model"`
	MemTotal  string `json:"mem_total"`
	GoVersion string `json:"go_version"`
	OS        string `json:"os"`
}

func describeMachine() Machine {
	m := Machine{NProc: runtime.NumCPU(), GoVersion: runtime.Version(), OS: runtime.GOOS + "/" + runtime.GOARCH}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for line := range strings.SplitSeq(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPUModel = strings.TrimSpace(v)
				break
			}
		}
	}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		for line := range strings.SplitSeq(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && k == "MemTotal" {
				m.MemTotal = strings.TrimSpace(v)
				break
			}
		}
	}
	return m
}
