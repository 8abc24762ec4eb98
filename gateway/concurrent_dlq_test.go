package gateway_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/proto"

	"github.com/junctionhq/junction/adapters/sdk/platform/topology"
	junctionv1 "github.com/junctionhq/junction/proto/junction/v1"
	"github.com/junctionhq/junction/proto/junction/v1/junctionv1grpc"
)

// putDeadLetters stores n dead letters for destination "flaky", route
// "users", straight on the DLQ stream, as a sink giving up would.
func putDeadLetters(t *testing.T, js jetstream.JetStream, n int) {
	t.Helper()
	ctx := testCtx(t)
	for i := range n {
		d := &junctionv1.Delivery{Id: fmt.Sprintf("dlv_%d", i), EventId: fmt.Sprintf("evt_%d", i), EventSource: "acme",
			EventType: "user.created", Destination: "flaky", RouteId: "users", Target: "0", Payload: []byte(`{}`)}
		b, err := proto.Marshal(d)
		if err != nil {
			t.Fatal(err)
		}
		m := nats.NewMsg(topology.DLQSubject("flaky", "users"))
		m.Data = b
		m.Header.Set(topology.HeaderContentType, topology.ContentTypeDelivery)
		m.Header.Set(topology.HeaderDLQReason, topology.DLQReasonMaxAttempts)
		m.Header.Set(topology.HeaderDLQAttempts, "3")
		if _, err := js.PublishMsg(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
}

func streamCount(t *testing.T, js jetstream.JetStream, name string) uint64 {
	t.Helper()
	s, err := js.Stream(testCtx(t), name)
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Info(testCtx(t))
	if err != nil {
		t.Fatal(err)
	}
	return info.State.Msgs
}

// TestConcurrentRedriveAndPurgeAgree runs two redrives of every dead letter
// at once, then two purges at once: each dead letter is redriven once
// (one delivery stored for it), the two answers add up to the number of
// dead letters with no failure reported (an item the other run took is
// neither a failure nor counted twice), and likewise for purge.
func TestConcurrentRedriveAndPurgeAgree(t *testing.T) {
	e := newEnv(t)
	dlq := junctionv1grpc.NewDeadLetterServiceClient(e.conn)
	const n = 300
	putDeadLetters(t, e.js, n)
	before := streamCount(t, e.js, topology.DeliveriesStream)

	var wg sync.WaitGroup
	res := make([]*junctionv1.RedriveDeadLettersResponse, 2)
	errs := make([]error, 2)
	for i := range res {
		wg.Go(func() {
			res[i], errs[i] = dlq.RedriveDeadLetters(context.Background(), &junctionv1.RedriveDeadLettersRequest{All: true})
		})
	}
	wg.Wait()
	total := 0
	for i := range res {
		if errs[i] != nil {
			t.Fatalf("redrive %d: %v", i, errs[i])
		}
		for _, f := range res[i].GetFailures() {
			t.Errorf("redrive %d reported a failure for %s: %s", i, f.GetName(), f.GetError())
		}
		total += int(res[i].GetRedrivenCount())
		t.Logf("redrive %d: %d redriven, %d failures", i, res[i].GetRedrivenCount(), len(res[i].GetFailures()))
	}
	if total != n {
		t.Errorf("the two redrives report %d redriven in all, want %d", total, n)
	}
	if got := streamCount(t, e.js, topology.DeliveriesStream) - before; got != n {
		t.Errorf("DELIVERIES gained %d messages, want %d (one per dead letter)", got, n)
	}
	if got := streamCount(t, e.js, topology.DLQStream); got != 0 {
		t.Errorf("DLQ still holds %d dead letters", got)
	}

	putDeadLetters(t, e.js, n)
	pres := make([]*junctionv1.PurgeDeadLettersResponse, 2)
	for i := range pres {
		wg.Go(func() {
			pres[i], errs[i] = dlq.PurgeDeadLetters(context.Background(), &junctionv1.PurgeDeadLettersRequest{All: true})
		})
	}
	wg.Wait()
	total = 0
	for i := range pres {
		if errs[i] != nil {
			t.Fatalf("purge %d: %v", i, errs[i])
		}
		total += int(pres[i].GetPurgedCount())
	}
	if total != n {
		t.Errorf("the two purges report %d purged in all, want %d", total, n)
	}
	if got := streamCount(t, e.js, topology.DLQStream); got != 0 {
		t.Errorf("DLQ still holds %d dead letters after the purges", got)
	}
}
