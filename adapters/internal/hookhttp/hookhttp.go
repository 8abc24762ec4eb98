// Package hookhttp holds what the GitHub and Jira webhook sources share:
// secrets named in the config and read from the environment or a file,
// the body limit, and the answers, in the shape of the generic webhook
// adapter's (an error is {"error":{"code","status","message"}}, a stored
// event {"id","duplicate","sequence"} with 202).
package hookhttp

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

// DefaultMaxBodyBytes is the default body limit: what the hub stores in
// one event (NATS's default 1 MiB message) leaves no room for more.
const DefaultMaxBodyBytes = 1 << 20

// emitTimeout bounds storing one event; the store runs detached from the
// request so that a sender hanging up cannot cut it short half way.
const emitTimeout = 15 * time.Second

// SecretRef names where one secret is: exactly one of Env (an environment
// variable's name) or File (a path whose contents, trimmed of surrounding
// white space, are the secret). Secrets are never written in the config.
type SecretRef struct {
	// Env is the name of the environment variable holding the secret.
	Env string `yaml:"env"`
	// File is the path of a file holding the secret.
	File string `yaml:"file"`
}

// Validate says what is wrong with r; where names it in messages.
func (r SecretRef) Validate(where string) error {
	switch {
	case r.Env == "" && r.File == "":
		return fmt.Errorf("%s: set env (an environment variable name) or file (a path) holding the secret", where)
	case r.Env != "" && r.File != "":
		return fmt.Errorf("%s: set only one of env and file", where)
	}
	return nil
}

// Resolve reads the secret.
func (r SecretRef) Resolve() (string, error) {
	if r.Env != "" {
		v := strings.TrimSpace(os.Getenv(r.Env))
		if v == "" {
			return "", fmt.Errorf("environment variable %s is not set or empty: set it to the webhook secret", r.Env)
		}
		return v, nil
	}
	b, err := os.ReadFile(r.File)
	if err != nil {
		return "", fmt.Errorf("read secret file: %w", err)
	}
	v := strings.TrimSpace(string(b))
	if v == "" {
		return "", fmt.Errorf("secret file %s is empty: write the webhook secret in it", r.File)
	}
	return v, nil
}

// ValidateSecrets checks a list of secret references: at least one (the
// caller applies its default first), each well formed.
func ValidateSecrets(refs []SecretRef) error {
	if len(refs) == 0 {
		return errors.New("adapter.secrets: list at least one secret, e.g. - env: WEBHOOK_SECRET")
	}
	var errs []error
	for i, r := range refs {
		if err := r.Validate(fmt.Sprintf("adapter.secrets[%d]", i)); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// ResolveSecrets reads every secret; any one of them verifies a request.
func ResolveSecrets(refs []SecretRef) ([]string, error) {
	out := make([]string, 0, len(refs))
	for i, r := range refs {
		s, err := r.Resolve()
		if err != nil {
			return nil, fmt.Errorf("adapter.secrets[%d]: %w", i, err)
		}
		out = append(out, s)
	}
	return out, nil
}

// statusNames are the google.rpc.Code names of the statuses answered.
var statusNames = map[int]string{
	http.StatusBadRequest:            "INVALID_ARGUMENT",
	http.StatusUnauthorized:          "UNAUTHENTICATED",
	http.StatusMethodNotAllowed:      "UNIMPLEMENTED",
	http.StatusRequestEntityTooLarge: "RESOURCE_EXHAUSTED",
	http.StatusUnsupportedMediaType:  "INVALID_ARGUMENT",
	http.StatusServiceUnavailable:    "UNAVAILABLE",
	http.StatusInternalServerError:   "INTERNAL",
}

type errorBody struct {
	Error errorStatus `json:"error"`
}

type errorStatus struct {
	Code    int    `json:"code"`
	Status  string `json:"status"`
	Message string `json:"message"`
}

// Accepted is the JSON answered, with 202, once the event is stored;
// Duplicate says the provider's event id was stored before (a retry).
type Accepted struct {
	ID        string `json:"id"`
	Duplicate bool   `json:"duplicate"`
	Sequence  uint64 `json:"sequence"`
}

// Error answers code with a message saying what to fix.
func Error(w http.ResponseWriter, code int, message string) {
	status, ok := statusNames[code]
	if !ok {
		status = "UNKNOWN"
	}
	JSON(w, code, errorBody{Error: errorStatus{Code: code, Status: status, Message: clip.N(message, 1024)}})
}

// JSON answers code with v.
func JSON(w http.ResponseWriter, code int, v any) {
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

// ReadBody checks the method and the media type and reads the body up to
// limit bytes. On failure it has answered and returns ok false.
func ReadBody(w http.ResponseWriter, r *http.Request, limit int64) (body []byte, ok bool) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		Error(w, http.StatusMethodNotAllowed, "send webhooks with POST")
		return nil, false
	}
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, _ := strings.Cut(ct, ";")
		if !strings.EqualFold(strings.TrimSpace(mt), "application/json") {
			Error(w, http.StatusUnsupportedMediaType, fmt.Sprintf("Content-Type %q is not accepted: set the webhook's content type to application/json", clip.N(ct, 100)))
			return nil, false
		}
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			Error(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("body is larger than %d bytes (adapter.max_body_bytes)", limit))
			return nil, false
		}
		Error(w, http.StatusBadRequest, "the body could not be read: send it again")
		return nil, false
	}
	return body, true
}

// Store emits e and answers once the hub has it: 202 with the stored id,
// 400 for an event the hub refuses, 503 when the hub cannot store (the
// provider retries).
func Store(w http.ResponseWriter, r *http.Request, log *slog.Logger, emit sdk.EmitFunc, e *junctionv1.Event) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), emitTimeout)
	defer cancel()
	res, err := emit(ctx, e)
	switch {
	case err == nil:
	case errors.Is(err, sdk.ErrInvalidEvent):
		log.LogAttrs(r.Context(), slog.LevelInfo, "webhook rejected",
			slog.String("source", e.Source), slog.Int("status", http.StatusBadRequest), slog.String("reason", clip.N(err.Error(), clip.MaxAttr)))
		Error(w, http.StatusBadRequest, err.Error())
		return
	case errors.Is(err, sdk.ErrUnavailable):
		log.LogAttrs(r.Context(), slog.LevelWarn, "hub unavailable",
			slog.String("source", e.Source), slog.String("event_id", clip.String(e.Id)), slog.Any("error", err))
		w.Header().Set("Retry-After", "5")
		Error(w, http.StatusServiceUnavailable, "the hub cannot store events right now: retry later")
		return
	default:
		log.LogAttrs(r.Context(), slog.LevelError, "emit failed",
			slog.String("source", e.Source), slog.String("event_id", clip.String(e.Id)), slog.Any("error", err))
		Error(w, http.StatusServiceUnavailable, "the event could not be stored: retry later")
		return
	}
	id := e.Id
	if res.Event != nil && res.Event.Id != "" {
		id = res.Event.Id
	}
	JSON(w, http.StatusAccepted, Accepted{ID: id, Duplicate: res.Duplicate, Sequence: res.Sequence})
}

// Reject answers a request turned away before anything was stored, and
// logs it with a constant message.
func Reject(w http.ResponseWriter, r *http.Request, log *slog.Logger, source string, code int, message string) {
	level := slog.LevelInfo
	if code == http.StatusUnauthorized {
		level = slog.LevelWarn
	}
	log.LogAttrs(r.Context(), level, "webhook rejected",
		slog.String("source", source), slog.Int("status", code), slog.String("reason", clip.N(message, clip.MaxAttr)))
	Error(w, code, message)
}
