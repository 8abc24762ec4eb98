package jira_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	gojira "github.com/andygrunwald/go-jira"

	"github.com/junctionhq/junction/adapters/internal/hookhttp"
	"github.com/junctionhq/junction/adapters/jira"
)

const (
	secret    = "It0bRgmjpMEUp4nBtnJ4"
	oldSecret = "Yv2Ui0dX4xU1mVP8dKnC"
)

// sign returns X-Hub-Signature as Atlassian documents it for admin
// webhooks with a secret: "sha256=" and the hex HMAC-SHA256 of the body
// (the WebSub method=signature form).
func sign(body []byte, key string) string {
	m := hmac.New(sha256.New, []byte(key))
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// atlassianVerify is the receiver's check as Atlassian documents it:
// compute the HMAC-SHA256 of the body with the secret and compare it with
// the header's value after "sha256=". It stands in for a vendor verifier
// (Atlassian ships no Go one) in the both-directions test.
func atlassianVerify(header string, body []byte, key string) bool {
	method, sig, ok := strings.Cut(header, "=")
	if !ok || method != "sha256" {
		return false
	}
	got, err := hex.DecodeString(sig)
	if err != nil {
		return false
	}
	m := hmac.New(sha256.New, []byte(key))
	m.Write(body)
	return hmac.Equal(got, m.Sum(nil))
}

func newAdapter(t *testing.T) *jira.Adapter {
	t.Helper()
	t.Setenv("JIRA_SECRET_NEW", secret)
	t.Setenv("JIRA_SECRET_OLD", oldSecret)
	a, err := jira.New(jira.Config{Secrets: []hookhttp.SecretRef{{Env: "JIRA_SECRET_NEW"}, {Env: "JIRA_SECRET_OLD"}}})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// payload is a Jira webhook body, its issue, comment and users built from
// go-jira's structs.
type payload struct {
	Timestamp          int64           `json:"timestamp"`
	WebhookEvent       string          `json:"webhookEvent"`
	IssueEventTypeName string          `json:"issue_event_type_name,omitempty"`
	User               *gojira.User    `json:"user,omitempty"`
	Issue              *gojira.Issue   `json:"issue,omitempty"`
	Comment            *gojira.Comment `json:"comment,omitempty"`
	Changelog          *changelog      `json:"changelog,omitempty"`
}

// changelog is the webhook's changelog: one history entry's items.
type changelog struct {
	ID    string                  `json:"id"`
	Items []gojira.ChangelogItems `json:"items"`
}

// at is when the fixtures happen; Jira's timestamp is in milliseconds.
var at = time.Date(2026, 12, 6, 23, 15, 0, 123e6, time.UTC)

func mia() *gojira.User {
	return &gojira.User{AccountID: "5b10a2844c20165700ede21g", DisplayName: "Mia Krystof", EmailAddress: "mia@example.com", Active: true, AccountType: "atlassian"}
}

func emma() *gojira.User {
	return &gojira.User{AccountID: "5b10ac8d82e05b22cc7d4ef5", DisplayName: "Emma Richards", Active: true, AccountType: "atlassian"}
}

func issue() *gojira.Issue {
	return &gojira.Issue{
		ID: "10002", Self: "https://example.atlassian.net/rest/api/2/issue/10002", Key: "PROJ-123",
		Fields: &gojira.IssueFields{
			Summary: "Checkout fails with a 500", Description: "Since the 2.3 release.",
			Type:     gojira.IssueType{ID: "10004", Name: "Bug"},
			Project:  gojira.Project{ID: "10000", Key: "PROJ", Name: "Project"},
			Status:   &gojira.Status{ID: "10000", Name: "To Do"},
			Priority: &gojira.Priority{ID: "2", Name: "High"},
			Reporter: mia(), Assignee: emma(),
			Labels:  []string{"checkout", "p1"},
			Created: gojira.Time(at.Add(-time.Hour)), Updated: gojira.Time(at),
		},
	}
}

func mustJSON(t testing.TB, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func issuePayload(t testing.TB, event string) []byte {
	return mustJSON(t, &payload{Timestamp: at.UnixMilli(), WebhookEvent: event, IssueEventTypeName: "issue_created", User: mia(), Issue: issue()})
}

// request builds the request Jira sends.
func request(ident string, body []byte, sig string) *http.Request {
	r := httptest.NewRequest(http.MethodPost, "/webhooks/jira", strings.NewReader(string(body)))
	r.Header.Set("Content-Type", "application/json; charset=utf-8")
	r.Header.Set("User-Agent", "Atlassian Webhook HTTP Client")
	r.Header.Set("X-Atlassian-Webhook-Flow", "Primary")
	if ident != "" {
		r.Header.Set(jira.IdentifierHeader, ident)
	}
	if sig != "" {
		r.Header.Set(jira.SignatureHeader, sig)
	}
	return r
}
