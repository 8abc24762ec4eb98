// Package clip bounds values a client controls before they reach a log
// line, a span or an error message: a source name from a URL, an event id
// or type, a header value, a route id, a path, a user agent. It is the one
// owner of truncation in Junction.
//
// The rule: a request-derived value is cut to [Max] bytes (on a UTF-8
// boundary) and marked "…(+N bytes)" with the number of bytes dropped.
// Behind it, the process's log handler ([ReplaceAttr]) cuts every log
// attribute to [MaxAttr] bytes (a "stack" attribute to [MaxStack]), and
// span attribute values are cut to MaxAttr by the tracer provider's
// limits, so a value that was missed is bounded too.
package clip

import (
	"log/slog"
	"strconv"
	"unicode/utf8"
)

// Limits, in bytes.
const (
	// Max is the length a request-derived value is cut to.
	Max = 256
	// MaxAttr is the length every log attribute value and span attribute
	// value is cut to.
	MaxAttr = 1024
	// MaxStack is the length of a log attribute named "stack" (a panic's
	// goroutine stack).
	MaxStack = 16 << 10
)

// String cuts s to Max bytes, marked with how many were dropped.
func String(s string) string { return N(s, Max) }

// N cuts s to at most n bytes on a UTF-8 boundary and, when it cut,
// appends "…(+N bytes)" with the number of bytes dropped.
func N(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := Cut(s, n)
	return cut + "…(+" + strconv.Itoa(len(s)-len(cut)) + " bytes)"
}

// Cut shortens s to at most n bytes, on a UTF-8 boundary, with no marker:
// for fields with a hard size limit (a NATS header value, a DLQ reason).
func Cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	if n <= 0 {
		return ""
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// ReplaceAttr is a slog.HandlerOptions.ReplaceAttr that cuts every string
// and error attribute to MaxAttr bytes ("stack" to MaxStack), marked as N
// marks. Install it on every process logger so that no value, however it
// reached the log, makes a line unbounded.
func ReplaceAttr(_ []string, a slog.Attr) slog.Attr {
	limit := MaxAttr
	if a.Key == "stack" {
		limit = MaxStack
	}
	switch a.Value.Kind() {
	case slog.KindString:
		if s := a.Value.String(); len(s) > limit {
			a.Value = slog.StringValue(N(s, limit))
		}
	case slog.KindAny:
		if err, ok := a.Value.Any().(error); ok && err != nil {
			if s := err.Error(); len(s) > limit {
				a.Value = slog.StringValue(N(s, limit))
			}
		}
	}
	return a
}
