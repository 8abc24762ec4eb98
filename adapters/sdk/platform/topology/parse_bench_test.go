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
