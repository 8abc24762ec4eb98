package topology

import "github.com/nats-io/nats.go/jetstream"

// Retries: a delivery whose attempt failed and that is to be tried again
// leaves its destination's live consumer on DELIVERIES and waits on the
// RETRIES stream, under
//
//	junction.retries.<destination>.<route>
//
// consumed by the destination's retry consumer (RetryConsumer). Deliveries
// waiting out their backoff therefore never count against the live
// consumer's MaxAckPending: one failing event's retries, or thousands of
// them, do not hold up the fresh deliveries behind them.
const (
	RetriesStream = "RETRIES"
	RetriesPrefix = "junction.retries."

	// HeaderAttempts is the number of attempts a retry follows, in decimal.
	HeaderAttempts = "Junction-Attempts"
	// HeaderNotBefore is when a retry is due, RFC 3339 with nanoseconds.
	HeaderNotBefore = "Junction-Not-Before"

	// RetryMaxAckPending bounds the retries a destination holds waiting
	// for their time; past it, retries wait for retries, never fresh
	// deliveries.
	RetryMaxAckPending = 100_000
)

// RetrySubject is the subject of a retry for destination from route.
func RetrySubject(destination, routeID string) string {
	return RetriesPrefix + destination + "." + routeID
}

// RetryConsumer is the durable consumer name of a destination's retries.
func RetryConsumer(destination string) string {
	return "retry-" + destination
}

func retriesStream(o Options) jetstream.StreamConfig {
	return waitingStream(o, RetriesStream, RetriesPrefix, "Deliveries waiting for their next attempt, by destination and route.")
}

// waitingStream is a work-queue stream of deliveries waiting for a
// consumer of their destination, kept as long as DELIVERIES keeps them.
func waitingStream(o Options, name, prefix, description string) jetstream.StreamConfig {
	return jetstream.StreamConfig{
		Name:        name,
		Description: description,
		Subjects:    []string{prefix + ">"},
		Retention:   jetstream.WorkQueuePolicy,
		MaxAge:      o.limit(name).MaxAge,
		MaxBytes:    o.limit(name).MaxBytes,
		Storage:     o.Storage,
		Replicas:    o.Replicas,
		Duplicates:  o.DuplicateWindow,
		Discard:     DiscardPolicy(name),
		// Direct gets by subject ($JS.API.DIRECT.GET.<stream>.<subject>)
		// can be permitted per destination; the plain message get cannot.
		AllowDirect: true,
	}
}
