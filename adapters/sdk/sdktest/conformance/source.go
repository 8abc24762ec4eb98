// Package conformance holds the suites every adapter runs against a real
// embedded hub: [RunSource] for a webhook source, [RunSink] for a sink.
// An adapter's test supplies how to make its requests (a valid one and a
// bad one of each class) or how its app stand-in answers and what it
// received; the suites check what the hub stores and what the sender or
// the app sees. It is apart from package sdktest because it drives
// adapters through the sdk's Runner, and sdk's own tests import sdktest.
//
//	func TestConformance(t *testing.T) {
//		conformance.RunSource(t, conformance.SourceCase{New: ..., Request: ...})
//	}
//
// The package imports no vendor SDK: an adapter's test brings its own.
package conformance

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/junctionhq/junction/adapters/sdk"
	"github.com/junctionhq/junction/adapters/sdk/platform"
	"github.com/junctionhq/junction/adapters/sdk/platform/topology"
	"github.com/junctionhq/junction/adapters/sdk/rpcstatus"
	"github.com/junctionhq/junction/adapters/sdk/sdktest"
	junctionv1 "github.com/junctionhq/junction/proto/junction/v1"
)

// Bad names a class of bad input a webhook source must turn away.
type Bad string

// The bad-input classes, with the status the suite expects (see
// [SourceCase.Status] to change one).
const (
	// Valid is no bad input: a request the provider sends, signed now.
	Valid Bad = ""
	// BadSignature: a well-formed signature that is not the right one
	// (401).
	BadSignature Bad = "bad signature"
	// WrongSecret: signed correctly, with another secret (401).
	WrongSecret Bad = "wrong secret"
	// ByteChanged: signed, then one byte of the body changed (401).
	ByteChanged Bad = "one byte changed"
	// MissingHeader: the signature header left out (400).
	MissingHeader Bad = "missing header"
	// MalformedHeader: the signature header present but unreadable (400).
	MalformedHeader Bad = "malformed header"
	// StaleTimestamp: signed correctly, longer ago than the tolerance
	// (401).
	StaleTimestamp Bad = "stale timestamp"
	// FutureTimestamp: signed correctly, further ahead than the tolerance
	// (401).
	FutureTimestamp Bad = "future timestamp"
	// Oversized: a body over the adapter's size limit, signed (413).
	Oversized Bad = "oversized body"
	// MalformedJSON: a body that is not JSON, signed correctly (400).
	MalformedJSON Bad = "malformed JSON"
)

// BadClasses lists every class the source suite tries.
var BadClasses = []Bad{BadSignature, WrongSecret, ByteChanged, MissingHeader, MalformedHeader, StaleTimestamp, FutureTimestamp, Oversized, MalformedJSON}

// DefaultStatus is the status the suite expects for each bad class.
var DefaultStatus = map[Bad]int{
	BadSignature:    http.StatusUnauthorized,
	WrongSecret:     http.StatusUnauthorized,
	ByteChanged:     http.StatusUnauthorized,
	MissingHeader:   http.StatusBadRequest,
	MalformedHeader: http.StatusBadRequest,
	StaleTimestamp:  http.StatusUnauthorized,
	FutureTimestamp: http.StatusUnauthorized,
	Oversized:       http.StatusRequestEntityTooLarge,
	MalformedJSON:   http.StatusBadRequest,
}

// SourceCase describes a webhook source adapter to [RunSource].
type SourceCase struct {
	// App is the adapter's Spec.App; default "conformance".
	App string
	// New returns a new adapter value (an sdk.WebhookSource), configured
	// with the secrets Request signs with. It is called once per subtest.
	New func(t *testing.T) any
	// Request returns the request the provider would send for one event
	// whose provider event id is id, signed now, spoiled as bad says; or
	// nil when the adapter's scheme has no such class (a scheme with no
	// timestamp has no stale one): that subtest is skipped. Its URL needs
	// only the path (e.g. "/webhooks/acme"); the suite sends it to the
	// adapter's handler. Two calls with the same id are the provider's
	// retry of one event.
	Request func(t *testing.T, id string, bad Bad) *http.Request
	// Status overrides DefaultStatus for some classes.
	Status map[Bad]int
	// EventID maps the provider's id to the event id the adapter stores;
	// nil means the same id.
	EventID func(id string) string
}

