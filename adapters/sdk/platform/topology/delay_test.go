package topology

import (
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	junctionv1 "github.com/junctionhq/junction/proto/junction/v1"
)

func TestDelayedMsg(t *testing.T) {
	due := time.Date(2026, 12, 7, 1, 2, 3, 456, time.FixedZone("CET", 3600))
	d := &junctionv1.Delivery{
		Id: "dlv_1", EventId: "evt_1", EventSource: "acme", EventType: "user.created",
		Destination: "email", RouteId: "follow-up", Target: "later", Payload: []byte(`{"b":2}`),
		NotBefore: timestamppb.New(due),
	}
	m, err := DelayedMsg(d)
	if err != nil {
		t.Fatalf("DelayedMsg: %v", err)
	}
	if want := "junction.retries.email.follow-up"; m.Subject != want {
		t.Errorf("subject = %q, want %q", m.Subject, want)
	}
	wantHeader := nats.Header{
		"Nats-Msg-Id": {"delay:dlv_1"}, "Content-Type": {ContentTypeDelivery},
		"Junction-Delivery-Id": {"dlv_1"}, "Junction-Event-Id": {"evt_1"},
		"Junction-Event-Source": {"acme"}, "Junction-Event-Type": {"user.created"},
		"Junction-Attempts": {"0"}, "Junction-Not-Before": {"2026-12-07T00:02:03.000000456Z"},
	}
	for k, v := range wantHeader {
		if got := m.Header.Values(k); len(got) != 1 || got[0] != v[0] {
			t.Errorf("header %s = %q, want %q", k, got, v)
		}
	}
	if len(m.Header) != len(wantHeader) {
		t.Errorf("headers = %v, want exactly %v", m.Header, wantHeader)
	}
	meta := MetaOf(m.Header)
	if !meta.NotBefore.Equal(due) || meta.Attempts != 0 || meta.DeliveryID != "dlv_1" {
		t.Errorf("MetaOf = %+v, want NotBefore %v, Attempts 0, DeliveryID dlv_1", meta, due)
	}
	if !CarriesAttempts(m.Subject) {
		t.Errorf("CarriesAttempts(%q) = false, want true: the retry consumer reads the attempts from the header", m.Subject)
	}
	got, err := ParseDelivery(m.Subject, m.Header, m.Data)
	if err != nil || !proto.Equal(got, d) {
		t.Errorf("ParseDelivery = %v, %v; want %v", got, err, d)
	}
}
