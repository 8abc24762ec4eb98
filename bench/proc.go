package bench

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/junctionhq/junction/adapters/sdk"
	"github.com/junctionhq/junction/adapters/sdk/platform/topology"
	"github.com/junctionhq/junction/internal/natsauth"
)

// Proc is a started server process: `junction serve`, the webhook adapter
// or the baseline server.
type Proc struct {
	cmd  *exec.Cmd
	done chan error
	// Ready is the time from start until its readiness URL answered 200.
	Ready time.Duration
}

// FreeAddr returns a loopback host:port that was free a moment ago.
func FreeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// StartProc starts bin with args (stderr to logPath) and waits until
// readyURL answers 200.
func StartProc(ctx context.Context, bin string, args []string, readyURL, logPath string) (*Proc, error) {
	logf, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, args...)
	cmd.Stdout = logf
	cmd.Stderr = logf
	start := time.Now()
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, fmt.Errorf("start %s: %w", bin, err)
	}
	p := &Proc{cmd: cmd, done: make(chan error, 1)}
	go func() { p.done <- cmd.Wait(); logf.Close() }()
	client := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := client.Get(readyURL)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				p.Ready = time.Since(start)
				return p, nil
			}
		}
		select {
		case err := <-p.done:
			return nil, fmt.Errorf("%s exited before it was ready (%v): see %s", bin, err, logPath)
		case <-ctx.Done():
			p.Stop()
			return nil, ctx.Err()
		case <-time.After(5 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			p.Stop()
			return nil, fmt.Errorf("%s not ready after 60s: see %s", bin, logPath)
		}
	}
}

// PID is the process id.
func (p *Proc) PID() int { return p.cmd.Process.Pid }

// Stop sends SIGTERM and waits (SIGKILL after 30s).
func (p *Proc) Stop() {
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(30 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}

// Mem returns the process's resident memory now and its peak, in MiB,
// from /proc/<pid>/status.
func Mem(pid int) (rss, peak float64, err error) {
	f, err := os.Open("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0, 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok || (k != "VmRSS" && k != "VmHWM") {
			continue
		}
		kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64)
		if k == "VmRSS" {
			rss = kb / 1024
		} else {
			peak = kb / 1024
		}
	}
	return rss, peak, sc.Err()
}

// CPU returns the user+system CPU time a process used so far, from
// /proc/<pid>/stat.
func CPU(pid int) (time.Duration, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, err
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, errors.New("malformed stat")
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 13 {
		return 0, errors.New("malformed stat")
	}
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	// USER_HZ is 100 on Linux.
	return time.Duration(ut+st) * 10 * time.Millisecond, nil
}

// Syscalls returns the read and write system calls a process made so far,
// from /proc/<pid>/io.
func Syscalls(pid int) (int64, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/io")
	if err != nil {
		return 0, err
	}
	var n int64
	for line := range strings.SplitSeq(string(b), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && (k == "syscr" || k == "syscw") {
			c, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			if err != nil {
				return 0, fmt.Errorf("malformed io: %w", err)
			}
			n += c
		}
	}
	return n, nil
}

// memStats reads TotalAlloc and Mallocs of runtime.MemStats from the
// text form of a pprof endpoint's allocs profile.
func memStats(ctx context.Context, pprofURL string) (m [2]int64, err error) {
	b, err := httpGet(ctx, pprofURL+"allocs?debug=1")
	if err != nil {
		return m, err
	}
	found := 0
	for line := range strings.SplitSeq(string(b), "\n") {
		for i, k := range []string{"# TotalAlloc = ", "# Mallocs = "} {
			if v, ok := strings.CutPrefix(line, k); ok {
				if m[i], err = strconv.ParseInt(strings.TrimSpace(v), 10, 64); err != nil {
					return m, fmt.Errorf("memstats %q: %w", line, err)
				}
				found++
			}
		}
	}
	if found != 2 {
		return m, fmt.Errorf("no TotalAlloc and Mallocs in %sallocs?debug=1", pprofURL)
	}
	return m, nil
}

// fetchProfile GETs a pprof profile from url into path.
func fetchProfile(ctx context.Context, url, path string) error {
	b, err := httpGet(ctx, url)
	if err != nil {
		return err
	}
	return os.WriteFile(path, b, 0o644)
}

// httpGet returns the body of a 200 answer to GET url.
func httpGet(ctx context.Context, url string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return io.ReadAll(resp.Body)
}

// JunctionYAML is the `junction serve` configuration of the webhook
// scenario.
func JunctionYAML(dataDir, httpAddr, grpcAddr, natsAddr string, syncAlways bool) string {
	sync := "default"
	if syncAlways {
		sync = "always"
	}
	return fmt.Sprintf(`data_dir: %q
http_addr: %q
grpc_addr: %q
nats_addr: %q
sync: %s
log_level: warn
webhook:
  sources:
    - name: %s
      scheme: standard-webhooks
      secret: %s
      rate_limit: {per_second: 1000000, burst: 1000000} # benchmarks measure the hub, not the limiter
  outbound:
    secret: %s
    allow: ["127.0.0.1/32"]
`, dataDir, httpAddr, grpcAddr, natsAddr, sync, Source, InboundSecret, OutboundSecret)
}

// AdapterYAML is the configuration of an idle standalone webhook adapter
// of the hub whose data directory is dataDir: it authenticates with the
// webhook user's seed file serve writes there.
func AdapterYAML(natsURL, httpAddr, dataDir string) string {
	return fmt.Sprintf(`hub:
  nats_url: %q
  nats_nkey_file: %q
  http_addr: %q
  log_level: warn
adapter:
  sources:
    - name: %s
      scheme: standard-webhooks
      secret: %s
      rate_limit: {per_second: 1000000, burst: 1000000} # benchmarks measure the hub, not the limiter
  outbound:
    secret: %s
    allow: ["127.0.0.1/32"]
`, natsURL, natsauth.SeedFile(dataDir, "webhook"), httpAddr, Source, InboundSecret, OutboundSecret)
}

// RouteToReceiver stores the one route of the webhook scenario on the hub
// at natsURL, whose data directory is dataDir, as its gateway user: every
// bench event to the webhook destination at url.
func RouteToReceiver(ctx context.Context, natsURL, dataDir, url string) error {
	auth := sdk.NATSAuth{NkeyFile: natsauth.SeedFile(dataDir, "gateway"), InboxPrefix: topology.InboxPrefix("gateway")}
	opts, err := auth.Options(nil)
	if err != nil {
		return err
	}
	nc, err := nats.Connect(natsURL, opts...)
	if err != nil {
		return err
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return err
	}
	return CreateRoute(ctx, js, WebhookDestination, map[string]string{"url": url})
}
