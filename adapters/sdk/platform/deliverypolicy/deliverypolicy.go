// Package deliverypolicy holds the defaults of a route's delivery policy,
// which the router writes into every delivery and the SDK's engine applies
// when it retries and dead-letters. It belongs to the platform and is
// outside the SDK's compatibility promise (see the platform package); the
// defaults themselves are documented for operators in docs/.
package deliverypolicy

import (
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"

	junctionv1 "github.com/junctionhq/junction/proto/junction/v1"
)

// Delivery policy defaults, applied to fields left zero.
const (
	// DefaultMaxAttempts is the default DeliveryPolicy.max_attempts: with
	// the default backoff, more than fit in DefaultMaxAge, so by default a
	// delivery is retried for a day, as EventBridge does (24 h, 185
	// attempts).
	DefaultMaxAttempts = 185
	// DefaultInitialBackoff is the default DeliveryPolicy.initial_backoff.
	DefaultInitialBackoff = time.Second
	// DefaultMaxBackoff is the default DeliveryPolicy.max_backoff.
	DefaultMaxBackoff = 10 * time.Minute
	// DefaultMultiplier is the default DeliveryPolicy.multiplier.
	DefaultMultiplier = 2.0
	// DefaultJitter is the default DeliveryPolicy.jitter.
	DefaultJitter = 0.2
	// DefaultMaxAge is the default DeliveryPolicy.max_age.
	DefaultMaxAge = 24 * time.Hour
	// DefaultAttemptTimeout is the default DeliveryPolicy.attempt_timeout.
	DefaultAttemptTimeout = 30 * time.Second
)

// WithDefaults returns a copy of p with every unset field given its
// default: 185 attempts, 1s initial and 10m maximum backoff, multiplier 2,
// jitter 0.2, max age 24h, attempt timeout 30s, dead letter on. As with
// every proto3 scalar, a zero value means unset, so jitter 0 becomes 0.2.
func WithDefaults(p *junctionv1.DeliveryPolicy) *junctionv1.DeliveryPolicy {
	out := &junctionv1.DeliveryPolicy{}
	if p != nil {
		out = proto.Clone(p).(*junctionv1.DeliveryPolicy)
	}
	if out.Jitter == 0 {
		out.Jitter = DefaultJitter
	}
	if out.MaxAttempts == 0 {
		out.MaxAttempts = DefaultMaxAttempts
	}
	if out.GetInitialBackoff().AsDuration() == 0 {
		out.InitialBackoff = durationpb.New(DefaultInitialBackoff)
	}
	if out.GetMaxBackoff().AsDuration() == 0 {
		out.MaxBackoff = durationpb.New(DefaultMaxBackoff)
	}
	if out.Multiplier == 0 {
		out.Multiplier = DefaultMultiplier
	}
	if out.GetMaxAge().AsDuration() == 0 {
		out.MaxAge = durationpb.New(DefaultMaxAge)
	}
	if out.GetAttemptTimeout().AsDuration() == 0 {
		out.AttemptTimeout = durationpb.New(DefaultAttemptTimeout)
	}
	if out.DeadLetter == nil {
		out.DeadLetter = proto.Bool(true)
	}
	return out
}
