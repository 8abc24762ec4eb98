package sdk

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/junctionhq/junction/adapters/sdk/clip"
	"github.com/junctionhq/junction/adapters/sdk/platform/natstrace"
	"github.com/junctionhq/junction/adapters/sdk/platform/topology"
	junctionv1 "github.com/junctionhq/junction/proto/junction/v1"
)

// SpecVersion is the CloudEvents spec version filled into events that have
// none.
const SpecVersion = "1.0"

// MaxEventIDLen is the longest event id accepted, in bytes.
const MaxEventIDLen = 256

// openTimeout bounds the set-up calls of constructors that take no context.
const openTimeout = 10 * time.Second

var extensionNameRe = regexp.MustCompile(`^[a-z0-9]{1,20}$`)

// Publisher stores events on the EVENTS stream, exactly once per source and
// id: the idempotency bucket remembers every id for the topology's TTL, and
// Nats-Msg-Id covers a crash between storing an event and recording its id.
// It is safe for concurrent use.
type Publisher struct {
	js     jetstream.JetStream
	idem   jetstream.Stream // the idempotency bucket's stream
	stream jetstream.Stream
	now    func() time.Time
	scoped bool
}

// PublishResult says what [Publisher.Publish] stored.
type PublishResult struct {
	// Sequence is the EVENTS stream sequence the event is stored at.
	Sequence uint64
	// Duplicate is true when an event with the same source and id was
	// already stored; nothing was published.
	Duplicate bool
	// Event is the event as stored: for a duplicate, the first one.
	Event *junctionv1.Event
}

// NewPublisher returns a Publisher on js. It opens the EVENTS stream and the
// idempotency bucket, which topology.Ensure (or `junction serve`) creates.
func NewPublisher(js jetstream.JetStream) (*Publisher, error) {
	return NewPublisherWithOptions(js, PublisherOptions{})
}

// PublisherOptions tune a [Publisher].
type PublisherOptions struct {
	// Scoped is for connections whose user may publish its own sources'
	// events and read their idempotency records but not read the EVENTS
	// stream (the adapter role of the hub's NATS): a provider's retry is
	// then answered from the idempotency record and the stream's bounds,
	// with the event as submitted rather than the copy stored first.
	Scoped bool
}

// NewPublisherWithOptions is [NewPublisher] with options.
func NewPublisherWithOptions(js jetstream.JetStream, o PublisherOptions) (*Publisher, error) {
	if js == nil {
		return nil, errors.New("new publisher: jetstream is nil")
	}
	ctx, cancel := context.WithTimeout(context.Background(), openTimeout)
	defer cancel()
	stream, err := js.Stream(ctx, topology.EventsStream)
	if err != nil {
		return nil, fmt.Errorf("open stream %s (is the hub topology created?): %w", topology.EventsStream, err)
	}
	idem, err := js.Stream(ctx, topology.IdempotencyStream)
	if err != nil {
		return nil, fmt.Errorf("open bucket %s (is the hub topology created?): %w", topology.IdempotencyBucket, err)
	}
	return &Publisher{js: js, idem: idem, stream: stream, now: time.Now, scoped: o.Scoped}, nil
}

