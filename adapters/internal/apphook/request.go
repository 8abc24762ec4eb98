package apphook

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strings"

	"github.com/junctionhq/junction/adapters/sdk/clip"
	"github.com/junctionhq/junction/adapters/sdk/verify"
)

// DefaultMaxBodyBytes is the default body limit: what the hub stores in
// one event (NATS's default 1 MiB message) leaves no room for more.
const DefaultMaxBodyBytes = 1 << 20

// RetryAfterUnavailable is the Retry-After, in seconds, of a 503.
const RetryAfterUnavailable = "5"

// Rejection is a request turned away: the HTTP status and a message for
// the sender saying what is wrong and what to fix.
type Rejection struct {
	// Code is the HTTP status.
	Code int
	// Message says what is wrong and what to fix.
	Message string
}

// Error returns the message.
func (r *Rejection) Error() string { return r.Message }

// Reject returns a Rejection with a formatted message.
func Reject(code int, format string, args ...any) *Rejection {
	return &Rejection{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Answer logs the rejection (its message may quote the request: it is
// cut) and writes it as the JSON error body; source is the adapter's app.
// A 405 carries Allow, a 503 Retry-After.
func (r *Rejection) Answer(w http.ResponseWriter, req *http.Request, source string) {
	level := slog.LevelInfo
	switch r.Code {
	case http.StatusUnauthorized, http.StatusServiceUnavailable:
		level = slog.LevelWarn
	case http.StatusInternalServerError:
		level = slog.LevelError
	}
	slog.Default().LogAttrs(req.Context(), level, "webhook rejected",
		slog.String("source", source), slog.Int("status", r.Code),
		slog.String("reason", clip.N(r.Message, clip.MaxAttr)), slog.String("remote_addr", req.RemoteAddr))
	switch r.Code {
	case http.StatusMethodNotAllowed:
		w.Header().Set("Allow", http.MethodPost)
	case http.StatusServiceUnavailable:
		w.Header().Set("Retry-After", RetryAfterUnavailable)
	}
	WriteError(w, r.Code, r.Message)
}

// CheckPath turns away a request to anything but /webhooks/<app> (a
// trailing slash allowed).
func CheckPath(r *http.Request, app string) *Rejection {
	if want := "/webhooks/" + app; strings.TrimSuffix(r.URL.Path, "/") != want {
		return Reject(http.StatusNotFound, "no webhook endpoint at %s: %s webhooks go to %s", clip.String(r.URL.Path), app, want)
	}
	return nil
}

// CheckMethod turns away anything but POST.
func CheckMethod(r *http.Request) *Rejection {
	if r.Method != http.MethodPost {
		return Reject(http.StatusMethodNotAllowed, "method %s is not allowed: send webhooks with POST", clip.String(r.Method))
	}
	return nil
}

// CheckJSON turns away a body declared as anything but application/json
// (a request without Content-Type passes).
func CheckJSON(r *http.Request) *Rejection {
	ct := r.Header.Get("Content-Type")
	if ct == "" {
		return nil
	}
	mt, _, _ := strings.Cut(ct, ";")
	if !strings.EqualFold(strings.TrimSpace(mt), "application/json") {
		return Reject(http.StatusUnsupportedMediaType, "Content-Type %q is not accepted: set the webhook's content type to application/json", clip.N(ct, 100))
	}
	return nil
}

// ReadBody reads the whole body, at most max bytes; an empty body is a
// rejection too.
func ReadBody(w http.ResponseWriter, r *http.Request, max int64) ([]byte, *Rejection) {
	tooLarge := func() *Rejection {
		return Reject(http.StatusRequestEntityTooLarge, "body is larger than %d bytes (max_body_bytes)", max)
	}
	if r.ContentLength > max {
		return nil, tooLarge()
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, max))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, tooLarge()
		}
		if errors.Is(err, os.ErrDeadlineExceeded) {
			return nil, Reject(http.StatusRequestTimeout, "body was not sent within the server's read timeout: send the whole request at once")
		}
		return nil, Reject(http.StatusBadRequest, "body could not be read: %v", err)
	}
	if len(body) == 0 {
		return nil, Reject(http.StatusBadRequest, "body is empty: send the event as JSON")
	}
	return body, nil
}

// Verify checks the request's signature and turns a failure into the
// answer: 400 for a missing or malformed header, 401 for a signature that
// does not match or a timestamp outside the tolerance.
func Verify(v verify.Verifier, r *http.Request, body []byte) *Rejection {
	if err := v.Verify(r, body); err != nil {
		return Reject(verify.Status(err), "%s", clip.N(err.Error(), MaxMessage))
	}
	return nil
}

// Receive takes a webhook for app: it runs checks in order, then reads the
// body (at most maxBody bytes) and verifies it with v. On the first
// refusal it answers it and returns false; else it returns the body.
func Receive(w http.ResponseWriter, r *http.Request, app string, maxBody int64, v verify.Verifier, checks ...func(*http.Request) *Rejection) ([]byte, bool) {
	var rej *Rejection
	for _, check := range checks {
		if rej = check(r); rej != nil {
			break
		}
	}
	var body []byte
	if rej == nil {
		body, rej = ReadBody(w, r, maxBody)
	}
	if rej == nil {
		rej = Verify(v, r, body)
	}
	if rej != nil {
		rej.Answer(w, r, app)
		return nil, false
	}
	return body, true
}

// PathIs is CheckPath for app, as a check for Receive.
func PathIs(app string) func(*http.Request) *Rejection {
	return func(r *http.Request) *Rejection { return CheckPath(r, app) }
}
