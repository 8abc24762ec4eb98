package jira_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/junctionhq/junction/adapters/internal/apphook"
	"github.com/junctionhq/junction/adapters/jira"
	"github.com/junctionhq/junction/adapters/sdk"
	"github.com/junctionhq/junction/adapters/sdk/rpcstatus"
	junctionv1 "github.com/junctionhq/junction/proto/junction/v1"
)

// TestWebhookAnswers: what each request is answered and whether an event
// is emitted.
func TestWebhookAnswers(t *testing.T) {
	body := issuePayload(t, "jira:issue_created")
	noEvent := []byte(`{"timestamp":1796598900123}`)
	for _, tt := range []struct {
		name    string
		req     func() *http.Request
		want    int
		wantMsg string
		emitted int
	}{
		{name: "issue created", req: func() *http.Request { return request("wh-1", body, sign(body, secret)) }, want: http.StatusAccepted, emitted: 1},
		{name: "a retry, same identifier", req: func() *http.Request {
			r := request("wh-1", body, sign(body, secret))
			r.Header.Set(jira.RetryHeader, "1")
			return r
		}, want: http.StatusAccepted, emitted: 1},
		{name: "signed with the old secret", req: func() *http.Request { return request("wh-1", body, sign(body, oldSecret)) }, want: http.StatusAccepted, emitted: 1},
		{name: "no identifier", req: func() *http.Request { return request("", body, sign(body, secret)) }, want: http.StatusBadRequest, wantMsg: jira.IdentifierHeader},
		{name: "identifier with a space", req: func() *http.Request { return request("a b", body, sign(body, secret)) }, want: http.StatusBadRequest, wantMsg: jira.IdentifierHeader},
		{name: "no webhookEvent", req: func() *http.Request { return request("wh-1", noEvent, sign(noEvent, secret)) }, want: http.StatusBadRequest, wantMsg: "webhookEvent"},
		{name: "unsigned: webhook registered without a secret", req: func() *http.Request { return request("wh-1", body, "") }, want: http.StatusBadRequest, wantMsg: jira.SignatureHeader},
		{name: "text/plain", req: func() *http.Request {
			r := request("wh-1", body, sign(body, secret))
			r.Header.Set("Content-Type", "text/plain")
			return r
		}, want: http.StatusUnsupportedMediaType, wantMsg: "application/json"},
		{name: "PUT", req: func() *http.Request {
			r := request("wh-1", body, sign(body, secret))
			r.Method = http.MethodPut
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
				t.Fatalf("emitted %d events, want %d", len(got), tt.emitted)
			}
			if tt.emitted == 1 {
				if want := jira.EventID("wh-1", at.UnixMilli()); got[0].Id != want {
					t.Errorf("event id %q, want %q", got[0].Id, want)
				}
				var a apphook.Accepted
				if err := json.Unmarshal(w.Body.Bytes(), &a); err != nil || a.ID != got[0].Id {
					t.Errorf("answer %s: want {\"id\":%q,...}", w.Body, got[0].Id)
				}
			}
			if w.Code >= 400 {
				if e, err := rpcstatus.Parse(w.Body.Bytes()); err != nil || e.Code != int32(rpcstatus.CodeFor(w.Code)) || e.Message == "" {
					t.Errorf("error answer %s (%v): want {\"code\":%d,\"message\":...,\"details\":[]}", w.Body, err, rpcstatus.CodeFor(w.Code))
				}
			}
		})
	}
}

func TestTypes(t *testing.T) {
	for in, want := range map[string]string{
		"jira:issue_created":    "ticket.created",
		"jira:issue_updated":    "ticket.updated",
		"jira:issue_deleted":    "ticket.deleted",
		"comment_created":       "ticket.commented",
		"comment_updated":       "ticket.comment_updated",
		"comment_deleted":       "comment.deleted",
		"project_created":       "project.created",
		"project_updated":       "project.updated",
		"project_deleted":       "project.deleted",
		"jira:version_released": "version.released",
		"sprint_started":        "sprint.started",
		"option_voting_changed": "option_voting.changed",
		"board":                 "board",
	} {
		if got := jira.Type(in); got != want {
			t.Errorf("Type(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestConfig(t *testing.T) {
	t.Setenv(jira.DefaultSecretEnv, "s")
	for _, tt := range []struct {
		name    string
		cfg     jira.Config
		wantErr string
	}{
		{name: "default secret variable", cfg: jira.Config{}},
		{name: "secret file", cfg: jira.Config{SecretRef: apphook.SecretRef{SecretFile: writeFile(t, "  from-a-file\n")}}},
		{name: "empty secret file", cfg: jira.Config{SecretRef: apphook.SecretRef{SecretFile: writeFile(t, "\n")}}, wantErr: "empty"},
		{name: "negative body limit", cfg: jira.Config{MaxBodyBytes: -5}, wantErr: "max_body_bytes"},
		{name: "unset variable", cfg: jira.Config{SecretRef: apphook.SecretRef{SecretEnv: "JIRA_NOT_SET_ANYWHERE"}}, wantErr: "JIRA_NOT_SET_ANYWHERE"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := jira.New(tt.cfg)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("New: %v, want no error", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Errorf("New = %v, want an error mentioning %q", err, tt.wantErr)
			}
		})
	}
}

func writeFile(t *testing.T, content string) string {
	t.Helper()
	p := t.TempDir() + "/secret"
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}
