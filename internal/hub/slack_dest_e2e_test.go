package hub

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/junctionhq/junction/adapters/slack/slackapitest"
	junctionv1 "github.com/junctionhq/junction/proto/junction/v1"
)

// TestSlackDestinationEndToEnd: a generic webhook posted to serve and
// routed to the slack destination (the slack app run inside serve with
// both roles) reaches the Web API stand-in (slacktest) as chat.postMessage
// with the bot token, the route's transform giving text and Block Kit
// blocks, the target the channel and the metadata the delivery id; a
// route without the required channel is refused when saved.
func TestSlackDestinationEndToEnd(t *testing.T) {
	api := slackapitest.New(t)
	t.Setenv("E2E_SLACK_BOT_TOKEN", slackapitest.Token)
	t.Setenv("E2E_SLACK_SIGNING_SECRET", "8f742231b10e8888abcd99yyyzzz85a5")
	cfg := withSourceApp(t, testConfig(t.TempDir()), "slack", fmt.Sprintf(`
secret_env: E2E_SLACK_SIGNING_SECRET
bot_token_env: E2E_SLACK_BOT_TOKEN
api_url: %s
`, api.URL))
	h := startHub(t, cfg)
	routes := h.routes(t)
	ctx := context.Background()

	waitFor(t, 30*time.Second, "a route without channel refused", func() error {
		_, err := routes.CreateRoute(ctx, &junctionv1.CreateRouteRequest{RouteId: "broken-slack", Route: &junctionv1.Route{
			Filter:  "acme.user.created",
			Targets: []*junctionv1.Target{{Name: "sales", Destination: "slack", Config: map[string]string{"text": "x"}}},
		}})
		if status.Code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), "channel") {
			_, _ = routes.DeleteRoute(ctx, &junctionv1.DeleteRouteRequest{Name: "routes/broken-slack"})
			return fmt.Errorf("CreateRoute = %v, want InvalidArgument naming channel", err)
		}
		return nil
	})

	created, err := routes.CreateRoute(ctx, &junctionv1.CreateRouteRequest{RouteId: "signups-to-slack", Route: &junctionv1.Route{
		Filter: "acme.user.created",
		Targets: []*junctionv1.Target{{
			Name: "sales", Destination: "slack", Config: map[string]string{"channel": "C0SALES"},
			Transform: `{"text": "New signup: " + data.data.email, "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "*" + data.data.company + "* signed up on " + data.data.plan}}]}`,
		}},
	}})
	if err != nil {
		t.Fatalf("CreateRoute: %v", err)
	}
	h.routeApplied(t, created.GetRoute().GetRevision())
	if resp := h.sendWebhook(t, "msg_slack_1", userCreated("pro", "alex@example.com")); resp.StatusCode/100 != 2 {
		t.Fatalf("webhook answered %d, want 2xx", resp.StatusCode)
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
		t.Errorf("Authorization is not the bot token")
	}
	if got := p.Form.Get("channel"); got != "C0SALES" {
		t.Errorf("channel %q, want C0SALES", got)
	}
	if got := p.Form.Get("text"); got != "New signup: alex@example.com" {
		t.Errorf("text %q, want %q", got, "New signup: alex@example.com")
	}
	if got := p.Form.Get("blocks"); !strings.Contains(got, "*Acme Corp* signed up on pro") {
		t.Errorf("blocks %q, want the section rendered by the transform", got)
	}
	if !strings.HasPrefix(p.DeliveryID, "dlv_") {
		t.Errorf("metadata delivery_id %q, want the hub's delivery id", p.DeliveryID)
	}
	var ans struct {
		OK      bool   `json:"ok"`
		Channel string `json:"channel"`
	}
	if a := api.Answers()[0]; json.Unmarshal([]byte(a.Body), &ans) != nil || !ans.OK || ans.Channel != "C0SALES" {
		t.Errorf("slacktest answered %d %s, want ok in C0SALES", a.Status, a.Body)
	}
}
