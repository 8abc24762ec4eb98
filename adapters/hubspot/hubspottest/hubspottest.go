// Package hubspottest is a stand-in for the part of HubSpot's CRM API the
// hubspot destination calls, for tests: a real HTTP server on a loopback
// port that checks each request against the documented API (path, method,
// Authorization: Bearer, Content-Type, the JSON fields of
// POST /crm/v3/objects/contacts/batch/upsert, the v4 default association
// PUT), keeps the contacts and associations it was given, and answers
// 429, 5xx and 4xx on demand. It is the sink conformance suite's App too.
// No maintained fake of HubSpot exists; this one follows HubSpot's API
// reference (crm/v3 objects contacts batch upsert, crm/v4 associations
// "associate records (default)").
package hubspottest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/junctionhq/junction/adapters/sdk/sdktest/conformance"
)

// Token is the private app access token the server accepts.
const Token = "pat-na1-11111111-2222-3333-4444-555555555555"

// Contact is a contact the server holds.
type Contact struct {
	// ID is HubSpot's record id.
	ID string
	// Properties are the contact's properties, email included.
	Properties map[string]string
	// Companies and Deals are the ids of the records it is associated
	// with, in the order associated, each once.
	Companies, Deals []string
}

// Request is one request the server got.
type Request struct {
	// Method and Path are the request's.
	Method, Path string
	// DeliveryID is its Junction-Delivery-Id header.
	DeliveryID string
	// Body is the request body.
	Body []byte
}

// Server is a running stand-in. It is safe for concurrent use.
type Server struct {
	// URL is the base URL to configure as adapter.crm.base_url.
	URL string

	mu         sync.Mutex
	t          testing.TB
	answers    []conformance.Answer
	got        []Request
	at         []time.Time
	scriptFrom int
	contacts   map[string]*Contact // by email
	byID       map[string]*Contact
	companies  map[string]bool
	deals      map[string]bool
	unique     map[string]bool
	reject     *[2]string
	problems   []string
	nextID     int
}

// New starts a Server for t, closed by t.Cleanup. It knows the companies
// and deals whose ids are given (AddCompany, AddDeal add others).
func New(t testing.TB) *Server {
	t.Helper()
	s := &Server{t: t, contacts: map[string]*Contact{}, byID: map[string]*Contact{}, companies: map[string]bool{}, deals: map[string]bool{}, unique: map[string]bool{"email": true}, nextID: 501}
	srv := httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(srv.Close)
	s.URL = srv.URL
	return s
}

// AddCompany makes a company id known.
func (s *Server) AddCompany(id string) { s.mu.Lock(); s.companies[id] = true; s.mu.Unlock() }

// AddUniqueProperty makes a contact property usable as idProperty
// besides email (HubSpot allows any property with unique values).
func (s *Server) AddUniqueProperty(name string) { s.mu.Lock(); s.unique[name] = true; s.mu.Unlock() }

// RejectInput makes the next upserts answer 207 (multi-status) with
// the input refused by category and message, as HubSpot does for a batch
// when the request opts in to multi-status errors.
func (s *Server) RejectInput(category, message string) {
	s.mu.Lock()
	s.reject = &[2]string{category, message}
	s.mu.Unlock()
}

// AddDeal makes a deal id known.
func (s *Server) AddDeal(id string) { s.mu.Lock(); s.deals[id] = true; s.mu.Unlock() }

// Script sets the answers to the next requests, in order; the last
// repeats. A zero Status answers as HubSpot would. A 4xx or 5xx is
// answered with HubSpot's error body; a 429 without RetryAfter carries
// HubSpot's rate-limit headers (remaining 0, a 1000 ms window) instead.
func (s *Server) Script(answers ...conformance.Answer) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.answers = answers
	s.scriptFrom = len(s.got) // answers count from the next request
}

// Received reports each request's Junction-Delivery-Id as its
// idempotency key (HubSpot takes none; the upsert by email is the
// idempotency).
func (s *Server) Received() []conformance.Received {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]conformance.Received, len(s.got))
	for i, r := range s.got {
		out[i] = conformance.Received{IdempotencyKey: r.DeliveryID, At: s.at[i]}
	}
	return out
}