func (c SourceCase) app() string {
	if c.App == "" {
		return "conformance"
	}
	return c.App
}

// sourceEnv is an adapter's webhook handler on a real server, emitting
// through a Runner into an embedded hub.
type sourceEnv struct {
	hub *sdktest.Hub
	srv *httptest.Server
}

func newSourceEnv(t *testing.T, c SourceCase, o sdktest.HubOptions) *sourceEnv {
	t.Helper()
	hub := sdktest.NewHubWith(t, o)
	r, err := platform.NewRunner(sdk.Spec{App: c.app(), Version: "conformance"}, c.New(t), hub.Connect(t), platform.RunnerOptions{
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatalf("conformance: NewRunner: %v", err)
	}
	srv := httptest.NewServer(r.Handler())
	t.Cleanup(srv.Close)
	return &sourceEnv{hub: hub, srv: srv}
}

type answer struct {
	code int
	body string
}

// send sends req to the adapter's server.
func (e *sourceEnv) send(t *testing.T, req *http.Request) answer {
	t.Helper()
	base, _ := url.Parse(e.srv.URL)
	out := req.Clone(context.Background())
	out.URL.Scheme, out.URL.Host, out.Host, out.RequestURI = base.Scheme, base.Host, "", ""
	if req.Body != nil {
		b, err := io.ReadAll(req.Body)
		if err != nil {
			t.Fatalf("conformance: read the case's request body: %v", err)
		}
		out.Body, out.ContentLength = io.NopCloser(bytes.NewReader(b)), int64(len(b))
	}
	resp, err := e.srv.Client().Do(out)
	if err != nil {
		t.Fatalf("conformance: %s %s: %v", out.Method, out.URL.Path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return answer{code: resp.StatusCode, body: string(b)}
}

// events returns the events stored of the case's sources (probes aside).
func (e *sourceEnv) events(t *testing.T) []*junctionv1.Event {
	t.Helper()
	n := e.hub.StreamMsgs(t, topology.EventsStream)
	if n == 0 {
		return nil
	}
	var out []*junctionv1.Event
	for _, ev := range e.hub.WaitEvents(t, int(n), 10*time.Second) {
		if ev.GetSource() != probeSource {
			out = append(out, ev)
		}
	}
	return out
}

// RunSource runs the webhook source suite:
//
//   - a valid request is answered 2xx and stores exactly one event, with
//     the provider's id;
//   - each bad-input class is answered its 4xx with the error body every
//     Junction endpoint answers (package rpcstatus: the gRPC code of the
//     status and a message saying what to fix), and stores nothing;
//   - the provider's retry of an event, answered 2xx, stores nothing more,
//     both within JetStream's duplicate window and after it (on a hub
//     with a short window, waited out): the idempotency bucket dedupes;
//   - while the hub cannot store events (EVENTS is gone) a valid request
//     is answered 503 so the provider retries.
func RunSource(t *testing.T, c SourceCase) {
	t.Helper()
	if c.New == nil || c.Request == nil {
		t.Fatal("conformance: SourceCase needs New and Request")
	}
	eventID := c.EventID
	if eventID == nil {
		eventID = func(id string) string { return id }
	}
	t.Run("valid request stores one event", func(t *testing.T) {
		env := newSourceEnv(t, c, sdktest.HubOptions{})
		a := env.send(t, mustRequest(t, c, "evt_valid_1", Valid))
		if a.code < 200 || a.code > 299 {
			t.Fatalf("valid request answered %d %s, want 2xx", a.code, a.body)
		}
		got := env.events(t)
		if len(got) != 1 {
			t.Fatalf("valid request stored %d events, want 1", len(got))
		}
		if want := eventID("evt_valid_1"); got[0].GetId() != want {
			t.Errorf("stored event id %q, want %q (the provider's id, which dedupes its retries)", got[0].GetId(), want)
		}
	})
	t.Run("bad input", func(t *testing.T) {
		env := newSourceEnv(t, c, sdktest.HubOptions{})
		for i, bad := range BadClasses {
			t.Run(string(bad), func(t *testing.T) {
				req := c.Request(t, fmt.Sprintf("evt_bad_%d", i), bad)
				if req == nil {
					t.Skipf("the adapter's scheme has no %s case", bad)
				}
				want := DefaultStatus[bad]
				if s, ok := c.Status[bad]; ok {
					want = s
				}
				a := env.send(t, req)
				if a.code != want {
					t.Errorf("%s answered %d %s, want %d", bad, a.code, a.body, want)
				}
				if st, err := rpcstatus.Parse([]byte(a.body)); err != nil {
					t.Errorf("%s answered %q: want the error body every Junction endpoint answers (package rpcstatus): %v", bad, a.body, err)
				} else if st.Code != int32(rpcstatus.CodeFor(a.code)) || len(st.Message) < 10 {
					t.Errorf("%s answered %d %q: want code %d (of HTTP %d) and a message saying what to fix", bad, a.code, a.body, rpcstatus.CodeFor(a.code), a.code)
				}
				if n := len(env.events(t)); n != 0 {
					t.Errorf("%s stored %d events, want none", bad, n)
				}
			})
		}
	})
	t.Run("retry stored once", func(t *testing.T) {
		env := newSourceEnv(t, c, sdktest.HubOptions{})
		for i := range 3 {
			if a := env.send(t, mustRequest(t, c, "evt_retry_1", Valid)); a.code < 200 || a.code > 299 {
				t.Fatalf("attempt %d answered %d %s, want 2xx", i+1, a.code, a.body)
			}
		}
		if n := len(env.events(t)); n != 1 {
			t.Errorf("3 sends of one event stored %d events, want 1", n)
		}
	})
	t.Run("retry after the duplicate window stored once", func(t *testing.T) {
		env := newSourceEnv(t, c, sdktest.HubOptions{DuplicateWindow: time.Second})
		if a := env.send(t, mustRequest(t, c, "evt_late_1", Valid)); a.code < 200 || a.code > 299 {
			t.Fatalf("first send answered %d %s, want 2xx", a.code, a.body)
		}
		env.waitPastWindow(t)
		if a := env.send(t, mustRequest(t, c, "evt_late_1", Valid)); a.code < 200 || a.code > 299 {
			t.Fatalf("late retry answered %d %s, want 2xx", a.code, a.body)
		}
		if n := len(env.events(t)); n != 1 {
			t.Errorf("a retry after the duplicate window stored %d events in all, want 1", n)
		}
	})
	t.Run("hub cannot store", func(t *testing.T) {
		env := newSourceEnv(t, c, sdktest.HubOptions{})
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := env.hub.JS.DeleteStream(ctx, topology.EventsStream); err != nil {
			t.Fatalf("conformance: delete EVENTS: %v", err)
		}
		a := env.send(t, mustRequest(t, c, "evt_down_1", Valid))
		if a.code != http.StatusServiceUnavailable {
			t.Errorf("valid request while the hub cannot store answered %d %s, want 503", a.code, a.body)
		}
	})
}

// probeSource is the source of the probe events waitPastWindow publishes.
const probeSource = "conformance-probe"

// waitPastWindow returns once JetStream's duplicate window no longer
// holds what was stored before the call: it publishes a probe with a
// Nats-Msg-Id and republishes it until EVENTS stores it again.
func (e *sourceEnv) waitPastWindow(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	probe, err := topology.EventMsg(&junctionv1.Event{Id: "probe", Source: probeSource, Type: "probe"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.hub.JS.PublishMsg(ctx, probe); err != nil {
		t.Fatalf("conformance: publish probe: %v", err)
	}
	for {
		time.Sleep(200 * time.Millisecond)
		ack, err := e.hub.JS.PublishMsg(ctx, probe)
		if err != nil {
			t.Fatalf("conformance: republish probe (waiting out the duplicate window): %v", err)
		}
		if !ack.Duplicate {
			return
		}
	}
}

func mustRequest(t *testing.T, c SourceCase, id string, bad Bad) *http.Request {
	t.Helper()
	req := c.Request(t, id, bad)
	if req == nil {
		t.Fatalf("conformance: Request(%q, valid) = nil, want a request", id)
	}
	return req
}
