package sdk

import (
	"context"
	"net/http"

	junctionv1 "github.com/junctionhq/junction/proto/junction/v1"
)

// Spec describes an adapter app.
type Spec struct {
	// App names the app, e.g. "webhook" or "slack": a topology.ValidToken,
	// and the destination name its sink consumes.
	App string
	// Version of the adapter, reported in its heartbeats.
	Version string
	// Description says in a sentence what the adapter connects.
	Description string
	// Targets declares the target config a Sink's destination takes (see
	// [TargetSchema]); the hub refuses routes that break it. Nil declares
	// nothing. Only a Sink may set it.
	Targets *TargetSchema
}

// EmitFunc stores one event on the hub. It returns once JetStream
// acknowledged the event, or with an error wrapping [ErrInvalidEvent] or
// [ErrUnavailable]. [Publisher.Publish] is an EmitFunc.
type EmitFunc func(ctx context.Context, e *junctionv1.Event) (PublishResult, error)

// WebhookSource is an adapter that receives webhooks. Its handler is mounted
// at /webhooks/ and sees the full path, e.g. /webhooks/acme. It should
// answer the sender only after emit returned: 2xx on success, 503 when
// emit's error wraps [ErrUnavailable], 400 when it wraps [ErrInvalidEvent].
type WebhookSource interface {
	Webhook(emit EmitFunc) http.Handler
}

// PollingSource is an adapter that fetches changes from its app. Poll is
// called every Config.PollInterval; its error is logged and the poll runs
// again at the next tick.
type PollingSource interface {
	Poll(ctx context.Context, emit EmitFunc) error
}

// CursorSource is a polling source that keeps its position on the hub in
// a [CursorStore], shared by the app's instances of one
// Config.CursorGroup and kept across restarts. Every Config.PollInterval
// the Runner reads the cursor ("" on the first poll), calls PollFrom, and
// when it returns nil commits next with compare-and-set; an instance whose
// commit loses the race to another logs it and polls again from the
// cursor the winner stored. Emit every event before returning next, with
// the provider's event id: events of a poll whose commit lost may be
// emitted again, and the hub stores each id once. An adapter that is a
// CursorSource need not be a PollingSource; if it is both, PollFrom is
// used.
type CursorSource interface {
	PollFrom(ctx context.Context, cursor string, emit EmitFunc) (next string, err error)
}

// Sink is an adapter that delivers to its app. Deliver returns nil on
// success, a [Permanent] error for what retrying cannot fix, and any other
// error (optionally through [RetryAfter]) to have the delivery retried.
// ctx carries the attempt's time limit.
type Sink interface {
	Deliver(ctx context.Context, d *junctionv1.Delivery) error
}

// Sourcer is optionally implemented by a source adapter to name the event
// sources it publishes as; they are reported in its registration.
type Sourcer interface {
	Sources() []string
}

// Checker is optionally implemented by an adapter to report whether it can
// reach its app. Its error makes the adapter not ready.
type Checker interface {
	Check(ctx context.Context) error
}

// Role names reported in an adapter's registration.
const (
	RoleWebhookSource = "webhook-source"
	RolePollingSource = "polling-source"
	RoleSink          = "sink"
)

// Roles returns the roles adapter plays, in a fixed order.
func Roles(adapter any) []string {
	var roles []string
	if _, ok := adapter.(WebhookSource); ok {
		roles = append(roles, RoleWebhookSource)
	}
	if isPolling(adapter) {
		roles = append(roles, RolePollingSource)
	}
	if _, ok := adapter.(Sink); ok {
		roles = append(roles, RoleSink)
	}
	return roles
}

// isPolling reports whether adapter is a PollingSource or a CursorSource.
func isPolling(adapter any) bool {
	_, poll := adapter.(PollingSource)
	_, cursor := adapter.(CursorSource)
	return poll || cursor
}
