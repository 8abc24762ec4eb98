package topology

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/proto"

	"github.com/junctionhq/junction/adapters/sdk/clip"
	junctionv1 "github.com/junctionhq/junction/proto/junction/v1"
)

// The hub's messages. This file is the one place that builds and parses
// them: every message the hub writes (an event, a delivery, a retry, a
// delivery parked in a lane, an attempt record, a dead letter, a redriven
// or resent delivery) gets its subject, Nats-Msg-Id, headers and body
// from one of the builders below, and every reader takes them apart with
// MetaOf and the Parse functions. No other package writes a subject or a
// hub header by hand (internal/wirelint in the root module keeps it so).
//
// Headers left empty are not set: a builder sets only what it is given.

// ErrMalformed is wrapped by the Parse functions for a message that is not
// what its stream holds: another content type, or a body that does not
// decode.
var ErrMalformed = errors.New("malformed message")

// Meta is what a hub message's headers say; MetaOf reads it. Fields of a
// header a message does not carry are zero.
type Meta struct {
	// MsgID is the Nats-Msg-Id JetStream deduplicates on.
	MsgID string
	// ContentType names the body: ContentTypeEvent, ContentTypeDelivery
	// or ContentTypeAttempt.
	ContentType string
	EventID     string
	EventSource string
	EventType   string
	DeliveryID  string
	// Attempts is the number of attempts a retry or a parked delivery
	// follows (HeaderAttempts).
	Attempts int
	// NotBefore is when a retry is due (HeaderNotBefore); zero when the
	// header is missing or unreadable.
	NotBefore time.Time
	// Redrive says what put a delivery back: "dlq:<sequence>", "resend" or
	// "replay:<replay id>".
	Redrive string
	// DeadLetter is why a dead letter gave up.
	DeadLetter DeadLetter
}

// DeadLetter says why a delivery was dead-lettered: the HeaderDLQ*
// headers of a dead letter.
type DeadLetter struct {
	// Reason is one of the DLQReason values.
	Reason string
	// Attempts is the number of attempts made; always written, 0 for a
	// delivery dead-lettered by the router.
	Attempts int
	// LastError is the last attempt's error, written on one line and at
	// most MaxDLQErrorLen bytes; empty for none.
	LastError string
	// Status is the HTTP status of the last answer, 0 for none.
	Status int
}

// MetaOf reads the hub headers of a message.
func MetaOf(h nats.Header) Meta {
	m := Meta{
		MsgID:       h.Get(jetstream.MsgIDHeader),
		ContentType: h.Get(HeaderContentType),
		EventID:     h.Get(HeaderEventID),
		EventSource: h.Get(HeaderEventSource),
		EventType:   h.Get(HeaderEventType),
		DeliveryID:  h.Get(HeaderDeliveryID),
		Redrive:     h.Get(HeaderRedrive),
		DeadLetter: DeadLetter{
			Reason:    h.Get(HeaderDLQReason),
			LastError: h.Get(HeaderDLQLastError),
		},
	}
	m.Attempts, _ = strconv.Atoi(h.Get(HeaderAttempts))
	if t, err := time.Parse(time.RFC3339Nano, h.Get(HeaderNotBefore)); err == nil {
		m.NotBefore = t
	}
	m.DeadLetter.Attempts, _ = strconv.Atoi(h.Get(HeaderDLQAttempts))
	m.DeadLetter.Status, _ = strconv.Atoi(h.Get(HeaderDLQStatus))
	return m
}

// set sets header k to v unless v is empty.
func set(h nats.Header, k, v string) {
	if v != "" {
		h.Set(k, v)
	}
}

