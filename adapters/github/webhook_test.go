package github_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	gh "github.com/google/go-github/v90/github"

	"github.com/junctionhq/junction/adapters/github"
	"github.com/junctionhq/junction/adapters/internal/apphook"
	"github.com/junctionhq/junction/adapters/sdk"
	"github.com/junctionhq/junction/adapters/sdk/rpcstatus"
	junctionv1 "github.com/junctionhq/junction/proto/junction/v1"
)

// TestWebhookAnswers: what each request is answered and whether an event
// is emitted. Every case but the last two is signed correctly.
func TestWebhookAnswers(t *testing.T) {
	body := issuesPayload(t, "opened")
	ping := mustJSON(t, &gh.PingEvent{Zen: gh.Ptr("Design for failure."), HookID: gh.Ptr(int64(292430182)), Repo: repo(), Sender: octocat()})
	for _, tt := range []struct {
		name    string
		req     func() *http.Request
		want    int
		wantMsg string // part of the answer's message
		emitted int
	}{
		{name: "issue opened", req: func() *http.Request { return delivery("issues", "d-1", body, sign(body, secret)) }, want: http.StatusAccepted, emitted: 1},
		{name: "signed with the old secret", req: func() *http.Request { return delivery("issues", "d-1", body, sign(body, oldSecret)) }, want: http.StatusAccepted, emitted: 1},
		{name: "ping answered, not stored", req: func() *http.Request { return delivery("ping", "d-2", ping, sign(ping, secret)) }, want: http.StatusOK, wantMsg: "pong"},
		{name: "ping with a wrong secret", req: func() *http.Request { return delivery("ping", "d-2", ping, sign(ping, "wrong")) }, want: http.StatusUnauthorized, wantMsg: "X-Hub-Signature-256"},
		{name: "no event header", req: func() *http.Request {
			r := delivery("issues", "d-1", body, sign(body, secret))
			r.Header.Del(github.EventHeader)
			return r
		}, want: http.StatusBadRequest, wantMsg: "X-GitHub-Event"},
		{name: "event header not a GitHub event name", req: func() *http.Request { return delivery("Issues.Opened", "d-1", body, sign(body, secret)) }, want: http.StatusBadRequest, wantMsg: "X-GitHub-Event"},
		{name: "no delivery header", req: func() *http.Request { return delivery("issues", "", body, sign(body, secret)) }, want: http.StatusBadRequest, wantMsg: "X-GitHub-Delivery"},
		{name: "delivery with a space", req: func() *http.Request { return delivery("issues", "a b", body, sign(body, secret)) }, want: http.StatusBadRequest, wantMsg: "X-GitHub-Delivery"},
		{name: "body an array", req: func() *http.Request { return delivery("issues", "d-1", []byte(`[1]`), sign([]byte(`[1]`), secret)) }, want: http.StatusBadRequest, wantMsg: "JSON object"},
		{name: "form encoded", req: func() *http.Request {
			r := delivery("issues", "d-1", body, sign(body, secret))
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			return r
		}, want: http.StatusUnsupportedMediaType, wantMsg: "application/json"},
		{name: "GET", req: func() *http.Request {
			r := delivery("issues", "d-1", body, sign(body, secret))
			r.Method = http.MethodGet
			return r
		}, want: http.StatusMethodNotAllowed, wantMsg: "POST"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var got []*junctionv1.Event
			emit := func(_ context.Context, e *junctionv1.Event) (sdk.PublishResult, error) {
				got = append(got, e)
				return sdk.PublishResult{Event: e, Sequence: 1}, nil
			}
			w := httptest.NewRecorder()
			newAdapter(t).Webhook(emit).ServeHTTP(w, tt.req())
			if w.Code != tt.want {
				t.Errorf("answered %d %s, want %d", w.Code, w.Body, tt.want)
			}
			if !strings.Contains(w.Body.String(), tt.wantMsg) {
				t.Errorf("answer %s does not mention %q", w.Body, tt.wantMsg)
			}
			if len(got) != tt.emitted {
				t.Errorf("emitted %d events, want %d", len(got), tt.emitted)
			}
			if w.Code >= 400 {
				if e, err := rpcstatus.Parse(w.Body.Bytes()); err != nil || e.Code != int32(rpcstatus.CodeFor(w.Code)) || e.Message == "" {
					t.Errorf("error answer %s (%v): want {\"code\":%d,\"message\":...,\"details\":[]}", w.Body, err, rpcstatus.CodeFor(w.Code))
				}
			}
		})
	}
}

// TestUnavailable: when the hub cannot store, GitHub is answered 503 so
// that the delivery can be redelivered.
func TestUnavailable(t *testing.T) {
	body := issuesPayload(t, "opened")
	emit := func(context.Context, *junctionv1.Event) (sdk.PublishResult, error) {
		return sdk.PublishResult{}, sdk.ErrUnavailable
	}
	w := httptest.NewRecorder()
	newAdapter(t).Webhook(emit).ServeHTTP(w, delivery("issues", "d-1", body, sign(body, secret)))
	if w.Code != http.StatusServiceUnavailable {
		t.Errorf("answered %d %s, want 503", w.Code, w.Body)
	}
}

func TestConfig(t *testing.T) {
	t.Setenv("GH_EMPTY", "")
	t.Setenv(github.DefaultSecretEnv, "s")
	for _, tt := range []struct {
		name    string
		cfg     github.Config
		wantErr string
	}{
		{name: "default secret variable", cfg: github.Config{}},
		{name: "negative body limit", cfg: github.Config{MaxBodyBytes: -1}, wantErr: "max_body_bytes"},
		{name: "previous secret with neither secret_env nor secret_file", cfg: github.Config{Previous: []apphook.SecretRef{{}}}, wantErr: "previous[0]"},
		{name: "secret with both", cfg: github.Config{SecretRef: apphook.SecretRef{SecretEnv: "A", SecretFile: "b"}}, wantErr: "only one"},
		{name: "empty variable", cfg: github.Config{SecretRef: apphook.SecretRef{SecretEnv: "GH_EMPTY"}}, wantErr: "GH_EMPTY"},
		{name: "missing file", cfg: github.Config{SecretRef: apphook.SecretRef{SecretFile: "/nonexistent/secret"}}, wantErr: "secret_file"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := github.New(tt.cfg)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("New(%+v): %v, want no error", tt.cfg, err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Errorf("New(%+v) = %v, want an error mentioning %q", tt.cfg, err, tt.wantErr)
			}
		})
	}
}
