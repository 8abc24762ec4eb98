// Package apphttp is the HTTP plumbing the Slack and HubSpot source
// adapters share: where their signing secrets come from, reading a
// bounded body, storing under a deadline, and answering the sender in the
// JSON shape of the generic webhook adapter
// ({"error":{"code","status","message"}} on a rejection).
package apphttp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/junctionhq/junction/adapters/sdk"
	"github.com/junctionhq/junction/adapters/sdk/clip"
	"github.com/junctionhq/junction/adapters/sdk/verify"
	junctionv1 "github.com/junctionhq/junction/proto/junction/v1"
)

// SecretRef names where one signing secret comes from: exactly one of
// SecretEnv (an environment variable's name) or SecretFile (a path whose
// contents, trimmed of surrounding white space, are the secret). A secret
// is never written in the configuration file itself.
type SecretRef struct {
	// SecretEnv names the environment variable holding the secret.
	SecretEnv string `yaml:"secret_env"`
	// SecretFile is the path of a file holding the secret.
	SecretFile string `yaml:"secret_file"`
}

func (r SecretRef) validate(where string) error {
	switch {
	case r.SecretEnv == "" && r.SecretFile == "":
		return fmt.Errorf("%s: set secret_env (an environment variable name) or secret_file (a path)", where)
	case r.SecretEnv != "" && r.SecretFile != "":
		return fmt.Errorf("%s: set only one of secret_env and secret_file", where)
	}
	return nil
}

func (r SecretRef) resolve() (string, error) {
	if r.SecretEnv != "" {
		v := strings.TrimSpace(os.Getenv(r.SecretEnv))
		if v == "" {
			return "", fmt.Errorf("environment variable %s (secret_env) is not set or empty", r.SecretEnv)
		}
		return v, nil
	}
	b, err := os.ReadFile(r.SecretFile)
	if err != nil {
		return "", fmt.Errorf("read secret_file: %w", err)
	}
	v := strings.TrimSpace(string(b))
	if v == "" {
		return "", fmt.Errorf("secret_file %s is empty", r.SecretFile)
	}
	return v, nil
}

// ValidateSecrets checks a list of secret references (several while a
// secret is rotated); key is the config key, e.g. "adapter.secrets".
func ValidateSecrets(key string, refs []SecretRef) error {
	var errs []error
	for i, r := range refs {
		if err := r.validate(fmt.Sprintf("%s[%d]", key, i)); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// ResolveSecrets reads every secret of refs, or of def when refs is
// empty. Any one matching a signature passes.
func ResolveSecrets(key string, refs []SecretRef, def SecretRef) ([]string, error) {
	if len(refs) == 0 {
		refs = []SecretRef{def}
	}
	out := make([]string, 0, len(refs))
	for i, r := range refs {
		if err := r.validate(fmt.Sprintf("%s[%d]", key, i)); err != nil {
			return nil, err
		}
		s, err := r.resolve()
		if err != nil {
			return nil, fmt.Errorf("%s[%d]: %w", key, i, err)
		}
		out = append(out, s)
	}
	return out, nil
}

// RetryAfterUnavailable is the Retry-After, in seconds, of a 503.
const RetryAfterUnavailable = "5"

// statusNames are the google.rpc.Code names of the statuses answered, as
// the generic webhook adapter names them.
var statusNames = map[int]string{
	http.StatusBadRequest:            "INVALID_ARGUMENT",
	http.StatusUnauthorized:          "UNAUTHENTICATED",
	http.StatusMethodNotAllowed:      "UNIMPLEMENTED",
	http.StatusRequestTimeout:        "DEADLINE_EXCEEDED",
	http.StatusRequestEntityTooLarge: "RESOURCE_EXHAUSTED",
	http.StatusServiceUnavailable:    "UNAVAILABLE",
	http.StatusInternalServerError:   "INTERNAL",
}

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
// A 503 carries Retry-After, a 405 Allow.
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

// CheckMethod turns away anything but POST.
func CheckMethod(r *http.Request) *Rejection {
	if r.Method != http.MethodPost {
		return Reject(http.StatusMethodNotAllowed, "method %s is not allowed: send webhooks with POST", clip.String(r.Method))
	}
	return nil
}

// ReadBody reads the whole body, at most max bytes; an empty body is a
// rejection too.
func ReadBody(w http.ResponseWriter, r *http.Request, max int64) ([]byte, *Rejection) {
	tooLarge := func() *Rejection {
		return Reject(http.StatusRequestEntityTooLarge, "body is larger than %d bytes, this source's max_body_bytes", max)
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
		return Reject(verify.Status(err), "%s", clip.N(err.Error(), 1024))
	}
	return nil
}

// Detached returns a context for storing events that a sender hanging up
// cannot cancel half way, ending at deadline: the answer is due by then
// whatever the hub does.
func Detached(r *http.Request, deadline time.Time) (context.Context, context.CancelFunc) {
	return context.WithDeadline(context.WithoutCancel(r.Context()), deadline)
}

// EmitRejection turns an error of an sdk.EmitFunc into the answer: 400
// for an event the hub refuses as given, 503 (retry later) when the hub
// cannot store it now or did not answer before the deadline, 500
// otherwise. id names the event in the message.
func EmitRejection(id string, err error) *Rejection {
	switch {
	case errors.Is(err, sdk.ErrInvalidEvent):
		return Reject(http.StatusBadRequest, "event %s: %s", clip.String(id), clip.N(err.Error(), 1024))
	case errors.Is(err, sdk.ErrUnavailable), errors.Is(err, context.DeadlineExceeded):
		return Reject(http.StatusServiceUnavailable, "the hub cannot store events right now: retry later")
	default:
		return Reject(http.StatusInternalServerError, "the event could not be stored: retry later")
	}
}

// Stored is what is answered for one stored event: its id, whether it
// was stored before (a retry) and its EVENTS stream sequence.
type Stored struct {
	ID        string `json:"id"`
	Duplicate bool   `json:"duplicate"`
	Sequence  uint64 `json:"sequence"`
}

// StoredOf is the answer for an event emitted as e with result res.
func StoredOf(e *junctionv1.Event, res sdk.PublishResult) Stored {
	return Stored{ID: e.GetId(), Duplicate: res.Duplicate, Sequence: res.Sequence}
}

// errorBody is the JSON of every error response.
type errorBody struct {
	Error errorStatus `json:"error"`
}

type errorStatus struct {
	Code    int    `json:"code"`
	Status  string `json:"status"`
	Message string `json:"message"`
}

// WriteError writes the JSON error body with code.
func WriteError(w http.ResponseWriter, code int, message string) {
	status, ok := statusNames[code]
	if !ok {
		status = "UNKNOWN"
	}
	WriteJSON(w, code, errorBody{Error: errorStatus{Code: code, Status: status, Message: message}})
}

// WriteJSON writes v as JSON with code.
func WriteJSON(w http.ResponseWriter, code int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		code = http.StatusInternalServerError
		b = []byte(`{"error":{"code":500,"status":"INTERNAL","message":"response could not be encoded"}}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(code)
	_, _ = w.Write(append(b, '\n'))
}
