package topology

import (
	"encoding/base64"

	"github.com/nats-io/nats.go/jetstream"
)

// The attempt log: one junction.v1.DeliveryAttempt message per attempt on
// the ATTEMPTS stream, under
//
//	junction.attempts.<event source>.<base64url(event id)>.<delivery id>
//
// so that every attempt of every delivery of one event is one subject
// filter away (AttemptsOfEvent).
const (
	AttemptsStream = "ATTEMPTS"
	AttemptsPrefix = "junction.attempts."
	// ContentTypeAttempt is the Content-Type of a junction.v1.DeliveryAttempt.
	ContentTypeAttempt = "application/protobuf; proto=junction.v1.DeliveryAttempt"
	// DefaultAttemptsMaxAge is how long attempts are kept: as long as the
	// deliveries themselves.
	DefaultAttemptsMaxAge = DefaultDeliveriesMaxAge
	// MaxAttemptsPerDelivery bounds the attempts kept per delivery; the
	// oldest go first.
	MaxAttemptsPerDelivery = 200
	// MaxResponseExcerpt is the longest response excerpt recorded, in bytes.
	MaxResponseExcerpt = 512
)

// Headers of a redriven or resent delivery.
const (
	// HeaderDLQStatus is the HTTP status of the last answer of a dead
	// letter, in decimal, when there was one.
	HeaderDLQStatus = "Junction-Dlq-Status"
	// HeaderRedrive marks a delivery put back by a redrive, a resend or a
	// replay; its value says which ("dlq:<sequence>", "resend" or
	// "replay:<replay id>").
	HeaderRedrive = "Junction-Redrive"
)

// AttemptSubject is the subject of an attempt record.
func AttemptSubject(eventSource, eventID, deliveryID string) string {
	if eventSource == "" {
		eventSource = "_"
	}
	if deliveryID == "" {
		deliveryID = "_"
	}
	return AttemptsPrefix + eventSource + "." + base64.RawURLEncoding.EncodeToString([]byte(eventID)) + "." + deliveryID
}

// AttemptsOfEvent is the subject filter of every attempt of an event; an
// empty source matches any.
func AttemptsOfEvent(eventSource, eventID string) string {
	if eventSource == "" {
		eventSource = "*"
	}
	return AttemptsPrefix + eventSource + "." + base64.RawURLEncoding.EncodeToString([]byte(eventID)) + ".>"
}

func attemptsStream(o Options) jetstream.StreamConfig {
	return jetstream.StreamConfig{
		Name:              AttemptsStream,
		Description:       "Every delivery attempt, by event and delivery.",
		Subjects:          []string{AttemptsPrefix + ">"},
		Retention:         jetstream.LimitsPolicy,
		MaxAge:            o.limit(AttemptsStream).MaxAge,
		MaxBytes:          o.limit(AttemptsStream).MaxBytes,
		MaxMsgsPerSubject: MaxAttemptsPerDelivery,
		Storage:           o.Storage,
		Replicas:          o.Replicas,
		Duplicates:        o.DuplicateWindow,
		Discard:           DiscardPolicy(AttemptsStream),
	}
}
