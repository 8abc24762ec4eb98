package sdk

import (
	"errors"
	"time"
)

// ErrUnavailable means the hub could not store an event: a timeout, no
// stream leader, no responders, a full stream. Webhook sources answer 503 so
// the provider retries.
var ErrUnavailable = errors.New("hub unavailable")

// ErrInvalidEvent means an event cannot be published as given; the wrapped
// message says which field is wrong and how to fix it.
var ErrInvalidEvent = errors.New("invalid event")

// edgeError classifies an error at the adapter edge. The outermost
// classification in a chain wins, so Retryable(Permanent(err)) is retryable.
type edgeError struct {
	err       error
	permanent bool
	delay     time.Duration
}

func (e *edgeError) Error() string { return e.err.Error() }
func (e *edgeError) Unwrap() error { return e.err }

// Permanent marks err as not worth retrying: a 4xx answer, a payload that
// cannot be mapped. A sink's permanent error sends the delivery to the
// dead-letter queue at once; a subscriber's terminates the message.
// Permanent(nil) is nil.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return &edgeError{err: err, permanent: true}
}

// Retryable marks err as worth retrying. Unmarked errors are retryable too;
// use it to override a Permanent classification further down the chain.
// Retryable(nil) is nil.
func Retryable(err error) error {
	if err == nil {
		return nil
	}
	return &edgeError{err: err}
}

// RetryAfter marks err as retryable, not before d has passed, as a 429 or
// 503 answer's Retry-After header asks. RetryAfter(nil, d) is nil.
func RetryAfter(err error, d time.Duration) error {
	if err == nil {
		return nil
	}
	return &edgeError{err: err, delay: max(d, 0)}
}

// IsPermanent reports whether err was marked with [Permanent].
func IsPermanent(err error) bool {
	var e *edgeError
	return errors.As(err, &e) && e.permanent
}

// RetryDelay returns the delay [RetryAfter] attached to err, if any.
func RetryDelay(err error) (time.Duration, bool) {
	var e *edgeError
	if errors.As(err, &e) && !e.permanent && e.delay > 0 {
		return e.delay, true
	}
	return 0, false
}

// ResponseError is implemented by an adapter's delivery error that carries
// the destination's answer; the sink records its status and body excerpt
// in the attempt log and the dead letter.
type ResponseError interface {
	error
	// HTTPStatus is the answer's status code.
	HTTPStatus() int
	// ResponseExcerpt is the start of the answer's body.
	ResponseExcerpt() string
}

// ResponseOf returns the status code and body excerpt of the first
// ResponseError in err's chain, or 0 and "".
func ResponseOf(err error) (int, string) {
	var r ResponseError
	if errors.As(err, &r) {
		return r.HTTPStatus(), r.ResponseExcerpt()
	}
	return 0, ""
}
