package gateway

import (
	"errors"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/junctionhq/junction/adapters/sdk/platform/topology"
	junctionv1 "github.com/junctionhq/junction/proto/junction/v1"
	"github.com/junctionhq/junction/services/router"
)

// Tail bounds.
const (
	// TailHeartbeat is how often a tail with nothing to send sends a
	// heartbeat (a TailEventsResponse without event), so that proxies
	// keep the connection and clients see it is alive.
	TailHeartbeat = 15 * time.Second
	// MaxTails is how many tails one gateway serves at once.
	MaxTails = 64
)

// TailEvents follows EVENTS from now on through an ephemeral consumer
// (deliver new, filtered by subject on the server, AckNone), checks the
// condition in the gateway and sends each event that passes. It first
// sends a heartbeat once the consumer exists, so a caller knows that every
// event stored from then on reaches it.
func (s *Server) TailEvents(req *junctionv1.TailEventsRequest, stream grpc.ServerStreamingServer[junctionv1.TailEventsResponse]) error {
	ctx := stream.Context()
	if strings.TrimSpace(req.GetSubjectPattern()) == "" {
		return invalid("subject_pattern", "required: the events to follow, e.g. \"acme.user.*\", or \">\" for every event")
	}
	subject, err := router.SubjectPattern(req.GetSubjectPattern())
	if err != nil {
		return invalid("subject_pattern", "%s", strings.TrimPrefix(err.Error(), router.ErrInvalidRoute.Error()+": filter: "))
	}
	if subject == topology.EventsFilter("") {
		subject = ""
	}
	cond, err := router.CompileCondition(req.GetCondition())
	if err != nil {
		return invalid("condition", "%s", strings.TrimPrefix(err.Error(), router.ErrInvalidRoute.Error()+": condition: "))
	}
	select {
	case s.tails <- struct{}{}:
		defer func() { <-s.tails }()
	default:
		return status.Errorf(codes.ResourceExhausted, "this gateway already serves %d tails: end one, or retry later", MaxTails)
	}

	cfg := jetstream.ConsumerConfig{DeliverPolicy: jetstream.DeliverNewPolicy, FilterSubject: subject}
	if after := req.GetAfterSequence(); after > 0 {
		info, err := s.events.Info(ctx)
		if err != nil {
			return s.toStatus(ctx, "tail events", err)
		}
		if last := info.State.LastSeq; after > last {
			return invalid("after_sequence", "%d is past the newest stored event (%d): resume after a sequence this hub sent, or leave it 0 to follow from now on", after, last)
		}
		// Events aged out meanwhile are skipped: the consumer starts at
		// the oldest the stream still holds.
		cfg.DeliverPolicy, cfg.OptStartSeq = jetstream.DeliverByStartSequencePolicy, after+1
	}
	f, err := s.follow(ctx, cfg, true)
	if err != nil {
		return s.toStatus(ctx, "tail events", err)
	}
	defer f.stop()
	if err := stream.Send(&junctionv1.TailEventsResponse{}); err != nil {
		return err
	}
	for {
		m, err := f.next(ctx, s.tailHeartbeat)
		if ctx.Err() != nil {
			return nil // the caller ended the tail
		}
		if errors.Is(err, errFeedIdle) {
			if err := stream.Send(&junctionv1.TailEventsResponse{}); err != nil {
				return err
			}
			continue
		}
		if err != nil {
			return s.toStatus(ctx, "tail events", err)
		}
		e, err := topology.ParseEvent(m.Subject(), m.Headers(), m.Data())
		if err != nil {
			s.log.WarnContext(ctx, "undecodable event skipped", "subject", m.Subject(), "error", err)
			continue
		}
		if ok, err := cond.Match(e); err != nil || !ok {
			continue
		}
		var seq uint64
		if meta, err := m.Metadata(); err == nil {
			seq = meta.Sequence.Stream
		}
		if err := stream.Send(&junctionv1.TailEventsResponse{Event: e, Sequence: seq}); err != nil {
			return err
		}
	}
}
