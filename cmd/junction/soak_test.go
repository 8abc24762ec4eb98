//go:build soak

package main

import (
	"bufio"
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/junctionhq/junction/services/router"
)

// The soak test (make soak; docs/soak.md) runs `junction serve` and a
// standalone webhook-adapter for SOAK_DURATION (default 1h) under mixed
// traffic and abuse, then checks that nothing acknowledged was lost and
// that serve's memory did not keep growing:
//
//   - steady signed webhooks (SOAK_RATE a second, default 100): 80% to
//     serve's /webhooks/acme, 20% to the adapter's /webhooks/beta; three
//     routes deliver them to a receiver that verifies every signature and
//     counts deliveries per webhook-id;
//   - every 10 s a poison event (a 300 KB field): one route renders it
//     four times over (over the hub's maximum payload, slow enough to go
//     over the router's time budget), another's transform fails on it;
//   - 64 slow clients that open a connection, send half a request and
//     hold it (against serve, and 16 against the adapter);
//   - kill -9 of serve every SOAK_DURATION/4 and of the adapter every
//     SOAK_DURATION/6, each started again at once on the same ports.
//
// At the end the senders stop, the hub drains, and the test asserts: every
// webhook answered 2xx was delivered at least once on each route that takes
// it (lost = 0); serve's RSS in the last quarter of the run is at most 1.5x
// its peak in the first quarter after a warm-up of the first tenth. It
// prints events sent, acknowledged, delivered, lost, duplicates (a
// webhook-id delivered more than once), peak RSS and peak descriptors.
func TestSoak(t *testing.T) {
	duration := time.Hour
	if v := os.Getenv("SOAK_DURATION"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < time.Minute {
			t.Fatalf("SOAK_DURATION=%q: give a duration of at least 1m, e.g. 10m or 1h", v)
		}
		duration = d
	}
	rate := 100
	if v := os.Getenv("SOAK_RATE"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			t.Fatalf("SOAK_RATE=%q: give webhooks per second, e.g. 100", v)
		}
		rate = n
	}

	dir := t.TempDir()
	rcv := newDedupeReceiver(t)
	httpAddr, grpcAddr, natsAddr, adapterAddr := freeAddr(t), freeAddr(t), freeAddr(t), freeAddr(t)
	// The stores that keep one JetStream subject per item (the
	// idempotency bucket: one key per event id; ATTEMPTS: one subject per
	// delivery) grow the server's in-memory subject index with every item
	// until their limits are reached (docs/operations.md, Memory). So that
	// the run reaches that steady state, their age limits are
	// SOAK_DURATION/6 unless SOAK_WINDOW says otherwise ("off": the
	// defaults, 7 days, never reached in a soak).
	window := duration / 6
	if v := os.Getenv("SOAK_WINDOW"); v == "off" {
		window = 0
	} else if v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			t.Fatalf("SOAK_WINDOW=%q: give a duration such as 10m, or off", v)
		}
		window = d
	}
	storage := ""
	if window > 0 {
		storage = fmt.Sprintf("storage:\n  limits:\n    idempotency: {max_age: %s}\n    attempts: {max_age: %s}\n", window, window)
	}
	cfg := filepath.Join(t.TempDir(), "junction.yaml")
	if err := os.WriteFile(cfg, []byte(storage+fmt.Sprintf(`webhook:
  sources:
    - {name: acme, scheme: hmac-sha256, secret: %s, id_field: id, rate_limit: {per_second: 1000000, burst: 1000000}}
    - {name: beta, scheme: hmac-sha256, secret: %s, id_field: id, rate_limit: {per_second: 1000000, burst: 1000000}}
  outbound:
    secret: %s
    allow: ["127.0.0.1/32"]
`, inboundSecret, inboundSecret, testSecret)), 0o600); err != nil {
		t.Fatal(err)
	}
	serveArgs := []string{"serve", "--config", cfg, "--data-dir", dir, "--http-addr", httpAddr, "--grpc-addr", grpcAddr, "--nats-addr", natsAddr, "--log-level", "error"}
	// SOAK_PROFILE_DIR: serve's heap profile is saved there every
	// SOAK_DURATION/8 (heap-<minutes>m.pb.gz), for `go tool pprof`.
	profileDir := os.Getenv("SOAK_PROFILE_DIR")
	pprofAddr := ""
	if profileDir != "" {
		pprofAddr = freeAddr(t)
		serveArgs = append(serveArgs, "--pprof-addr", pprofAddr)
	}
	// SOAK_KILLS=off runs without kills, to tell steady growth from what a
	// restart's recovery holds.
	kills := os.Getenv("SOAK_KILLS") != "off"

	// serve, started again after each kill.
	var serveMu sync.Mutex
	serve := start(t, serveArgs...)
	serve.waitLine(t, restLine)
	currentServe := func() *proc { serveMu.Lock(); defer serveMu.Unlock(); return serve }

	for _, r := range []struct{ id, filter, cond, transform string }{
		{"all", "acme.>", "", ""},
		{"beta", "beta.>", "", ""},
		{"copy", "acme.>", "", `{"id": data.id, "n": data.n}`},
		{"poison-big", "acme.>", "has(data.pad)", `{"a": data.pad + data.pad + data.pad + data.pad}`},
		{"poison-fail", "acme.>", "has(data.pad)", `{"x": data.nothing.here}`},
	} {
		applySoakRoute(t, grpcAddr, dir, r.id, r.filter, r.cond, r.transform, rcv.srv.URL)
	}

	// The standalone adapter: intake of source beta, and a second sink on
	// the webhook destination beside serve's own.
	adapterCfg := filepath.Join(t.TempDir(), "webhook-adapter.yaml")
	if err := os.WriteFile(adapterCfg, []byte(fmt.Sprintf(`hub:
  nats_url: nats://%s
  nats_nkey_file: %s
  http_addr: %s
  log_level: error
adapter:
  sources:
    - {name: beta, scheme: hmac-sha256, secret: %s, id_field: id, rate_limit: {per_second: 1000000, burst: 1000000}}
  outbound:
    secret: %s
    allow: ["127.0.0.1/32"]
`, natsAddr, filepath.Join(dir, "nats", "webhook.nk"), adapterAddr, inboundSecret, testSecret)), 0o600); err != nil {
		t.Fatal(err)
	}
	adapterBin := webhookAdapterBinary(t)
	var adapterOut bytes.Buffer
	var adapterMu sync.Mutex
	startAdapter := func() *exec.Cmd {
		cmd := exec.Command(adapterBin, "--config", adapterCfg)
		cmd.Stdout, cmd.Stderr = &lockedBuffer{mu: &adapterMu, b: &adapterOut}, &lockedBuffer{mu: &adapterMu, b: &adapterOut}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		return cmd
	}
	adapter := startAdapter()
	t.Cleanup(func() {
		if adapter.ProcessState == nil {
			_ = adapter.Process.Kill()
			_ = adapter.Wait()
		}
		if t.Failed() {
			adapterMu.Lock()
			t.Logf("webhook-adapter output (last 4 KB):\n%s", tail(adapterOut.String(), 4096))
			adapterMu.Unlock()
		}
	})

	stop := make(chan struct{})
	var wg sync.WaitGroup

	// Steady senders.
	snd := &soakSender{accepted: map[string]string{}, answers: map[int]int{}}
	workers := 8
	for w := range workers {
		wg.Go(func() { snd.run(stop, w, workers, rate, httpAddr, adapterAddr) })
	}
	// Slow clients.
	var slowOpened atomic.Int64
	for i := range 80 {
		addr := httpAddr
		if i >= 64 {
			addr = adapterAddr
		}
		wg.Go(func() { holdHalfOpen(stop, addr, &slowOpened) })
	}

	// Samples of serve's memory and descriptors.
	type sample struct {
		at       time.Duration
		rss, fds int64
	}
	var samplesMu sync.Mutex
	var samples []sample
	began := time.Now()
	wg.Go(func() {
		tick := time.NewTicker(2 * time.Second)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
			}
			pid := currentServe().cmd.Process.Pid
			rss, fds := procRSS(pid), procFDs(pid)
			if rss > 0 {
				samplesMu.Lock()
				samples = append(samples, sample{time.Since(began), rss, fds})
				samplesMu.Unlock()
			}
		}
	})

	if profileDir != "" {
		wg.Go(func() {
			tick := time.NewTicker(duration / 8)
			defer tick.Stop()
			for {
				select {
				case <-stop:
					return
				case <-tick.C:
				}
				saveHeapProfile(t, pprofAddr, filepath.Join(profileDir, fmt.Sprintf("heap-%dm.pb.gz", int(time.Since(began).Minutes()))))
			}
		})
	}

	// Kills.
	var serveKills, adapterKills int
	serveEvery, adapterEvery := duration/4, duration/6
	nextServe, nextAdapter := began.Add(serveEvery), began.Add(adapterEvery)
	for end := began.Add(duration); time.Now().Before(end); time.Sleep(time.Second) {
		now := time.Now()
		if kills && now.After(nextServe) && now.Before(end.Add(-serveEvery/4)) {
			p := currentServe()
			_ = p.cmd.Process.Kill()
			_ = p.wait(t)
			serveKills++
			np := start(t, serveArgs...)
			np.waitLine(t, restLine)
			serveMu.Lock()
			serve = np
			serveMu.Unlock()
			nextServe = time.Now().Add(serveEvery)
			t.Logf("%v: serve killed (-9) and started again", time.Since(began).Round(time.Second))
		}
		if kills && now.After(nextAdapter) && now.Before(end.Add(-adapterEvery/4)) {
			_ = adapter.Process.Kill()
			_ = adapter.Wait()
			adapterKills++
			adapter = startAdapter()
			nextAdapter = time.Now().Add(adapterEvery)
			t.Logf("%v: webhook-adapter killed (-9) and started again", time.Since(began).Round(time.Second))
		}
	}
	close(stop)
	wg.Wait()
	ran := time.Since(began)

	// Drain: every acknowledged webhook delivered on each of its routes.
	drainStart := time.Now()
	var lost int
	for lost = snd.missing(rcv); lost > 0 && time.Since(drainStart) < 5*time.Minute; lost = snd.missing(rcv) {
		time.Sleep(time.Second)
	}
	drain := time.Since(drainStart)

	sent, acked := snd.counts()
	distinct, total := rcv.counts()
	samplesMu.Lock()
	defer samplesMu.Unlock()
	var peakRSS, peakFDs, firstMax, lastMax int64
	warm := duration / 10
	for _, s := range samples {
		peakRSS, peakFDs = max(peakRSS, s.rss), max(peakFDs, s.fds)
		if s.at >= warm && s.at < duration/4 {
			firstMax = max(firstMax, s.rss)
		}
		if s.at >= duration*3/4 {
			lastMax = max(lastMax, s.rss)
		}
	}
	snd.mu.Lock()
	answers := fmt.Sprint(snd.answers)
	snd.mu.Unlock()
	report := fmt.Sprintf(`soak figures (SOAK_DURATION=%v, SOAK_RATE=%d/s, SOAK_WINDOW=%v, %d CPUs):
  ran %v; serve killed -9 %d times, webhook-adapter %d times; slow connections opened %d
  webhooks sent %d, acknowledged 2xx %d (answers by status %s)
  deliveries received %d, distinct webhook-ids %d, duplicates %d
  lost (acknowledged, never delivered on a route that takes it) %d, drain after the senders stopped %v
  serve RSS: peak %.1f MiB, first-quarter peak after warm-up %.1f MiB, last-quarter peak %.1f MiB (%.2fx); peak descriptors %d; samples %d`,
		duration, rate, window, runtime.NumCPU(), ran.Round(time.Second), serveKills, adapterKills, slowOpened.Load(),
		sent, acked, answers, total, distinct, total-distinct, lost, drain.Round(time.Millisecond),
		mib(peakRSS), mib(firstMax), mib(lastMax), float64(lastMax)/float64(max(firstMax, 1)), peakFDs, len(samples))
	t.Log(report)
	fmt.Println(report)

	if lost > 0 {
		t.Errorf("%d acknowledged webhooks were never delivered on a route that takes them", lost)
	}
	if acked == 0 {
		t.Error("no webhook was acknowledged")
	}
	if firstMax == 0 || lastMax == 0 {
		t.Errorf("too few memory samples (%d) to judge the curve", len(samples))
	} else if float64(lastMax) > 1.5*float64(firstMax) {
		t.Errorf("serve's RSS grew: last-quarter peak %.1f MiB is over 1.5x the first-quarter peak %.1f MiB", mib(lastMax), mib(firstMax))
	}
	_ = currentServe().cmd.Process.Signal(os.Interrupt)
	_ = currentServe().wait(t)
}

