package bench

import (
	"context"
	"log/slog"
	"testing"

	"github.com/junctionhq/junction/adapters/webhook"
	"github.com/junctionhq/junction/internal/hub"
)

// startHub runs an all-in-one hub configured as the webhook scenario's
// `junction serve` and returns its webhook URL and NATS URL.
func startHub(t *testing.T) (url, natsURL, dataDir string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	cfg := hub.Config{
		DataDir: t.TempDir(), HTTPAddr: "127.0.0.1:0", GRPCAddr: "127.0.0.1:0", NATSAddr: "127.0.0.1:0",
		Webhook: webhook.Config{
			Sources:  []webhook.SourceConfig{{Name: Source, Scheme: webhook.SchemeStandardWebhooks, SecretRef: webhook.SecretRef{Secret: InboundSecret}, RateLimit: webhook.RateLimit{PerSecond: 1e6, Burst: 1e6}}},
			Outbound: webhook.OutboundConfig{SecretRef: webhook.SecretRef{Secret: OutboundSecret}, Allow: []string{"127.0.0.1/32"}},
		},
	}
	h, err := hub.New(ctx, cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		cancel()
		t.Fatalf("hub.New: %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- h.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("hub Run = %v", err)
		}
	})
	if err := h.WaitReady(ctx, nil); err != nil {
		t.Fatalf("hub not ready: %v", err)
	}
	a := h.Addrs()
	return "http://" + a.HTTP + "/webhooks/" + Source, a.NATS, cfg.DataDir
}
