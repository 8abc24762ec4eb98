package gateway

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/junctionhq/junction/adapters/sdk/platform/topology"
	junctionv1 "github.com/junctionhq/junction/proto/junction/v1"
)

// eventPrefix starts every event's resource name.
const eventPrefix = "events/"

// PublishEvent stores an event on the EVENTS stream through the SDK's
// Publisher: validated, defaults filled, deduplicated by source and id.
func (s *Server) PublishEvent(ctx context.Context, req *junctionv1.PublishEventRequest) (*junctionv1.PublishEventResponse, error) {
	if req.GetEvent() == nil {
		return nil, invalid("event", "required: the event to publish, with source and type")
	}
	e := proto.Clone(req.GetEvent()).(*junctionv1.Event)
	e.ReceiveTime = nil // output only: the publisher sets it
	e.DataJson = nil    // output only: never stored
	res, err := s.publisher.Publish(ctx, e)
	if err != nil {
		return nil, s.toStatus(ctx, "publish event", err)
	}
	return &junctionv1.PublishEventResponse{
		Event:     res.Event,
		Duplicate: res.Duplicate,
		Sequence:  res.Sequence,
	}, nil
}

// GetEvent finds an event by id (and source, when two sources used the same
// id) in the idempotency bucket, which holds its EVENTS sequence, and reads
// it from the stream.
func (s *Server) GetEvent(ctx context.Context, req *junctionv1.GetEventRequest) (*junctionv1.GetEventResponse, error) {
	id, ok := strings.CutPrefix(req.GetName(), eventPrefix)
	if !ok || id == "" {
		return nil, invalid("name", "%q is not an event name: use \"events/{id}\"", req.GetName())
	}
	source := req.GetSource()
	if source != "" {
		if err := topology.ValidToken(source); err != nil {
			return nil, invalid("source", "%v", err)
		}
	} else {
		var err error
		if source, err = s.sourceOf(ctx, id); err != nil {
			return nil, err
		}
	}

	entry, err := s.idem.Get(ctx, topology.IdempotencyKey(source, id))
	switch {
	case errors.Is(err, jetstream.ErrKeyNotFound):
		return nil, status.Errorf(codes.NotFound, "event %s from source %s not found: it was never published, or is older than the hub's retention", id, source)
	case err != nil:
		return nil, s.toStatus(ctx, "get event", err)
	}
	seq, err := strconv.ParseUint(string(entry.Value()), 10, 64)
	if err != nil {
		return nil, s.toStatus(ctx, "get event", fmt.Errorf("idempotency key %s holds %q, not a stream sequence: %w", entry.Key(), entry.Value(), err))
	}
	msg, err := s.events.GetMsg(ctx, seq)
	switch {
	case errors.Is(err, jetstream.ErrMsgNotFound):
		return nil, status.Errorf(codes.NotFound, "event %s from source %s is no longer on the %s stream: it is older than the stream's retention", id, source, topology.EventsStream)
	case err != nil:
		return nil, s.toStatus(ctx, "get event", err)
	}
	e, err := topology.ParseEvent(msg.Subject, msg.Header, msg.Data)
	if err != nil {
		return nil, s.toStatus(ctx, "get event", fmt.Errorf("decode event at %s sequence %d: %w", topology.EventsStream, seq, err))
	}
	if e.GetId() != id || e.GetSource() != source {
		// The stream was purged or recreated under the bucket: the
		// sequence now holds another event.
		return nil, status.Errorf(codes.NotFound, "event %s from source %s is no longer on the %s stream", id, source, topology.EventsStream)
	}
	return &junctionv1.GetEventResponse{Event: e, Sequence: seq}, nil
}

// sourceOf finds the one source that published id.
func (s *Server) sourceOf(ctx context.Context, id string) (string, error) {
	lister, err := s.idem.ListKeysFiltered(ctx, topology.IdempotencyKeysByID(id))
	if err != nil {
		return "", s.toStatus(ctx, "get event", err)
	}
	var sources []string
	for key := range lister.Keys() {
		src, _, _ := strings.Cut(key, ".")
		sources = append(sources, src)
	}
	if err := ctx.Err(); err != nil {
		return "", s.toStatus(ctx, "get event", err)
	}
	slices.Sort(sources)
	sources = slices.Compact(sources)
	switch len(sources) {
	case 0:
		return "", status.Errorf(codes.NotFound, "event %s not found: it was never published, or is older than the hub's retention", id)
	case 1:
		return sources[0], nil
	}
	return "", status.Errorf(codes.FailedPrecondition, "id %s exists in sources %s: pass source", id, strings.Join(sources, ", "))
}
