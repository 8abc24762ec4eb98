package conformance_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/junctionhq/junction/adapters/sdk"
	"github.com/junctionhq/junction/adapters/sdk/sdktest/conformance"
	junctionv1 "github.com/junctionhq/junction/proto/junction/v1"
)

// laxSource verifies nothing and ignores the provider's id: everything a
// source must not do.
type laxSource struct{}

func (laxSource) Webhook(emit sdk.EmitFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if !json.Valid(body) {
			body = []byte(`{}`)
		}
		if _, err := emit(r.Context(), &junctionv1.Event{Source: "lax", Type: "item.created", Data: body}); err != nil {
			w.WriteHeader(http.StatusInternalServerError)
			return
		}
		w.WriteHeader(http.StatusAccepted)
	})
}

// laxSink posts without an idempotency key and treats every failure as
// permanent.
type laxSink struct{}

func (s *laxSink) Deliver(ctx context.Context, d *junctionv1.Delivery) error {
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, d.GetConfig()["url"], strings.NewReader(string(d.GetPayload())))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return sdk.Permanent(err)
	}
	resp.Body.Close()
	if resp.StatusCode >= 300 {
		return sdk.Permanent(fmt.Errorf("status %d", resp.StatusCode))
	}
	return nil
}

func laxRequest(_ *testing.T, id string, bad conformance.Bad) *http.Request {
	r := httptest.NewRequest(http.MethodPost, "/webhooks/lax", strings.NewReader(`{"id":"`+id+`"}`))
	r.Header.Set("Content-Type", "application/json")
	return r
}

// TestLaxAdapters is run only by TestSuitesCatchLaxAdapters, in a child
// process: both suites must fail on the lax adapters.
func TestLaxAdapters(t *testing.T) {
	switch os.Getenv("CONFORMANCE_LAX") {
	case "source":
		conformance.RunSource(t, conformance.SourceCase{App: "lax", New: func(*testing.T) any { return laxSource{} }, Request: laxRequest})
	case "sink":
		conformance.RunSink(t, conformance.SinkCase{
			App: "lax",
			New: func(t *testing.T) (any, conformance.App) {
				return &laxSink{}, conformance.NewHTTPApp(t, "Idempotency-Key")
			},
			Config: func(app conformance.App) map[string]string {
				return map[string]string{"url": app.(*conformance.HTTPApp).URL}
			},
		})
	default:
		t.Skip("run by TestSuitesCatchLaxAdapters")
	}
}

// TestSuitesCatchLaxAdapters shows the suites can fail: run on adapters
// that skip verification, ignore ids, drop the idempotency key and never
// retry, they report each of those faults.
func TestSuitesCatchLaxAdapters(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a child test process")
	}
	tests := []struct {
		suite string
		want  []string // failures the child must report
	}{
		{"source", []string{
			"bad signature answered 202", "stored 1 events, want none",
			"stored event id", "3 sends of one event stored 3 events, want 1",
		}},
		{"sink", []string{
			"want one delivery with idempotency key",
			"a 503 was dead-lettered after 1 attempt(s), want it retried",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.suite, func(t *testing.T) {
			cmd := exec.Command(os.Args[0], "-test.run=^TestLaxAdapters$", "-test.v")
			cmd.Env = append(os.Environ(), "CONFORMANCE_LAX="+tt.suite)
			out, err := cmd.CombinedOutput()
			if err == nil {
				t.Fatalf("the %s suite passed a lax adapter:\n%s", tt.suite, out)
			}
			for _, w := range tt.want {
				if !strings.Contains(string(out), w) {
					t.Errorf("the %s suite's report lacks %q:\n%s", tt.suite, w, out)
				}
			}
		})
	}
}