// Requests returns every request, in order.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.got...)
}

// Contact returns the contact with email, or nil.
func (s *Server) Contact(email string) *Contact {
	return s.ContactBy("email", email)
}

// ContactBy returns the contact whose unique property prop is value, or
// nil.
func (s *Server) ContactBy(prop, value string) *Contact {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.contacts[prop+"="+value]
	if c == nil {
		return nil
	}
	cp := *c
	cp.Properties = map[string]string{}
	for k, v := range c.Properties {
		cp.Properties[k] = v
	}
	cp.Companies = append([]string(nil), c.Companies...)
	cp.Deals = append([]string(nil), c.Deals...)
	return &cp
}

// Problems lists the requests that broke the documented API, each said
// in a sentence. A test should expect none.
func (s *Server) Problems() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.problems...)
}

var assocPath = regexp.MustCompile(`^/crm/v4/objects/contact/([0-9]+)/associations/default/(company|deal)/([0-9]+)$`)

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	s.mu.Lock()
	defer s.mu.Unlock()
	n := len(s.got)
	s.got = append(s.got, Request{Method: r.Method, Path: r.URL.Path, DeliveryID: r.Header.Get("Junction-Delivery-Id"), Body: body})
	s.at = append(s.at, time.Now())
	ans := conformance.Answer{}
	if len(s.answers) > 0 {
		ans = s.answers[min(n-s.scriptFrom, len(s.answers)-1)]
	}
	if ans.Hold != nil {
		s.mu.Unlock()
		<-ans.Hold
		s.mu.Lock()
	}
	if ans.Status != 0 && ans.Status != http.StatusOK {
		if ans.RetryAfter > 0 {
			w.Header().Set("Retry-After", strconv.Itoa(int((ans.RetryAfter+time.Second-1)/time.Second)))
		} else if ans.Status == http.StatusTooManyRequests {
			w.Header().Set("X-HubSpot-RateLimit-Interval-Milliseconds", "1000")
			w.Header().Set("X-HubSpot-RateLimit-Max", "100")
			w.Header().Set("X-HubSpot-RateLimit-Remaining", "0")
		}
		category := map[int]string{400: "VALIDATION_ERROR", 401: "INVALID_AUTHENTICATION", 403: "MISSING_SCOPES", 404: "OBJECT_NOT_FOUND", 409: "CONFLICT", 429: "RATE_LIMITS"}[ans.Status]
		writeError(w, ans.Status, category, fmt.Sprintf("scripted %d", ans.Status))
		return
	}
	if got := r.Header.Get("Authorization"); got != "Bearer "+Token {
		writeError(w, http.StatusUnauthorized, "INVALID_AUTHENTICATION", "Authentication credentials not found. This API supports OAuth 2.0 authentication.")
		return
	}
	switch {
	case r.URL.Path == "/crm/v3/objects/contacts/batch/upsert":
		s.upsert(w, r, body)
	case assocPath.MatchString(r.URL.Path):
		s.associate(w, r, assocPath.FindStringSubmatch(r.URL.Path))
	default:
		s.problem("%s %s is not a path of the documented API", r.Method, r.URL.Path)
		writeError(w, http.StatusNotFound, "OBJECT_NOT_FOUND", "no such endpoint")
	}
}

func (s *Server) problem(format string, args ...any) {
	s.problems = append(s.problems, fmt.Sprintf(format, args...))
}

// upsertBody is the documented request of batch/upsert.
type upsertBody struct {
	Inputs []struct {
		IDProperty         string            `json:"idProperty"`
		ID                 string            `json:"id"`
		Properties         map[string]string `json:"properties"`
		ObjectWriteTraceID string            `json:"objectWriteTraceId"`
	} `json:"inputs"`
}