func mib(b int64) float64 { return float64(b) / (1 << 20) }

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[len(s)-n:]
}

type lockedBuffer struct {
	mu *sync.Mutex
	b  *bytes.Buffer
}

func (w *lockedBuffer) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.b.Len() > 1<<20 {
		w.b.Reset()
	}
	return w.b.Write(p)
}

func applySoakRoute(t *testing.T, grpcAddr, dataDir, id, filter, cond, transform, url string) {
	t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, "id: %s\nfilter: %q\n", id, filter)
	if cond != "" {
		fmt.Fprintf(&b, "condition: %q\n", cond)
	}
	fmt.Fprintf(&b, "targets:\n  - name: t\n    destination: webhook\n    config:\n      url: %s\n", url)
	if transform != "" {
		fmt.Fprintf(&b, "    transform: %q\n", transform)
	}
	routeFile := filepath.Join(t.TempDir(), id+".yaml")
	if err := os.WriteFile(routeFile, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(binary, "routes", "apply", "-f", routeFile, "--server", grpcAddr, "--api-key-file", filepath.Join(dataDir, "admin.key")).CombinedOutput(); err != nil {
		t.Fatalf("routes apply %s: %v\n%s", id, err, out)
	}
}

// soakSender sends signed webhooks at a steady rate and remembers each one
// answered 2xx, by event id, with its source.
type soakSender struct {
	mu       sync.Mutex
	sent     int
	accepted map[string]string // event id -> source
	answers  map[int]int
}

