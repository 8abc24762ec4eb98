package sdk

import (
	"context"
	"errors"
	"strconv"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/junctionhq/junction/adapters/sdk/platform/topology"
	"github.com/junctionhq/junction/adapters/sdk/sdktest"
	junctionv1 "github.com/junctionhq/junction/proto/junction/v1"
)

// TestPublisherRecordsAreBucketEntries: the publisher reads and writes the
// idempotency bucket through its stream, not the key-value API; what it
// writes is what the API (the gateway's GetEvent) reads, what the API
// writes it reads, and a key the API deleted or purged is not seen.
func TestPublisherRecordsAreBucketEntries(t *testing.T) {
	hub := sdktest.NewHub(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	p, err := NewPublisher(hub.JS)
	if err != nil {
		t.Fatal(err)
	}
	kv, err := hub.JS.KeyValue(ctx, topology.IdempotencyBucket)
	if err != nil {
		t.Fatal(err)
	}

	res, err := p.Publish(ctx, &junctionv1.Event{Source: "acme", Type: "user.created", Id: "u1", Data: []byte(`{}`), DataContentType: "application/json"})
	if err != nil {
		t.Fatal(err)
	}
	entry, err := kv.Get(ctx, topology.IdempotencyKey("acme", "u1"))
	if err != nil {
		t.Fatalf("the key-value API does not find the publisher's record: %v", err)
	}
	if got, want := string(entry.Value()), strconv.FormatUint(res.Sequence, 10); got != want {
		t.Errorf("record = %q, want the event's sequence %q", got, want)
	}

	tests := []struct {
		name   string
		change func(key string) error
		found  bool
	}{
		{"put by the API", func(key string) error { _, err := kv.Put(ctx, key, []byte("7")); return err }, true},
		{"deleted by the API", func(key string) error {
			if _, err := kv.Put(ctx, key, []byte("7")); err != nil {
				return err
			}
			return kv.Delete(ctx, key)
		}, false},
		{"purged by the API", func(key string) error {
			if _, err := kv.Put(ctx, key, []byte("7")); err != nil {
				return err
			}
			return kv.Purge(ctx, key)
		}, false},
		{"never written", func(string) error { return nil }, false},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			key := topology.IdempotencyKey("acme", "k"+strconv.Itoa(i))
			if err := tt.change(key); err != nil {
				t.Fatal(err)
			}
			raw, err := p.lookup(ctx, key)
			switch {
			case tt.found && err != nil:
				t.Fatalf("lookup = %v, want the record", err)
			case tt.found && string(raw.Data) != "7":
				t.Errorf("lookup = %q, want %q", raw.Data, "7")
			case !tt.found && !errors.Is(err, jetstream.ErrKeyNotFound):
				t.Errorf("lookup = %v (%v), want jetstream.ErrKeyNotFound", raw, err)
			}
		})
	}
}
