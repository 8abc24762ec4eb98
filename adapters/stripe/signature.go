package stripe

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/junctionhq/junction/adapters/sdk/clip"
	"github.com/junctionhq/junction/adapters/sdk/verify"
)

// ParseSignature reads a Stripe-Signature value,
// "t=1700000000,v1=5257a8...,v1=...,v0=...", into its timestamp and its
// v1 signatures (still hex), for verify.HMAC. It reads the header as
// Stripe's own libraries do: every comma-separated item is exactly one
// key=value, keys other than t and v1 are ignored (v0 is Stripe's
// test-mode legacy scheme, never accepted). It is stricter than them in
// ways Stripe never sends: t= twice (stripe-go keeps the last), a t= not
// written plainly ("+1700000000", "01700000000": stripe-go signs the
// number, not what was sent) and no t= at all (stripe-go reads that as a
// signature too old to accept).
func ParseSignature(value string) (timestamp string, signatures []string, err error) {
	malformed := func(format string, args ...any) error {
		return &verify.Error{Kind: verify.ErrMalformedHeader, Message: fmt.Sprintf(format, args...) +
			`: Stripe sends "t=<unix seconds>,v1=<hex HMAC-SHA256 of <t>.<body>>"`}
	}
	for item := range strings.SplitSeq(value, ",") {
		k, v, ok := strings.Cut(item, "=")
		if !ok || strings.Contains(v, "=") {
			return "", nil, malformed("item %q is not one key=value", clip.N(item, 64))
		}
		switch k {
		case "t":
			if timestamp != "" {
				return "", nil, malformed("t= appears twice")
			}
			if n, err := strconv.ParseInt(v, 10, 64); err != nil || strconv.FormatInt(n, 10) != v {
				return "", nil, malformed("t=%q is not Unix seconds written plainly", clip.N(v, 32))
			}
			timestamp = v
		case "v1":
			signatures = append(signatures, v)
		}
	}
	if timestamp == "" {
		return "", nil, malformed("no t=<timestamp>")
	}
	if len(signatures) == 0 {
		return "", nil, malformed("no v1=<signature>")
	}
	return timestamp, signatures, nil
}
