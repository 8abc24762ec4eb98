// Package slackapitest is the Slack Web API stand-in of the slack
// destination's tests: slack-go's slacktest server (the maintained fake of
// the Web API) behind a small front that checks the bot token, records
// each chat.postMessage call, and answers 429, 5xx or an `ok:false` error
// on demand, which slacktest cannot.
package slackapitest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/slack-go/slack/slacktest"

	"github.com/junctionhq/junction/adapters/sdk/sdktest/conformance"
)

// Token is the bot token the stand-in accepts.
const Token = "xoxb-test-0000-junction"

// PermanentError is the `ok:false` error answered for a scripted 400.
const PermanentError = "channel_not_found"

// Post is one chat.postMessage call the stand-in got.
type Post struct {
	// Auth is the Authorization header.
	Auth string
	// Form is the call's arguments.
	Form url.Values
	// DeliveryID is metadata.event_payload.delivery_id.
	DeliveryID string
	// At is when it arrived.
	At time.Time
}

// answer is one scripted answer.
type answer struct {
	status     int
	retryAfter time.Duration
	slackError string
	hold       <-chan struct{}
}

// Server is the stand-in. URL is the Web API base URL to configure as the
// adapter's api_url.
type Server struct {
	URL string
	// Slack is the slacktest server calls are passed on to.
	Slack *slacktest.Server

	mu      sync.Mutex
	script  []answer
	posts   []Post
	answers []Answer
}

// Answer is what slacktest answered a call passed on to it.
type Answer struct {
	Status int
	Body   string
}

// Answers returns slacktest's answers to the calls passed on to it (those
// not scripted to fail), in order.
func (s *Server) Answers() []Answer {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Answer(nil), s.answers...)
}

// New starts the stand-in; it stops when the test ends.
func New(t testing.TB) *Server {
	t.Helper()
	st := slacktest.NewTestServer()
	st.Start()
	t.Cleanup(st.Stop)
	backend, err := url.Parse(st.GetAPIURL())
	if err != nil {
		t.Fatalf("slacktest URL: %v", err)
	}
	s := &Server{Slack: st}
	proxy := httputil.NewSingleHostReverseProxy(backend)
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// slacktest serves the methods at its root.
		path := r.URL.Path
		r.URL.Path = strings.TrimPrefix(path, "/api")
		r.URL.RawPath = ""
		if path != "/api/chat.postMessage" {
			proxy.ServeHTTP(w, r)
			return
		}
		s.postMessage(w, r, proxy)
	}))
	t.Cleanup(front.Close)
	s.URL = front.URL + "/api/"
	return s
}

func (s *Server) postMessage(w http.ResponseWriter, r *http.Request, next http.Handler) {
	body, _ := io.ReadAll(r.Body)
	form, err := url.ParseQuery(string(body))
	p := Post{Auth: r.Header.Get("Authorization"), Form: form, At: time.Now()}
	var meta struct {
		Payload struct {
			DeliveryID string `json:"delivery_id"`
		} `json:"event_payload"`
	}
	if json.Unmarshal([]byte(form.Get("metadata")), &meta) == nil {
		p.DeliveryID = meta.Payload.DeliveryID
	}
	s.mu.Lock()
	s.posts = append(s.posts, p)
	var a answer
	if len(s.script) > 0 {
		a = s.script[0]
		if len(s.script) > 1 {
			s.script = s.script[1:]
		}
	}
	s.mu.Unlock()
	if a.hold != nil {
		select {
		case <-a.hold:
		case <-r.Context().Done():
			return
		}
	}
	switch {
	case err != nil || r.Header.Get("Content-Type") != "application/x-www-form-urlencoded":
		writeJSON(w, http.StatusOK, map[string]any{"ok": false, "error": "invalid_form_data"})
	case p.Auth != "Bearer "+Token:
		writeJSON(w, http.StatusOK, map[string]any{"ok": false, "error": "invalid_auth"})
	case form.Get("channel") == "":
		writeJSON(w, http.StatusOK, map[string]any{"ok": false, "error": "channel_not_found"})
	case a.slackError != "":
		if a.retryAfter > 0 {
			w.Header().Set("Retry-After", strconv.Itoa(int(a.retryAfter/time.Second)))
		}
		writeJSON(w, http.StatusOK, map[string]any{"ok": false, "error": a.slackError})
	case a.status != 0 && a.status != http.StatusOK:
		if a.retryAfter > 0 {
			w.Header().Set("Retry-After", strconv.Itoa(int((a.retryAfter+time.Second-1)/time.Second)))
		}
		if a.status == http.StatusBadRequest {
			writeJSON(w, http.StatusOK, map[string]any{"ok": false, "error": PermanentError})
			return
		}
		http.Error(w, http.StatusText(a.status), a.status)
	default:
		r.Body = io.NopCloser(bytes.NewReader(body))
		r.ContentLength = int64(len(body))
		rec := httptest.NewRecorder()
		next.ServeHTTP(rec, r)
		s.mu.Lock()
		s.answers = append(s.answers, Answer{Status: rec.Code, Body: rec.Body.String()})
		s.mu.Unlock()
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.WriteHeader(rec.Code)
		_, _ = w.Write(rec.Body.Bytes())
	}
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

// Script sets the answers to the next calls, in HTTP terms (a 400 is
// answered ok:false channel_not_found, the way Slack refuses); the last
// repeats.
func (s *Server) Script(answers ...conformance.Answer) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.script = s.script[:0]
	for _, a := range answers {
		s.script = append(s.script, answer{status: a.Status, retryAfter: a.RetryAfter, hold: a.Hold})
	}
}

// ScriptErrors makes the next calls answer ok:false with these errors,
// in order; "" answers normally. The last repeats.
func (s *Server) ScriptErrors(errs ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.script = s.script[:0]
	for _, e := range errs {
		s.script = append(s.script, answer{slackError: e})
	}
}

// Received returns every call, for the conformance suite.
func (s *Server) Received() []conformance.Received {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]conformance.Received, len(s.posts))
	for i, p := range s.posts {
		out[i] = conformance.Received{IdempotencyKey: p.DeliveryID, At: p.At}
	}
	return out
}

// Posts returns every chat.postMessage call, in order.
func (s *Server) Posts() []Post {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Post(nil), s.posts...)
}

// String names the stand-in in test messages.
func (s *Server) String() string { return fmt.Sprintf("slack stand-in at %s", s.URL) }

var _ conformance.App = (*Server)(nil)
