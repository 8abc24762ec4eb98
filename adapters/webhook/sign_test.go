package webhook

import (
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/junctionhq/junction/adapters/sdk/verify"
	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
)

// TestDeliverySignerMatchesLibrary: every signature is the one the
// Standard Webhooks library computes, and the library verifies it.
func TestDeliverySignerMatchesLibrary(t *testing.T) {
	const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	key, err := verify.DecodeStandardSecret(secret)
	if err != nil {
		t.Fatal(err)
	}
	lib, err := standardwebhooks.NewWebhookRaw(key)
	if err != nil {
		t.Fatal(err)
	}
	s := newDeliverySigner(key)
	tests := []struct {
		name, id string
		payload  []byte
	}{
		{"json", "msg_1", []byte(`{"type":"order.created","data":{"id":1}}`)},
		{"empty payload", "msg_2", nil},
		{"long id", strings.Repeat("d", 300), []byte("x")},
		{"large payload", "msg_3", []byte(strings.Repeat("é", 40000))},
	}
	now := time.Now()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for range 2 { // the second call reuses the pooled state
				got := s.Sign(tt.id, now, tt.payload)
				want, err := lib.Sign(tt.id, now, tt.payload)
				if err != nil {
					t.Fatal(err)
				}
				if got != want {
					t.Fatalf("signature = %q, want %q", got, want)
				}
				h := http.Header{}
				h.Set(standardwebhooks.HeaderWebhookID, tt.id)
				h.Set(standardwebhooks.HeaderWebhookTimestamp, strconv.FormatInt(now.Unix(), 10))
				h.Set(standardwebhooks.HeaderWebhookSignature, got)
				if err := lib.Verify(tt.payload, h); err != nil {
					t.Fatalf("library does not verify %q: %v", got, err)
				}
			}
		})
	}
}

// TestDeliverySignerConcurrent: concurrent signers share no state.
func TestDeliverySignerConcurrent(t *testing.T) {
	key := []byte("0123456789abcdef0123456789abcdef")
	lib, err := standardwebhooks.NewWebhookRaw(key)
	if err != nil {
		t.Fatal(err)
	}
	s := newDeliverySigner(key)
	now := time.Now()
	var wg sync.WaitGroup
	errs := make(chan string, 8)
	for g := range 8 {
		wg.Go(func() {
			for i := range 200 {
				id := "msg_" + strconv.Itoa(g) + "_" + strconv.Itoa(i)
				payload := []byte(strings.Repeat(id, i%7))
				want, _ := lib.Sign(id, now, payload)
				if got := s.Sign(id, now, payload); got != want {
					errs <- id + ": " + got + " != " + want
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}
