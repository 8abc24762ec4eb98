package topology

import (
	"errors"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"google.golang.org/protobuf/proto"

	junctionv1 "github.com/junctionhq/junction/proto/junction/v1"
)

// wireCase is one kind of hub message: how it is built, the subject and
// headers it must have (the wire format the deployed streams, consumers
// and permissions rely on, spelled out), and what parsing it gives back.
type wireCase struct {
	name    string
	build   func(t *testing.T) *nats.Msg
	subject string
	header  nats.Header
	// parse decodes the body and compares it with what was built.
	parse func(t *testing.T, m *nats.Msg)
	// meta is what MetaOf must read from the headers.
	meta Meta
}

func TestWireRoundTrip(t *testing.T) {
	ev := &junctionv1.Event{Id: "evt_1", Source: "acme", Type: "user.created", SpecVersion: "1.0", Data: []byte(`{"a":1}`)}
	d := &junctionv1.Delivery{
		Id: "dlv_1", EventId: "evt_1", EventSource: "acme", EventType: "user.created",
		Destination: "webhook", RouteId: "to-crm", Target: "t0", Payload: []byte(`{"b":2}`),
	}
	dBody, err := proto.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	a := &junctionv1.DeliveryAttempt{DeliveryId: "dlv_1", EventId: "evt_1", EventSource: "acme", Destination: "webhook", RouteId: "to-crm", Attempt: 3}
	notBefore := time.Date(2026, 12, 7, 1, 2, 3, 456, time.FixedZone("CET", 3600))
	taken := func(stream string, seq uint64) Taken {
		return Taken{
			Destination: "webhook", Route: "to-crm", Body: dBody,
			Header: nats.Header{
				"Nats-Msg-Id": {"dlv_1"}, "Content-Type": {ContentTypeDelivery},
				"Junction-Delivery-Id": {"dlv_1"}, "Junction-Event-Id": {"evt_1"},
				"Junction-Event-Source": {"acme"}, "Junction-Event-Type": {"user.created"},
				"traceparent": {"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"},
			},
			Stream: stream, Sequence: seq, DeliveryID: "dlv_1", EventID: "evt_1",
		}
	}
	sameDelivery := func(t *testing.T, m *nats.Msg) {
		t.Helper()
		got, err := ParseDelivery(m.Subject, m.Header, m.Data)
		if err != nil {
			t.Fatalf("ParseDelivery: %v", err)
		}
		if !proto.Equal(got, d) {
			t.Errorf("ParseDelivery = %v, want %v", got, d)
		}
	}
	deliveryHeader := func(msgID string, extra nats.Header) nats.Header {
		h := nats.Header{
			"Nats-Msg-Id": {msgID}, "Content-Type": {ContentTypeDelivery},
			"Junction-Delivery-Id": {"dlv_1"}, "Junction-Event-Id": {"evt_1"},
			"Junction-Event-Source": {"acme"}, "Junction-Event-Type": {"user.created"},
		}
		maps.Copy(h, extra)
		return h
	}
	deliveryMeta := Meta{ContentType: ContentTypeDelivery, EventID: "evt_1", EventSource: "acme", EventType: "user.created", DeliveryID: "dlv_1"}
	with := func(m Meta, f func(*Meta)) Meta { f(&m); return m }

	tests := []wireCase{
		{
			name:    "event",
			build:   func(t *testing.T) *nats.Msg { return must(t)(EventMsg(ev)) },
			subject: "junction.events.acme.user.created",
			header: nats.Header{
				"Nats-Msg-Id": {"acme:evt_1"}, "Content-Type": {"application/protobuf; proto=junction.v1.Event"},
				"Junction-Event-Id": {"evt_1"}, "Junction-Event-Source": {"acme"}, "Junction-Event-Type": {"user.created"},
			},
			parse: func(t *testing.T, m *nats.Msg) {
				got, err := ParseEvent(m.Subject, m.Header, m.Data)
				if err != nil || !proto.Equal(got, ev) {
					t.Errorf("ParseEvent = %v, %v; want %v", got, err, ev)
				}
			},
			meta: Meta{MsgID: "acme:evt_1", ContentType: ContentTypeEvent, EventID: "evt_1", EventSource: "acme", EventType: "user.created"},
		},
		{
			name:    "raw event (bench floor)",
			build:   func(*testing.T) *nats.Msg { return RawEventMsg("acme", "user.created", "wh_1", []byte(`{}`)) },
			subject: "junction.events.acme.user.created",
			header:  nats.Header{"Nats-Msg-Id": {"acme:wh_1"}},
			parse: func(t *testing.T, m *nats.Msg) {
				if string(m.Data) != `{}` {
					t.Errorf("body = %q, want it as given", m.Data)
				}
			},
			meta: Meta{MsgID: "acme:wh_1"},
		},
		{
			name:    "delivery",
			build:   func(t *testing.T) *nats.Msg { return must(t)(DeliveryMsg(d)) },
			subject: "junction.deliveries.webhook.to-crm",
			header:  deliveryHeader("dlv_1", nil),
			parse:   sameDelivery,
			meta:    with(deliveryMeta, func(m *Meta) { m.MsgID = "dlv_1" }),
		},
		{
			name:    "retry",
			build:   func(*testing.T) *nats.Msg { return RetryMsg(taken("DELIVERIES", 42), 3, notBefore) },
			subject: "junction.retries.webhook.to-crm",
			header: nats.Header{
				"Nats-Msg-Id": {"retry:dlv_1:42"}, "Content-Type": {ContentTypeDelivery},
				"Junction-Delivery-Id": {"dlv_1"}, "Junction-Event-Id": {"evt_1"},
				"Junction-Attempts": {"3"}, "Junction-Not-Before": {"2026-12-07T00:02:03.000000456Z"},
				"traceparent": {"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"},
			},
			parse: sameDelivery,
			meta: Meta{MsgID: "retry:dlv_1:42", ContentType: ContentTypeDelivery, EventID: "evt_1", DeliveryID: "dlv_1",
				Attempts: 3, NotBefore: notBefore.UTC()},
		},
		{
			name:    "retry of a retry",
			build:   func(*testing.T) *nats.Msg { return RetryMsg(taken("RETRIES", 7), 4, notBefore) },
			subject: "junction.retries.webhook.to-crm",
			header: nats.Header{
				"Nats-Msg-Id": {"retry:dlv_1:retries-7"}, "Content-Type": {ContentTypeDelivery},
				"Junction-Delivery-Id": {"dlv_1"}, "Junction-Event-Id": {"evt_1"},
				"Junction-Attempts": {"4"}, "Junction-Not-Before": {"2026-12-07T00:02:03.000000456Z"},
				"traceparent": {"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"},
			},
			parse: sameDelivery,
			meta: Meta{MsgID: "retry:dlv_1:retries-7", ContentType: ContentTypeDelivery, EventID: "evt_1", DeliveryID: "dlv_1",
				Attempts: 4, NotBefore: notBefore.UTC()},
		},
		{
			name:    "lane",
			build:   func(*testing.T) *nats.Msg { return LaneMsg(taken("DELIVERIES", 42), 0) },
			subject: "junction.lanes.webhook.to-crm",
			header: deliveryHeader("lane:dlv_1:42", nats.Header{
				"Junction-Attempts": {"0"},
				"traceparent":       {"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"},
			}),
			parse: sameDelivery,
			meta:  with(deliveryMeta, func(m *Meta) { m.MsgID = "lane:dlv_1:42" }),
		},
		{
			name:    "lane, origin unknown",
			build:   func(*testing.T) *nats.Msg { return LaneMsg(taken("", 0), 2) },
			subject: "junction.lanes.webhook.to-crm",
			header: func() nats.Header {
				h := deliveryHeader("", nats.Header{"Junction-Attempts": {"2"}, "traceparent": {"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"}})
				delete(h, "Nats-Msg-Id")
				return h
			}(),
			parse: sameDelivery,
			meta:  with(deliveryMeta, func(m *Meta) { m.Attempts = 2 }),
		},
		{
			name:    "attempt record",
			build:   func(t *testing.T) *nats.Msg { return must(t)(AttemptMsg(a)) },
			subject: "junction.attempts.acme.ZXZ0XzE.dlv_1",
			header:  nats.Header{"Content-Type": {"application/protobuf; proto=junction.v1.DeliveryAttempt"}, "Junction-Delivery-Id": {"dlv_1"}},
			parse: func(t *testing.T, m *nats.Msg) {
				got, err := ParseAttempt(m.Subject, m.Header, m.Data)
				if err != nil || !proto.Equal(got, a) {
					t.Errorf("ParseAttempt = %v, %v; want %v", got, err, a)
				}
			},
			meta: Meta{ContentType: ContentTypeAttempt, DeliveryID: "dlv_1"},
		},
		{
			name: "dead letter from the sink",
			build: func(*testing.T) *nats.Msg {
				return SinkDeadLetterMsg(taken("RETRIES", 9), DeadLetter{Reason: DLQReasonPermanent, Attempts: 5, LastError: "410 gone:\r\nbody\tend", Status: 410})
			},
			subject: "junction.dlq.webhook.to-crm",
			header: nats.Header{
				"Nats-Msg-Id": {"dlq:dlv_1:retries-9"}, "Content-Type": {ContentTypeDelivery},
				"Junction-Delivery-Id": {"dlv_1"}, "Junction-Event-Id": {"evt_1"},
				"Junction-Dlq-Reason": {"permanent"}, "Junction-Dlq-Attempts": {"5"},
				"Junction-Dlq-Last-Error": {"410 gone:  body end"}, "Junction-Dlq-Status": {"410"},
			},
			parse: sameDelivery,
			meta: Meta{MsgID: "dlq:dlv_1:retries-9", ContentType: ContentTypeDelivery, EventID: "evt_1", DeliveryID: "dlv_1",
				DeadLetter: DeadLetter{Reason: DLQReasonPermanent, Attempts: 5, LastError: "410 gone:  body end", Status: 410}},
		},
		{
			name: "dead letter from the router",
			build: func(t *testing.T) *nats.Msg {
				return must(t)(RoutedDeadLetterMsg(d, DeadLetter{Reason: DLQReasonTransformError, LastError: strings.Repeat("x", 2000)}))
			},
			subject: "junction.dlq.webhook.to-crm",
			header: deliveryHeader("dlv_1", nats.Header{
				"Junction-Dlq-Reason": {"transform_error"}, "Junction-Dlq-Attempts": {"0"},
				"Junction-Dlq-Last-Error": {strings.Repeat("x", MaxDLQErrorLen)},
			}),
			parse: sameDelivery,
			meta: with(deliveryMeta, func(m *Meta) {
				m.MsgID = "dlv_1"
				m.DeadLetter = DeadLetter{Reason: DLQReasonTransformError, LastError: strings.Repeat("x", MaxDLQErrorLen)}
			}),
		},
		{
			name:    "redrive",
			build:   func(t *testing.T) *nats.Msg { return must(t)(RedriveMsg(d, 17)) },
			subject: "junction.deliveries.webhook.to-crm",
			header:  deliveryHeader("dlv_1:redrive:17", nats.Header{"Junction-Redrive": {"dlq:17"}}),
			parse:   sameDelivery,
			meta:    with(deliveryMeta, func(m *Meta) { m.MsgID, m.Redrive = "dlv_1:redrive:17", "dlq:17" }),
		},
		{
			name:    "resend",
			build:   func(t *testing.T) *nats.Msg { return must(t)(ResendMsg(d, "n0nce")) },
			subject: "junction.deliveries.webhook.to-crm",
			header:  deliveryHeader("dlv_1:resend:n0nce", nats.Header{"Junction-Redrive": {"resend"}}),
			parse:   sameDelivery,
			meta:    with(deliveryMeta, func(m *Meta) { m.MsgID, m.Redrive = "dlv_1:resend:n0nce", "resend" }),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := tt.build(t)
			if m.Subject != tt.subject {
				t.Errorf("subject = %q, want %q", m.Subject, tt.subject)
			}
			if !headersEqual(m.Header, tt.header) {
				t.Errorf("headers =\n  %v\nwant\n  %v", sorted(m.Header), sorted(tt.header))
			}
			tt.parse(t, m)
			if got := MetaOf(m.Header); got != tt.meta {
				t.Errorf("MetaOf =\n  %+v\nwant\n  %+v", got, tt.meta)
			}
		})
	}
}

