// Package apphook is the HTTP plumbing the app source adapters (Stripe,
// Shopify) share: where their signing secrets come from, reading a
// bounded body, and answering the sender in the JSON shape of the generic
// webhook adapter ({"error":{"code","status","message"}} on a rejection,
// {"id","duplicate","sequence"} once stored).
package apphook

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

// Validate checks that exactly one of SecretEnv and SecretFile is set;
// where names the entry in error messages, e.g. "adapter.secrets[1]".
func (r SecretRef) Validate(where string) error {
	switch {
	case r.SecretEnv == "" && r.SecretFile == "":
		return fmt.Errorf("%s: set secret_env (an environment variable name) or secret_file (a path)", where)
	case r.SecretEnv != "" && r.SecretFile != "":
		return fmt.Errorf("%s: set only one of secret_env and secret_file", where)
	}
	return nil
}

// Resolve reads the secret.
func (r SecretRef) Resolve() (string, error) {
	switch {
	case r.SecretEnv != "":
		v := strings.TrimSpace(os.Getenv(r.SecretEnv))
		if v == "" {
			return "", fmt.Errorf("environment variable %s (secret_env) is not set or empty", r.SecretEnv)
		}
		return v, nil
	case r.SecretFile != "":
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
	return "", errors.New("no secret_env or secret_file set")
}

// ValidateSecrets checks an adapter's secret configuration: the current
// secret (may be left out, for the adapter's default variable) and the
// previous ones accepted while a secret is rotated, each exactly one of
// secret_env and secret_file.
func ValidateSecrets(current SecretRef, previous []SecretRef) error {
	var errs []error
	if current.SecretEnv != "" && current.SecretFile != "" {
		errs = append(errs, errors.New("adapter: set only one of secret_env and secret_file"))
	}
	for i, r := range previous {
		if err := r.Validate(fmt.Sprintf("adapter.previous[%d]", i)); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// ResolveSecrets reads the current secret (from environment variable
// defaultEnv when neither secret_env nor secret_file is set) and every
// previous one. Any one matching a signature passes.
func ResolveSecrets(current SecretRef, previous []SecretRef, defaultEnv string) ([]string, error) {
	if current.SecretEnv == "" && current.SecretFile == "" {
		current.SecretEnv = defaultEnv
	}
	s, err := current.Resolve()
	if err != nil {
		return nil, fmt.Errorf("adapter: %w", err)
	}
	out := []string{s}
	for i, r := range previous {
		s, err := r.Resolve()
		if err != nil {
			return nil, fmt.Errorf("adapter.previous[%d]: %w", i, err)
		}
		out = append(out, s)
	}
	return out, nil
}

// emitTimeout bounds storing one event. The store runs detached from the
// request so that a sender hanging up cannot cut it short half way.
const emitTimeout = 15 * time.Second

// retryAfterUnavailable is the Retry-After, in seconds, of a 503.
const retryAfterUnavailable = "5"

// statusNames are the google.rpc.Code names of the statuses answered, as
// the generic webhook adapter names them.
var statusNames = map[int]string{
	http.StatusBadRequest:            "INVALID_ARGUMENT",
	http.StatusUnauthorized:          "UNAUTHENTICATED",
	http.StatusNotFound:              "NOT_FOUND",
	http.StatusMethodNotAllowed:      "UNIMPLEMENTED",
	http.StatusRequestTimeout:        "DEADLINE_EXCEEDED",
	http.StatusRequestEntityTooLarge: "RESOURCE_EXHAUSTED",
	http.StatusServiceUnavailable:    "UNAVAILABLE",
	http.StatusInternalServerError:   "INTERNAL",
}

// Rejection is a request turned away: the HTTP status and a message for
// the sender saying what is wrong and what to fix.
type Rejection struct {
	Code    int
	Message string
}

// Error returns the message.
func (r *Rejection) Error() string { return r.Message }

// Reject returns a Rejection with a formatted message.
func Reject(code int, format string, args ...any) *Rejection {
	return &Rejection{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Answer writes the rejection as the JSON error body and logs it (the
// message may quote the request: it is cut). source is the adapter's app.
func (r *Rejection) Answer(w http.ResponseWriter, req *http.Request, source string) {
	level := slog.LevelInfo
	if r.Code == http.StatusUnauthorized {
		level = slog.LevelWarn
	}
	slog.Default().LogAttrs(req.Context(), level, "webhook rejected",
		slog.String("source", source), slog.Int("status", r.Code),
		slog.String("reason", clip.N(r.Message, clip.MaxAttr)), slog.String("remote_addr", req.RemoteAddr))
	if r.Code == http.StatusMethodNotAllowed {
		w.Header().Set("Allow", http.MethodPost)
	}
	WriteError(w, r.Code, r.Message)
}

// ReadBody checks that r is a POST to /webhooks/<app> and reads its whole
// body, at most max bytes.
func ReadBody(w http.ResponseWriter, r *http.Request, app string, max int64) ([]byte, *Rejection) {
	if want := "/webhooks/" + app; strings.TrimSuffix(r.URL.Path, "/") != want {
		return nil, Reject(http.StatusNotFound, "no webhook endpoint at %s: %s webhooks go to %s", clip.String(r.URL.Path), app, want)
	}
	if r.Method != http.MethodPost {
		return nil, Reject(http.StatusMethodNotAllowed, "method %s is not allowed: send webhooks with POST", clip.String(r.Method))
	}
	tooLarge := func() *Rejection {
		return Reject(http.StatusRequestEntityTooLarge, "body is larger than %d bytes (the adapter's max_body_bytes)", max)
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
		return nil, Reject(http.StatusBadRequest, "body is empty: send the event as a JSON object")
	}
	return body, nil
}

// Accepted is the JSON answered, with 202, once the event is stored;
// Duplicate says the event id was stored before (a provider's retry).
type Accepted struct {
	ID        string `json:"id"`
	Duplicate bool   `json:"duplicate"`
	Sequence  uint64 `json:"sequence"`
}

// Store emits e and answers the sender once the hub has it: 202 with
// Accepted, 400 when the hub refuses the event as invalid, 503 (with
// Retry-After) when it cannot store right now, so the provider retries.
func Store(w http.ResponseWriter, r *http.Request, emit sdk.EmitFunc, e *junctionv1.Event) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), emitTimeout)
	defer cancel()
	res, err := emit(ctx, e)
	log := slog.Default()
	switch {
	case err == nil:
	case errors.Is(err, sdk.ErrInvalidEvent):
		(&Rejection{Code: http.StatusBadRequest, Message: err.Error()}).Answer(w, r, e.GetSource())
		return
	case errors.Is(err, sdk.ErrUnavailable):
		log.LogAttrs(r.Context(), slog.LevelWarn, "hub unavailable",
			slog.String("source", e.GetSource()), slog.String("event_id", clip.String(e.GetId())), slog.Any("error", err))
		w.Header().Set("Retry-After", retryAfterUnavailable)
		WriteError(w, http.StatusServiceUnavailable, "the hub cannot store events right now: retry later")
		return
	default:
		log.LogAttrs(r.Context(), slog.LevelError, "emit failed",
			slog.String("source", e.GetSource()), slog.String("event_id", clip.String(e.GetId())), slog.Any("error", err))
		WriteError(w, http.StatusInternalServerError, "the event could not be stored: retry later")
		return
	}
	id := e.GetId()
	if res.Event != nil && res.Event.GetId() != "" {
		id = res.Event.GetId()
	}
	WriteJSON(w, http.StatusAccepted, Accepted{ID: id, Duplicate: res.Duplicate, Sequence: res.Sequence})
}

type errorBody struct {
	Error errorStatus `json:"error"`
}

type errorStatus struct {
	Code    int    `json:"code"`
	Status  string `json:"status"`
	Message string `json:"message"`
}

// WriteError writes {"error":{"code","status","message"}} with code.
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