func (s *soakSender) run(stop <-chan struct{}, worker, workers, rate int, serveAddr, adapterAddr string) {
	client := &http.Client{Timeout: 10 * time.Second}
	tick := time.NewTicker(time.Duration(workers) * time.Second / time.Duration(rate))
	defer tick.Stop()
	pad := strings.Repeat("p", 300_000)
	lastPoison := time.Now()
	for n := 0; ; n++ {
		select {
		case <-stop:
			return
		case <-tick.C:
		}
		id := fmt.Sprintf("s%d-%08d", worker, n)
		source, addr := "acme", serveAddr
		if n%5 == 4 {
			source, addr = "beta", adapterAddr
		}
		body := fmt.Sprintf(`{"id":%q,"type":"item.created","n":%d}`, id, n)
		if worker == 0 && source == "acme" && time.Since(lastPoison) > 10*time.Second {
			body = fmt.Sprintf(`{"id":%q,"type":"item.poison","n":%d,"pad":%q}`, id, n, pad)
			lastPoison = time.Now()
		}
		mac := hmac.New(sha256.New, []byte(inboundSecret))
		mac.Write([]byte(body))
		req, _ := http.NewRequest(http.MethodPost, "http://"+addr+"/webhooks/"+source, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Signature", hex.EncodeToString(mac.Sum(nil)))
		resp, err := client.Do(req)
		code := 0
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			code = resp.StatusCode
		}
		s.mu.Lock()
		s.sent++
		s.answers[code]++
		if code/100 == 2 {
			s.accepted[id] = source
		}
		s.mu.Unlock()
	}
}

