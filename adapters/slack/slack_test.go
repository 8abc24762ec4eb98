package slack_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/junctionhq/junction/adapters/internal/apphttp"
	"github.com/junctionhq/junction/adapters/sdk"
	"github.com/junctionhq/junction/adapters/sdk/sdktest/conformance"
	"github.com/junctionhq/junction/adapters/slack"
	junctionv1 "github.com/junctionhq/junction/proto/junction/v1"
)

const messageInner = `{"type":"message","channel":"C123ABC456","user":"U123ABC456","text":"Printer on fire","ts":"1355517523.000005","event_ts":"1355517523.000005","channel_type":"channel"}`

// request is what Slack sends for event id, spoiled as bad says.
func request(t *testing.T, id string, bad conformance.Bad) *http.Request {
	body := callback(id, messageInner)
	at := time.Now()
	key := secret
	switch bad {
	case conformance.StaleTimestamp:
		at = at.Add(-time.Hour)
	case conformance.FutureTimestamp:
		at = at.Add(time.Hour)
	case conformance.WrongSecret:
		key = "not-the-signing-secret"
	case conformance.Oversized:
		body = callback(id, `{"type":"message","channel":"C1","user":"U1","ts":"1.1","text":"`+strings.Repeat("x", 70<<10)+`"}`)
	case conformance.MalformedJSON:
		body = `{"type":"event_callback","event_id":`
	}
	r := post(t, body, at, key)
	switch bad {
	case conformance.Valid:
		if err := slackAccepts(r.Header, body, secret); err != nil {
			t.Fatalf("slack-go refuses the valid request: %v", err)
		}
	case conformance.BadSignature:
		r.Header.Set(slack.HeaderSignature, "v0="+strings.Repeat("0", 64))
	case conformance.ByteChanged:
		r = withBody(r, strings.Replace(body, "fire", "fir3", 1))
	case conformance.MissingHeader:
		r.Header.Del(slack.HeaderSignature)
	case conformance.MalformedHeader:
		r.Header.Set(slack.HeaderSignature, "v0=not-hex")
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
		App: slack.Spec.App,
		New: func(t *testing.T) any {
			return newAdapter(t, slack.Config{MaxBodyBytes: 64 << 10})
		},
		Request: request,
	})
}

// TestBothDirections: for each request, the adapter accepts it exactly
// when slack-go's SecretsVerifier does.
func TestBothDirections(t *testing.T) {
	body := callback("Ev0PV52K21", messageInner)
	now := time.Now()
	for _, tt := range []struct {
		name   string
		secret string // what the request is signed with
		at     time.Time
		edit   func(r *http.Request)
		send   string // body sent, if not the one signed
	}{
		{name: "signed now", secret: secret, at: now},
		{name: "signed with the old secret (rotation)", secret: oldSecret, at: now},
		{name: "another secret", secret: "xoxb-not-it", at: now},
		{name: "one byte changed", secret: secret, at: now, send: strings.Replace(body, "fire", "fir3", 1)},
		{name: "4 minutes old", secret: secret, at: now.Add(-4 * time.Minute)},
		{name: "6 minutes old", secret: secret, at: now.Add(-6 * time.Minute)},
		{name: "6 minutes ahead", secret: secret, at: now.Add(6 * time.Minute)},
		{name: "no v0= prefix", secret: secret, at: now, edit: func(r *http.Request) {
			r.Header.Set(slack.HeaderSignature, strings.TrimPrefix(r.Header.Get(slack.HeaderSignature), "v0="))
		}},
		{name: "v1= prefix", secret: secret, at: now, edit: func(r *http.Request) {
			r.Header.Set(slack.HeaderSignature, "v1="+strings.TrimPrefix(r.Header.Get(slack.HeaderSignature), "v0="))
		}},
		{name: "timestamp not a number", secret: secret, at: now, edit: func(r *http.Request) { r.Header.Set(slack.HeaderTimestamp, "soon") }},
		{name: "no timestamp", secret: secret, at: now, edit: func(r *http.Request) { r.Header.Del(slack.HeaderTimestamp) }},
		{name: "no signature", secret: secret, at: now, edit: func(r *http.Request) { r.Header.Del(slack.HeaderSignature) }},
		{name: "truncated signature", secret: secret, at: now, edit: func(r *http.Request) {
			r.Header.Set(slack.HeaderSignature, r.Header.Get(slack.HeaderSignature)[:40])
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := post(t, body, tt.at, tt.secret)
			sent := body
			if tt.send != "" {
				sent = tt.send
				r = withBody(r, sent)
			}
			if tt.edit != nil {
				tt.edit(r)
			}
			// slack-go is given the secrets the adapter has: it accepts
			// when either one does.
			vendorErr := slackAccepts(r.Header, sent, secret)
			if vendorErr != nil {
				if err := slackAccepts(r.Header, sent, oldSecret); err == nil {
					vendorErr = nil
				}
			}
			var c capture
			w := httptest.NewRecorder()
			newAdapter(t, slack.Config{}).Webhook(c.emit).ServeHTTP(w, r)
			adapterOK := w.Code == http.StatusOK
			if adapterOK != (vendorErr == nil) {
				t.Errorf("adapter answered %d %s; slack-go says %v: they must agree", w.Code, strings.TrimSpace(w.Body.String()), vendorErr)
			}
			if want := map[bool]int{true: 1, false: 0}[adapterOK]; len(c.events) != want {
				t.Errorf("emitted %d events, want %d", len(c.events), want)
			}
		})
	}
}

