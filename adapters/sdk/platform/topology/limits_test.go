package topology

import (
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// TestEveryStoreIsBounded: every stream and bucket has a byte limit, the
// streams that must not lose what they hold refuse new messages when full,
// and Options.Limits override the defaults.
func TestEveryStoreIsBounded(t *testing.T) {
	o := Options{Limits: map[string]Limit{EventsStream: {MaxBytes: 10 * GiB}, IdempotencyBucket: {MaxAge: 96 * time.Hour}}}
	wantDiscard := map[string]jetstream.DiscardPolicy{
		EventsStream: jetstream.DiscardNew, DeliveriesStream: jetstream.DiscardNew, RetriesStream: jetstream.DiscardNew,
		LanesStream: jetstream.DiscardNew, DLQStream: jetstream.DiscardNew, AttemptsStream: jetstream.DiscardOld,
	}
	for _, s := range Streams(o) {
		t.Run(s.Name, func(t *testing.T) {
			if s.MaxBytes <= 0 || s.MaxAge <= 0 {
				t.Errorf("max_bytes %d, max_age %v: want both set", s.MaxBytes, s.MaxAge)
			}
			if want, ok := wantDiscard[s.Name]; !ok || s.Discard != want {
				t.Errorf("discard = %v, want %v", s.Discard, want)
			}
		})
	}
	if got := Streams(o)[0].MaxBytes; got != 10*GiB {
		t.Errorf("EVENTS max_bytes = %d, want the 10 GiB set", got)
	}
	for _, b := range Buckets(o) {
		t.Run(b.Bucket, func(t *testing.T) {
			if b.MaxBytes <= 0 {
				t.Errorf("max_bytes = %d, want a limit", b.MaxBytes)
			}
			if b.Bucket == IdempotencyBucket && b.TTL != 96*time.Hour {
				t.Errorf("TTL = %v, want the 96h set", b.TTL)
			}
		})
	}
	if got := ReservedBytes(Options{}); got > 8*GiB {
		t.Errorf("the defaults reserve %d MiB, want at most 8 GiB so they fit a disk with 10 GiB free", got/MiB)
	}
}