// Publish stores e on the EVENTS stream under
// junction.events.<source>.<type> and returns once it is stored and its id
// recorded. e itself is not modified; the result holds the stored copy with
// id (when empty, a random "evt_..." id), time, receive_time and
// spec_version filled in.
//
// An event whose source and id were published before is not stored again:
// the result has Duplicate set and the first event and its sequence.
// Invalid events are rejected with an error wrapping [ErrInvalidEvent];
// failures to store wrap [ErrUnavailable] and are safe to retry.
func (p *Publisher) Publish(ctx context.Context, e *junctionv1.Event) (res PublishResult, err error) {
	if e == nil {
		return PublishResult{}, fmt.Errorf("%w: event is nil", ErrInvalidEvent)
	}
	ev := proto.CloneOf(e)
	now := p.now()
	generated := ev.GetId() == ""
	if generated {
		ev.Id = NewEventID()
	}
	if ev.GetTime() == nil {
		ev.Time = timestamppb.New(now)
	}
	if ev.GetReceiveTime() == nil {
		ev.ReceiveTime = timestamppb.New(now)
	}
	if ev.GetSpecVersion() == "" {
		ev.SpecVersion = SpecVersion
	}
	ctx, span := startEventPublish(ctx, ev)
	defer func() { endEventPublish(ctx, span, ev, res, err) }()
	if err := ValidateEvent(ev); err != nil {
		return PublishResult{}, err
	}
	msg, err := topology.EventMsg(ev)
	if err != nil {
		return PublishResult{}, fmt.Errorf("%w: encode: %w", ErrInvalidEvent, errors.Unwrap(err))
	}
	if limit := p.js.Conn().MaxPayload(); limit > 0 && int64(len(msg.Data))+1024 > limit {
		return PublishResult{}, fmt.Errorf("%w: event is %d bytes encoded, the hub accepts at most %d: keep the payload smaller", ErrInvalidEvent, len(msg.Data), limit-1024)
	}

	key := topology.IdempotencyKey(ev.GetSource(), ev.GetId())
	msgID := topology.EventMsgID(ev.GetSource(), ev.GetId())
	calls := newHubCalls(ctx)
	defer calls.done()
	var entry *jetstream.RawStreamMsg
	err = jetstream.ErrKeyNotFound // a fresh random id cannot have been seen
	if !generated {
		entry, err = untilAnswered(calls, func(ctx context.Context) (*jetstream.RawStreamMsg, error) { return p.lookup(ctx, key) })
	}
	switch {
	case err == nil:
		// A sequence that no longer holds this event (the stream was
		// purged or recreated) is stale: publish afresh.
		if seq, perr := strconv.ParseUint(string(entry.Data), 10, 64); perr == nil {
			if p.scoped {
				res, found, err := p.recorded(ctx, seq, entry.Time, ev)
				if err != nil || found {
					return res, err
				}
				break
			}
			res, found, err := p.stored(ctx, seq, msgID)
			if err != nil || found {
				return res, err
			}
		}
	case !errors.Is(err, jetstream.ErrKeyNotFound):
		return PublishResult{}, fmt.Errorf("%w: look up event id: %w", ErrUnavailable, err)
	}

	natstrace.Inject(ctx, msg.Header)
	ack, err := untilAnswered(calls, func(ctx context.Context) (*jetstream.PubAck, error) {
		return publishSync(ctx, p.js, msg, topology.EventsStream)
	})
	if err != nil {
		return PublishResult{}, fmt.Errorf("%w: publish event: %w", ErrUnavailable, err)
	}
	if _, err := untilAnswered(calls, func(ctx context.Context) (*jetstream.PubAck, error) {
		return publishSync(ctx, p.js, &nats.Msg{Subject: topology.IdempotencySubject(key), Data: strconv.AppendUint(nil, ack.Sequence, 10)}, "")
	}); err != nil {
		return PublishResult{}, fmt.Errorf("%w: record event id: %w", ErrUnavailable, err)
	}
	if ack.Duplicate && p.scoped {
		return PublishResult{Sequence: ack.Sequence, Duplicate: true, Event: ev}, nil
	}
	if ack.Duplicate {
		res, found, err := p.stored(ctx, ack.Sequence, msgID)
		if err != nil || found {
			return res, err
		}
		// Gone already: answer with what was submitted.
		return PublishResult{Sequence: ack.Sequence, Duplicate: true, Event: ev}, nil
	}
	return PublishResult{Sequence: ack.Sequence, Event: ev}, nil
}

