// Package rpcstatus owns the one JSON shape of every error answer Junction
// gives over HTTP: google.rpc.Status as grpc-gateway writes it,
//
//	{"code": 3, "message": "filter: give a subject pattern", "details": []}
//
// where code is the gRPC code (google.rpc.Code), message says what is wrong
// and what to fix, and details is always an array (of google.protobuf.Any
// in JSON, "@type" first). The REST API (package gateway), the webhook
// endpoints of every adapter, the browser and metrics guards and the health
// endpoints all write it through this package, so a client parses one shape
// whatever endpoint it called.
package rpcstatus

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
)

// Code is a google.rpc.Code, numbered as gRPC's Code (convert one
// with Code(c)). It is declared here so that the SDK, which every adapter
// imports, does not pull in google.golang.org/grpc.
type Code int32

// The google.rpc.Code values Junction answers.
const (
	OK                 Code = 0
	Canceled           Code = 1
	Unknown            Code = 2
	InvalidArgument    Code = 3
	DeadlineExceeded   Code = 4
	NotFound           Code = 5
	AlreadyExists      Code = 6
	PermissionDenied   Code = 7
	ResourceExhausted  Code = 8
	FailedPrecondition Code = 9
	Aborted            Code = 10
	OutOfRange         Code = 11
	Unimplemented      Code = 12
	Internal           Code = 13
	Unavailable        Code = 14
	DataLoss           Code = 15
	Unauthenticated    Code = 16
)

// ContentType is the media type of an error body.
const ContentType = "application/json"

// Body is google.rpc.Status in the JSON grpc-gateway writes.
type Body struct {
	// Code is the gRPC code (google.rpc.Code), e.g. 3 for INVALID_ARGUMENT.
	Code int32 `json:"code"`
	// Message says what is wrong and what to fix.
	Message string `json:"message"`
	// Details are google.protobuf.Any messages in JSON; never null.
	Details []json.RawMessage `json:"details"`
}

// New returns the Body of code and message with details (none: an empty
// array).
func New(code Code, message string, details ...json.RawMessage) Body {
	if details == nil {
		details = []json.RawMessage{}
	}
	return Body{Code: int32(code), Message: message, Details: details}
}

// CodeFor returns the gRPC code answered with HTTP status httpStatus: the
// inverse of grpc-gateway's runtime.HTTPStatusFromCode where that is one to
// one, UNKNOWN for a status no code maps to.
func CodeFor(httpStatus int) Code {
	switch httpStatus {
	case http.StatusOK:
		return OK
	case http.StatusBadRequest, http.StatusUnsupportedMediaType, http.StatusMisdirectedRequest:
		return InvalidArgument
	case http.StatusUnauthorized:
		return Unauthenticated
	case http.StatusForbidden:
		return PermissionDenied
	case http.StatusNotFound:
		return NotFound
	case http.StatusMethodNotAllowed, http.StatusNotImplemented:
		return Unimplemented
	case http.StatusRequestTimeout, http.StatusGatewayTimeout:
		return DeadlineExceeded
	case http.StatusConflict:
		return Aborted
	case http.StatusPreconditionFailed:
		return FailedPrecondition
	case http.StatusRequestEntityTooLarge, http.StatusTooManyRequests:
		return ResourceExhausted
	case 499: // client closed request, as grpc-gateway maps Canceled
		return Canceled
	case http.StatusInternalServerError:
		return Internal
	case http.StatusServiceUnavailable:
		return Unavailable
	}
	return Unknown
}

// Write answers httpStatus with the Body of CodeFor(httpStatus) and
// message.
func Write(w http.ResponseWriter, httpStatus int, message string) {
	WriteBody(w, httpStatus, New(CodeFor(httpStatus), message))
}

// WriteBody answers httpStatus with b (details made an empty array when
// nil), as application/json that browsers must not sniff.
func WriteBody(w http.ResponseWriter, httpStatus int, b Body) {
	if b.Details == nil {
		b.Details = []json.RawMessage{}
	}
	data, err := json.Marshal(b)
	if err != nil { // a detail that is not JSON
		httpStatus = http.StatusInternalServerError
		data, _ = json.Marshal(New(Internal, "the error answer could not be encoded"))
	}
	w.Header().Set("Content-Type", ContentType)
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(httpStatus)
	_, _ = w.Write(append(data, '\n'))
}

