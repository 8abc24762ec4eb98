package bench

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/junctionhq/junction/adapters/sdk/platform/topology"
)

// TestBaselinePlusDoesTheWork checks that the baseline plus does the work
// it stands for, so its figures are the price of that work: a repeated
// webhook id is answered 200 and stored once, an event the route's
// condition refuses is stored but not delivered, a body without a type is
// refused, and every delivery leaves one attempt record.
func TestBaselinePlusDoesTheWork(t *testing.T) {
	verifier, err := standardwebhooks.NewWebhook(OutboundSecret)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var got []string // webhook ids delivered, in order
	arrived := make(chan string, 16)
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if err := verifier.Verify(body, r.Header); err != nil {
			t.Errorf("delivery signature: %v", err)
			http.Error(w, "bad signature", http.StatusUnauthorized)
			return
		}
		id := r.Header.Get(standardwebhooks.HeaderWebhookID)
		mu.Lock()
		got = append(got, id)
		mu.Unlock()
		arrived <- id
		w.WriteHeader(http.StatusNoContent)
	}))
	defer rcv.Close()
	addr, err := FreeAddr()
	if err != nil {
		t.Fatal(err)
	}
	b, err := StartBaseline(context.Background(), BaselineConfig{Dir: t.TempDir(), HTTPAddr: addr, ReceiverURL: rcv.URL, Plus: true})
	if err != nil {
		t.Fatalf("StartBaseline(Plus) = %v", err)
	}
	defer b.Close()

	signer, err := standardwebhooks.NewWebhook(InboundSecret)
	if err != nil {
		t.Fatal(err)
	}
	post := func(id string, body []byte, secret *standardwebhooks.Webhook) int {
		t.Helper()
		now := time.Now()
		sig, err := secret.Sign(id, now, body)
		if err != nil {
			t.Fatal(err)
		}
		req, _ := http.NewRequest(http.MethodPost, b.URL(), bytes.NewReader(body))
		req.Header.Set(standardwebhooks.HeaderWebhookID, id)
		req.Header.Set(standardwebhooks.HeaderWebhookTimestamp, strconv.FormatInt(now.Unix(), 10))
		req.Header.Set(standardwebhooks.HeaderWebhookSignature, sig)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	stranger, err := standardwebhooks.NewWebhook(OutboundSecret) // not the inbound secret
	if err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		name, id string
		body     []byte
		signer   *standardwebhooks.Webhook
		want     int
	}{
		{"first", "a", Payload(1, 128), signer, http.StatusAccepted},
		{"same id again", "a", Payload(1, 128), signer, http.StatusOK},
		{"condition false", "neg", []byte(`{"type":"order.created","seq":-1}`), signer, http.StatusAccepted},
		{"no type", "notype", []byte(`{"seq":3}`), signer, http.StatusBadRequest},
		{"wrong signature", "forged", Payload(4, 128), stranger, http.StatusUnauthorized},
		{"second", "c", Payload(2, 128), signer, http.StatusAccepted},
	}
	for _, s := range steps {
		if code := post(s.id, s.body, s.signer); code != s.want {
			t.Errorf("%s: POST answered %d, want %d", s.name, code, s.want)
		}
	}
	// Both deliveries arrive (in any order: the workers run side by side).
	deadline := time.After(30 * time.Second)
	for seen := map[string]bool{}; !seen[topology.EventMsgID(Source, "a")] || !seen[topology.EventMsgID(Source, "c")]; {
		select {
		case id := <-arrived:
			seen[id] = true
		case <-deadline:
			t.Fatalf("the two deliveries never both arrived; got %v", got)
		}
	}
	mu.Lock()
	delivered := slices.Sorted(slices.Values(got))
	mu.Unlock()
	if want := []string{topology.EventMsgID(Source, "a"), topology.EventMsgID(Source, "c")}; !slices.Equal(delivered, want) {
		t.Errorf("delivered %v, want %v (once each; the refused event not at all)", delivered, want)
	}

	nc, err := nats.Connect(b.ns.(*server.Server).ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	count := func(stream string) uint64 {
		t.Helper()
		s, err := js.Stream(ctx, stream)
		if err != nil {
			t.Fatal(err)
		}
		info, err := s.Info(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return info.State.Msgs
	}
	// EVENTS is republished in order, so by the time c was delivered the
	// refused event had been routed: DELIVERIES holds a and c only.
	if n := count(topology.DeliveriesStream); n != 2 {
		t.Errorf("DELIVERIES holds %d deliveries, want 2 (a, c; not the refused event, not the repeat)", n)
	}
	if n := count(topology.EventsStream); n != 3 {
		t.Errorf("EVENTS holds %d events, want 3 (a, neg, c)", n)
	}
	if n := count(topology.IdempotencyStream); n != 3 {
		t.Errorf("the idempotency bucket holds %d ids, want 3 (a, neg, c)", n)
	}
	// The record follows the delivery's ack: wait for both.
	for end := time.Now().Add(30 * time.Second); count(topology.AttemptsStream) < 2 && time.Now().Before(end); {
		time.Sleep(20 * time.Millisecond)
	}
	if n := count(topology.AttemptsStream); n != 2 {
		t.Errorf("ATTEMPTS holds %d records, want 2 (one per delivery)", n)
	}
}
