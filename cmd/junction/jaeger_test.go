package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/junctionhq/junction/internal/testports"
	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
)

// JaegerBinEnv names the Jaeger v2 binary TestJaegerOneTracePerWebhook runs
// (`make test-jaeger` builds it and sets it). The test is skipped without it.
const JaegerBinEnv = "JUNCTION_JAEGER_BIN"

// exampleInboundSecret is the acme source's secret in examples/junction.yaml.
const exampleInboundSecret = "whsec_anVuY3Rpb24tZGVtby1pbmJvdW5kLXNlY3JldC0zMmI="

// jaegerTrace is the part of Jaeger's /api/traces/{id} answer the test reads.
type jaegerTrace struct {
	Data []struct {
		TraceID string `json:"traceID"`
		Spans   []struct {
			OperationName string `json:"operationName"`
			ProcessID     string `json:"processID"`
		} `json:"spans"`
	} `json:"data"`
}

// TestJaegerOneTracePerWebhook runs a real Jaeger v2 and `junction serve`
// exporting to it over OTLP gRPC, sends one signed webhook that a route
// delivers, and checks through Jaeger's query API that the event's trace
// (found with `junction events trace`) holds the adapter's, the router's
// and the delivery's spans, and that the webhook made exactly one trace.
func TestJaegerOneTracePerWebhook(t *testing.T) {
	bin := os.Getenv(JaegerBinEnv)
	if bin == "" {
		t.Skipf("set %s to a Jaeger v2 binary (make test-jaeger builds one)", JaegerBinEnv)
	}
	ports := map[string]string{}
	keys := []string{"HEALTH_PORT", "QUERY_HTTP_PORT", "QUERY_GRPC_PORT", "OTLP_GRPC_PORT", "OTLP_HTTP_PORT"}
	for i, p := range testports.Free(t, len(keys)) {
		ports[keys[i]] = strconv.Itoa(p)
	}
	jaeger := exec.Command(bin, "--config", "../../deploy/jaeger/local.yaml")
	jaeger.Env = append(os.Environ(), "OTEL_TRACES_EXPORTER=none")
	for k, v := range ports {
		jaeger.Env = append(jaeger.Env, "JAEGER_"+k+"="+v)
	}
	var jaegerOut bytes.Buffer
	var jmu sync.Mutex
	jaeger.Stdout = writerFunc(func(b []byte) (int, error) { jmu.Lock(); defer jmu.Unlock(); return jaegerOut.Write(b) })
	jaeger.Stderr = jaeger.Stdout
	if err := jaeger.Start(); err != nil {
		t.Fatalf("start jaeger: %v", err)
	}
	t.Cleanup(func() {
		_ = jaeger.Process.Signal(syscall.SIGTERM)
		_ = jaeger.Wait()
	})
	query := "http://127.0.0.1:" + ports["QUERY_HTTP_PORT"]
	waitUntil(t, 60*time.Second, "jaeger query API", func() error {
		resp, err := http.Get(query + "/api/services")
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("status %d", resp.StatusCode)
		}
		return nil
	}, func() string { jmu.Lock(); defer jmu.Unlock(); return jaegerOut.String() })

	// The hub exports to it over OTLP gRPC, from the standard variables.
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:"+ports["OTLP_GRPC_PORT"])
	t.Setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc")
	t.Setenv("OTEL_BSP_SCHEDULE_DELAY", "100")
	dataDir := t.TempDir()
	serve := func() (*proc, string, string) {
		p := start(t, "serve", "--config", "../../examples/junction.yaml", "--data-dir", dataDir,
			"--http-addr", "127.0.0.1:0", "--grpc-addr", "127.0.0.1:0", "--nats-addr", "127.0.0.1:0", "--log-level", "warn")
		return p, p.waitLine(t, restLine)[1], p.waitLine(t, grpcLine)[1]
	}
	p, _, grpcAddr := serve()

	got := make(chan struct{}, 4)
	rcv := newHTTPServer(t, func(w http.ResponseWriter, _ *http.Request) {
		got <- struct{}{}
		w.WriteHeader(http.StatusNoContent)
	})
	routeFile := filepath.Join(t.TempDir(), "route.yaml")
	if err := os.WriteFile(routeFile, []byte("id: jaeger-route\nfilter: acme.user.created\ntargets:\n  - destination: webhook\n    config:\n      url: "+rcv+"/hook\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(binary, "routes", "apply", "-f", routeFile, "--server", grpcAddr, "--api-key-file", filepath.Join(dataDir, "admin.key")).CombinedOutput(); err != nil {
		t.Fatalf("routes apply: %v\n%s", err, out)
	}
	// Restart: a starting router loads every route before it takes an
	// event, so the one webhook below is matched for sure.
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	if err := p.wait(t); err != nil {
		t.Fatalf("serve exited with %v", err)
	}
	p, httpAddr, grpcAddr := serve()
	t.Cleanup(func() { _ = p.cmd.Process.Signal(syscall.SIGTERM); _ = p.wait(t) })
	body := []byte(`{"event":"user.created","timestamp":"2026-06-20T19:08:41Z","data":{"email":"j@example.com"}}`)
	wh, _ := standardwebhooks.NewWebhook(exampleInboundSecret)
	now := time.Now()
	sig, _ := wh.Sign("msg_jaeger_1", now, body)
	req, _ := http.NewRequest(http.MethodPost, "http://"+httpAddr+"/webhooks/acme", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("webhook-id", "msg_jaeger_1")
	req.Header.Set("webhook-timestamp", fmt.Sprint(now.Unix()))
	req.Header.Set("webhook-signature", sig)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("webhook answered %d", resp.StatusCode)
	}
	select {
	case <-got:
	case <-time.After(60 * time.Second):
		t.Fatalf("the receiver got nothing:\n%s", p.output())
	}

	out, err := exec.Command(binary, "events", "trace", "msg_jaeger_1", "--server", grpcAddr, "--jaeger-url", query, "--api-key-file", filepath.Join(dataDir, "admin.key")).CombinedOutput()
	if err != nil {
		t.Fatalf("events trace: %v\n%s", err, out)
	}
	m := regexp.MustCompile(`TRACE ID:\s+([0-9a-f]{32})`).FindSubmatch(out)
	if m == nil || !strings.Contains(string(out), query+"/trace/") {
		t.Fatalf("events trace printed %s, want a trace id and a Jaeger link", out)
	}
	traceID := string(m[1])

	want := []string{
		"POST /webhooks/{source}",                   // adapter: the inbound webhook
		"publish junction.events.acme.user.created", // adapter: onto EVENTS
		"process junction.events.acme.user.created", // router
		"route jaeger-route",                        // router: the match
		"publish junction.deliveries.webhook.jaeger-route",
		"process junction.deliveries.webhook.jaeger-route", // delivery attempt
		"POST", // the delivery's HTTP request
	}
	var tr jaegerTrace
	waitUntil(t, 60*time.Second, "the whole trace in Jaeger", func() error {
		resp, err := http.Get(query + "/api/traces/" + traceID)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		tr = jaegerTrace{}
		if err := json.Unmarshal(b, &tr); err != nil || len(tr.Data) == 0 {
			return fmt.Errorf("status %d: %s", resp.StatusCode, b)
		}
		names := map[string]bool{}
		for _, s := range tr.Data[0].Spans {
			names[s.OperationName] = true
		}
		for _, w := range want {
			if !names[w] {
				return fmt.Errorf("no span %q yet; have %v", w, names)
			}
		}
		return nil
	}, p.output)

	for _, s := range tr.Data[0].Spans {
		t.Logf("span in Jaeger: %s", s.OperationName)
	}

	// One webhook, one trace: no other trace of junction-serve holds a
	// webhook or delivery span.
	resp, err = http.Get(query + "/api/traces?service=junction-serve&limit=100&lookback=1h")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var all jaegerTrace
	if err := json.NewDecoder(resp.Body).Decode(&all); err != nil {
		t.Fatal(err)
	}
	var flows []string
	for _, d := range all.Data {
		for _, s := range d.Spans {
			if s.OperationName == "POST /webhooks/{source}" || strings.HasPrefix(s.OperationName, "process junction.") {
				flows = append(flows, d.TraceID)
				break
			}
		}
	}
	if len(flows) != 1 || flows[0] != traceID {
		t.Errorf("traces with webhook or processing spans = %v, want only %s", flows, traceID)
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(b []byte) (int, error) { return f(b) }

func waitUntil(t *testing.T, timeout time.Duration, what string, cond func() error, logs func() string) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var err error
	for time.Now().Before(deadline) {
		if err = cond(); err == nil {
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %s: %v\n%s", what, err, logs())
}

func newHTTPServer(t *testing.T, h http.HandlerFunc) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { _ = srv.Close() })
	return "http://" + l.Addr().String()
}
