package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.opentelemetry.io/otel/attribute"
	otelcodes "go.opentelemetry.io/otel/codes"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/junctionhq/junction/adapters/sdk/platform/natstrace"
	"github.com/junctionhq/junction/adapters/sdk/platform/topology"
	junctionv1 "github.com/junctionhq/junction/proto/junction/v1"
	"github.com/junctionhq/junction/services/router"
)

// deadLetterPrefix starts every dead letter's resource name.
const deadLetterPrefix = "deadLetters/"

// Page sizes of ListDeadLetters.
const (
	defaultDeadLetterPage = 50
	maxDeadLetterPage     = 1000
)

// dlqFilter is a checked junction.v1.DeadLetterFilter.
type dlqFilter struct {
	subject    string
	start, end time.Time
	reason     string
	// bySubjectOnly is true when the subject alone selects (no time or
	// reason), so a purge can be one stream purge.
	bySubjectOnly bool
	empty         bool
}

func parseDLQFilter(f *junctionv1.DeadLetterFilter) (dlqFilter, error) {
	dest, route := "*", "*"
	if v := f.GetDestination(); v != "" {
		if err := topology.ValidToken(v); err != nil {
			return dlqFilter{}, invalid("filter.destination", "%v", err)
		}
		dest = v
	}
	if v := f.GetRouteId(); v != "" {
		if err := topology.ValidToken(v); err != nil {
			return dlqFilter{}, invalid("filter.route_id", "%v", err)
		}
		route = v
	}
	out := dlqFilter{subject: topology.DLQSubject(dest, route), reason: f.GetReason()}
	if f.GetStartTime() != nil {
		out.start = f.GetStartTime().AsTime()
	}
	if f.GetEndTime() != nil {
		out.end = f.GetEndTime().AsTime()
	}
	if !out.start.IsZero() && !out.end.IsZero() && !out.end.After(out.start) {
		return dlqFilter{}, invalid("filter.end_time", "must be after filter.start_time")
	}
	out.bySubjectOnly = out.start.IsZero() && out.end.IsZero() && out.reason == ""
	out.empty = out.bySubjectOnly && dest == "*" && route == "*"
	return out, nil
}

func (f dlqFilter) matches(m *jetstream.RawStreamMsg) bool {
	if !f.start.IsZero() && m.Time.Before(f.start) {
		return false
	}
	if !f.end.IsZero() && !m.Time.Before(f.end) {
		return false
	}
	return f.reason == "" || topology.MetaOf(m.Header).DeadLetter.Reason == f.reason
}

// scanDLQ calls fn for each dead letter f matches, from sequence from on,
// in order, until fn returns false or the stream ends. It returns the
// sequence after the last message it read, and whether the stream ended.
func (s *Server) scanDLQ(ctx context.Context, f dlqFilter, from uint64, fn func(*jetstream.RawStreamMsg) bool) (uint64, bool, error) {
	seq := max(from, 1)
	for {
		m, err := s.dlq.GetMsg(ctx, seq, jetstream.WithGetMsgSubject(f.subject))
		switch {
		case errors.Is(err, jetstream.ErrMsgNotFound):
			return seq, true, nil
		case err != nil:
			return seq, false, err
		}
		seq = m.Sequence + 1
		if !f.end.IsZero() && !m.Time.Before(f.end) {
			return seq, true, nil // the stream is in time order
		}
		if f.matches(m) && !fn(m) {
			return seq, false, nil
		}
	}
}

// deadLetterOf decodes a DLQ message.
func deadLetterOf(m *jetstream.RawStreamMsg) (*junctionv1.DeadLetter, error) {
	d, err := topology.ParseDelivery(m.Subject, m.Header, m.Data)
	if err != nil {
		return nil, fmt.Errorf("decode dead letter at %s sequence %d: %w", topology.DLQStream, m.Sequence, err)
	}
	why := topology.MetaOf(m.Header).DeadLetter
	dl := &junctionv1.DeadLetter{
		Name:           deadLetterPrefix + strconv.FormatUint(m.Sequence, 10),
		Delivery:       d,
		Destination:    d.GetDestination(),
		RouteId:        d.GetRouteId(),
		Target:         d.GetTarget(),
		Reason:         why.Reason,
		LastError:      why.LastError,
		Attempts:       int32(why.Attempts),
		LastStatusCode: int32(why.Status),
		CreateTime:     d.GetCreateTime(),
		DeadLetterTime: timestamppb.New(m.Time),
	}
	if dest, route, ok := topology.SplitDLQSubject(m.Subject); ok {
		dl.Destination, dl.RouteId = dest, route
	}
	return dl, nil
}

