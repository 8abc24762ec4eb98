package hubspot_test

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/junctionhq/junction/adapters/hubspot"
	"github.com/junctionhq/junction/adapters/internal/apphttp"
	"github.com/junctionhq/junction/adapters/sdk"
	"github.com/junctionhq/junction/adapters/sdk/sdktest"
	"github.com/junctionhq/junction/adapters/sdk/sdktest/conformance"
	junctionv1 "github.com/junctionhq/junction/proto/junction/v1"
)

// eventIDFor is the numeric eventId the conformance requests carry for
// the suite's id: HubSpot's ids are integers.
func eventIDFor(id string) string {
	h := fnv.New64a()
	h.Write([]byte(id))
	return strconv.FormatUint(h.Sum64()>>12, 10)
}

// creation is HubSpot's documented contact.creation notification.
func creation(eventID string) string {
	return `{"eventId":` + eventID + `,"subscriptionId":12345,"portalId":62515,"occurredAt":1564113600000,"subscriptionType":"contact.creation","attemptNumber":0,"objectId":123,"changeSource":"CRM","changeFlag":"NEW","appId":54321}`
}

// request is what HubSpot sends for a one-notification batch, spoiled as
// bad says.
func request(t *testing.T, id string, bad conformance.Bad) *http.Request {
	body := "[" + creation(eventIDFor(id)) + "]"
	at := time.Now()
	key := secret
	switch bad {
	case conformance.StaleTimestamp:
		at = at.Add(-time.Hour)
	case conformance.FutureTimestamp:
		at = at.Add(time.Hour)
	case conformance.WrongSecret:
		key = "not-the-client-secret"
	case conformance.Oversized:
		body = `[{"eventId":1,"subscriptionType":"contact.creation","objectId":1,"pad":"` + strings.Repeat("x", 70<<10) + `"}]`
	case conformance.MalformedJSON:
		body = `[{"eventId":`
	}
	r := post(body, "/webhooks/hubspot", at, key)
	switch bad {
	case conformance.BadSignature:
		r.Header.Set(hubspot.HeaderSignature, sign(http.MethodPost, publicURL+"/webhooks/other", body, millis(at), secret))
	case conformance.ByteChanged:
		r = withBody(r, strings.Replace(body, "62515", "62516", 1))
	case conformance.MissingHeader:
		r.Header.Del(hubspot.HeaderSignature)
	case conformance.MalformedHeader:
		r.Header.Set(hubspot.HeaderSignature, "sha256=not base64!")
	}
	return r
}

// withBody is r with its headers and another body: what was signed is
// not what is sent.
func withBody(r *http.Request, body string) *http.Request {
	out := httptest.NewRequest(r.Method, r.URL.String(), strings.NewReader(body))
	out.Header = r.Header.Clone()
	return out
}

func TestSourceConformance(t *testing.T) {
	conformance.RunSource(t, conformance.SourceCase{
		App: hubspot.Spec.App,
		New: func(t *testing.T) any {
			return newAdapter(t, hubspot.Config{MaxBodyBytes: 64 << 10})
		},
		Request: request,
		EventID: eventIDFor,
	})
}

