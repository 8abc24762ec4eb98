package sdk

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/junctionhq/junction/adapters/sdk/sdktest"
)

// TestUntilAnswered: a request that gets no answer (as one sent to a
// stream leader that just died) is made again after hubCallTimeout, and
// the answer to the second is returned; an error answer is returned at
// once; the caller's deadline still bounds the whole.
func TestUntilAnswered(t *testing.T) {
	hub := sdktest.NewHub(t)
	nc := hub.Connect(t)
	var seen atomic.Int32
	sub, err := nc.Subscribe("leader.election", func(m *nats.Msg) {
		if seen.Add(1) == 1 {
			return // the first request is lost with the old leader
		}
		_ = m.Respond([]byte("stored"))
	})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Unsubscribe()
	request := func(ctx context.Context) (string, error) {
		m, err := nc.RequestWithContext(ctx, "leader.election", []byte("x"))
		if err != nil {
			return "", err
		}
		return string(m.Data), nil
	}

	ctx, cancel := context.WithTimeout(context.Background(), 3*hubCallTimeout)
	defer cancel()
	calls := newHubCalls(ctx)
	defer calls.done()
	// An answered call first: the lost one shares its window, and is
	// still made again in a fresh one.
	if _, err := untilAnswered(calls, func(ctx context.Context) (*nats.Msg, error) {
		return nil, nil
	}); err != nil {
		t.Fatal(err)
	}
	got, err := untilAnswered(calls, request)
	if err != nil || got != "stored" {
		t.Fatalf("untilAnswered = %q, %v; want the second request's answer", got, err)
	}
	if n := seen.Load(); n != 2 {
		t.Errorf("requests made = %d, want 2", n)
	}

	_, err = untilAnswered(newHubCalls(ctx), func(ctx context.Context) (*nats.Msg, error) {
		return nc.Request("nobody.listens", nil, time.Second)
	})
	if !errors.Is(err, nats.ErrNoResponders) {
		t.Errorf("no responders: err = %v, want nats.ErrNoResponders at once", err)
	}

	silent, err := nc.Subscribe("silent", func(*nats.Msg) {})
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Unsubscribe()
	short, cancelShort := context.WithTimeout(context.Background(), hubCallTimeout/2)
	defer cancelShort()
	if _, err := untilAnswered(newHubCalls(short), func(ctx context.Context) (string, error) {
		m, err := nc.RequestWithContext(ctx, "silent", nil)
		if err != nil {
			return "", err
		}
		return string(m.Data), nil
	}); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("caller's deadline: err = %v, want context.DeadlineExceeded", err)
	}
}