// msgWithHeaders returns a message on subject whose headers are built by
// the returned function: each value shares one backing array and the map
// is made at its final size, where nats.Header.Set allocates a slice per
// header and the map grows (about 5 allocations a message, several
// messages a webhook). Values are set as Set sets them; an empty one is
// left out, as set leaves it.
func msgWithHeaders(subject string, n int) (*nats.Msg, func(k, v string)) {
	// A map made for up to 8 entries is one group: room for the trace
	// context and an expected-stream header besides a message's own.
	msg := &nats.Msg{Subject: subject, Header: make(nats.Header, min(n, 8))}
	vals := make([]string, 0, n)
	return msg, func(k, v string) {
		if v == "" {
			return
		}
		if len(vals) == cap(vals) {
			msg.Header.Set(k, v)
			return
		}
		vals = append(vals, v)
		i := len(vals) - 1
		msg.Header[k] = vals[i : i+1 : i+1]
	}
}

// EventMsg is the message that stores ev on EVENTS: under
// EventSubject(source, type), with Nats-Msg-Id EventMsgID(source, id), the
// event's id, source and type in headers and the encoded event as body.
// It fails only when ev does not encode.
func EventMsg(ev *junctionv1.Event) (*nats.Msg, error) {
	data, err := proto.Marshal(ev)
	if err != nil {
		return nil, fmt.Errorf("encode event: %w", err)
	}
	msg, hset := msgWithHeaders(EventSubject(ev.GetSource(), ev.GetType()), 5)
	msg.Data = data
	hset(jetstream.MsgIDHeader, EventMsgID(ev.GetSource(), ev.GetId()))
	hset(HeaderContentType, ContentTypeEvent)
	hset(HeaderEventID, ev.GetId())
	hset(HeaderEventSource, ev.GetSource())
	hset(HeaderEventType, ev.GetType())
	return msg, nil
}

// RawEventMsg is a body stored on EVENTS as it is, with only the subject
// and Nats-Msg-Id of an event: the floor the benchmarks measure Junction's
// own path against. Junction itself never writes it.
func RawEventMsg(source, typ, id string, body []byte) *nats.Msg {
	msg := nats.NewMsg(EventSubject(source, typ))
	msg.Data = body
	msg.Header.Set(jetstream.MsgIDHeader, EventMsgID(source, id))
	return msg
}

// decodeFresh decodes into a message just made, which is empty already:
// merging into it is decoding it, without proto.Unmarshal's reset, whose
// round trip through reflection (reflect.NewAt, a type lookup under a
// global map) showed in serve's CPU profile under the router's decode.
var decodeFresh = proto.UnmarshalOptions{Merge: true}

// ParseEvent decodes an event stored on EVENTS. A message with no
// Content-Type is taken as an event.
func ParseEvent(subject string, h nats.Header, data []byte) (*junctionv1.Event, error) {
	if ct := h.Get(HeaderContentType); ct != "" && ct != ContentTypeEvent {
		return nil, fmt.Errorf("%w: %s: content type %q is not an event", ErrMalformed, subject, ct)
	}
	e := &junctionv1.Event{}
	if err := decodeFresh.Unmarshal(data, e); err != nil {
		return nil, fmt.Errorf("%w: %s: decode event: %w", ErrMalformed, subject, err)
	}
	return e, nil
}

// ParseDelivery decodes a delivery stored on DELIVERIES, RETRIES, LANES or
// the DLQ. A message with no Content-Type is taken as a delivery.
func ParseDelivery(subject string, h nats.Header, data []byte) (*junctionv1.Delivery, error) {
	if ct := h.Get(HeaderContentType); ct != "" && ct != ContentTypeDelivery {
		return nil, fmt.Errorf("%w: %s: content type %q is not a delivery", ErrMalformed, subject, ct)
	}
	d := &junctionv1.Delivery{}
	if err := decodeFresh.Unmarshal(data, d); err != nil {
		return nil, fmt.Errorf("%w: %s: decode delivery: %w", ErrMalformed, subject, err)
	}
	return d, nil
}

// ParseAttempt decodes an attempt record stored on ATTEMPTS.
func ParseAttempt(subject string, h nats.Header, data []byte) (*junctionv1.DeliveryAttempt, error) {
	if ct := h.Get(HeaderContentType); ct != "" && ct != ContentTypeAttempt {
		return nil, fmt.Errorf("%w: %s: content type %q is not an attempt record", ErrMalformed, subject, ct)
	}
	a := &junctionv1.DeliveryAttempt{}
	if err := decodeFresh.Unmarshal(data, a); err != nil {
		return nil, fmt.Errorf("%w: %s: decode attempt record: %w", ErrMalformed, subject, err)
	}
	return a, nil
}