// TestSignature: the v3 signature over the URL HubSpot called, as
// HubSpot's validation guide describes it, against the URL the adapter
// rebuilds: configured public_url, the request's own scheme and host,
// decoded characters, rotation, and what must fail.
func TestSignature(t *testing.T) {
	body := "[" + creation("1") + "]"
	now := time.Now()
	for _, tt := range []struct {
		name      string
		publicURL string // adapter config; "" the request's own
		tls       bool   // request came over TLS
		host      string // Host header
		target    string // request target as sent
		signedURI string // the URI HubSpot signed
		method    string // signed method, default POST
		secret    string
		at        time.Time
		want      int
	}{
		{name: "behind a proxy: public_url", publicURL: "https://hooks.example.com", host: "10.0.0.7:8080", target: "/webhooks/hubspot",
			signedURI: "https://hooks.example.com/webhooks/hubspot", want: 200},
		{name: "public_url with a trailing slash", publicURL: "https://hooks.example.com/", host: "10.0.0.7:8080", target: "/webhooks/hubspot",
			signedURI: "https://hooks.example.com/webhooks/hubspot", want: 200},
		{name: "proxy strips a path prefix", publicURL: "https://example.com/junction", host: "10.0.0.7:8080", target: "/webhooks/hubspot",
			signedURI: "https://example.com/junction/webhooks/hubspot", want: 200},
		{name: "direct over TLS", tls: true, host: "hooks.example.com", target: "/webhooks/hubspot",
			signedURI: "https://hooks.example.com/webhooks/hubspot", want: 200},
		{name: "direct, plain HTTP", host: "127.0.0.1:8080", target: "/webhooks/hubspot",
			signedURI: "http://127.0.0.1:8080/webhooks/hubspot", want: 200},
		{name: "query kept in order", publicURL: publicURL, host: "x", target: "/webhooks/hubspot?portal=62515&app=54321",
			signedURI: publicURL + "/webhooks/hubspot?portal=62515&app=54321", want: 200},
		{name: "listed encodings decoded", publicURL: publicURL, host: "x", target: "/webhooks/hubspot?to=a%40b.com&path=%2Fx%3Ay&l=%28%29%2a%2C%3B%21%24%27%3F",
			signedURI: publicURL + "/webhooks/hubspot?to=a@b.com&path=/x:y&l=()*,;!$'?", want: 200},
		{name: "other encodings kept", publicURL: publicURL, host: "x", target: "/webhooks/hubspot?q=a%20b%25c%2B",
			signedURI: publicURL + "/webhooks/hubspot?q=a%20b%25c%2B", want: 200},
		{name: "signed over the encoded URI", publicURL: publicURL, host: "x", target: "/webhooks/hubspot?to=a%40b.com",
			signedURI: publicURL + "/webhooks/hubspot?to=a%40b.com", want: 401},
		{name: "old secret during rotation", publicURL: publicURL, host: "x", target: "/webhooks/hubspot",
			signedURI: publicURL + "/webhooks/hubspot", secret: oldSecret, want: 200},
		{name: "another secret", publicURL: publicURL, host: "x", target: "/webhooks/hubspot",
			signedURI: publicURL + "/webhooks/hubspot", secret: "zzz", want: 401},
		{name: "other host signed", publicURL: publicURL, host: "x", target: "/webhooks/hubspot",
			signedURI: "https://evil.example.com/webhooks/hubspot", want: 401},
		{name: "http signed, https configured", publicURL: publicURL, host: "x", target: "/webhooks/hubspot",
			signedURI: "http://hooks.example.com/webhooks/hubspot", want: 401},
		{name: "other method signed", publicURL: publicURL, host: "x", target: "/webhooks/hubspot", method: http.MethodPut,
			signedURI: publicURL + "/webhooks/hubspot", want: 401},
		{name: "4 minutes old", publicURL: publicURL, host: "x", target: "/webhooks/hubspot",
			signedURI: publicURL + "/webhooks/hubspot", at: now.Add(-4 * time.Minute), want: 200},
		{name: "6 minutes old", publicURL: publicURL, host: "x", target: "/webhooks/hubspot",
			signedURI: publicURL + "/webhooks/hubspot", at: now.Add(-6 * time.Minute), want: 401},
		{name: "6 minutes ahead", publicURL: publicURL, host: "x", target: "/webhooks/hubspot",
			signedURI: publicURL + "/webhooks/hubspot", at: now.Add(6 * time.Minute), want: 401},
	} {
		t.Run(tt.name, func(t *testing.T) {
			at, key, method := tt.at, tt.secret, tt.method
			if at.IsZero() {
				at = now
			}
			if key == "" {
				key = secret
			}
			if method == "" {
				method = http.MethodPost
			}
			ts := millis(at)
			r := httptest.NewRequest(http.MethodPost, tt.target, strings.NewReader(body))
			r.Host = tt.host
			if tt.tls {
				r.TLS = &tls.ConnectionState{}
			}
			r.Header.Set(hubspot.HeaderSignature, sign(method, tt.signedURI, body, ts, key))
			r.Header.Set(hubspot.HeaderTimestamp, ts)
			t.Setenv("TEST_HUBSPOT_SECRET", secret)
			t.Setenv("TEST_HUBSPOT_OLD_SECRET", oldSecret)
			a, err := hubspot.New(hubspot.Config{
				Secrets:   []apphttp.SecretRef{{SecretEnv: "TEST_HUBSPOT_SECRET"}, {SecretEnv: "TEST_HUBSPOT_OLD_SECRET"}},
				PublicURL: tt.publicURL,
			})
			if err != nil {
				t.Fatal(err)
			}
			var c capture
			w := httptest.NewRecorder()
			a.Webhook(c.emit).ServeHTTP(w, r)
			if w.Code != tt.want {
				t.Errorf("answered %d %s, want %d", w.Code, strings.TrimSpace(w.Body.String()), tt.want)
			}
			if (len(c.events) == 1) != (tt.want == 200) {
				t.Errorf("emitted %d events", len(c.events))
			}
		})
	}
}