// TestURLVerification: the handshake is answered with its challenge
// (signed, as Slack signs it) and stores nothing; unsigned, it is
// refused.
func TestURLVerification(t *testing.T) {
	body := `{"token":"Jhj5dZrVaK7ZwHHjRyZWjbDl","challenge":"3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P","type":"url_verification"}`
	for _, tt := range []struct {
		name     string
		signed   bool
		wantCode int
	}{
		{"signed", true, http.StatusOK},
		{"unsigned", false, http.StatusBadRequest},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := signedBySlackGo(t, body)
			if !tt.signed {
				r.Header.Del(slack.HeaderSignature)
			}
			var c capture
			w := httptest.NewRecorder()
			newAdapter(t, slack.Config{}).Webhook(c.emit).ServeHTTP(w, r)
			if w.Code != tt.wantCode {
				t.Fatalf("answered %d %s, want %d", w.Code, w.Body, tt.wantCode)
			}
			if len(c.events) != 0 {
				t.Errorf("url_verification emitted %d events, want none", len(c.events))
			}
			if !tt.signed {
				return
			}
			var got struct{ Challenge string }
			if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil || got.Challenge != "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P" {
				t.Errorf("answer %s (%v), want the challenge echoed as {\"challenge\":...}", w.Body, err)
			}
		})
	}
}

// TestSlowHubAnswers503BeforeSlackGivesUp: the store gets a context
// ending AckTimeout after the request arrived; a hub that has not
// answered by then is answered 503 (Slack retries the same event_id).
func TestSlowHubAnswers503BeforeSlackGivesUp(t *testing.T) {
	for _, tt := range []struct {
		name string
		ack  time.Duration
		want time.Duration
	}{
		{"default", 0, slack.DefaultAckTimeout},
		{"configured", 500 * time.Millisecond, 500 * time.Millisecond},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var budget time.Duration
			var hadDeadline bool
			// A hub that never acknowledges: it returns only when the
			// context ends, as sdk's Publisher does.
			stuck := func(ctx context.Context, e *junctionv1.Event) (sdk.PublishResult, error) {
				called := time.Now() // after the request arrived
				var dl time.Time
				dl, hadDeadline = ctx.Deadline()
				budget = dl.Sub(called)
				<-ctx.Done()
				return sdk.PublishResult{}, fmt.Errorf("%w: publish event: %w", sdk.ErrUnavailable, ctx.Err())
			}
			r := signedBySlackGo(t, callback("Ev_slow", messageInner))
			w := httptest.NewRecorder()
			newAdapter(t, slack.Config{AckTimeout: tt.ack}).Webhook(stuck).ServeHTTP(w, r)
			if w.Code != http.StatusServiceUnavailable {
				t.Errorf("answered %d %s, want 503", w.Code, w.Body)
			}
			if !hadDeadline || budget > tt.want {
				t.Errorf("the store's context ends %v after the store began (deadline set: %v), want at most %v after the request arrived", budget, hadDeadline, tt.want)
			}
			if budget >= 3*time.Second {
				t.Errorf("the store may take %v: Slack gives up after 3s", budget)
			}
		})
	}
}

func TestConfigValidate(t *testing.T) {
	for _, tt := range []struct {
		name string
		cfg  slack.Config
		want string // in the error; "" for none
	}{
		{"zero is the defaults", slack.Config{}, ""},
		{"ack timeout too long", slack.Config{AckTimeout: 3 * time.Second}, "adapter.ack_timeout"},
		{"negative tolerance", slack.Config{Tolerance: -time.Second}, "adapter.tolerance"},
		{"secret with neither", slack.Config{Secrets: []apphttp.SecretRef{{}}}, "adapter.secrets[0]"},
		{"secret with both", slack.Config{Secrets: []apphttp.SecretRef{{SecretEnv: "A", SecretFile: "/b"}}}, "only one"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.Validate()
			if (err == nil) != (tt.want == "") || (err != nil && !strings.Contains(err.Error(), tt.want)) {
				t.Errorf("Validate() = %v, want an error naming %q", err, tt.want)
			}
		})
	}
}

