package gateway

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/junctionhq/junction/adapters/sdk/platform/topology"
	junctionv1 "github.com/junctionhq/junction/proto/junction/v1"
	"github.com/junctionhq/junction/services/router"
)

// Reading EVENTS for search, replay and tail.
//
// The gateway reads ranges of EVENTS through ephemeral push consumers
// without acks (AckNone, in memory, with flow control), one per range,
// delivering to an inbox of the gateway's own: the server filters by
// subject and skips what does not match without sending it, and removes the
// consumer once it is idle for scanIdle. Push, not pull, because the
// gateway's NATS user may create consumers on EVENTS but neither pull from
// nor delete any (so it can take no event from the router's consumer and
// remove none). See docs/design.md, "Event search, replay and tail".
const (
	// scanIdle is how long an idle search consumer outlives its use.
	scanIdle = 10 * time.Second
	// scanBuffer is how many delivered messages wait for the reader; the
	// server's flow control holds back the rest.
	scanBuffer = 256
	// scanStall bounds the wait for one message the consumer said is
	// pending (it may have aged out of the stream meanwhile).
	scanStall = 5 * time.Second
	// feedHeartbeat is the idle heartbeat flow control needs.
	feedHeartbeat = 5 * time.Second
)

// feed is the messages of an ephemeral push consumer on EVENTS.
type feed struct {
	info *jetstream.ConsumerInfo
	msgs chan jetstream.Msg
	done chan struct{}
	cc   jetstream.ConsumeContext
}

// follow creates an ephemeral push consumer on EVENTS with cfg, AckNone,
// in memory, with flow control, delivering to a new inbox of the
// gateway's connection. Messages are read with next; stop ends it. A
// bounded read's consumer (live false) with nothing pending is returned
// not consuming; a live one (a tail) always consumes, for what is stored
// later.
func (s *Server) follow(ctx context.Context, cfg jetstream.ConsumerConfig, live bool) (*feed, error) {
	cfg.AckPolicy = jetstream.AckNonePolicy
	cfg.MemoryStorage = true
	cfg.InactiveThreshold = scanIdle
	cfg.FlowControl = true
	cfg.IdleHeartbeat = feedHeartbeat
	cfg.DeliverSubject = s.js.Conn().NewInbox()
	cons, err := s.events.CreatePushConsumer(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", topology.EventsStream, err)
	}
	f := &feed{info: cons.CachedInfo(), msgs: make(chan jetstream.Msg, scanBuffer), done: make(chan struct{})}
	if !live && f.info.NumPending == 0 {
		return f, nil
	}
	// The handler blocks while the buffer is full: the server's flow
	// control then holds back what follows, so nothing is dropped.
	f.cc, err = cons.Consume(func(m jetstream.Msg) {
		select {
		case f.msgs <- m:
		case <-f.done:
		}
	})
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", topology.EventsStream, err)
	}
	return f, nil
}

// next returns the next message, waiting at most wait (and until ctx).
func (f *feed) next(ctx context.Context, wait time.Duration) (jetstream.Msg, error) {
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case m := <-f.msgs:
		return m, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-t.C:
		return nil, errFeedIdle
	}
}

// stop ends consuming; the server removes the consumer once idle.
func (f *feed) stop() {
	close(f.done)
	if f.cc != nil {
		f.cc.Stop()
	}
}

// errFeedIdle is returned by feed.next when nothing came in time.
var errFeedIdle = errors.New("no message")

// storedEvent is one message of EVENTS, decoded.
type storedEvent struct {
	seq    uint64
	event  *junctionv1.Event
	header map[string][]string
}

// eventSelector is a validated EventFilter.
type eventSelector struct {
	// subject is the NATS filter the server applies; "" for every event.
	subject string
	// source and typ, when set with a subject pattern, are checked here.
	source, typ string
	cond        *router.Condition
	start, end  time.Time
}

// newSelector checks f. field prefixes the field names of errors.
func newSelector(f *junctionv1.EventFilter, field string) (*eventSelector, error) {
	sel := &eventSelector{source: f.GetSource(), typ: f.GetType()}
	if sel.source != "" {
		if err := topology.ValidToken(sel.source); err != nil {
			return nil, invalid(field+"source", "%v", err)
		}
	}
	if sel.typ != "" {
		if err := topology.ValidType(sel.typ); err != nil {
			return nil, invalid(field+"type", "%v", err)
		}
	}
	if p := f.GetSubjectPattern(); strings.TrimSpace(p) != "" {
		full, err := router.SubjectPattern(p)
		if err != nil {
			return nil, invalid(field+"subject_pattern", "%s", strings.TrimPrefix(err.Error(), router.ErrInvalidRoute.Error()+": filter: "))
		}
		sel.subject = full
	} else {
		switch {
		case sel.source != "" && sel.typ != "":
			sel.subject = topology.EventSubject(sel.source, sel.typ)
		case sel.source != "":
			sel.subject = topology.EventsFilter(sel.source)
		case sel.typ != "":
			sel.subject = topology.EventSubject("*", sel.typ)
		}
		sel.source, sel.typ = "", "" // the server's filter does it
	}
	if sel.subject == topology.EventsFilter("") {
		sel.subject = ""
	}
	cond, err := router.CompileCondition(f.GetCondition())
	if err != nil {
		return nil, invalid(field+"condition", "%s: write a CEL expression over `event` and `data` that is true for the events to keep, e.g. data.total > 100", strings.TrimPrefix(err.Error(), router.ErrInvalidRoute.Error()+": condition: "))
	}
	sel.cond = cond
	if ts := f.GetStartTime(); ts != nil {
		if err := ts.CheckValid(); err != nil {
			return nil, invalid(field+"start_time", "%v", err)
		}
		sel.start = ts.AsTime()
	}
	if ts := f.GetEndTime(); ts != nil {
		if err := ts.CheckValid(); err != nil {
			return nil, invalid(field+"end_time", "%v", err)
		}
		sel.end = ts.AsTime()
	}
	if !sel.start.IsZero() && !sel.end.IsZero() && !sel.end.After(sel.start) {
		return nil, invalid(field+"end_time", "%s is not after start_time %s", sel.end.Format(time.RFC3339Nano), sel.start.Format(time.RFC3339Nano))
	}
	return sel, nil
}

