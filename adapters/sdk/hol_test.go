package sdk_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/junctionhq/junction/adapters/sdk"
	"github.com/junctionhq/junction/adapters/sdk/sdktest"
	"github.com/junctionhq/junction/adapters/sdk/topology"
	junctionv1 "github.com/junctionhq/junction/proto/junction/v1"
)

// TestSinkNoHeadOfLineBlocking: more deliveries than the live consumer's
// MaxAckPending (1000) fail and wait an hour for their retry; a delivery
// published behind them is still delivered at once, because the waiting
// retries sit on the RETRIES stream, not on the live consumer. Without
// that, the live consumer would hand out nothing more until a retry was
// due, and the test would time out.
func TestSinkNoHeadOfLineBlocking(t *testing.T) {
	const failing = 1100
	hub := sdktest.NewHub(t)
	var mu sync.Mutex
	attempts := map[string]int{}
	var goodAt time.Time
	s := &testSink{fn: func(_ context.Context, d *junctionv1.Delivery, _ int) error {
		mu.Lock()
		defer mu.Unlock()
		attempts[d.GetId()]++
		if strings.HasPrefix(d.GetId(), "bad-") {
			return sdk.Retryable(errors.New("503 service unavailable"))
		}
		goodAt = time.Now()
		return nil
	}}
	startRunner(t, newRunner(t, hub, "testapp", s, sdk.Config{Concurrency: 16}))

	slow := &junctionv1.DeliveryPolicy{MaxAttempts: 5, InitialBackoff: durationpb.New(time.Hour), MaxBackoff: durationpb.New(time.Hour)}
	for i := range failing {
		d := testDelivery(fmt.Sprintf("bad-%04d", i), slow)
		hub.PublishDelivery(t, d)
	}
	waitFor(t, "every failing delivery to make its first attempt", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(attempts) >= failing
	})
	hub.PublishDelivery(t, testDelivery("good", slow))
	waitFor(t, "the good delivery behind them", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return !goodAt.IsZero()
	})
	waitFor(t, fmt.Sprintf("RETRIES to hold the %d failing deliveries", failing), func() bool {
		return hub.StreamMsgs(t, topology.RetriesStream) == failing
	})
	mu.Lock()
	defer mu.Unlock()
	for id, n := range attempts {
		if n != 1 {
			t.Errorf("delivery %s attempted %d times, want 1 (its retry is an hour away)", id, n)
		}
	}
	t.Logf("%d deliveries waiting on retry; the delivery behind them was delivered", failing)
}
