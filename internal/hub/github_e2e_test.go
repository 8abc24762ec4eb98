package hub

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/junctionhq/junction/adapters/sdk/platform/topology"
	junctionv1 "github.com/junctionhq/junction/proto/junction/v1"
)

const githubE2ESecret = "gh-e2e-secret"

// withDevSource adds a `sources:` entry for app with the given config
// YAML, as serve's configuration file would.
func withDevSource(t *testing.T, cfg Config, app, config string) Config {
	t.Helper()
	var node yaml.Node
	if err := yaml.Unmarshal([]byte(config), &node); err != nil {
		t.Fatal(err)
	}
	cfg.Sources = append(cfg.Sources, SourceApp{App: app, Config: *node.Content[0]})
	return cfg
}

// postApp posts body to serve's /webhooks/<app> with hdr.
func (r *running) postApp(t *testing.T, app string, body []byte, hdr map[string]string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, "http://"+r.Addrs().HTTP+"/webhooks/"+app, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("post /webhooks/%s: %v", app, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// githubIssue is an issues delivery as GitHub sends it (its shape as
// go-github's IssuesEvent marshals it, the form the adapter's own tests
// check against go-github's ParseWebHook).
func githubIssue(action, label string) []byte {
	return []byte(fmt.Sprintf(`{"action":%q,"issue":{"id":1347,"number":42,"title":"Found a bug","body":"It crashes.","state":"open",`+
		`"user":{"login":"octocat","id":583231,"type":"User"},"labels":[{"id":208045946,"name":%q,"color":"d73a4a","default":false}],`+
		`"html_url":"https://github.com/octo-org/octo-repo/issues/42","created_at":"2026-12-06T23:15:00Z","updated_at":"2026-12-06T23:15:00Z"},`+
		`"repository":{"id":1296269,"name":"octo-repo","full_name":"octo-org/octo-repo","private":true,"html_url":"https://github.com/octo-org/octo-repo","default_branch":"main"},`+
		`"sender":{"login":"octocat","id":583231,"type":"User"}}`, action, label))
}

// githubHeaders are the headers of one GitHub delivery. The signature is
// GitHub's documented "sha256=" + hex HMAC-SHA256 of the body: go-github
// only verifies (it has no signer), and the adapter's tests check this
// form against its ValidatePayload and ValidateSignature both ways.
func githubHeaders(event, delivery string, body []byte, secret string) map[string]string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	return map[string]string{
		"X-GitHub-Event":       event,
		"X-GitHub-Delivery":    delivery,
		"X-Hub-Signature-256":  "sha256=" + hex.EncodeToString(mac.Sum(nil)),
		"X-GitHub-Api-Version": "2022-11-28",
		"User-Agent":           "GitHub-Hookshot/044aadd",
	}
}

// TestGitHubThroughServe: a GitHub delivery posted to serve's
// /webhooks/github is stored once with the delivery id, the mapped type
// and the Ticket model; a route whose condition is on the model delivers
// it to a real receiver and leaves an issue it does not match alone; a
// ping is answered and not stored; a wrong secret is refused.
func TestGitHubThroughServe(t *testing.T) {
	t.Setenv("GITHUB_E2E_SECRET", githubE2ESecret)
	h := startHub(t, withDevSource(t, testConfig(t.TempDir()), "github", "secrets: [{env: GITHUB_E2E_SECRET}]"))
	rc := newReceiver(t)
	ctx := context.Background()
	created, err := h.routes(t).CreateRoute(ctx, &junctionv1.CreateRouteRequest{
		RouteId: "github-bugs",
		Route: &junctionv1.Route{
			Filter:    "github.ticket.created",
			Condition: `event.ticket.project == "octo-org/octo-repo" && "bug" in event.ticket.labels`,
			Targets:   []*junctionv1.Target{{Name: "oncall", Destination: "webhook", Config: map[string]string{"url": rc.URL + "/hook"}}},
		},
	})
	if err != nil {
		t.Fatalf("CreateRoute: %v", err)
	}
	h.routeApplied(t, created.GetRoute().GetRevision())

	bug := githubIssue("opened", "bug")
	const delivery = "72d3162e-cc78-11e3-81ab-4c9367dc0958"
	for i := range 2 { // GitHub's redelivery keeps the delivery id
		if code, b := h.postApp(t, "github", bug, githubHeaders("issues", delivery, bug, githubE2ESecret)); code != http.StatusAccepted {
			t.Fatalf("send %d of a signed issues delivery answered %d %s, want 202", i+1, code, b)
		}
	}
	got, err := h.events(t).GetEvent(ctx, &junctionv1.GetEventRequest{Name: "events/" + delivery, Source: "github"})
	if err != nil {
		t.Fatalf("GetEvent: %v", err)
	}
	ev := got.GetEvent()
	if ev.GetType() != "ticket.created" || ev.GetSubject() != "octo-org/octo-repo#42" || ev.GetProviderVersion() != "2022-11-28" {
		t.Errorf("stored type %q subject %q provider version %q, want ticket.created, octo-org/octo-repo#42, 2022-11-28", ev.GetType(), ev.GetSubject(), ev.GetProviderVersion())
	}
	if tk := ev.GetTicket(); tk.GetKey() != "42" || tk.GetTitle() != "Found a bug" || tk.GetProject() != "octo-org/octo-repo" || tk.GetReporter().GetDisplayName() != "octocat" {
		t.Errorf("stored ticket %v, want key 42, the title, project octo-org/octo-repo, reporter octocat", tk)
	}
	if !bytes.Equal(ev.GetData(), bug) || len(ev.GetMappingErrors()) != 0 {
		t.Errorf("stored data equal to the body: %v; mapping errors %v, want none", bytes.Equal(ev.GetData(), bug), ev.GetMappingErrors())
	}
	waitFor(t, 30*time.Second, "the bug's delivery", func() error {
		if n := len(rc.deliveries()); n < 1 {
			return fmt.Errorf("receiver got %d deliveries", n)
		}
		return nil
	})
	if d := rc.deliveries()[0]; !bytes.Equal(d.body, bug) {
		t.Errorf("receiver got %s, want the original GitHub payload", d.body)
	}

	// An issue the condition does not match: stored, not delivered.
	docs := githubIssue("opened", "docs")
	if code, b := h.postApp(t, "github", docs, githubHeaders("issues", "d-docs", docs, githubE2ESecret)); code != http.StatusAccepted {
		t.Fatalf("docs issue answered %d %s", code, b)
	}
	// A ping: answered, nothing stored. A wrong secret: refused.
	ping := []byte(`{"zen":"Design for failure.","hook_id":1}`)
	if code, b := h.postApp(t, "github", ping, githubHeaders("ping", "d-ping", ping, githubE2ESecret)); code != http.StatusOK || !strings.Contains(b, "pong") {
		t.Errorf("ping answered %d %s, want 200 pong", code, b)
	}
	if code, b := h.postApp(t, "github", bug, githubHeaders("issues", "d-forged", bug, "not-the-secret")); code != http.StatusUnauthorized {
		t.Errorf("a wrong secret answered %d %s, want 401", code, b)
	}
	h.settled(t)
	if n := h.streamMsgs(t, topology.EventsStream); n != 2 {
		t.Errorf("EVENTS holds %d events, want 2 (the bug once, the docs issue)", n)
	}
	if n := len(rc.deliveries()); n != 1 {
		t.Errorf("receiver got %d deliveries, want 1 (the bug only)", n)
	}
}