// TestParseRefusesOtherKinds: each Parse function refuses a message of
// another kind, and a body that does not decode, with ErrMalformed.
func TestParseRefusesOtherKinds(t *testing.T) {
	event := must(t)(EventMsg(&junctionv1.Event{Id: "e", Source: "s", Type: "t"}))
	delivery := must(t)(DeliveryMsg(&junctionv1.Delivery{Id: "d", Destination: "x", RouteId: "r"}))
	garbage := nats.Header{}
	tests := []struct {
		name  string
		parse func() error
	}{
		{"delivery as event", func() error { _, err := ParseEvent(delivery.Subject, delivery.Header, delivery.Data); return err }},
		{"event as delivery", func() error { _, err := ParseDelivery(event.Subject, event.Header, event.Data); return err }},
		{"event as attempt", func() error { _, err := ParseAttempt(event.Subject, event.Header, event.Data); return err }},
		{"garbage event", func() error { _, err := ParseEvent("s", garbage, []byte{0xff, 0xff}); return err }},
		{"garbage delivery", func() error { _, err := ParseDelivery("s", garbage, []byte{0xff, 0xff}); return err }},
		{"garbage attempt", func() error { _, err := ParseAttempt("s", garbage, []byte{0xff, 0xff}); return err }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.parse(); !errors.Is(err, ErrMalformed) {
				t.Errorf("err = %v, want ErrMalformed", err)
			}
		})
	}
}