// TestSecretFromFile: a secret_file is read; a missing environment
// variable is an error that names it and not any secret.
func TestSecretSources(t *testing.T) {
	path := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(path, []byte(secret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	a, err := slack.New(slack.Config{Secrets: []apphttp.SecretRef{{SecretFile: path}}})
	if err != nil {
		t.Fatal(err)
	}
	var c capture
	w := httptest.NewRecorder()
	a.Webhook(c.emit).ServeHTTP(w, signedBySlackGo(t, callback("Ev_file", messageInner)))
	if w.Code != http.StatusOK {
		t.Errorf("signed with the file's secret: %d %s, want 200", w.Code, w.Body)
	}
	t.Setenv("SLACK_SIGNING_SECRET", "")
	_, err = slack.New(slack.Config{})
	if err == nil || !strings.Contains(err.Error(), "SLACK_SIGNING_SECRET") {
		t.Errorf("New with no secret = %v, want an error naming SLACK_SIGNING_SECRET", err)
	}
}

// TestRetryHeaderIsNotAnID: Slack's retries carry X-Slack-Retry-Num and
// the same event_id: the event keeps the event_id, so the hub dedupes.
func TestRetryHeaderIsNotAnID(t *testing.T) {
	var c capture
	h := newAdapter(t, slack.Config{}).Webhook(c.emit)
	for i, retry := range []string{"", "1", "2", "x"} {
		r := signedBySlackGo(t, callback("Ev_retried", messageInner))
		if retry != "" {
			r.Header.Set(slack.HeaderRetryNum, retry)
			r.Header.Set(slack.HeaderRetryReason, "http_timeout")
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != http.StatusOK {
			t.Fatalf("attempt %d (retry %q): %d %s, want 200", i, retry, w.Code, w.Body)
		}
	}
	for i, e := range c.events {
		if e.GetId() != "Ev_retried" {
			t.Errorf("attempt %d emitted id %q, want the event_id Ev_retried", i, e.GetId())
		}
	}
}

// TestAnswers: what is not POST, not JSON or not an Events API body is
// turned away with a message, and nothing is emitted; a hub refusing or
// failing is 400 or 503.
func TestAnswers(t *testing.T) {
	for _, tt := range []struct {
		name     string
		method   string
		body     string
		emitErr  error
		wantCode int
		wantMsg  string
	}{
		{name: "GET", method: http.MethodGet, body: callback("Ev1", messageInner), wantCode: http.StatusMethodNotAllowed, wantMsg: "POST"},
		{name: "form body", body: "token=x&team_id=T1&command=%2Fweather", wantCode: http.StatusBadRequest, wantMsg: "not JSON"},
		{name: "array", body: `[1]`, wantCode: http.StatusBadRequest, wantMsg: "JSON object"},
		{name: "unknown outer type", body: `{"type":"block_actions"}`, wantCode: http.StatusBadRequest, wantMsg: "event_callback"},
		{name: "no event_id", body: `{"type":"event_callback","event":{"type":"message"}}`, wantCode: http.StatusBadRequest, wantMsg: "event_id"},
		{name: "no event", body: `{"type":"event_callback","event_id":"Ev1"}`, wantCode: http.StatusBadRequest, wantMsg: `object`},
		{name: "event without type", body: `{"type":"event_callback","event_id":"Ev1","event":{}}`, wantCode: http.StatusBadRequest, wantMsg: "type"},
		{name: "rate limited notice", body: `{"token":"Jhj5dZrVaK7ZwHHjRyZWjbDl","type":"app_rate_limited","team_id":"T123456","minute_rate_limited":1518467820,"api_app_id":"A123456"}`, wantCode: http.StatusOK},
		{name: "hub refuses", body: callback("Ev1", messageInner), emitErr: fmt.Errorf("%w: too big", sdk.ErrInvalidEvent), wantCode: http.StatusBadRequest, wantMsg: "too big"},
		{name: "hub down", body: callback("Ev1", messageInner), emitErr: fmt.Errorf("%w: no stream", sdk.ErrUnavailable), wantCode: http.StatusServiceUnavailable, wantMsg: "retry"},
		{name: "hub fails oddly", body: callback("Ev1", messageInner), emitErr: errors.New("boom"), wantCode: http.StatusInternalServerError, wantMsg: "retry"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := signedBySlackGo(t, tt.body)
			if tt.method != "" {
				r.Method = tt.method
			}
			emitted := 0
			emit := func(_ context.Context, e *junctionv1.Event) (sdk.PublishResult, error) {
				emitted++
				return sdk.PublishResult{Event: e}, tt.emitErr
			}
			w := httptest.NewRecorder()
			newAdapter(t, slack.Config{}).Webhook(emit).ServeHTTP(w, r)
			if w.Code != tt.wantCode || !strings.Contains(w.Body.String(), tt.wantMsg) {
				t.Errorf("answered %d %s, want %d with %q", w.Code, strings.TrimSpace(w.Body.String()), tt.wantCode, tt.wantMsg)
			}
			if tt.emitErr == nil && tt.wantCode != http.StatusOK && emitted != 0 {
				t.Errorf("a rejected request emitted %d events", emitted)
			}
		})
	}
}
