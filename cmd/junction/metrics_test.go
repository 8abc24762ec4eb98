package main

import (
	"net/http"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/junctionhq/junction/adapters/sdk/sdktest"
)

// TestComponentMetrics: the router (on its health listener) and the
// gateway (on its HTTP listener) serve Prometheus /metrics that the text
// parser reads, the gateway with the JetStream gauges.
func TestComponentMetrics(t *testing.T) {
	hub := sdktest.NewHub(t)
	routerHealth := freeAddr(t)
	start(t, "router", "--nats-url", hub.URL, "--health-addr", routerHealth, "--log-level", "warn")
	gwHTTP, gwGRPC := freeAddr(t), freeAddr(t)
	start(t, "gateway", "--nats-url", hub.URL, "--http-addr", gwHTTP, "--grpc-addr", gwGRPC, "--log-level", "warn")
	for _, tc := range []struct {
		name, addr, want string
	}{
		{"router", routerHealth, "go_goroutines"},
		{"gateway", gwHTTP, "junction_consumer_pending_messages"},
	} {
		var err error
		var found bool
		for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline) && !found; time.Sleep(100 * time.Millisecond) {
			var resp *http.Response
			if resp, err = http.Get("http://" + tc.addr + "/metrics"); err != nil {
				continue
			}
			p := expfmt.NewTextParser(model.LegacyValidation)
			fams, perr := p.TextToMetricFamilies(resp.Body)
			resp.Body.Close()
			if err = perr; err == nil {
				_, found = fams[tc.want]
			}
		}
		if !found {
			t.Errorf("%s /metrics has no %s (last error %v)", tc.name, tc.want, err)
		}
	}
}