// stored returns the duplicate answer for the event stored at seq, when the
// message there is the one with msgID; found is false when it is not there.
func (p *Publisher) stored(ctx context.Context, seq uint64, msgID string) (res PublishResult, found bool, err error) {
	raw, err := p.stream.GetMsg(ctx, seq)
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		return PublishResult{}, false, nil
	}
	if err != nil {
		return PublishResult{}, false, fmt.Errorf("%w: read stored event %d: %w", ErrUnavailable, seq, err)
	}
	if topology.MetaOf(raw.Header).MsgID != msgID {
		return PublishResult{}, false, nil
	}
	e, err := topology.ParseEvent(raw.Subject, raw.Header, raw.Data)
	if err != nil {
		return PublishResult{}, false, fmt.Errorf("stored event %d: %w", seq, err)
	}
	return PublishResult{Sequence: seq, Duplicate: true, Event: e}, true, nil
}

// lookup reads key's record in the idempotency bucket, as the key-value
// API's Get does (jetstream.ErrKeyNotFound when there is none, or when it
// was removed) but without its check of the key.
func (p *Publisher) lookup(ctx context.Context, key string) (*jetstream.RawStreamMsg, error) {
	raw, err := p.idem.GetLastMsgForSubject(ctx, topology.IdempotencySubject(key))
	switch {
	case errors.Is(err, jetstream.ErrMsgNotFound):
		return nil, jetstream.ErrKeyNotFound
	case err != nil:
		return nil, err
	case topology.KVRemoved(raw.Header):
		return nil, jetstream.ErrKeyNotFound
	}
	return raw, nil
}

// recorded is the duplicate answer of a scoped publisher, which may not
// read the stream: the record at seq stands when the stream still holds
// that sequence and was not created after the record was written.
func (p *Publisher) recorded(ctx context.Context, seq uint64, recordedAt time.Time, ev *junctionv1.Event) (res PublishResult, found bool, err error) {
	calls := newHubCalls(ctx)
	defer calls.done()
	info, err := untilAnswered(calls, func(ctx context.Context) (*jetstream.StreamInfo, error) { return p.stream.Info(ctx) })
	if err != nil {
		return PublishResult{}, false, fmt.Errorf("%w: read stream %s bounds: %w", ErrUnavailable, topology.EventsStream, err)
	}
	if seq < info.State.FirstSeq || seq > info.State.LastSeq || info.Created.After(recordedAt) {
		return PublishResult{}, false, nil
	}
	return PublishResult{Sequence: seq, Duplicate: true, Event: ev}, true, nil
}

// ValidateEvent checks what the hub requires of an event before it is
// stored: a source that is a subject token, a dot-separated type, a
// non-empty printable id, CloudEvents extension names. Errors wrap
// [ErrInvalidEvent] and say what to fix.
func ValidateEvent(e *junctionv1.Event) error {
	if e == nil {
		return fmt.Errorf("%w: event is nil", ErrInvalidEvent)
	}
	if err := topology.ValidToken(e.GetSource()); err != nil {
		return fmt.Errorf("%w: source: %w", ErrInvalidEvent, err)
	}
	if err := topology.ValidType(e.GetType()); err != nil {
		return fmt.Errorf("%w: type: %w", ErrInvalidEvent, err)
	}
	id := e.GetId()
	switch {
	case id == "":
		return fmt.Errorf("%w: id is empty", ErrInvalidEvent)
	case len(id) > MaxEventIDLen:
		return fmt.Errorf("%w: id is %d bytes, at most %d are allowed", ErrInvalidEvent, len(id), MaxEventIDLen)
	case !utf8.ValidString(id) || hasControl(id):
		return fmt.Errorf("%w: id %q must be valid UTF-8 without control characters", ErrInvalidEvent, clip.String(id))
	}
	for name := range e.GetExtensions() {
		if !extensionNameRe.MatchString(name) {
			return fmt.Errorf("%w: extension name %q must be 1 to 20 lowercase letters or digits (CloudEvents)", ErrInvalidEvent, clip.String(name))
		}
	}
	return nil
}

func hasControl(s string) bool {
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			return true
		}
	}
	return false
}

// crockford is Crockford's base32 alphabet in lower case.
const crockford = "0123456789abcdefghjkmnpqrstvwxyz"