func parseDeadLetterName(field, name string) (uint64, error) {
	v, ok := strings.CutPrefix(name, deadLetterPrefix)
	seq, err := strconv.ParseUint(v, 10, 64)
	if !ok || err != nil || seq == 0 {
		return 0, invalid(field, "%q is not a dead letter name: use \"deadLetters/{sequence}\" as listed", name)
	}
	return seq, nil
}

// ListDeadLetters returns the dead letters the filter matches, oldest first.
// The page token is the DLQ sequence to continue from.
func (s *Server) ListDeadLetters(ctx context.Context, req *junctionv1.ListDeadLettersRequest) (*junctionv1.ListDeadLettersResponse, error) {
	f, err := parseDLQFilter(req.GetFilter())
	if err != nil {
		return nil, err
	}
	size := int(req.GetPageSize())
	switch {
	case size < 0:
		return nil, invalid("page_size", "must not be negative")
	case size == 0:
		size = defaultDeadLetterPage
	case size > maxDeadLetterPage:
		size = maxDeadLetterPage
	}
	var from uint64 = 1
	if tok := req.GetPageToken(); tok != "" {
		if from, err = strconv.ParseUint(tok, 10, 64); err != nil || from == 0 {
			return nil, invalid("page_token", "%q is not a token this API returned: pass next_page_token unchanged", tok)
		}
	}
	res := &junctionv1.ListDeadLettersResponse{}
	var derr error
	next, ended, err := s.scanDLQ(ctx, f, from, func(m *jetstream.RawStreamMsg) bool {
		dl, err := deadLetterOf(m)
		if err != nil {
			derr = err
			return false
		}
		res.DeadLetters = append(res.DeadLetters, dl)
		return len(res.DeadLetters) < size
	})
	if err == nil {
		err = derr
	}
	if err != nil {
		return nil, s.toStatus(ctx, "list dead letters", err)
	}
	if !ended {
		res.NextPageToken = strconv.FormatUint(next, 10)
	}
	return res, nil
}

// GetDeadLetter returns one dead letter by its sequence.
func (s *Server) GetDeadLetter(ctx context.Context, req *junctionv1.GetDeadLetterRequest) (*junctionv1.GetDeadLetterResponse, error) {
	seq, err := parseDeadLetterName("name", req.GetName())
	if err != nil {
		return nil, err
	}
	m, err := s.dlq.GetMsg(ctx, seq)
	switch {
	case errors.Is(err, jetstream.ErrMsgNotFound):
		return nil, status.Errorf(codes.NotFound, "dead letter %s not found: it was redriven, purged or is older than the DLQ retention", req.GetName())
	case err != nil:
		return nil, s.toStatus(ctx, "get dead letter", err)
	}
	dl, err := deadLetterOf(m)
	if err != nil {
		return nil, s.toStatus(ctx, "get dead letter", err)
	}
	return &junctionv1.GetDeadLetterResponse{DeadLetter: dl}, nil
}

// selectDeadLetters checks what a redrive or purge request selects: names, a filter
// or everything, exactly one of them.
func selectDeadLetters(names []string, filter *junctionv1.DeadLetterFilter, all bool) ([]uint64, dlqFilter, error) {
	f, err := parseDLQFilter(filter)
	if err != nil {
		return nil, f, err
	}
	n := 0
	if len(names) > 0 {
		n++
	}
	if !f.empty {
		n++
	}
	if all {
		n++
	}
	if n != 1 {
		return nil, f, invalid("names", "select the dead letters with exactly one of names, filter (at least one field) or all")
	}
	var seqs []uint64
	for i, name := range names {
		seq, err := parseDeadLetterName(fmt.Sprintf("names[%d]", i), name)
		if err != nil {
			return nil, f, err
		}
		seqs = append(seqs, seq)
	}
	return seqs, f, nil
}

