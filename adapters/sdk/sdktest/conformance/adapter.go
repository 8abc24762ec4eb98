package conformance

import (
	"context"
	"log/slog"
	"net/http"

	"github.com/junctionhq/junction/adapters/sdk"
	"github.com/junctionhq/junction/adapters/sdk/platform"
	"github.com/junctionhq/junction/adapters/sdk/sdktest"
)

// Adapter is an adapter value run against a test hub by the SDK's engine,
// as sdk.Main runs it in an adapter process, for the tests of an adapter
// that the suites do not cover: a test drives its webhook handler and its
// sink through the real publishing, acks, retries and dead letters.
type Adapter struct{ r *platform.Runner }

// Start prepares adapter, with spec, to run against hub; it fails as
// sdk.Main would (an invalid spec, no role). Logs are discarded.
func Start(hub *sdktest.Hub, spec sdk.Spec, adapter any) (*Adapter, error) {
	r, err := platform.NewRunner(spec, adapter, hub.NC, platform.RunnerOptions{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		return nil, err
	}
	return &Adapter{r: r}, nil
}

// Handler is the adapter's HTTP handler: /webhooks/ for a webhook source,
// and /healthz and /readyz. Webhooks are answered without Run.
func (a *Adapter) Handler() http.Handler { return a.r.Handler() }

// Run runs the adapter's roles (its sink's consumers, polling, heartbeats)
// until ctx is cancelled, then stops gracefully and returns nil.
func (a *Adapter) Run(ctx context.Context) error { return a.r.Run(ctx) }
