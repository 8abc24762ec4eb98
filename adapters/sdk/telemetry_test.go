package sdk_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/junctionhq/junction/adapters/sdk"
	"github.com/junctionhq/junction/adapters/sdk/sdktest"
)

// ingested reads junction_events_ingested_total for source acme, type
// thing.happened and outcome from the adapter's /metrics.
func ingested(t *testing.T, base, outcome string) float64 {
	t.Helper()
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /metrics = %d", resp.StatusCode)
	}
	p := expfmt.NewTextParser(model.LegacyValidation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("parse /metrics: %v", err)
	}
	var sum float64
	for _, m := range fams["junction_events_ingested_total"].GetMetric() {
		if labels(m)["source"] == "acme" && labels(m)["type"] == "thing.happened" && labels(m)["outcome"] == outcome {
			sum += m.GetCounter().GetValue()
		}
	}
	return sum
}

func labels(m *dto.Metric) map[string]string {
	out := map[string]string{}
	for _, l := range m.GetLabel() {
		out[l.GetName()] = l.GetValue()
	}
	return out
}

// TestRunnerMetrics: an adapter process serves /metrics, and its ingest
// counter moves by outcome as webhooks arrive.
func TestRunnerMetrics(t *testing.T) {
	hub := sdktest.NewHub(t)
	srv := httptest.NewServer(newRunner(t, hub, "echo", echoSource{}, sdk.Config{}).Handler())
	t.Cleanup(srv.Close)
	stored0, dup0 := ingested(t, srv.URL, "stored"), ingested(t, srv.URL, "duplicate")
	for _, id := range []string{"m1", "m2", "m1"} {
		req, _ := http.NewRequest(http.MethodPost, srv.URL+"/webhooks/acme", strings.NewReader(`{}`))
		req.Header.Set("X-Event-Id", id)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	if got := ingested(t, srv.URL, "stored") - stored0; got != 2 {
		t.Errorf("stored moved by %v, want 2", got)
	}
	if got := ingested(t, srv.URL, "duplicate") - dup0; got != 1 {
		t.Errorf("duplicate moved by %v, want 1", got)
	}
}