// RedriveDeadLetters publishes each selected dead letter's delivery to
// DELIVERIES again, then deletes the dead letter. The delivery keeps its id
// (the webhook-id receivers dedupe on) and gets a new creation time, so its
// policy's max age counts from the redrive; its Nats-Msg-Id is new
// ("<id>:redrive:<dlq sequence>"), since JetStream would drop a second
// message with the id the router used within the duplicate window, while a
// redrive repeated for the same dead letter is still stored once.
func (s *Server) RedriveDeadLetters(ctx context.Context, req *junctionv1.RedriveDeadLettersRequest) (*junctionv1.RedriveDeadLettersResponse, error) {
	seqs, f, err := selectDeadLetters(req.GetNames(), req.GetFilter(), req.GetAll())
	if err != nil {
		return nil, err
	}
	res := &junctionv1.RedriveDeadLettersResponse{}
	redrive := func(m *jetstream.RawStreamMsg) {
		name := deadLetterPrefix + strconv.FormatUint(m.Sequence, 10)
		id, err := s.redrive(ctx, m, req.GetRerender())
		if errors.Is(err, errTakenElsewhere) {
			return
		}
		if err != nil {
			res.Failures = append(res.Failures, &junctionv1.RedriveFailure{Name: name, Error: err.Error()})
			return
		}
		res.RedrivenCount++
		res.DeliveryIds = append(res.DeliveryIds, id)
	}
	if len(seqs) > 0 {
		// Every named dead letter must exist before any is redriven.
		msgs := make([]*jetstream.RawStreamMsg, 0, len(seqs))
		for i, seq := range seqs {
			m, err := s.dlq.GetMsg(ctx, seq)
			switch {
			case errors.Is(err, jetstream.ErrMsgNotFound):
				return nil, status.Errorf(codes.NotFound, "names[%d]: dead letter %s not found: it was redriven, purged or is older than the DLQ retention; nothing was redriven", i, req.GetNames()[i])
			case err != nil:
				return nil, s.toStatus(ctx, "redrive dead letters", err)
			}
			msgs = append(msgs, m)
		}
		for _, m := range msgs {
			redrive(m)
		}
		return res, nil
	}
	// Stop at the sequence the DLQ had when the redrive began: a delivery
	// that fails again meanwhile is dead-lettered anew and must not be
	// redriven twice by one call.
	info, err := s.dlq.Info(ctx)
	if err != nil {
		return nil, s.toStatus(ctx, "redrive dead letters", err)
	}
	last := info.State.LastSeq
	if _, _, err := s.scanDLQ(ctx, f, 1, func(m *jetstream.RawStreamMsg) bool {
		if m.Sequence > last {
			return false
		}
		redrive(m)
		return ctx.Err() == nil
	}); err != nil {
		return nil, s.toStatus(ctx, "redrive dead letters", err)
	}
	return res, nil
}

// redrive puts one dead letter back on DELIVERIES and deletes it.
func (s *Server) redrive(ctx context.Context, m *jetstream.RawStreamMsg, rerender bool) (string, error) {
	dl, err := deadLetterOf(m)
	if err != nil {
		return "", err
	}
	d := dl.GetDelivery()
	if !rerender && topology.MetaOf(m.Header).DeadLetter.Reason == topology.DLQReasonPayloadTooLarge {
		return "", errors.New("this delivery was too large to store, so the dead letter has no payload: fix the route's transform and redrive with rerender")
	}
	if rerender {
		if d, err = s.rerender(ctx, d); err != nil {
			return "", err
		}
	}
	if d.GetId() == "" || d.GetDestination() == "" || d.GetRouteId() == "" {
		return "", errors.New("the dead letter holds no delivery id, destination or route: it cannot be redriven, purge it")
	}
	d.CreateTime = timestamppb.New(s.now())
	msg, err := topology.RedriveMsg(d, m.Sequence)
	if err != nil {
		return "", err
	}
	if err := s.publishDelivery(ctx, d, msg, m.Header); err != nil {
		return "", err
	}
	if err := s.dlq.DeleteMsg(ctx, m.Sequence); err != nil {
		if gone(err) {
			// Another redrive or a purge removed it meanwhile; the one
			// that removed it reports it. Our publish, if it was first,
			// carries the same Nats-Msg-Id as the other redrive's, so the
			// delivery is stored once either way.
			return "", errTakenElsewhere
		}
		// Redriven but still listed: a second redrive within the
		// duplicate window stores nothing, a later one sends it again
		// with the same delivery id.
		return "", fmt.Errorf("redriven, but removing it from the DLQ failed (the receiver dedupes a second redrive by the delivery id): %w", err)
	}
	return d.GetId(), nil
}