// match reports whether a decoded event passes the checks the server's
// subject filter did not make: source and type beside a pattern, and the
// condition. A condition that fails at run time does not match.
func (sel *eventSelector) match(e *junctionv1.Event) bool {
	if sel.source != "" && e.GetSource() != sel.source {
		return false
	}
	if sel.typ != "" && e.GetType() != sel.typ {
		return false
	}
	ok, err := sel.cond.Match(e)
	return err == nil && ok
}

// bounds returns the EVENTS sequences sel's time range covers, lo to hi
// both included; ok is false when the range holds no message.
func (s *Server) bounds(ctx context.Context, sel *eventSelector) (lo, hi uint64, ok bool, err error) {
	info, err := s.events.Info(ctx)
	if err != nil {
		return 0, 0, false, err
	}
	if info.State.Msgs == 0 {
		return 0, 0, false, nil
	}
	lo, hi = info.State.FirstSeq, info.State.LastSeq
	if !sel.start.IsZero() {
		seq, found, err := s.seqAtTime(ctx, sel.start)
		if err != nil {
			return 0, 0, false, err
		}
		if !found {
			return 0, 0, false, nil
		}
		lo = max(lo, seq)
	}
	if !sel.end.IsZero() {
		seq, found, err := s.seqAtTime(ctx, sel.end)
		if err != nil {
			return 0, 0, false, err
		}
		if found {
			if seq <= lo {
				return 0, 0, false, nil
			}
			hi = min(hi, seq-1)
		}
	}
	return lo, hi, lo <= hi, nil
}

// seqAtTime returns the first EVENTS sequence stored at or after t: the
// server finds it for a consumer created to start at t, and reports it as
// that consumer's delivered stream sequence plus one.
func (s *Server) seqAtTime(ctx context.Context, t time.Time) (uint64, bool, error) {
	cons, err := s.events.CreateConsumer(ctx, jetstream.ConsumerConfig{
		DeliverPolicy:     jetstream.DeliverByStartTimePolicy,
		OptStartTime:      &t,
		AckPolicy:         jetstream.AckNonePolicy,
		MemoryStorage:     true,
		InactiveThreshold: scanIdle,
	})
	if err != nil {
		return 0, false, fmt.Errorf("find the first event at %s: %w", t.Format(time.RFC3339Nano), err)
	}
	info := cons.CachedInfo()
	if info.NumPending == 0 {
		return 0, false, nil
	}
	return info.Delivered.Stream + 1, true, nil
}

// errStopScan ends a scan early from its callback.
var errStopScan = errors.New("scan stopped")

// scan reads the messages of EVENTS from sequence lo to hi (both included)
// whose subject matches subject ("" for all), oldest first, and calls fn
// with each decoded event until fn returns errStopScan (scan returns nil)
// or another error (scan returns it). An undecodable message is skipped.
// It returns how many messages it read.
func (s *Server) scan(ctx context.Context, subject string, lo, hi uint64, fn func(storedEvent) error) (int64, error) {
	if lo > hi {
		return 0, nil
	}
	f, err := s.follow(ctx, jetstream.ConsumerConfig{
		DeliverPolicy: jetstream.DeliverByStartSequencePolicy,
		OptStartSeq:   lo,
		FilterSubject: subject,
	}, false)
	if err != nil {
		return 0, err
	}
	defer f.stop()
	if f.info.NumPending == 0 {
		return 0, nil
	}
	var n int64
	for {
		m, err := f.next(ctx, scanStall)
		if err != nil {
			if ctx.Err() != nil {
				return n, ctx.Err()
			}
			// Nothing came though the consumer counted a message as
			// pending: it aged out of the stream meanwhile.
			return n, nil
		}
		meta, err := m.Metadata()
		if err != nil {
			return n, fmt.Errorf("read %s: %w", topology.EventsStream, err)
		}
		seq := meta.Sequence.Stream
		if seq > hi {
			return n, nil
		}
		n++
		e, perr := topology.ParseEvent(m.Subject(), m.Headers(), m.Data())
		if perr != nil {
			s.log.WarnContext(ctx, "undecodable event skipped", "sequence", seq, "error", perr)
		} else if err := fn(storedEvent{seq: seq, event: e, header: m.Headers()}); err != nil {
			if errors.Is(err, errStopScan) {
				return n, nil
			}
			return n, err
		}
		if meta.NumPending == 0 || seq == hi {
			return n, nil
		}
	}
}

// withDataJSON sets e's data_json when its payload is JSON.
func withDataJSON(e *junctionv1.Event) {
	if len(e.GetData()) == 0 || !router.JSONContentType(e.GetDataContentType()) {
		return
	}
	v := &structpb.Value{}
	if err := protojson.Unmarshal(e.GetData(), v); err != nil {
		return
	}
	e.DataJson = v
}
