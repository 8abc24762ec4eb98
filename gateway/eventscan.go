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
// The gateway reads ranges of EVENTS through ephemeral pull consumers
// without acks (AckNone, in memory), one per range: the server filters by
// subject and skips what does not match without sending it, and removes the
// consumer once it is idle for scanIdle (the gateway's NATS user may create
// consumers on EVENTS but delete none). See docs/design.md, "Event search,
// replay and tail".
const (
	// scanIdle is how long an idle search consumer outlives its use.
	scanIdle = 10 * time.Second
	// scanBatch is how many messages one pull asks for.
	scanBatch = 512
	// scanStall bounds the wait for one message the consumer said is
	// pending (it may have aged out of the stream meanwhile).
	scanStall = 5 * time.Second
)

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
	cfg := jetstream.ConsumerConfig{
		DeliverPolicy:     jetstream.DeliverByStartSequencePolicy,
		OptStartSeq:       lo,
		AckPolicy:         jetstream.AckNonePolicy,
		MemoryStorage:     true,
		InactiveThreshold: scanIdle,
		FilterSubject:     subject,
	}
	cons, err := s.events.CreateConsumer(ctx, cfg)
	if err != nil {
		return 0, fmt.Errorf("read %s: %w", topology.EventsStream, err)
	}
	if cons.CachedInfo().NumPending == 0 {
		return 0, nil
	}
	batch := scanBatch
	if span := hi - lo + 1; span < uint64(batch) {
		batch = int(span)
	}
	it, err := cons.Messages(jetstream.PullMaxMessages(max(batch, 2)))
	if err != nil {
		return 0, fmt.Errorf("read %s: %w", topology.EventsStream, err)
	}
	defer it.Stop()
	var n int64
	for {
		wait, cancel := context.WithTimeout(ctx, scanStall)
		m, err := it.Next(jetstream.NextContext(wait))
		cancel()
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

// withDataJSON returns e with data_json set when its payload is JSON.
func withDataJSON(e *junctionv1.Event) *junctionv1.Event {
	if len(e.GetData()) == 0 || !router.JSONContentType(e.GetDataContentType()) {
		return e
	}
	v := &structpb.Value{}
	if err := protojson.Unmarshal(e.GetData(), v); err != nil {
		return e
	}
	e.DataJson = v
	return e
}
