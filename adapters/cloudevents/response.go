package cloudevents

import (
	"errors"
	"net/http"

	"github.com/junctionhq/junction/adapters/internal/apphook"
	"github.com/junctionhq/junction/adapters/sdk/verify"
)

// Stored is the answer, with 202, for one event the hub has: its id,
// whether it was stored before (the sender's retry), and its sequence on
// the EVENTS stream.
type Stored = apphook.Accepted

// BatchStored is the answer, with 202, to a batch: one Stored per event,
// in the batch's order.
type BatchStored struct {
	Events []Stored `json:"events"`
}

// tooLarge is a body over max_body_bytes. Answer 413.
type tooLarge struct{ msg string }

func (e *tooLarge) Error() string { return e.msg }

// forbidden is an event of a source the configuration does not take.
// Answer 403.
type forbidden struct{ msg string }

func (e *forbidden) Error() string { return e.msg }

// statusOf is the status answered for a request refused with err.
func statusOf(err error) int {
	var (
		inv *invalid
		uns *unsupported
		big *tooLarge
		fbd *forbidden
		ver *verify.Error
	)
	switch {
	case errors.As(err, &ver):
		return verify.Status(err)
	case errors.As(err, &inv):
		return http.StatusBadRequest
	case errors.As(err, &uns):
		return http.StatusUnsupportedMediaType
	case errors.As(err, &big):
		return http.StatusRequestEntityTooLarge
	case errors.As(err, &fbd):
		return http.StatusForbidden
	}
	return verify.Status(err) // fail closed: 401
}