// ErrorInfo returns a google.rpc.ErrorInfo detail in JSON: reason is a
// constant UPPER_SNAKE_CASE name callers may branch on, domain the service
// ("junction.dev"), metadata the facts behind it.
func ErrorInfo(reason, domain string, metadata map[string]string) json.RawMessage {
	b, _ := json.Marshal(struct {
		Type     string            `json:"@type"`
		Reason   string            `json:"reason"`
		Domain   string            `json:"domain"`
		Metadata map[string]string `json:"metadata,omitempty"`
	}{"type.googleapis.com/google.rpc.ErrorInfo", reason, domain, metadata})
	return b
}

// Domain is the ErrorInfo domain of Junction's own errors.
const Domain = "junction.dev"

// Parse reads an error body strictly: an object with exactly code, message
// and details (an array of objects), code not OK. For tests and clients
// that check the shape.
func Parse(data []byte) (Body, error) {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		return Body{}, fmt.Errorf("error body is not a JSON object: %w", err)
	}
	for _, k := range []string{"code", "message", "details"} {
		if _, ok := raw[k]; !ok {
			return Body{}, fmt.Errorf("error body %s lacks %q", data, k)
		}
	}
	if len(raw) != 3 {
		return Body{}, fmt.Errorf("error body %s has fields besides code, message and details", data)
	}
	var b Body
	if err := json.Unmarshal(data, &b); err != nil {
		return Body{}, fmt.Errorf("error body %s: %w", data, err)
	}
	if b.Details == nil {
		return Body{}, fmt.Errorf("error body %s: details is null, want an array", data)
	}
	for i, d := range b.Details {
		var obj map[string]json.RawMessage
		if err := json.Unmarshal(d, &obj); err != nil || obj["@type"] == nil {
			return Body{}, fmt.Errorf("error body %s: details[%d] is not an Any with @type", data, i)
		}
	}
	if b.Code == int32(OK) {
		return Body{}, errors.New("error body has code 0 (OK)")
	}
	return b, nil
}

// ReasonNotReady is the ErrorInfo reason of a failing readiness probe.
const ReasonNotReady = "NOT_READY"

// WriteNotReady answers a readiness probe (/readyz) that fails: 503 with
// code UNAVAILABLE, the message "not ready: <why>" and an ErrorInfo detail
// NOT_READY carrying metadata (e.g. "store": "full"), so probes and people
// read the same shape as every other error.
func WriteNotReady(w http.ResponseWriter, why error, metadata map[string]string) {
	WriteBody(w, http.StatusServiceUnavailable, New(Unavailable, "not ready: "+why.Error(),
		ErrorInfo(ReasonNotReady, Domain, metadata)))
}

// Routes serves m, answering what m itself answers (no pattern matches:
// 404; a pattern matches with another method: 405 with Allow) with an
// error body instead of net/http's text.
func Routes(m *http.ServeMux) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h, pattern := m.Handler(r)
		if pattern != "" {
			m.ServeHTTP(w, r)
			return
		}
		// m's own 404 or 405: run it aside for its status and Allow.
		rec := &headerRecorder{header: http.Header{}}
		h.ServeHTTP(rec, r)
		if rec.status == http.StatusMethodNotAllowed {
			allow := rec.header.Get("Allow")
			w.Header().Set("Allow", allow)
			Write(w, http.StatusMethodNotAllowed, fmt.Sprintf("%s is not allowed on %s: use %s", r.Method, r.URL.Path, allow))
			return
		}
		Write(w, http.StatusNotFound, fmt.Sprintf("no endpoint at %s", r.URL.Path))
	})
}

// headerRecorder keeps the status and headers of a handler's answer and
// drops its body.
type headerRecorder struct {
	header http.Header
	status int
}

func (h *headerRecorder) Header() http.Header { return h.header }
func (h *headerRecorder) WriteHeader(code int) {
	if h.status == 0 {
		h.status = code
	}
}
func (h *headerRecorder) Write(b []byte) (int, error) {
	h.WriteHeader(http.StatusOK)
	return len(b), nil
}