// errTakenElsewhere is returned by redrive for a dead letter that another
// call removed while this one worked on it: neither redriven by this call
// nor a failure.
var errTakenElsewhere = errors.New("removed by another call")

// gone reports whether err says a DLQ message no longer exists: a get
// answers 404 "message not found", a delete 500 "no message found".
func gone(err error) bool {
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		return true
	}
	// nats.go formats the delete's API error into its own with %s, so
	// only the text tells.
	return errors.Is(err, jetstream.ErrMsgDeleteUnsuccessful) && strings.Contains(err.Error(), "no message found")
}

// rerender renders d again from its event with its route's current
// definition.
func (s *Server) rerender(ctx context.Context, d *junctionv1.Delivery) (*junctionv1.Delivery, error) {
	r, err := s.routes.Get(ctx, d.GetRouteId())
	if err != nil {
		return nil, fmt.Errorf("rerender: route %s: %w", d.GetRouteId(), err)
	}
	c, err := router.Compile(r)
	if err != nil {
		return nil, fmt.Errorf("rerender: route %s: %w", d.GetRouteId(), err)
	}
	ev, err := s.GetEvent(ctx, &junctionv1.GetEventRequest{Name: eventPrefix + d.GetEventId(), Source: d.GetEventSource()})
	if err != nil {
		return nil, fmt.Errorf("rerender: event %s: %s", d.GetEventId(), status.Convert(err).Message())
	}
	res, err := c.Evaluate(ev.GetEvent())
	if err != nil {
		return nil, fmt.Errorf("rerender: %w", err)
	}
	for _, nd := range res.Deliveries {
		if nd.GetTarget() == d.GetTarget() {
			return nd, nil
		}
	}
	for _, f := range res.Failures {
		if f.Delivery.GetTarget() == d.GetTarget() {
			return nil, fmt.Errorf("rerender: target %s: transform failed: %w", d.GetTarget(), f.Err)
		}
	}
	if !res.ConditionMatched {
		return nil, fmt.Errorf("rerender: route %s no longer takes the event: %s", d.GetRouteId(), res.Reason)
	}
	return nil, fmt.Errorf("rerender: route %s has no target %s any more", d.GetRouteId(), d.GetTarget())
}

// publishDelivery records a pending entry in the attempt log and publishes
// msg, delivery d redriven or resent (topology.RedriveMsg, ResendMsg), on
// DELIVERIES. The publish is a span of the request's trace; with linked,
// the headers of a dead letter, it links to the trace the dead letter
// carries (the original event's), and the redriven delivery's attempts
// hang under it.
func (s *Server) publishDelivery(ctx context.Context, d *junctionv1.Delivery, msg *nats.Msg, linked nats.Header) (err error) {
	tag := topology.MetaOf(msg.Header).Redrive
	ctx, span := natstrace.StartRedrive(ctx, msg.Subject, linked, msg.Header,
		attribute.String("junction.delivery.id", d.GetId()), attribute.String("junction.redrive.kind", tag))
	defer func() {
		if err != nil {
			span.RecordError(err)
			span.SetStatus(otelcodes.Error, err.Error())
		}
		span.End()
	}()
	// Pending first: the sink's record of the attempt must come after it.
	s.recordPending(ctx, d, tag)
	if _, err := s.js.PublishMsg(ctx, msg, jetstream.WithExpectStream(topology.DeliveriesStream)); err != nil {
		return fmt.Errorf("publish delivery to %s: %w", msg.Subject, err)
	}
	return nil
}

