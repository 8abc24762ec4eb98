package bench

import (
	"context"
	"os"
	"testing"
)

// TestHopSmoke runs every router-hop pipeline with a few events: every
// event must arrive on the second stream. It checks correctness, not speed.
func TestHopSmoke(t *testing.T) {
	for _, p := range []Pipeline{Baseline, BaselinePlus, Junction} {
		t.Run(string(p), func(t *testing.T) {
			res, err := RunHop(context.Background(), HopConfig{Pipeline: p, N: 500, Dir: t.TempDir()})
			if err != nil {
				t.Fatalf("RunHop(%s) = %v, want every event drained", p, err)
			}
			if res.N != 500 || res.EventsPerSec <= 0 {
				t.Errorf("RunHop(%s) = %+v, want N 500 and a positive rate", p, res)
			}
		})
	}
}

// TestWebhookSmoke runs the webhook scenario at a very small size straight
// to the receiver (the driver's floor), through the baseline with HTTP in and out, plain and plus, and through Junction's hub (the same
// code `junction serve` runs, in process): every event must reach the
// receiver with a valid signature.
func TestWebhookSmoke(t *testing.T) {
	cfg := WebhookConfig{Rates: []float64{200}, Seconds: 0.25, MaxN: 100, Workers: 8, Warmup: 20}
	t.Run("floor", func(t *testing.T) {
		rcv, err := NewFloorReceiver()
		if err != nil {
			t.Fatal(err)
		}
		defer rcv.Close()
		checkWebhook(t, rcv.URL(), rcv, cfg)
	})
	t.Run("baseline", func(t *testing.T) {
		rcv := newTestReceiver(t)
		addr, err := FreeAddr()
		if err != nil {
			t.Fatal(err)
		}
		b, err := StartBaseline(context.Background(), BaselineConfig{Dir: t.TempDir(), HTTPAddr: addr, ReceiverURL: rcv.URL()})
		if err != nil {
			t.Fatalf("StartBaseline: %v", err)
		}
		defer b.Close()
		checkWebhook(t, b.URL(), rcv, cfg)
	})
	t.Run("baseline+", func(t *testing.T) {
		rcv := newTestReceiver(t)
		addr, err := FreeAddr()
		if err != nil {
			t.Fatal(err)
		}
		b, err := StartBaseline(context.Background(), BaselineConfig{Dir: t.TempDir(), HTTPAddr: addr, ReceiverURL: rcv.URL(), Plus: true})
		if err != nil {
			t.Fatalf("StartBaseline(Plus): %v", err)
		}
		defer b.Close()
		checkWebhook(t, b.URL(), rcv, cfg)
	})
	t.Run("junction", func(t *testing.T) {
		rcv := newTestReceiver(t)
		url, natsURL, dataDir := startHub(t)
		if err := RouteToReceiver(context.Background(), natsURL, dataDir, rcv.URL()); err != nil {
			t.Fatalf("RouteToReceiver: %v", err)
		}
		// The hub runs in this process: its CPU is this process's.
		pcfg := cfg
		pcfg.PID = os.Getpid()
		res := checkWebhook(t, url, rcv, pcfg)
		if res.Fixed[0].CPUMicrosPerEvent <= 0 || res.CPUMicrosPerEvent <= 0 {
			t.Errorf("CPU per event: fixed rate %v, max rate %v µs; want both measured with a PID", res.Fixed[0].CPUMicrosPerEvent, res.CPUMicrosPerEvent)
		}
	})
}

func newTestReceiver(t *testing.T) *Receiver {
	t.Helper()
	rcv, err := NewReceiver()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rcv.Close() })
	return rcv
}

func checkWebhook(t *testing.T, url string, rcv *Receiver, cfg WebhookConfig) WebhookResult {
	t.Helper()
	res, err := RunWebhook(context.Background(), url, rcv, cfg)
	if err != nil {
		t.Fatalf("RunWebhook = %v, want every event delivered", err)
	}
	want := int(cfg.Rates[0] * cfg.Seconds)
	if len(res.Fixed) != 1 || res.Fixed[0].N != want {
		t.Fatalf("fixed-rate phase = %+v, want %d events measured", res.Fixed, want)
	}
	if res.Max.N != cfg.MaxN || res.Max.Sends != 0 {
		t.Errorf("max-rate phase = %+v, want %d events and no failed sends", res.Max, cfg.MaxN)
	}
	if res.BadSignatures != 0 {
		t.Errorf("bad signatures = %d, want 0", res.BadSignatures)
	}
	return res
}
