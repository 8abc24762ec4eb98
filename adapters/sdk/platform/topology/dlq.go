package topology

// Headers of a dead letter on the DLQ stream, besides the delivery's own
// Nats-Msg-Id, Content-Type and Junction-Delivery-Id.
const (
	// HeaderDLQReason says why the delivery gave up: one of the DLQReason
	// values.
	HeaderDLQReason = "Junction-Dlq-Reason"
	// HeaderDLQAttempts is the number of attempts made, in decimal.
	HeaderDLQAttempts = "Junction-Dlq-Attempts"
	// HeaderDLQLastError is the last attempt's error, at most 1 KiB.
	HeaderDLQLastError = "Junction-Dlq-Last-Error"
)

// Reasons a delivery is dead-lettered (HeaderDLQReason).
const (
	// DLQReasonPermanent: the destination answered with a permanent error.
	DLQReasonPermanent = "permanent"
	// DLQReasonMaxAttempts: the policy's max_attempts were used up.
	DLQReasonMaxAttempts = "max_attempts"
	// DLQReasonMaxAge: the delivery outlived the policy's max_age.
	DLQReasonMaxAge = "max_age"
	// DLQReasonTransformError: the route's transform failed in the router.
	DLQReasonTransformError = "transform_error"
	// DLQReasonConditionError: the route's condition failed at run time (an
	// error, or the cost limit), so the router could not tell whether the
	// event matches; every target of the route is dead-lettered.
	DLQReasonConditionError = "condition_error"
	// DLQReasonPayloadTooLarge: the route rendered a delivery larger than
	// the hub can store; the dead letter keeps the delivery without its
	// payload, and a redrive must render it again.
	DLQReasonPayloadTooLarge = "payload_too_large"
	// DLQReasonPublishError: the hub refused the delivery for a reason
	// other than being unavailable (a stream limit on its size, say) on
	// every one of the router's attempts at the event.
	DLQReasonPublishError = "publish_error"
	// DLQReasonRouteDegraded: the route kept going over its per-event
	// budget, so the router stopped evaluating it for a while; its targets
	// are dead-lettered with the event's original payload instead.
	DLQReasonRouteDegraded = "route_degraded"
)

// MaxDLQErrorLen is the longest HeaderDLQLastError value, in bytes.
const MaxDLQErrorLen = 1024
