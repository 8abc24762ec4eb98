package apphook

import (
	"encoding/json"
	"net/http"

	"github.com/junctionhq/junction/adapters/sdk/clip"
)

// MaxMessage bounds the message of an error answer: it may quote the
// request.
const MaxMessage = 1024

// statusNames are the google.rpc.Code names of the statuses answered.
var statusNames = map[int]string{
	http.StatusBadRequest:            "INVALID_ARGUMENT",
	http.StatusUnauthorized:          "UNAUTHENTICATED",
	http.StatusForbidden:             "PERMISSION_DENIED",
	http.StatusNotFound:              "NOT_FOUND",
	http.StatusMethodNotAllowed:      "UNIMPLEMENTED",
	http.StatusRequestTimeout:        "DEADLINE_EXCEEDED",
	http.StatusRequestEntityTooLarge: "RESOURCE_EXHAUSTED",
	http.StatusTooManyRequests:       "RESOURCE_EXHAUSTED",
	http.StatusUnsupportedMediaType:  "INVALID_ARGUMENT",
	http.StatusServiceUnavailable:    "UNAVAILABLE",
	http.StatusInternalServerError:   "INTERNAL",
}

// StatusName returns the google.rpc.Code name answered with HTTP status
// code, "UNKNOWN" for a status without one.
func StatusName(code int) string {
	if s, ok := statusNames[code]; ok {
		return s
	}
	return "UNKNOWN"
}

// ErrorBody is the JSON of every error answer of the webhook adapters
// (the generic one and the apps'): {"error":{"code","status","message"}}.
type ErrorBody struct {
	// Error is the status.
	Error ErrorStatus `json:"error"`
}

// ErrorStatus is the "error" of an ErrorBody.
type ErrorStatus struct {
	// Code is the HTTP status.
	Code int `json:"code"`
	// Status is the google.rpc.Code name of Code.
	Status string `json:"status"`
	// Message says what is wrong and what to fix.
	Message string `json:"message"`
}

// Accepted is the JSON answered once an event is stored: its id, whether
// it was stored before (Duplicate: a sender's retry) and its EVENTS
// stream sequence.
type Accepted struct {
	ID        string `json:"id"`
	Duplicate bool   `json:"duplicate"`
	Sequence  uint64 `json:"sequence"`
}

// WriteError writes the ErrorBody of code and message (cut to
// MaxMessage bytes).
func WriteError(w http.ResponseWriter, code int, message string) {
	WriteJSON(w, code, ErrorBody{Error: ErrorStatus{Code: code, Status: StatusName(code), Message: clip.N(message, MaxMessage)}})
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
