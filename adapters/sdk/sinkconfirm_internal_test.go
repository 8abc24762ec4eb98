package sdk

import (
	"context"
	"errors"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/junctionhq/junction/adapters/sdk/platform/topology"
	"github.com/junctionhq/junction/adapters/sdk/sdktest"
	junctionv1 "github.com/junctionhq/junction/proto/junction/v1"
)

// failSink fails every delivery with a retryable error.
type failSink struct{}

func (failSink) Deliver(context.Context, *junctionv1.Delivery) error {
	return errors.New("503 from upstream")
}

// TestSinkSuccessConfirmedByItsRecord: a successful attempt is acked and
// its record stored with the record's ack awaited before the worker is
// free (the record's ack confirms the delivery's, in place of a double
// ack): handle does not return while the record is unconfirmed, and the
// delivery is not redelivered. A failed attempt's record is not awaited.
// While the sink is stopping, a success is double-acked: the consumer has
// applied the ack when handle returns, and the record is not awaited.
func TestSinkSuccessConfirmedByItsRecord(t *testing.T) {
	const app = "confirmapp"
	tests := []struct {
		name       string
		adapter    Sink
		stopping   bool
		wantWaited bool
		wantState  junctionv1.DeliveryState
	}{
		{"success awaits its record", nopSink{}, false, true, junctionv1.DeliveryState_DELIVERY_STATE_DELIVERED},
		{"failure does not", failSink{}, false, false, junctionv1.DeliveryState_DELIVERY_STATE_RETRYING},
		{"success while stopping double-acks", nopSink{}, true, false, junctionv1.DeliveryState_DELIVERY_STATE_DELIVERED},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hub := sdktest.NewHub(t)
			ctx := t.Context()
			msg, err := topology.DeliveryMsg(&junctionv1.Delivery{
				Id: "dlv_1", EventId: "evt_1", EventSource: "acme", EventType: "order.created",
				RouteId: "r1", Target: "out", Destination: app, Payload: []byte(`{}`),
				ContentType: "application/json", CreateTime: timestamppb.Now(),
			})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := hub.JS.PublishMsg(ctx, msg); err != nil {
				t.Fatal(err)
			}
			cfg := sinkConsumerConfig(app, 1)
			cfg.AckWait = time.Second // a lost ack would redeliver within the test
			cons, err := hub.JS.CreateOrUpdateConsumer(ctx, topology.DeliveriesStream, cfg)
			if err != nil {
				t.Fatal(err)
			}
			m, err := cons.Next(jetstream.FetchMaxWait(5 * time.Second))
			if err != nil {
				t.Fatal(err)
			}

			type call struct {
				waited bool
				state  junctionv1.DeliveryState
			}
			calls := make(chan call, 1)
			release := make(chan struct{})
			store := publishAttempt(hub.JS)
			s := &sink{
				app: app, adapter: tt.adapter, js: hub.JS, log: slog.New(slog.DiscardHandler),
				deadLetter: traceDeadLetter(app, publishDeadLetter(hub.JS, app)),
				record: func(ctx context.Context, a *junctionv1.DeliveryAttempt, report func(error)) error {
					calls <- call{waited: report == nil, state: a.GetOutcome()}
					<-release
					return store(ctx, a, report)
				},
				now:      time.Now,
				stopping: new(atomic.Bool),
			}
			s.stopping.Store(tt.stopping)
			returned := make(chan struct{})
			go func() { s.handle(ctx, m); close(returned) }()

			var c call
			select {
			case c = <-calls:
			case <-time.After(10 * time.Second):
				t.Fatal("no attempt recorded")
			}
			if c.waited != tt.wantWaited || c.state != tt.wantState {
				t.Errorf("record: awaited %v, outcome %s; want awaited %v, outcome %s", c.waited, c.state, tt.wantWaited, tt.wantState)
			}
			if tt.wantWaited {
				select {
				case <-returned:
					t.Error("handle returned before its attempt record was confirmed")
				case <-time.After(200 * time.Millisecond):
				}
			}
			close(release)
			<-returned

			if tt.stopping {
				info, err := cons.Info(ctx)
				if err != nil {
					t.Fatal(err)
				}
				if info.NumAckPending != 0 {
					t.Errorf("%d acks pending when handle returned while stopping, want 0 (double-acked)", info.NumAckPending)
				}
			}
			if !tt.wantWaited {
				return
			}
			hub.WaitMsgs(t, topology.AttemptsStream, 1, 5*time.Second)
			// Past the ack wait: an ack that never reached the hub would
			// have the delivery handed out again.
			if again, err := cons.Next(jetstream.FetchMaxWait(2 * time.Second)); err == nil {
				t.Errorf("delivery handed out again after a confirmed success: %s", again.Subject())
			} else if !errors.Is(err, jetstream.ErrNoMessages) && !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, nats.ErrTimeout) {
				t.Fatalf("next: %v", err)
			}
		})
	}
}
