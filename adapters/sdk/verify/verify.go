// Package verify checks the signatures webhook providers put on their
// requests. A provider's scheme is a small value: [StandardWebhooks] for
// senders that follow https://www.standardwebhooks.com, [HMAC] for the
// many "HMAC of some parts of the request in some header" schemes (Stripe,
// Slack, Shopify, GitHub, HubSpot and most others), each configured in a
// few lines (see the examples).
//
// Every verifier compares in constant time, accepts several secrets so a
// secret can be rotated without dropping requests, and checks a signed
// timestamp against a tolerance in both directions. Its errors are an
// [*Error] whose Kind is one of [ErrMissingHeader], [ErrMalformedHeader],
// [ErrBadSignature] or [ErrTimestamp]; [Status] maps them to the HTTP
// status a webhook handler answers, and the message says what the sender
// must fix. Messages never contain a secret or a computed signature.
package verify

import (
	"errors"
	"net/http"
	"time"
)

// Verifier checks one request's signature. body is the whole request body
// as received; Verify must not read r.Body.
type Verifier interface {
	Verify(r *http.Request, body []byte) error
}

// The classes of verification errors, for errors.Is.
var (
	// ErrMissingHeader: a header the scheme needs is absent. Answer 400.
	ErrMissingHeader = errors.New("signature header missing")
	// ErrMalformedHeader: a header is present but cannot be parsed (not
	// hex, not base64, no timestamp, a timestamp that is not a number).
	// Answer 400.
	ErrMalformedHeader = errors.New("signature header malformed")
	// ErrBadSignature: no signature matches under any secret. Answer 401.
	ErrBadSignature = errors.New("signature does not match")
	// ErrTimestamp: the signature matches but its timestamp is further
	// from now than the tolerance, a replay or a bad clock. Answer 401.
	ErrTimestamp = errors.New("timestamp outside tolerance")
)

// DefaultTolerance is how far a signed timestamp may be from the
// receiver's clock, either way, when a verifier sets no Tolerance.
const DefaultTolerance = 5 * time.Minute

// Error is a verification failure: Kind is the class (one of the Err
// variables above) and Message says what is wrong and what to fix.
type Error struct {
	Kind    error
	Message string
}

// Error returns the message.
func (e *Error) Error() string { return e.Message }

// Unwrap returns the class, so errors.Is(err, ErrBadSignature) works.
func (e *Error) Unwrap() error { return e.Kind }

func fail(kind error, msg string) *Error { return &Error{Kind: kind, Message: msg} }

// Status returns the HTTP status a webhook handler answers for err: 400
// for a missing or malformed header, 401 for a signature that does not
// match or a timestamp outside the tolerance, 0 for nil and 401 for any
// other error (fail closed).
func Status(err error) int {
	switch {
	case err == nil:
		return 0
	case errors.Is(err, ErrMissingHeader), errors.Is(err, ErrMalformedHeader):
		return http.StatusBadRequest
	default:
		return http.StatusUnauthorized
	}
}

// checkTime returns an ErrTimestamp error when signed is further than
// tolerance from now.
func checkTime(signed, now time.Time, tolerance time.Duration, header string) error {
	if tolerance <= 0 {
		tolerance = DefaultTolerance
	}
	skew := now.Sub(signed)
	switch {
	case skew > tolerance:
		return fail(ErrTimestamp, "timestamp too old: header "+header+" is "+skew.Round(time.Second).String()+
			" behind the receiver's clock, more than the "+tolerance.String()+" tolerance: sign each request (and each retry) with the current time")
	case -skew > tolerance:
		return fail(ErrTimestamp, "timestamp too new: header "+header+" is "+(-skew).Round(time.Second).String()+
			" ahead of the receiver's clock, more than the "+tolerance.String()+" tolerance: check the sender's clock")
	}
	return nil
}

func nowOr(now func() time.Time) time.Time {
	if now != nil {
		return now()
	}
	return time.Now()
}
