package sdk

import (
	"context"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/junctionhq/junction/adapters/sdk/platform/topology"
	"github.com/junctionhq/junction/adapters/sdk/sdktest"
)

// TestPublishAcked: with a report, a publish returns at once and a failed
// store is reported later; a stored one is never reported. Without one,
// the failure is the returned error.
func TestPublishAcked(t *testing.T) {
	hub := sdktest.NewHub(t)
	ctx := context.Background()
	reports := make(chan error, 4)
	report := func(err error) { reports <- err }

	// No stream listens on this subject: the store fails.
	if err := publishAcked(ctx, hub.JS, nats.NewMsg("nowhere.at.all"), time.Second, report, ""); err != nil {
		t.Fatalf("with a report: err = %v, want nil (failure reported later)", err)
	}
	select {
	case err := <-reports:
		if err == nil {
			t.Fatal("report called with nil")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("failed store never reported")
	}

	msg := nats.NewMsg(topology.AttemptSubject("acme", "evt_1", "d1"))
	msg.Data = []byte("x")
	if err := publishAcked(ctx, hub.JS, msg, time.Second, report, ""); err != nil {
		t.Fatal(err)
	}
	hub.WaitMsgs(t, topology.AttemptsStream, 1, 5*time.Second)
	select {
	case err := <-reports:
		t.Fatalf("stored message reported as failed: %v", err)
	case <-time.After(1500 * time.Millisecond): // past the report's own wait
	}

	if err := publishAcked(ctx, hub.JS, nats.NewMsg("nowhere.at.all"), time.Second, nil, ""); err == nil {
		t.Error("without a report: err = nil, want the failed store")
	}
}
