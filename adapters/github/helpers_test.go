package github_test

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

	gh "github.com/google/go-github/v90/github"

	"github.com/junctionhq/junction/adapters/github"
	"github.com/junctionhq/junction/adapters/internal/hookhttp"
)

const (
	secret    = "gh-webhook-secret-2026"
	oldSecret = "gh-webhook-secret-2025"
)

// sign returns X-Hub-Signature-256 for body as GitHub documents it:
// "sha256=" and the hex HMAC-SHA256 of the body. go-github has no signer;
// every test that sends a signature also checks it with go-github's
// ValidateSignature, so this is what GitHub's own library accepts.
func sign(body []byte, key string) string {
	m := hmac.New(sha256.New, []byte(key))
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// newAdapter returns an adapter with the current and the old secret, as
// during a rotation.
func newAdapter(t *testing.T) *github.Adapter {
	t.Helper()
	t.Setenv("GH_SECRET_NEW", secret)
	t.Setenv("GH_SECRET_OLD", oldSecret)
	a, err := github.New(github.Config{Secrets: []hookhttp.SecretRef{{Env: "GH_SECRET_NEW"}, {Env: "GH_SECRET_OLD"}}})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// at is a fixed time for the fixtures.
var at = gh.Timestamp{Time: time.Date(2026, 12, 6, 23, 15, 0, 0, time.UTC)}

func repo() *gh.Repository {
	return &gh.Repository{
		ID: gh.Ptr(int64(1296269)), FullName: gh.Ptr("octo-org/octo-repo"), Name: gh.Ptr("octo-repo"),
		HTMLURL: gh.Ptr("https://github.com/octo-org/octo-repo"), DefaultBranch: gh.Ptr("main"), Private: gh.Ptr(true),
		Owner: octocat(),
	}
}

func octocat() *gh.User {
	return &gh.User{ID: gh.Ptr(int64(583231)), Login: gh.Ptr("octocat"), Type: gh.Ptr("User")}
}

func hubot() *gh.User {
	return &gh.User{ID: gh.Ptr(int64(1001)), Login: gh.Ptr("hubot"), Type: gh.Ptr("User")}
}

func issue() *gh.Issue {
	return &gh.Issue{
		ID: gh.Ptr(int64(1347)), Number: gh.Ptr(42), Title: gh.Ptr("Found a bug"), Body: gh.Ptr("I'm having a problem with this."),
		State: gh.Ptr("open"), User: octocat(), Assignee: hubot(),
		Labels:    []*gh.Label{{ID: 208045946, Name: "bug", Color: "d73a4a"}, {ID: 208045947, Name: "priority: high", Color: "b60205"}},
		HTMLURL:   gh.Ptr("https://github.com/octo-org/octo-repo/issues/42"),
		CreatedAt: &at, UpdatedAt: &at,
		Type: &gh.IssueType{Name: gh.Ptr("Bug")},
	}
}

// issuesPayload is an issues event as go-github's IssuesEvent marshals it.
func issuesPayload(t testing.TB, action string) []byte {
	return mustJSON(t, &gh.IssuesEvent{Action: gh.Ptr(action), Issue: issue(), Repo: repo(), Sender: octocat()})
}

func mustJSON(t testing.TB, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// delivery builds the request GitHub sends for one delivery.
func delivery(event, id string, body []byte, sig string) *http.Request {
	r := httptest.NewRequest(http.MethodPost, "/webhooks/github", strings.NewReader(string(body)))
	r.Header.Set("Content-Type", "application/json")
	r.Header.Set("User-Agent", "GitHub-Hookshot/044aadd")
	r.Header.Set(github.EventHeader, event)
	r.Header.Set(github.DeliveryHeader, id)
	r.Header.Set("X-GitHub-Hook-ID", "292430182")
	r.Header.Set("X-GitHub-Hook-Installation-Target-Type", "repository")
	if sig != "" {
		r.Header.Set(github.SignatureHeader, sig)
	}
	return r
}