// deliveryMsg is d encoded under subject with the headers every delivery
// the platform writes carries. The message is returned even when d does
// not encode (invalid UTF-8 kept in a string field), with no body.
func deliveryMsg(subject, msgID string, d *junctionv1.Delivery) (*nats.Msg, error) {
	data, err := proto.Marshal(d)
	msg, hset := msgWithHeaders(subject, 6)
	msg.Data = data
	hset(jetstream.MsgIDHeader, msgID)
	hset(HeaderContentType, ContentTypeDelivery)
	hset(HeaderDeliveryID, d.GetId())
	hset(HeaderEventID, d.GetEventId())
	hset(HeaderEventSource, d.GetEventSource())
	hset(HeaderEventType, d.GetEventType())
	if err != nil {
		return msg, fmt.Errorf("encode delivery %s: %w", d.GetId(), err)
	}
	return msg, nil
}

// DeliveryMsg is the message of a fresh delivery on DELIVERIES, as the
// router writes it: under DeliverySubject(destination, route), with the
// delivery id as Nats-Msg-Id, the delivery's and its event's ids in
// headers and the encoded delivery as body. When d does not encode, the
// error says so and the message has no body.
func DeliveryMsg(d *junctionv1.Delivery) (*nats.Msg, error) {
	return deliveryMsg(DeliverySubject(d.GetDestination(), d.GetRouteId()), d.GetId(), d)
}

// RoutedDeadLetterMsg is the dead letter of a delivery the router could
// not hand to DELIVERIES (a failed transform or condition, a payload too
// large, a refused publish): the delivery's message (DeliveryMsg) under
// DLQSubject(destination, route), with dl in headers.
func RoutedDeadLetterMsg(d *junctionv1.Delivery, dl DeadLetter) (*nats.Msg, error) {
	msg, err := deliveryMsg(DLQSubject(d.GetDestination(), d.GetRouteId()), d.GetId(), d)
	setDeadLetter(msg.Header, dl)
	return msg, err
}

// RedriveMsg is a dead-lettered delivery d put back on DELIVERIES from
// DLQ sequence seq. Its Nats-Msg-Id "<id>:redrive:<seq>" is new, since
// JetStream drops a second message with the router's id within the
// duplicate window, yet a redrive repeated for one dead letter is stored
// once; HeaderRedrive is "dlq:<seq>".
func RedriveMsg(d *junctionv1.Delivery, seq uint64) (*nats.Msg, error) {
	s := strconv.FormatUint(seq, 10)
	msg, err := deliveryMsg(DeliverySubject(d.GetDestination(), d.GetRouteId()), d.GetId()+":redrive:"+s, d)
	msg.Header.Set(HeaderRedrive, "dlq:"+s)
	return msg, err
}

// ResendMsg is delivery d of a stored event routed again (a resend), with
// the Nats-Msg-Id "<id>:resend:<nonce>"; HeaderRedrive is "resend".
func ResendMsg(d *junctionv1.Delivery, nonce string) (*nats.Msg, error) {
	msg, err := deliveryMsg(DeliverySubject(d.GetDestination(), d.GetRouteId()), d.GetId()+":resend:"+nonce, d)
	msg.Header.Set(HeaderRedrive, "resend")
	return msg, err
}

// ShadowReplayRouteID is the route id of the deliveries a replay into a
// shadow target makes: new on every replay, so metrics label them by
// IsShadowReplay rather than by it.
func ShadowReplayRouteID(replayID string) string { return "replay-" + replayID }

// IsShadowReplay reports whether d was made by a replay into a shadow
// target (ShadowReplayRouteID).
func IsShadowReplay(d *junctionv1.Delivery) bool {
	return d.GetReplayId() != "" && d.GetRouteId() == ShadowReplayRouteID(d.GetReplayId())
}