// batch is a documented three-notification request (HubSpot's webhook
// payload samples).
const batch = `[{"objectId":1246965,"propertyName":"lifecyclestage","propertyValue":"subscriber","changeSource":"ACADEMY","eventId":3816279340,"subscriptionId":25,"portalId":33,"appId":1160452,"occurredAt":1462216307945,"subscriptionType":"contact.propertyChange","attemptNumber":0},
 {"objectId":1246978,"changeSource":"IMPORT","eventId":3816279480,"subscriptionId":22,"portalId":33,"appId":1160452,"occurredAt":1462216307945,"subscriptionType":"contact.creation","attemptNumber":0},
 {"objectId":4055127,"changeSource":"CRM_UI","eventId":3816279501,"subscriptionId":108,"portalId":33,"appId":1160452,"occurredAt":1462216308001,"subscriptionType":"deal.creation","attemptNumber":0}]`

// runner is the adapter in the SDK's Runner on a real embedded hub, as
// `junction serve` or hubspot-adapter runs it.
func runner(t *testing.T, emitWrap func(sdk.EmitFunc) sdk.EmitFunc) (*sdktest.Hub, *httptest.Server) {
	t.Helper()
	hub := sdktest.NewHub(t)
	a := newAdapter(t, hubspot.Config{})
	var h http.Handler
	if emitWrap == nil {
		r, err := conformance.Start(hub, hubspot.Spec, a)
		if err != nil {
			t.Fatal(err)
		}
		h = r.Handler()
	} else {
		pub, err := sdk.NewPublisher(hub.JS)
		if err != nil {
			t.Fatal(err)
		}
		h = a.Webhook(emitWrap(pub.Publish))
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return hub, srv
}

// send posts body signed for srv's URL (the adapter runs with
// public_url, so the signed URI is publicURL's).
func send(t *testing.T, srv *httptest.Server, body string) (int, string) {
	t.Helper()
	ts := millis(time.Now())
	req, err := http.NewRequest(http.MethodPost, srv.URL+"/webhooks/hubspot", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(hubspot.HeaderSignature, sign(http.MethodPost, publicURL+"/webhooks/hubspot", body, ts, secret))
	req.Header.Set(hubspot.HeaderTimestamp, ts)
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestBatchStoredOnceEach: each notification of a batch is one event
// with its eventId, in order; HubSpot's resend of the batch stores
// nothing more and is answered with the duplicates.
func TestBatchStoredOnceEach(t *testing.T) {
	hub, srv := runner(t, nil)
	for attempt := range 2 {
		code, body := send(t, srv, batch)
		if code != http.StatusOK {
			t.Fatalf("attempt %d answered %d %s, want 200", attempt, code, body)
		}
		var got hubspot.Batch
		if err := json.Unmarshal([]byte(body), &got); err != nil || len(got.Events) != 3 {
			t.Fatalf("attempt %d answer %s (%v), want 3 events", attempt, body, err)
		}
		for i, e := range got.Events {
			if e.Duplicate != (attempt == 1) {
				t.Errorf("attempt %d event %d (%s) duplicate %v", attempt, i, e.ID, e.Duplicate)
			}
		}
	}
	events := hub.WaitEvents(t, 3, 10*time.Second)
	var got []string
	for _, e := range events {
		got = append(got, e.GetId()+" "+e.GetType())
	}
	if want := []string{"3816279340 contact.updated", "3816279480 contact.created", "3816279501 deal.created"}; strings.Join(got, ", ") != strings.Join(want, ", ") {
		t.Errorf("stored %q, want %q", got, want)
	}
}

// TestBatchAllOrNothing: a batch the hub stores only in part is answered
// 503, and HubSpot's resend stores the rest once; a batch with a
// notification that has no eventId is refused whole, storing nothing.
func TestBatchAllOrNothing(t *testing.T) {
	t.Run("hub fails half way", func(t *testing.T) {
		calls := 0
		failSecond := func(emit sdk.EmitFunc) sdk.EmitFunc {
			return func(ctx context.Context, e *junctionv1.Event) (sdk.PublishResult, error) {
				calls++
				if calls == 2 {
					return sdk.PublishResult{}, fmt.Errorf("%w: stream leader election", sdk.ErrUnavailable)
				}
				return emit(ctx, e)
			}
		}
		hub, srv := runner(t, failSecond)
		code, body := send(t, srv, batch)
		if code != http.StatusServiceUnavailable || !strings.Contains(body, "1 of the batch's 3 events stored") {
			t.Fatalf("first delivery answered %d %s, want 503 saying 1 of 3 stored", code, body)
		}
		if code, body := send(t, srv, batch); code != http.StatusOK {
			t.Fatalf("resend answered %d %s, want 200", code, body)
		}
		if n := len(hub.WaitEvents(t, 3, 10*time.Second)); n != 3 {
			t.Errorf("stored %d events after the resend, want 3 (each once)", n)
		}
	})
	t.Run("a notification without eventId", func(t *testing.T) {
		var c capture
		bad := strings.Replace(batch, `"eventId":3816279480,`, "", 1)
		w := httptest.NewRecorder()
		newAdapter(t, hubspot.Config{}).Webhook(c.emit).ServeHTTP(w, post(bad, "/webhooks/hubspot", time.Now(), secret))
		if w.Code != http.StatusBadRequest || !strings.Contains(w.Body.String(), "notification [1]") {
			t.Errorf("answered %d %s, want 400 naming notification [1]", w.Code, w.Body)
		}
		if len(c.events) != 0 {
			t.Errorf("emitted %d events of a refused batch, want none", len(c.events))
		}
	})
	t.Run("the hub refuses one", func(t *testing.T) {
		n := 0
		emit := func(_ context.Context, e *junctionv1.Event) (sdk.PublishResult, error) {
			n++
			if e.GetId() == "3816279480" {
				return sdk.PublishResult{}, fmt.Errorf("%w: too large", sdk.ErrInvalidEvent)
			}
			return sdk.PublishResult{Event: e}, nil
		}
		w := httptest.NewRecorder()
		newAdapter(t, hubspot.Config{}).Webhook(emit).ServeHTTP(w, post(batch, "/webhooks/hubspot", time.Now(), secret))
		if w.Code != http.StatusBadRequest || !strings.Contains(w.Body.String(), "3816279480") || n != 3 {
			t.Errorf("answered %d %s after %d emits, want 400 naming eventId 3816279480 after 3", w.Code, w.Body, n)
		}
	})
}

// TestSlowHub: the store's context ends AckTimeout after the request,
// within HubSpot's 5 seconds.
func TestSlowHub(t *testing.T) {
	var budget time.Duration
	stuck := func(ctx context.Context, e *junctionv1.Event) (sdk.PublishResult, error) {
		called := time.Now()
		dl, ok := ctx.Deadline()
		if !ok {
			t.Error("the store's context has no deadline")
		}
		budget = dl.Sub(called)
		<-ctx.Done()
		return sdk.PublishResult{}, fmt.Errorf("%w: %w", sdk.ErrUnavailable, ctx.Err())
	}
	w := httptest.NewRecorder()
	newAdapter(t, hubspot.Config{AckTimeout: 300 * time.Millisecond}).Webhook(stuck).ServeHTTP(w, post(batch, "/webhooks/hubspot", time.Now(), secret))
	if w.Code != http.StatusServiceUnavailable {
		t.Errorf("answered %d %s, want 503", w.Code, w.Body)
	}
	if budget > 300*time.Millisecond {
		t.Errorf("the store may take %v, want at most the 300ms ack_timeout", budget)
	}
}

func TestConfigValidate(t *testing.T) {
	for _, tt := range []struct {
		name string
		cfg  hubspot.Config
		want string // in the error; "" for none
	}{
		{"zero is the defaults", hubspot.Config{}, ""},
		{"public url", hubspot.Config{PublicURL: "https://hooks.example.com/prefix"}, ""},
		{"public url without scheme", hubspot.Config{PublicURL: "hooks.example.com"}, "adapter.public_url"},
		{"public url with a query", hubspot.Config{PublicURL: "https://hooks.example.com?x=1"}, "adapter.public_url"},
		{"ack timeout too long", hubspot.Config{AckTimeout: 5 * time.Second}, "adapter.ack_timeout"},
		{"negative body limit", hubspot.Config{MaxBodyBytes: -1}, "adapter.max_body_bytes"},
		{"secret with neither", hubspot.Config{Secrets: []apphttp.SecretRef{{}}}, "adapter.secrets[0]"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.Validate()
			if (err == nil) != (tt.want == "") || (err != nil && !strings.Contains(err.Error(), tt.want)) {
				t.Errorf("Validate() = %v, want an error naming %q", err, tt.want)
			}
		})
	}
}

// TestAnswers: bodies that are no batch of notifications are refused
// whole with a message, and nothing is emitted.
func TestAnswers(t *testing.T) {
	for _, tt := range []struct {
		name    string
		method  string
		body    string
		wantMsg string
	}{
		{name: "object, not array", body: creation("1"), wantMsg: "JSON array"},
		{name: "empty array", body: `[]`, wantMsg: "empty array"},
		{name: "element not an object", body: `[` + creation("1") + `, 7]`, wantMsg: "notification [1]: is a number"},
		{name: "eventId a boolean", body: `[{"eventId":true,"subscriptionType":"contact.creation"}]`, wantMsg: "eventId"},
		{name: "eventId fractional", body: `[{"eventId":1.5,"subscriptionType":"contact.creation"}]`, wantMsg: "eventId"},
		{name: "no subscriptionType", body: `[{"eventId":1,"objectId":2}]`, wantMsg: "subscriptionType"},
		{name: "subscriptionType without a dot", body: `[{"eventId":1,"subscriptionType":"creation"}]`, wantMsg: "subscriptionType"},
		{name: "GET", method: http.MethodGet, body: "[" + creation("1") + "]", wantMsg: "POST"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := post(tt.body, "/webhooks/hubspot", time.Now(), secret)
			if tt.method != "" {
				r.Method = tt.method
			}
			var c capture
			w := httptest.NewRecorder()
			newAdapter(t, hubspot.Config{}).Webhook(c.emit).ServeHTTP(w, r)
			if w.Code/100 != 4 || !strings.Contains(w.Body.String(), tt.wantMsg) {
				t.Errorf("answered %d %s, want 4xx with %q", w.Code, strings.TrimSpace(w.Body.String()), tt.wantMsg)
			}
			if len(c.events) != 0 {
				t.Errorf("emitted %d events", len(c.events))
			}
		})
	}
}

// TestManyBadNotificationsNamed: an answer names at most five bad
// notifications and counts the rest.
func TestManyBadNotificationsNamed(t *testing.T) {
	body := "[" + strings.TrimSuffix(strings.Repeat(`{"subscriptionType":"contact.creation"},`, 8), ",") + "]"
	var c capture
	w := httptest.NewRecorder()
	newAdapter(t, hubspot.Config{}).Webhook(c.emit).ServeHTTP(w, post(body, "/webhooks/hubspot", time.Now(), secret))
	msg := w.Body.String()
	if w.Code != http.StatusBadRequest || !strings.Contains(msg, "notification [4]") || strings.Contains(msg, "notification [5]") || !strings.Contains(msg, "and 3 more") {
		t.Errorf("answered %d %s, want 400 naming notifications [0] to [4] and 3 more", w.Code, msg)
	}
	if len(c.events) != 0 {
		t.Errorf("emitted %d events", len(c.events))
	}
}
