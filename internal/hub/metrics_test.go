package hub

import (
	"fmt"
	"net/http"
	"sort"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"google.golang.org/protobuf/types/known/durationpb"

	junctionv1 "github.com/junctionhq/junction/proto/junction/v1"
)

// scrape reads the hub's /metrics over HTTP and parses it with the
// Prometheus text parser.
func scrape(t *testing.T, h *running) map[string]*dto.MetricFamily {
	t.Helper()
	resp, err := http.Get("http://" + h.Addrs().HTTP + "/metrics")
	if err != nil {
		t.Fatalf("GET /metrics: %v", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /metrics = %d, want 200", resp.StatusCode)
	}
	p := expfmt.NewTextParser(model.LegacyValidation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("parse /metrics: %v", err)
	}
	return fams
}

// value is the counter or gauge value of the series of name with labels
// (a subset match), or a histogram's sample count; 0 when absent.
func value(fams map[string]*dto.MetricFamily, name string, labels map[string]string) float64 {
	f, ok := fams[name]
	if !ok {
		return 0
	}
	var sum float64
	for _, m := range f.GetMetric() {
		if !hasLabels(m, labels) {
			continue
		}
		switch {
		case m.GetCounter() != nil:
			sum += m.GetCounter().GetValue()
		case m.GetGauge() != nil:
			sum += m.GetGauge().GetValue()
		case m.GetHistogram() != nil:
			sum += float64(m.GetHistogram().GetSampleCount())
		}
	}
	return sum
}

func hasLabels(m *dto.Metric, want map[string]string) bool {
	for k, v := range want {
		found := false
		for _, lp := range m.GetLabel() {
			if lp.GetName() == k && lp.GetValue() == v {
				found = true
			}
		}
		if !found {
			return false
		}
	}
	return true
}

// TestMetricsMoveAsEventsFlow scrapes /metrics before and after one
// accepted webhook (matched by two routes: one delivered after a retry,
// one dead-lettered) and one rejected webhook, and checks every counter,
// histogram and gauge the docs list moved as it should.
func TestMetricsMoveAsEventsFlow(t *testing.T) {
	h := startHub(t, testConfig(t.TempDir()))
	ok := newFlaky(t, 1, http.StatusServiceUnavailable)
	refused := newFlaky(t, 100, http.StatusBadRequest)
	fast := &junctionv1.DeliveryPolicy{InitialBackoff: durationpb.New(50 * time.Millisecond), MaxBackoff: durationpb.New(100 * time.Millisecond)}
	createRoute(t, h, "metrics-ok", ok.URL, fast)
	createRoute(t, h, "metrics-refused", refused.URL, fast)

	before := scrape(t, h)
	postSigned(t, h, "msg_metrics_1", userCreated("pro", "m@example.com"), nil)
	// A bad signature: rejected.
	req, _ := http.NewRequest(http.MethodPost, "http://"+h.Addrs().HTTP+"/webhooks/acme", strings.NewReader(`{}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("webhook-id", "msg_bad")
	req.Header.Set("webhook-timestamp", fmt.Sprint(time.Now().Unix()))
	req.Header.Set("webhook-signature", "v1,AAAA")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("badly signed webhook answered %d, want 401", resp.StatusCode)
	}
	waitFor(t, 30*time.Second, "both deliveries settled", func() error {
		if len(ok.requests()) < 2 || len(refused.requests()) < 1 {
			return fmt.Errorf("ok receiver got %d requests, refused %d", len(ok.requests()), len(refused.requests()))
		}
		return nil
	})
	h.settled(t)
	var after map[string]*dto.MetricFamily
	dest := map[string]string{"destination": "webhook"}
	waitFor(t, 10*time.Second, "dead letter counted", func() error {
		after = scrape(t, h)
		if value(after, "junction_dead_letters", dest) < 1 {
			return fmt.Errorf("junction_dead_letters = %v", value(after, "junction_dead_letters", dest))
		}
		return nil
	})

	tests := []struct {
		name   string
		labels map[string]string
		delta  float64
	}{
		{"junction_events_ingested_total", map[string]string{"source": "acme", "type": "user.created", "outcome": "stored"}, 1},
		{"junction_webhook_rejections_total", map[string]string{"source": "acme", "reason": "signature"}, 1},
		{"junction_route_matches_total", map[string]string{"route": "metrics-ok"}, 1},
		{"junction_route_matches_total", map[string]string{"route": "metrics-refused"}, 1},
		{"junction_router_events_total", map[string]string{"outcome": "routed"}, 1},
		{"junction_delivery_attempts_total", map[string]string{"destination": "webhook", "outcome": "retry"}, 1},
		{"junction_delivery_attempts_total", map[string]string{"destination": "webhook", "outcome": "success"}, 1},
		{"junction_delivery_attempts_total", map[string]string{"destination": "webhook", "outcome": "dead_letter"}, 1},
		{"junction_deliveries_total", map[string]string{"destination": "webhook", "outcome": "success"}, 1},
		{"junction_deliveries_total", map[string]string{"destination": "webhook", "outcome": "dead_letter"}, 1},
		{"junction_delivery_attempt_duration_seconds", dest, 3},
		{"junction_delivery_lag_seconds", map[string]string{"destination": "webhook", "route": "metrics-ok"}, 1},
		// otelhttp's HTTP metrics, recorded by natstrace's handler and
		// transport whether or not spans are: the webhooks in, the
		// attempts out.
		{"http_server_request_duration_seconds", map[string]string{"http_request_method": "POST", "http_response_status_code": "202"}, 1},
		{"http_server_request_duration_seconds", map[string]string{"http_request_method": "POST", "http_response_status_code": "401"}, 1},
		{"http_server_request_body_size_bytes", map[string]string{"http_request_method": "POST", "http_response_status_code": "202"}, 1},
		{"http_client_request_duration_seconds", map[string]string{"http_request_method": "POST", "http_response_status_code": "503"}, 1},
		{"http_client_request_duration_seconds", map[string]string{"http_request_method": "POST", "http_response_status_code": "400"}, 1},
		{"http_client_request_body_size_bytes", map[string]string{"http_request_method": "POST"}, 3},
	}
	for _, tt := range tests {
		got := value(after, tt.name, tt.labels) - value(before, tt.name, tt.labels)
		if got != tt.delta {
			t.Errorf("%s%v moved by %v, want %v", tt.name, tt.labels, got, tt.delta)
		}
	}
	if got := value(after, "junction_dead_letters", dest); got != 1 {
		t.Errorf("junction_dead_letters{destination=webhook} = %v, want 1", got)
	}
	for _, name := range []string{"junction_consumer_pending_messages", "junction_consumer_ack_pending_messages"} {
		if _, ok := after[name]; !ok {
			t.Errorf("%s missing", name)
		}
	}
	if !hasSeries(after, "junction_consumer_pending_messages", map[string]string{"consumer": "deliver-webhook", "destination": "webhook", "stream": "DELIVERIES"}) {
		t.Errorf("junction_consumer_pending_messages has no series for deliver-webhook")
	}
	if !hasSeries(after, "junction_consumer_pending_messages", map[string]string{"consumer": "retry-webhook", "destination": "webhook", "stream": "RETRIES"}) {
		t.Errorf("junction_consumer_pending_messages has no series for retry-webhook")
	}
	// Prometheus conventions: counters end in _total, the histogram in
	// _seconds with buckets.
	for name, f := range after {
		if !strings.HasPrefix(name, "junction_") {
			continue
		}
		switch f.GetType() {
		case dto.MetricType_COUNTER:
			if !strings.HasSuffix(name, "_total") {
				t.Errorf("counter %s does not end in _total", name)
			}
		case dto.MetricType_HISTOGRAM:
			if !strings.HasSuffix(name, "_seconds") {
				t.Errorf("histogram %s does not end in _seconds", name)
			}
		}
	}
	if testing.Verbose() {
		var names []string
		for name := range after {
			if strings.HasPrefix(name, "junction_") {
				names = append(names, name)
			}
		}
		sort.Strings(names)
		t.Logf("junction metrics: %v", names)
	}
}

func hasSeries(fams map[string]*dto.MetricFamily, name string, labels map[string]string) bool {
	f, ok := fams[name]
	if !ok {
		return false
	}
	for _, m := range f.GetMetric() {
		if hasLabels(m, labels) {
			return true
		}
	}
	return false
}