// NewEventID returns a new random event id, "evt_" and 26 characters: a
// millisecond timestamp and 80 random bits in Crockford base32, so ids sort
// by creation time.
func NewEventID() string {
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], uint64(time.Now().UnixMilli())<<16)
	_, _ = rand.Read(b[6:])
	// 128 bits as 26 base32 digits, the first carrying the top 3 bits.
	hi := binary.BigEndian.Uint64(b[:8])
	lo := binary.BigEndian.Uint64(b[8:])
	var out [26]byte
	for i := 25; i >= 0; i-- {
		out[i] = crockford[lo&31]
		lo = lo>>5 | hi<<59
		hi >>= 5
	}
	return "evt_" + string(out[:])
}

// decodeEvent decodes an event stored on the EVENTS stream.
func decodeEvent(msg jetstream.Msg) (*junctionv1.Event, error) {
	return topology.ParseEvent(msg.Subject(), msg.Headers(), msg.Data())
}

// decodeDelivery decodes a delivery stored on the DELIVERIES or DLQ stream.
func decodeDelivery(msg jetstream.Msg) (*junctionv1.Delivery, error) {
	return topology.ParseDelivery(msg.Subject(), msg.Headers(), msg.Data())
}

// hubCallTimeout bounds one call to the hub inside Publish (see
// hubCalls). A call that reached a stream leader the moment it died gets
// no answer at all; it is
// made again (each call of Publish is idempotent: a lookup, a publish
// deduplicated by Nats-Msg-Id, a put of the same value) as long as the
// caller's context allows, so a leader election costs the election's few
// seconds rather than the caller's whole deadline.
const hubCallTimeout = 2 * time.Second

// hubCalls bounds the calls to the hub one Publish makes in turn: they
// share a window of hubCallTimeout (each normally answers in well under a
// millisecond, and one context with a timer per call was three per
// webhook), and a call the window ran out on is made again in a fresh one.
// It is used by one goroutine; done releases its timer.
type hubCalls struct {
	parent context.Context
	ctx    context.Context // the current window; nil before the first call
	cancel context.CancelFunc
}

func newHubCalls(ctx context.Context) *hubCalls { return &hubCalls{parent: ctx} }

// window returns the current window, opening one when there is none.
func (h *hubCalls) window() context.Context {
	if h.ctx == nil {
		h.ctx, h.cancel = context.WithTimeout(h.parent, hubCallTimeout)
	}
	return h.ctx
}

// done closes the current window.
func (h *hubCalls) done() {
	if h.cancel != nil {
		h.cancel()
		h.ctx, h.cancel = nil, nil
	}
}

// untilAnswered makes call within h's window, again in a fresh window
// while it times out unanswered and h's caller has time left. Any other
// outcome, an error included, is returned at once.
func untilAnswered[T any](h *hubCalls, call func(ctx context.Context) (T, error)) (T, error) {
	for {
		v, err := call(h.window())
		if err == nil || h.parent.Err() != nil || !(errors.Is(err, context.DeadlineExceeded) || errors.Is(err, nats.ErrTimeout)) {
			return v, err
		}
		h.done()
	}
}

// publishAcked publishes msg on js. With a report it does not wait for the
// ack: the message is handed to the connection, in order with what the
// caller published before it, and a goroutine waits up to wait for the ack
// and calls report should it fail or not come. Without one it waits for
// the ack and returns its error. expectStream, when set, is the stream
// the message must be stored on.
func publishAcked(ctx context.Context, js jetstream.JetStream, msg *nats.Msg, wait time.Duration, report func(error), expectStream string) error {
	if report == nil {
		_, err := publishSync(ctx, js, msg, expectStream)
		return err
	}
	var opts []jetstream.PublishOpt
	if expectStream != "" {
		opts = append(opts, jetstream.WithExpectStream(expectStream))
	}
	f, err := js.PublishMsgAsync(msg, opts...)
	if err != nil {
		return err
	}
	go func() {
		t := time.NewTimer(wait)
		defer t.Stop()
		select {
		case <-f.Ok():
		case err := <-f.Err():
			report(err)
		case <-t.C:
			report(fmt.Errorf("no ack after %v", wait))
		}
	}()
	return nil
}
