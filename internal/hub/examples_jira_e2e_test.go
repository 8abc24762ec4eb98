package hub

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/junctionhq/junction/adapters/slack/slackapitest"
)

// TestExampleJiraToSlack runs examples/jira-to-slack: the Jira Cloud
// request of issue.json, signed as Jira signs it, posted to serve's
// /webhooks/jira (the jira app's source), is routed by the example's
// route on the canonical Ticket to the slack app, which runs as a
// destination only (a bot token, no signing secret) and posts the ticket
// to the channel through the Web API stand-in (slack-go's slacktest).
func TestExampleJiraToSlack(t *testing.T) {
	const flow = "jira-to-slack"
	api := slackapitest.New(t)
	t.Setenv("SLACK_BOT_TOKEN", slackapitest.Token)
	t.Setenv("SLACK_SIGNING_SECRET", "")
	t.Setenv("JIRA_WEBHOOK_SECRET", jiraE2ESecret)
	h := startHub(t, loadExample(t, flow, func(c *Config) {
		setAppConfig(t, c, "slack", "api_url", api.URL)
	}))
	applyExampleRoutes(t, h, flow)

	body := exampleFile(t, flow, "issue.json")
	if code, b := h.postApp(t, "jira", body, jiraHeaders("b6e3d8f5-1e2c-4d9b-8f4a-3c7e2d1f0b88", body, jiraE2ESecret)); code != http.StatusAccepted {
		t.Fatalf("the signed Jira request answered %d %s, want 202", code, b)
	}
	waitFor(t, 30*time.Second, "chat.postMessage at the stand-in", func() error {
		if n := len(api.Answers()); n < 1 {
			return fmt.Errorf("%d calls answered by slacktest", n)
		}
		return nil
	})
	posts := api.Posts()
	if len(posts) != 1 {
		t.Fatalf("stand-in got %d chat.postMessage calls, want 1", len(posts))
	}
	p := posts[0]
	if p.Auth != "Bearer "+slackapitest.Token {
		t.Errorf("Authorization is not the bot token of SLACK_BOT_TOKEN")
	}
	if got, want := p.Form.Get("text"), "New ticket PROJ-7: Checkout fails with a 500"; got != want || p.Form.Get("channel") != "C0OPS" {
		t.Errorf("posted %q to %q, want %q to C0OPS", got, p.Form.Get("channel"), want)
	}
	if got := p.Form.Get("blocks"); !strings.Contains(got, "*<https://example.atlassian.net/browse/PROJ-7|PROJ-7>* Checkout fails with a 500") {
		t.Errorf("blocks %q, want the section with the ticket's link", got)
	}
	if !strings.HasPrefix(p.DeliveryID, "dlv_") {
		t.Errorf("metadata delivery_id %q, want the hub's delivery id", p.DeliveryID)
	}
	// Jira's retry of the same request is stored once: no second post.
	if code, b := h.postApp(t, "jira", body, jiraHeaders("b6e3d8f5-1e2c-4d9b-8f4a-3c7e2d1f0b88", body, jiraE2ESecret)); code != http.StatusAccepted || !strings.Contains(b, `"duplicate":true`) {
		t.Errorf("Jira's retry answered %d %s, want 202 with duplicate true", code, b)
	}
	// The slack source is off in this configuration: its webhooks are
	// refused rather than checked against a secret nobody set.
	if code, _ := h.postApp(t, "slack", []byte(`{"type":"url_verification","challenge":"x"}`), nil); code != http.StatusNotFound {
		t.Errorf("slack webhook answered %d, want 404 (destination only)", code)
	}
}
