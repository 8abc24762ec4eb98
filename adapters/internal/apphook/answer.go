package apphook

import (
	"encoding/json"
	"net/http"

	"github.com/junctionhq/junction/adapters/sdk/clip"
	"github.com/junctionhq/junction/adapters/sdk/rpcstatus"
)

// MaxMessage bounds the message of an error answer: it may quote the
// request.
const MaxMessage = 1024

// Accepted is the JSON answered once an event is stored: its id, whether
// it was stored before (Duplicate: a sender's retry) and its EVENTS
// stream sequence.
type Accepted struct {
	ID        string `json:"id"`
	Duplicate bool   `json:"duplicate"`
	Sequence  uint64 `json:"sequence"`
}

// WriteError writes the error body every Junction HTTP endpoint answers
// (google.rpc.Status as grpc-gateway writes it, package rpcstatus) with
// HTTP status code and message (cut to MaxMessage bytes).
func WriteError(w http.ResponseWriter, code int, message string) {
	rpcstatus.Write(w, code, clip.N(message, MaxMessage))
}

// WriteJSON writes v as JSON with code.
func WriteJSON(w http.ResponseWriter, code int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		WriteError(w, http.StatusInternalServerError, "the response could not be encoded")
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(code)
	_, _ = w.Write(append(b, '\n'))
}