// ReplayMsg is delivery d of a stored event sent again by replay
// replayID (EventService.ReplayEvents), with the Nats-Msg-Id
// "<id>:replay:<replay id>", so the one replay stores it once while a later
// replay sends it again; HeaderRedrive is "replay:<replay id>". Set
// d.ReplayId before: the body carries it to the destination.
func ReplayMsg(d *junctionv1.Delivery, replayID string) (*nats.Msg, error) {
	msg, err := deliveryMsg(DeliverySubject(d.GetDestination(), d.GetRouteId()), d.GetId()+":replay:"+replayID, d)
	msg.Header.Set(HeaderRedrive, "replay:"+replayID)
	return msg, err
}

// Taken is a delivery message a sink took from DELIVERIES, RETRIES or
// LANES and moves on: to RETRIES (RetryMsg), to a lane (LaneMsg) or to the
// DLQ (SinkDeadLetterMsg). The moved message keeps the body as taken, and
// its Nats-Msg-Id names the message it replaces, so a sink that crashes
// before acknowledging the original stores it once.
type Taken struct {
	// Destination is the sink's app, Route the route token of the subject
	// it was taken from.
	Destination, Route string
	// Header and Body are the taken message's.
	Header nats.Header
	Body   []byte
	// Stream and Sequence say where it was taken; an empty Stream (the
	// metadata could not be read) leaves the moved message without a
	// Nats-Msg-Id.
	Stream   string
	Sequence uint64
	// DeliveryID and EventID are the delivery's.
	DeliveryID, EventID string
}

// tag names the taken message uniquely: its sequence, prefixed with the
// stream's name in lower case for streams other than DELIVERIES; empty
// when unknown.
func (t Taken) tag() string {
	if t.Stream == "" {
		return ""
	}
	tag := strconv.FormatUint(t.Sequence, 10)
	if t.Stream != DeliveriesStream {
		tag = strings.ToLower(t.Stream) + "-" + tag
	}
	return tag
}

// msgID is the Nats-Msg-Id of t moved as kind, or "" when t's origin is
// unknown.
func (t Taken) msgID(kind, id string) string {
	if tag := t.tag(); tag != "" {
		return kind + ":" + id + ":" + tag
	}
	return ""
}

// traceHeaders are the W3C trace context headers a retry carries over.
var traceHeaders = []string{"traceparent", "tracestate", "baggage"}

// RetryMsg is t waiting on RETRIES under RetrySubject(destination, route)
// for its next attempt at notBefore, after attempts attempts; Nats-Msg-Id
// "retry:<delivery id>:<tag>". The trace context is carried over.
func RetryMsg(t Taken, attempts int, notBefore time.Time) *nats.Msg {
	msg := nats.NewMsg(RetrySubject(t.Destination, t.Route))
	msg.Data = t.Body
	msg.Header.Set(HeaderContentType, ContentTypeDelivery)
	set(msg.Header, HeaderDeliveryID, t.DeliveryID)
	set(msg.Header, HeaderEventID, t.EventID)
	msg.Header.Set(HeaderAttempts, strconv.Itoa(attempts))
	msg.Header.Set(HeaderNotBefore, notBefore.UTC().Format(time.RFC3339Nano))
	for _, h := range traceHeaders {
		if v := t.Header.Get(h); v != "" {
			msg.Header.Set(h, v)
		}
	}
	set(msg.Header, jetstream.MsgIDHeader, t.msgID("retry", t.DeliveryID))
	return msg
}

// LaneMsg is t parked in its route's lane, LaneSubject(destination,
// route), after attempts attempts: every header but NATS's own is kept;
// Nats-Msg-Id "lane:<delivery id>:<tag>".
func LaneMsg(t Taken, attempts int) *nats.Msg {
	msg := nats.NewMsg(LaneSubject(t.Destination, t.Route))
	msg.Data = t.Body
	for k, vs := range t.Header {
		if !strings.HasPrefix(k, "Nats-") {
			msg.Header[k] = vs
		}
	}
	msg.Header.Set(HeaderAttempts, strconv.Itoa(attempts))
	set(msg.Header, jetstream.MsgIDHeader, t.msgID("lane", t.DeliveryID))
	return msg
}