func TestFiltersAndSplits(t *testing.T) {
	tests := []struct{ got, want string }{
		{EventsFilter(""), "junction.events.>"},
		{EventsFilter("acme"), "junction.events.acme.>"},
		{DeliveriesFilter("webhook"), "junction.deliveries.webhook.>"},
		{DeliveriesFilter(""), "junction.deliveries.>"},
		{RetriesFilter("webhook"), "junction.retries.webhook.>"},
		{LanesFilter("webhook"), "junction.lanes.webhook.>"},
		{DLQFilter(""), "junction.dlq.>"},
		{DLQFilter("webhook"), "junction.dlq.webhook.>"},
		{AttemptsFilter(), "junction.attempts.>"},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("filter = %q, want %q", tt.got, tt.want)
		}
	}
	if d, r, ok := SplitDLQSubject(DLQSubject("webhook", "r1")); !ok || d != "webhook" || r != "r1" {
		t.Errorf("SplitDLQSubject = %q, %q, %v; want webhook, r1, true", d, r, ok)
	}
	if _, _, ok := SplitDLQSubject(DeliverySubject("webhook", "r1")); ok {
		t.Error("SplitDLQSubject of a delivery subject: ok, want not")
	}
	for subject, want := range map[string]bool{
		RetrySubject("w", "r"): true, LaneSubject("w", "r"): true,
		DeliverySubject("w", "r"): false, DLQSubject("w", "r"): false,
	} {
		if got := CarriesAttempts(subject); got != want {
			t.Errorf("CarriesAttempts(%q) = %v, want %v", subject, got, want)
		}
	}
}

func must(t *testing.T) func(*nats.Msg, error) *nats.Msg {
	return func(m *nats.Msg, err error) *nats.Msg {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
}

// headersEqual compares headers exactly: NATS header names are
// case-sensitive.
func headersEqual(a, b nats.Header) bool {
	return maps.EqualFunc(a, b, slices.Equal)
}

func sorted(h nats.Header) []string {
	var out []string
	for k, v := range h {
		out = append(out, k+"="+strings.Join(v, ","))
	}
	slices.Sort(out)
	return out
}
