package hub

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/junctionhq/junction/adapters/jira"
	"github.com/junctionhq/junction/adapters/jira/jiratest"
	junctionv1 "github.com/junctionhq/junction/proto/junction/v1"
)

// TestJiraDestinationEndToEnd: a generic webhook posted to serve and
// routed to the jira destination (the jira app run inside serve with both
// roles) creates an issue and adds a comment at the REST API v3 stand-in,
// over TLS with basic auth, the fields mapped by the route's transform,
// the issue labelled with its delivery; every request keeps to the
// documented API; a route with an unknown action is refused when saved.
func TestJiraDestinationEndToEnd(t *testing.T) {
	api := jiratest.New(t)
	api.AddIssue("OPS-100")
	t.Setenv("E2E_JIRA_API_TOKEN", jiratest.Token)
	t.Setenv("E2E_JIRA_WEBHOOK_SECRET", "jira-webhook-secret")
	cfg := withSourceApp(t, testConfig(t.TempDir()), "jira", fmt.Sprintf(`
secret_env: E2E_JIRA_WEBHOOK_SECRET
base_url: %s
email: %s
api_token_env: E2E_JIRA_API_TOKEN
ca_file: %s
outbound:
  allow: ["127.0.0.1/32"]
`, api.URL, jiratest.Email, api.CAFile))
	h := startHub(t, cfg)
	routes := h.routes(t)
	ctx := context.Background()

	waitFor(t, 30*time.Second, "a route with an unknown action refused", func() error {
		_, err := routes.CreateRoute(ctx, &junctionv1.CreateRouteRequest{RouteId: "broken-jira", Route: &junctionv1.Route{
			Filter:  "acme.user.created",
			Targets: []*junctionv1.Target{{Name: "ticket", Destination: "jira", Config: map[string]string{"action": "close_issue"}}},
		}})
		if status.Code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), "action") {
			_, _ = routes.DeleteRoute(ctx, &junctionv1.DeleteRouteRequest{Name: "routes/broken-jira"})
			return fmt.Errorf("CreateRoute = %v, want InvalidArgument naming action", err)
		}
		return nil
	})

	created, err := routes.CreateRoute(ctx, &junctionv1.CreateRouteRequest{RouteId: "signups-to-jira", Route: &junctionv1.Route{
		Filter: "acme.user.created",
		Targets: []*junctionv1.Target{
			{
				Name: "ticket", Destination: "jira", Config: map[string]string{"action": jira.ActionCreateIssue, "project": "OPS", "issue_type": "Task"},
				Transform: `{"summary": "Onboard " + data.data.company, "description": "User " + data.data.email + "\nplan " + data.data.plan, "labels": ["onboarding"], "priority": "High"}`,
			},
			{
				Name: "log", Destination: "jira", Config: map[string]string{"action": jira.ActionAddComment, "issue": "OPS-100"},
				Transform: `{"comment": "Signup: " + data.data.email}`,
			},
		},
	}})
	if err != nil {
		t.Fatalf("CreateRoute: %v", err)
	}
	h.routeApplied(t, created.GetRoute().GetRevision())
	if resp := h.sendWebhook(t, "msg_jira_1", userCreated("pro", "alex@example.com")); resp.StatusCode/100 != 2 {
		t.Fatalf("webhook answered %d, want 2xx", resp.StatusCode)
	}
	waitFor(t, 30*time.Second, "the issue and the comment at the stand-in", func() error {
		if n, m := len(api.Issues()), len(api.Comments()); n < 2 || m < 1 {
			return fmt.Errorf("%d issues (with OPS-100), %d comments", n, m)
		}
		return nil
	})
	issues := api.Issues()
	if len(issues) != 2 {
		t.Fatalf("stand-in has %d issues, want OPS-100 and one created", len(issues))
	}
	is := issues[1]
	if is.Project != "OPS" || is.IssueType != "Task" || is.Summary != "Onboard Acme Corp" || is.Priority != "High" {
		t.Errorf("issue %+v, want OPS Task %q priority High", is, "Onboard Acme Corp")
	}
	if !strings.HasPrefix(is.DeliveryID, "dlv_") || !slices.Contains(is.Labels, jira.DeliveryLabel(is.DeliveryID)) || !slices.Contains(is.Labels, "onboarding") {
		t.Errorf("issue labels %v, delivery %q: want the delivery's label and onboarding", is.Labels, is.DeliveryID)
	}
	if c := api.Comments(); len(c) != 1 || c[0].Issue != "OPS-100" || !strings.HasPrefix(c[0].DeliveryID, "dlv_") {
		t.Errorf("comments %+v, want one on OPS-100 carrying its delivery id", c)
	}
	if v := api.Violations(); len(v) > 0 {
		t.Errorf("requests broke the documented API: %q", v)
	}
}

// TestSlackJiraDestinationConfigErrors: serve refuses the destination
// half of a slack or jira `sources:` entry at start, saying what to fix.
func TestSlackJiraDestinationConfigErrors(t *testing.T) {
	for _, tc := range []struct {
		name, app, config, want string
	}{
		{"jira base url in clear", "jira", "base_url: http://acme.atlassian.net\nemail: a@b", "sources[0] (jira): config: adapter.base_url must be the site's https URL"},
		{"jira without email", "jira", "base_url: https://acme.atlassian.net", "needs email"},
		{"jira misspelt key", "jira", "base_uri: https://acme.atlassian.net", "field base_uri not found"},
		{"slack two token sources", "slack", "bot_token_env: A\nbot_token_file: /b", "sources[0] (slack): config: adapter: set only one of bot_token_env and bot_token_file"},
		{"slack misspelt key", "slack", "bot_token: xoxb-1", "field bot_token not found"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := withSourceApp(t, testConfig(t.TempDir()), tc.app, tc.config)
			cfg.SetDefaults()
			err := cfg.Validate()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Validate() = %v, want an error containing %q", err, tc.want)
			}
		})
	}
}