// SinkDeadLetterMsg is t given up by its sink: under
// DLQSubject(destination, route), with dl in headers; Nats-Msg-Id
// "dlq:<delivery id>:<tag>", one dead letter per message taken, so a
// redriven delivery that fails again within the duplicate window still
// gets its new dead letter.
func SinkDeadLetterMsg(t Taken, dl DeadLetter) *nats.Msg {
	msg := nats.NewMsg(DLQSubject(t.Destination, t.Route))
	msg.Data = t.Body
	set(msg.Header, jetstream.MsgIDHeader, t.msgID("dlq", t.DeliveryID))
	msg.Header.Set(HeaderContentType, ContentTypeDelivery)
	set(msg.Header, HeaderDeliveryID, t.DeliveryID)
	set(msg.Header, HeaderEventID, t.EventID)
	setDeadLetter(msg.Header, dl)
	return msg
}

// setDeadLetter writes dl's headers.
func setDeadLetter(h nats.Header, dl DeadLetter) {
	h.Set(HeaderDLQReason, dl.Reason)
	h.Set(HeaderDLQAttempts, strconv.Itoa(dl.Attempts))
	set(h, HeaderDLQLastError, headerValue(dl.LastError, MaxDLQErrorLen))
	if dl.Status > 0 {
		h.Set(HeaderDLQStatus, strconv.Itoa(dl.Status))
	}
}

// headerValue makes s fit a NATS header value: one line, at most n bytes.
func headerValue(s string, n int) string {
	s = strings.Map(func(r rune) rune {
		if r == '\r' || r == '\n' || r == '\t' {
			return ' '
		}
		return r
	}, s)
	return clip.Cut(s, n)
}

// AttemptMsg is the record of one delivery attempt (or of a pending
// redrive) on ATTEMPTS, under AttemptSubject(event source, event id,
// delivery id); it has no Nats-Msg-Id.
func AttemptMsg(a *junctionv1.DeliveryAttempt) (*nats.Msg, error) {
	data, err := proto.Marshal(a)
	if err != nil {
		return nil, fmt.Errorf("encode attempt: %w", err)
	}
	msg, hset := msgWithHeaders(AttemptSubject(a.GetEventSource(), a.GetEventId(), a.GetDeliveryId()), 2)
	msg.Data = data
	hset(HeaderContentType, ContentTypeAttempt)
	hset(HeaderDeliveryID, a.GetDeliveryId())
	return msg, nil
}

// Subject filters: every subject of a stream under one destination or
// source; an empty destination or source is every one.

// EventsFilter is the filter of source's events.
func EventsFilter(source string) string { return filter(EventsPrefix, source) }

// DeliveriesFilter is the filter of destination's fresh deliveries.
func DeliveriesFilter(destination string) string { return filter(DeliveriesPrefix, destination) }

// RetriesFilter is the filter of destination's retries.
func RetriesFilter(destination string) string { return filter(RetriesPrefix, destination) }

// LanesFilter is the filter of destination's lanes.
func LanesFilter(destination string) string { return filter(LanesPrefix, destination) }

// DLQFilter is the filter of destination's dead letters.
func DLQFilter(destination string) string { return filter(DLQPrefix, destination) }

// AttemptsFilter is the filter of every attempt record.
func AttemptsFilter() string { return AttemptsPrefix + ">" }

func filter(prefix, token string) string {
	if token == "" {
		return prefix + ">"
	}
	return prefix + token + ".>"
}

// SplitDLQSubject returns the destination and route of a dead letter's
// subject.
func SplitDLQSubject(subject string) (destination, routeID string, ok bool) {
	rest, found := strings.CutPrefix(subject, DLQPrefix)
	if !found {
		return "", "", false
	}
	return strings.Cut(rest, ".")
}

// CarriesAttempts reports whether subject is on RETRIES or LANES, whose
// messages carry the attempts made so far (Meta.Attempts).
func CarriesAttempts(subject string) bool {
	return strings.HasPrefix(subject, RetriesPrefix) || strings.HasPrefix(subject, LanesPrefix)
}
