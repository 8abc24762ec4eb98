package topology

import (
	"strings"
	"testing"

	"google.golang.org/protobuf/types/known/timestamppb"

	junctionv1 "github.com/junctionhq/junction/proto/junction/v1"
)

// BenchmarkParse decodes what the router and the sink decode for every
// webhook: an event with a 512-byte JSON payload, and its delivery.
func BenchmarkParse(b *testing.B) {
	ev := &junctionv1.Event{Id: "evt_1", Source: "acme", Type: "order.created", SpecVersion: "1.0",
		DataContentType: "application/json", Data: []byte(`{"seq":1,"pad":"` + strings.Repeat("x", 490) + `"}`), Time: timestamppb.Now()}
	em, err := EventMsg(ev)
	if err != nil {
		b.Fatal(err)
	}
	d := &junctionv1.Delivery{Id: "d1", EventId: "evt_1", EventSource: "acme", EventType: "order.created", RouteId: "r", Target: "t",
		Destination: "webhook", Config: map[string]string{"url": "http://127.0.0.1:1/hook"}, Payload: ev.GetData(),
		ContentType: "application/json", CreateTime: timestamppb.Now(), EventTime: ev.GetTime(),
		Policy: &junctionv1.DeliveryPolicy{MaxAttempts: 5}}
	dm, err := DeliveryMsg(d)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("event", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := ParseEvent(em.Subject, em.Header, em.Data); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("delivery", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := ParseDelivery(dm.Subject, dm.Header, dm.Data); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// TestMsgWithHeaders: headers set through msgWithHeaders behave as
// nats.Header.Set's: a later Add to one does not touch the next one's
// value (they share a backing array), empty values are left out, and more
// values than room still land.
func TestMsgWithHeaders(t *testing.T) {
	msg, hset := msgWithHeaders("s", 2)
	hset("A", "1")
	hset("B", "2")
	hset("C", "3") // past the room given
	hset("D", "")
	msg.Header.Add("A", "1b")
	if got := msg.Header.Values("A"); len(got) != 2 || got[0] != "1" || got[1] != "1b" {
		t.Errorf("A = %v, want [1 1b]", got)
	}
	if got := msg.Header.Get("B"); got != "2" {
		t.Errorf("B = %q after an Add to A, want 2", got)
	}
	if got := msg.Header.Get("C"); got != "3" {
		t.Errorf("C = %q, want 3", got)
	}
	if _, ok := msg.Header["D"]; ok {
		t.Error("an empty value was set")
	}
}

// BenchmarkMsg encodes the messages the hub writes for every webhook.
func BenchmarkMsg(b *testing.B) {
	ev := &junctionv1.Event{Id: "evt_1", Source: "acme", Type: "order.created", Data: []byte(`{"seq":1}`)}
	d := &junctionv1.Delivery{Id: "d1", EventId: "evt_1", EventSource: "acme", EventType: "order.created", RouteId: "r", Destination: "webhook", Payload: ev.GetData()}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := EventMsg(ev); err != nil {
			b.Fatal(err)
		}
		if _, err := DeliveryMsg(d); err != nil {
			b.Fatal(err)
		}
	}
}