func (s *Server) upsert(w http.ResponseWriter, r *http.Request, body []byte) {
	if r.Method != http.MethodPost {
		s.problem("batch/upsert called with %s, want POST", r.Method)
		writeError(w, http.StatusMethodNotAllowed, "", "method not allowed")
		return
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/json" {
		s.problem("batch/upsert Content-Type %q, want application/json", ct)
		writeError(w, http.StatusUnsupportedMediaType, "", "content type")
		return
	}
	var in upsertBody
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&in); err != nil {
		s.problem("batch/upsert body does not match the documented fields: %v", err)
		writeError(w, http.StatusBadRequest, "VALIDATION_ERROR", "Invalid input JSON: "+err.Error())
		return
	}
	if len(in.Inputs) == 0 || len(in.Inputs) > 100 {
		s.problem("batch/upsert with %d inputs, want 1 to 100", len(in.Inputs))
		writeError(w, http.StatusBadRequest, "VALIDATION_ERROR", "inputs must hold 1 to 100 records")
		return
	}
	if s.reject != nil {
		now := time.Now().UTC().Format(time.RFC3339)
		writeJSON(w, http.StatusMultiStatus, map[string]any{"status": "COMPLETE", "results": []any{}, "numErrors": 1, "startedAt": now, "completedAt": now,
			"errors": []any{map[string]any{"status": "error", "category": s.reject[0], "message": s.reject[1], "context": map[string]any{}}}})
		return
	}
	type result struct {
		ID         string            `json:"id"`
		Properties map[string]string `json:"properties"`
		CreatedAt  string            `json:"createdAt"`
		UpdatedAt  string            `json:"updatedAt"`
		Archived   bool              `json:"archived"`
		New        bool              `json:"new"`
	}
	var results []result
	now := time.Now().UTC().Format(time.RFC3339)
	for i, input := range in.Inputs {
		if !s.unique[input.IDProperty] || input.ID == "" {
			s.problem("batch/upsert inputs[%d]: idProperty %q id %q, want a unique property (email) and its value as id", i, input.IDProperty, input.ID)
			writeError(w, http.StatusBadRequest, "VALIDATION_ERROR", "idProperty must be a unique property")
			return
		}
		if v, ok := input.Properties[input.IDProperty]; ok && v != input.ID {
			writeError(w, http.StatusBadRequest, "VALIDATION_ERROR", "Property "+input.IDProperty+" does not match the id")
			return
		}
		key := input.IDProperty + "=" + input.ID
		c, old := s.contacts[key]
		if !old {
			c = &Contact{ID: strconv.Itoa(s.nextID), Properties: map[string]string{input.IDProperty: input.ID}}
			s.nextID++
			s.contacts[key] = c
			s.byID[c.ID] = c
		}
		for k, v := range input.Properties {
			c.Properties[k] = v
		}
		results = append(results, result{ID: c.ID, Properties: c.Properties, CreatedAt: now, UpdatedAt: now, New: !old})
	}
	writeJSON(w, http.StatusOK, map[string]any{"status": "COMPLETE", "results": results, "startedAt": now, "completedAt": now})
}

func (s *Server) associate(w http.ResponseWriter, r *http.Request, m []string) {
	if r.Method != http.MethodPut {
		s.problem("default association called with %s, want PUT", r.Method)
		writeError(w, http.StatusMethodNotAllowed, "", "method not allowed")
		return
	}
	c := s.byID[m[1]]
	known := s.companies
	if m[2] == "deal" {
		known = s.deals
	}
	if c == nil || !known[m[3]] {
		writeError(w, http.StatusNotFound, "OBJECT_NOT_FOUND", fmt.Sprintf("No %s with id %s", m[2], m[3]))
		return
	}
	list := &c.Companies
	if m[2] == "deal" {
		list = &c.Deals
	}
	found := false
	for _, id := range *list {
		found = found || id == m[3]
	}
	if !found {
		*list = append(*list, m[3])
	}
	writeJSON(w, http.StatusOK, map[string]any{"status": "COMPLETE", "results": []any{map[string]any{
		"from": map[string]string{"id": m[1]}, "to": map[string]string{"id": m[3]},
		"associationSpec": map[string]any{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": map[string]int{"company": 279, "deal": 4}[m[2]]},
	}}})
}

// writeError answers HubSpot's error body.
func writeError(w http.ResponseWriter, code int, category, msg string) {
	writeJSON(w, code, map[string]string{"status": "error", "message": msg, "correlationId": "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee", "category": category})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json;charset=utf-8")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}