func (s *soakSender) counts() (sent, acked int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sent, len(s.accepted)
}

// missing counts the deliveries of acknowledged webhooks that r has not
// received: routes all and copy for acme, beta for beta.
func (s *soakSender) missing(r *dedupeReceiver) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	r.mu.Lock()
	defer r.mu.Unlock()
	lost := 0
	for id, source := range s.accepted {
		routes := []string{"all", "copy"}
		if source == "beta" {
			routes = []string{"beta"}
		}
		for _, route := range routes {
			if r.byID[router.DeliveryID(source, id, route, "t")] == 0 {
				lost++
			}
		}
	}
	return lost
}

// holdHalfOpen keeps one connection to addr holding half a request, and
// opens another whenever the server closes it.
func holdHalfOpen(stop <-chan struct{}, addr string, opened *atomic.Int64) {
	for {
		select {
		case <-stop:
			return
		default:
		}
		c, err := net.DialTimeout("tcp", addr, 5*time.Second)
		if err != nil {
			select {
			case <-stop:
				return
			case <-time.After(500 * time.Millisecond):
			}
			continue
		}
		opened.Add(1)
		_, _ = io.WriteString(c, "POST /webhooks/acme HTTP/1.1\r\nHost: soak\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"id\":")
		done := make(chan struct{})
		go func() {
			_, _ = io.Copy(io.Discard, c)
			close(done)
		}()
		select {
		case <-stop:
			c.Close()
			<-done
			return
		case <-done:
			c.Close()
		}
	}
}

// procRSS is the resident memory of pid in bytes, 0 when unknown.
func procRSS(pid int) int64 {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return kb << 10
		}
	}
	return 0
}

// procFDs is how many descriptors pid has open.
func procFDs(pid int) int64 {
	es, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		return 0
	}
	return int64(len(es))
}

// saveHeapProfile fetches serve's heap profile (after a GC) into path.
func saveHeapProfile(t *testing.T, addr, path string) {
	resp, err := http.Get("http://" + addr + "/debug/pprof/heap?gc=1")
	if err != nil {
		t.Logf("heap profile: %v", err)
		return
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err == nil {
		err = os.WriteFile(path, b, 0o644)
	}
	if err != nil {
		t.Logf("heap profile: %v", err)
	}
}