// recordPending adds a pending entry to the attempt log, so the delivery's
// state reads pending until the sink's next attempt.
func (s *Server) recordPending(ctx context.Context, d *junctionv1.Delivery, tag string) {
	a := &junctionv1.DeliveryAttempt{
		DeliveryId:  d.GetId(),
		Time:        timestamppb.New(s.now()),
		Destination: d.GetDestination(),
		RouteId:     d.GetRouteId(),
		Target:      d.GetTarget(),
		Outcome:     junctionv1.DeliveryState_DELIVERY_STATE_PENDING,
		Error:       "sent again (" + tag + ")",
		EventId:     d.GetEventId(),
		EventSource: d.GetEventSource(),
	}
	msg, err := topology.AttemptMsg(a)
	if err != nil {
		return
	}
	if _, err := s.js.PublishMsg(ctx, msg, jetstream.WithExpectStream(topology.AttemptsStream)); err != nil {
		s.log.WarnContext(ctx, "record pending delivery failed", "delivery_id", d.GetId(), "error", err)
	}
}

// purgeDLQ purges the DLQ stream, only subject when it is set, and returns
// how many messages this purge removed, as the server counts them: a
// second purge running at once reports only what it removed itself.
// (jetstream.Stream.Purge drops that count.)
func (s *Server) purgeDLQ(ctx context.Context, subject string) (uint64, error) {
	req, err := json.Marshal(struct {
		Filter string `json:"filter,omitempty"`
	}{subject})
	if err != nil {
		return 0, err
	}
	msg, err := s.js.Conn().RequestWithContext(ctx, "$JS.API.STREAM.PURGE."+topology.DLQStream, req)
	if err != nil {
		return 0, fmt.Errorf("purge %s: %w", topology.DLQStream, err)
	}
	var resp struct {
		Success bool   `json:"success"`
		Purged  uint64 `json:"purged"`
		Error   *struct {
			Description string `json:"description"`
		} `json:"error"`
	}
	if err := json.Unmarshal(msg.Data, &resp); err != nil {
		return 0, fmt.Errorf("purge %s: decode answer: %w", topology.DLQStream, err)
	}
	if resp.Error != nil || !resp.Success {
		desc := "not successful"
		if resp.Error != nil {
			desc = resp.Error.Description
		}
		return 0, fmt.Errorf("purge %s: %s", topology.DLQStream, desc)
	}
	return resp.Purged, nil
}

// PurgeDeadLetters deletes the selected dead letters.
func (s *Server) PurgeDeadLetters(ctx context.Context, req *junctionv1.PurgeDeadLettersRequest) (*junctionv1.PurgeDeadLettersResponse, error) {
	seqs, f, err := selectDeadLetters(req.GetNames(), req.GetFilter(), req.GetAll())
	if err != nil {
		return nil, err
	}
	res := &junctionv1.PurgeDeadLettersResponse{}
	switch {
	case len(seqs) > 0:
		for _, seq := range seqs {
			err := s.dlq.DeleteMsg(ctx, seq)
			switch {
			case gone(err):
			case err != nil:
				return res, s.toStatus(ctx, "purge dead letters", err)
			default:
				res.PurgedCount++
			}
		}
	case f.bySubjectOnly:
		subject := ""
		if !f.empty {
			subject = f.subject
		}
		n, err := s.purgeDLQ(ctx, subject)
		if err != nil {
			return nil, s.toStatus(ctx, "purge dead letters", err)
		}
		res.PurgedCount = int64(n)
	default:
		var derr error
		if _, _, err := s.scanDLQ(ctx, f, 1, func(m *jetstream.RawStreamMsg) bool {
			switch err := s.dlq.DeleteMsg(ctx, m.Sequence); {
			case gone(err): // another call removed it and counts it
			case err != nil:
				derr = err
				return false
			default:
				res.PurgedCount++
			}
			return true
		}); err != nil || derr != nil {
			return res, s.toStatus(ctx, "purge dead letters", errors.Join(err, derr))
		}
	}
	return res, nil
}
