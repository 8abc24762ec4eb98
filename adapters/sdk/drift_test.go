package sdk_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/junctionhq/junction/adapters/sdk"
	"github.com/junctionhq/junction/adapters/sdk/sdktest"
	junctionv1 "github.com/junctionhq/junction/proto/junction/v1"
)

// driftSource emits one event per POST to /webhooks/<source>: id from
// X-Event-Id, type from X-Type, provider version from X-Version, and one
// mapping error when X-Unmapped names a field.
type driftSource struct{}

func (driftSource) Webhook(emit sdk.EmitFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		e := &junctionv1.Event{
			Id:              r.Header.Get("X-Event-Id"),
			Source:          strings.TrimPrefix(r.URL.Path, "/webhooks/"),
			Type:            r.Header.Get("X-Type"),
			ProviderVersion: r.Header.Get("X-Version"),
			Data:            body,
		}
		if f := r.Header.Get("X-Unmapped"); f != "" {
			e.MappingErrors = []*junctionv1.MappingError{{Field: f, Reason: "missing"}}
		}
		if _, err := emit(r.Context(), e); err != nil {
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
			return
		}
		w.WriteHeader(http.StatusAccepted)
	})
}

// The bounds of the metric's labels (sdk's unexported driftMax*
// constants), as docs/observability.md states them.
const (
	driftMaxTypes    = 50
	driftMaxVersions = 10
)

// mappingFailures reads junction_source_mapping_failures_total from the
// adapter's /metrics, keyed "source/type/provider_version".
func mappingFailures(t *testing.T, base string) map[string]float64 {
	t.Helper()
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	p := expfmt.NewTextParser(model.LegacyValidation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("parse /metrics: %v", err)
	}
	out := map[string]float64{}
	for _, m := range fams["junction_source_mapping_failures_total"].GetMetric() {
		l := labels(m)
		out[l["source"]+"/"+l["type"]+"/"+l["provider_version"]] += m.GetCounter().GetValue()
	}
	return out
}

// TestMappingFailureMetric: an event stored with mapping errors counts
// once per source, type and provider version (a provider's retry does
// not count again, an event that mapped does not count), a missing
// version is "unknown", and a long type is cut.
func TestMappingFailureMetric(t *testing.T) {
	hub := sdktest.NewHub(t)
	srv := httptest.NewServer(newRunner(t, hub, "drifty", driftSource{}, sdk.Config{}).Handler())
	t.Cleanup(srv.Close)
	long := "order." + strings.Repeat("x", 100)
	tests := []struct {
		name     string
		id, typ  string
		version  string
		unmapped string
		want     string // the series that moves by one; "" none
	}{
		{name: "unmapped field", id: "d1", typ: "order.created", version: "2026-01-28", unmapped: "data.total", want: "drift/order.created/2026-01-28"},
		{name: "provider retry", id: "d1", typ: "order.created", version: "2026-01-28", unmapped: "data.total"},
		{name: "mapped", id: "d2", typ: "order.created", version: "2026-01-28"},
		{name: "another version", id: "d3", typ: "order.created", version: "2026-04", unmapped: "data.total", want: "drift/order.created/2026-04"},
		{name: "no version", id: "d4", typ: "payment.succeeded", unmapped: "data.amount", want: "drift/payment.succeeded/" + "unknown"},
		{name: "long type cut", id: "d5", typ: long, version: "v1", unmapped: "x", want: "drift/" + long[:64] + "/v1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := mappingFailures(t, srv.URL)
			post(t, srv.URL, "drift", tt.id, tt.typ, tt.version, tt.unmapped)
			after := mappingFailures(t, srv.URL)
			for k, v := range after {
				moved := v - before[k]
				want := 0.0
				if k == tt.want {
					want = 1
				}
				if moved != want {
					t.Errorf("series %s moved by %v, want %v", k, moved, want)
				}
			}
			if tt.want != "" && after[tt.want] == 0 {
				t.Errorf("series %s absent from /metrics; have %v", tt.want, after)
			}
		})
	}
}

// TestMappingFailureMetricBounded: past DriftMaxTypes types and
// DriftMaxVersions versions of one source, new values count under
// "other"; values seen before keep their own series.
func TestMappingFailureMetricBounded(t *testing.T) {
	hub := sdktest.NewHub(t)
	srv := httptest.NewServer(newRunner(t, hub, "drifty", driftSource{}, sdk.Config{}).Handler())
	t.Cleanup(srv.Close)
	// The metric and its bounds are the process's: a source of its own
	// per run keeps the test repeatable (go test -count=N).
	fold := fmt.Sprintf("fold%d", foldRuns.Add(1))
	for i := range driftMaxTypes + 5 {
		post(t, srv.URL, fold, fmt.Sprintf("t%d", i), fmt.Sprintf("thing%d.updated", i), fmt.Sprintf("v%d", i%(driftMaxVersions+3)), "f")
	}
	post(t, srv.URL, fold, "again", "thing0.updated", "v0", "f")
	got := mappingFailures(t, srv.URL)
	types, versions := map[string]bool{}, map[string]bool{}
	var total float64
	for k, v := range got {
		parts := strings.SplitN(k, "/", 3)
		if parts[0] != fold {
			continue
		}
		types[parts[1]], versions[parts[2]] = true, true
		total += v
	}
	if want := float64(driftMaxTypes + 6); total != want {
		t.Errorf("source %s counted %v events in all, want %v", fold, total, want)
	}
	if n := len(types); n != driftMaxTypes+1 {
		t.Errorf("source %s has %d type values, want %d and %q", fold, n, driftMaxTypes, "other")
	}
	if n := len(versions); n != driftMaxVersions+1 {
		t.Errorf("source %s has %d provider_version values, want %d and %q", fold, n, driftMaxVersions, "other")
	}
	if !types["other"] || !versions["other"] {
		t.Errorf("no %q value: types %v versions %v", "other", types, versions)
	}
	if k := fold + "/thing0.updated/v0"; got[k] != 2 {
		t.Errorf("%s = %v, want 2 (a value seen before the bound keeps its series)", k, got[k])
	}
}

// foldRuns numbers TestMappingFailureMetricBounded's runs in this process.
var foldRuns atomic.Int32

func post(t *testing.T, base, source, id, typ, version, unmapped string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, base+"/webhooks/"+source, strings.NewReader(`{}`))
	req.Header.Set("X-Event-Id", id)
	req.Header.Set("X-Type", typ)
	if version != "" {
		req.Header.Set("X-Version", version)
	}
	if unmapped != "" {
		req.Header.Set("X-Unmapped", unmapped)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("POST %s %s: %d %s", source, id, resp.StatusCode, b)
	}
}
