package apphook

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/junctionhq/junction/adapters/sdk"
	"github.com/junctionhq/junction/adapters/sdk/clip"
	junctionv1 "github.com/junctionhq/junction/proto/junction/v1"
)

// EmitTimeout bounds storing one event by Store.
const EmitTimeout = 15 * time.Second

// Detached returns a context for storing events that a sender hanging up
// cannot cancel half way, ending at deadline: the answer is due by then
// whatever the hub does.
func Detached(r *http.Request, deadline time.Time) (context.Context, context.CancelFunc) {
	return context.WithDeadline(context.WithoutCancel(r.Context()), deadline)
}

// EmitRejection turns an error of an sdk.EmitFunc into the answer: 400
// for an event the hub refuses as given, 503 (retry later) when the hub
// cannot store it now or did not answer before the deadline, 500
// otherwise. id names the event in the message.
func EmitRejection(id string, err error) *Rejection {
	switch {
	case errors.Is(err, sdk.ErrInvalidEvent):
		return Reject(http.StatusBadRequest, "event %s: %s", clip.String(id), clip.N(err.Error(), MaxMessage))
	case errors.Is(err, sdk.ErrUnavailable), errors.Is(err, context.DeadlineExceeded):
		return Reject(http.StatusServiceUnavailable, "the hub cannot store events right now: retry later")
	default:
		return Reject(http.StatusInternalServerError, "the event could not be stored: retry later")
	}
}

// AcceptedOf is the answer for an event emitted as e with result res
// (the id the hub stored, e's when it does not say).
func AcceptedOf(e *junctionv1.Event, res sdk.PublishResult) Accepted {
	id := e.GetId()
	if res.Event != nil && res.Event.GetId() != "" {
		id = res.Event.GetId()
	}
	return Accepted{ID: id, Duplicate: res.Duplicate, Sequence: res.Sequence}
}

// Store emits e, detached from the request for at most EmitTimeout, and
// answers the sender once the hub has it: 202 with Accepted, or the
// EmitRejection of the error (a 503 carries Retry-After, so the provider
// retries). source is the adapter's app.
func Store(w http.ResponseWriter, r *http.Request, emit sdk.EmitFunc, e *junctionv1.Event) {
	ctx, cancel := Detached(r, time.Now().Add(EmitTimeout))
	defer cancel()
	res, err := emit(ctx, e)
	if err != nil {
		EmitRejection(e.GetId(), err).Answer(w, r, e.GetSource())
		return
	}
	WriteJSON(w, http.StatusAccepted, AcceptedOf(e, res))
}
