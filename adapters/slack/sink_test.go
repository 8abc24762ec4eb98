package slack_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/junctionhq/junction/adapters/sdk"
	"github.com/junctionhq/junction/adapters/sdk/sdktest/conformance"
	"github.com/junctionhq/junction/adapters/slack"
	"github.com/junctionhq/junction/adapters/slack/slackapitest"
	junctionv1 "github.com/junctionhq/junction/proto/junction/v1"
)

// newSink builds the adapter as a destination against the stand-in.
func newSink(t *testing.T, api *slackapitest.Server) *slack.Adapter {
	t.Helper()
	t.Setenv("TEST_SLACK_BOT_TOKEN", slackapitest.Token)
	t.Setenv(slack.DefaultSecretEnv, "")
	a, err := slack.New(slack.Config{DestinationConfig: slack.DestinationConfig{BotTokenEnv: "TEST_SLACK_BOT_TOKEN", APIURL: api.URL}})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return a
}

func TestSinkConformance(t *testing.T) {
	conformance.RunSink(t, conformance.SinkCase{
		App: slack.Spec.App,
		New: func(t *testing.T) (any, conformance.App) {
			api := slackapitest.New(t)
			return newSink(t, api), api
		},
		Config: func(conformance.App) map[string]string {
			return map[string]string{"channel": "C0123456789", "text": "an item arrived"}
		},
		PermanentStatus: 400, // answered ok:false channel_not_found
	})
}

func outDelivery(id string, cfg map[string]string, payload string) *junctionv1.Delivery {
	return &junctionv1.Delivery{
		Id: id, EventId: "evt_" + id, EventSource: "jira", EventType: "jira:issue_created",
		RouteId: "tickets-to-slack", Target: "ops", Destination: "slack",
		Config: cfg, Payload: []byte(payload), ContentType: "application/json",
	}
}

// TestDeliverPostsMessage: text, Block Kit blocks and the channel reach
// the Web API (slacktest decodes the call, blocks included, and answers
// ok), with the bot token and the
// delivery id in the message metadata.
func TestDeliverPostsMessage(t *testing.T) {
	for _, tc := range []struct {
		name, payload, wantChannel, wantText string
		wantBlocks                           bool
	}{
		{"text from the payload", `{"text":"OPS-7 created"}`, "C0DEFAULT", "OPS-7 created", false},
		{"channel from the payload", `{"channel":"C0OTHER","text":"hi"}`, "C0OTHER", "hi", false},
		{"blocks with fallback text", `{"text":"OPS-7","blocks":[{"type":"section","text":{"type":"mrkdwn","text":"*OPS-7* created"}}]}`, "C0DEFAULT", "OPS-7", true},
		{"text from the target", `{}`, "C0DEFAULT", "default text", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			api := slackapitest.New(t)
			a := newSink(t, api)
			cfg := map[string]string{"channel": "C0DEFAULT", "text": "default text"}
			if err := a.Deliver(context.Background(), outDelivery("dlv_1", cfg, tc.payload)); err != nil {
				t.Fatalf("Deliver = %v, want nil", err)
			}
			posts := api.Posts()
			if len(posts) != 1 {
				t.Fatalf("%d chat.postMessage calls, want 1", len(posts))
			}
			p := posts[0]
			if p.Auth != "Bearer "+slackapitest.Token {
				t.Errorf("Authorization %q, want the bot token", p.Auth)
			}
			if got := p.Form.Get("channel"); got != tc.wantChannel {
				t.Errorf("channel %q, want %q", got, tc.wantChannel)
			}
			if got := p.Form.Get("text"); got != tc.wantText {
				t.Errorf("text %q, want %q", got, tc.wantText)
			}
			if got := p.Form.Get("blocks") != ""; got != tc.wantBlocks {
				t.Errorf("blocks sent %v, want %v", got, tc.wantBlocks)
			}
			if p.DeliveryID != "dlv_1" || !strings.Contains(p.Form.Get("metadata"), `"event_type":"junction_delivery"`) {
				t.Errorf("metadata %q, want event_type junction_delivery with delivery_id dlv_1", p.Form.Get("metadata"))
			}
			answers := api.Answers()
			if len(answers) != 1 {
				t.Fatalf("slacktest answered %d calls, want 1", len(answers))
			}
			var ans struct {
				OK            bool `json:"ok"`
				Channel, Text string
			}
			if err := json.Unmarshal([]byte(answers[0].Body), &ans); err != nil || !ans.OK || ans.Channel != tc.wantChannel || ans.Text != tc.wantText {
				t.Errorf("slacktest answered %d %s, want ok with channel %q and text %q", answers[0].Status, answers[0].Body, tc.wantChannel, tc.wantText)
			}
		})
	}
}

// TestDeliverClassifiesErrors: each answer's class and what the error
// names.
func TestDeliverClassifiesErrors(t *testing.T) {
	for _, tc := range []struct {
		name      string
		script    func(*slackapitest.Server)
		token     string
		cfg       map[string]string
		payload   string
		permanent bool
		wait      time.Duration
		want      string
	}{
		{name: "429 with Retry-After", script: func(s *slackapitest.Server) {
			s.Script(conformance.Answer{Status: http.StatusTooManyRequests, RetryAfter: 7 * time.Second})
		}, wait: 7 * time.Second, want: "rate limited"},
		{name: "503", script: func(s *slackapitest.Server) { s.Script(conformance.Answer{Status: 503}) }, want: "HTTP 503"},
		{name: "ratelimited error", script: func(s *slackapitest.Server) { s.ScriptErrors("ratelimited") }, want: "ratelimited"},
		{name: "internal_error", script: func(s *slackapitest.Server) { s.ScriptErrors("internal_error") }, want: "internal_error"},
		{name: "fatal_error", script: func(s *slackapitest.Server) { s.ScriptErrors("fatal_error") }, want: "fatal_error"},
		{name: "channel_not_found", script: func(s *slackapitest.Server) { s.ScriptErrors("channel_not_found") }, permanent: true, want: "channel_not_found"},
		{name: "not_in_channel", script: func(s *slackapitest.Server) { s.ScriptErrors("not_in_channel") }, permanent: true, want: "not_in_channel"},
		{name: "invalid_blocks", script: func(s *slackapitest.Server) { s.ScriptErrors("invalid_blocks") }, permanent: true, want: "invalid_blocks"},
		{name: "msg_too_long", script: func(s *slackapitest.Server) { s.ScriptErrors("msg_too_long") }, permanent: true, want: "msg_too_long"},
		{name: "account_inactive", script: func(s *slackapitest.Server) { s.ScriptErrors("account_inactive") }, permanent: true, want: "account_inactive"},
		{name: "wrong token", token: "xoxb-wrong", permanent: true, want: "invalid_auth"},
		{name: "payload not an object", payload: `[1,2]`, permanent: true, want: "JSON object"},
		{name: "blocks not an array", payload: `{"text":"x","blocks":{"type":"section"}}`, permanent: true, want: "JSON array"},
		{name: "empty message", cfg: map[string]string{"channel": "C1"}, payload: `{}`, permanent: true, want: "message is empty"},
		{name: "misspelt target key", cfg: map[string]string{"channel": "C1", "txt": "x"}, permanent: true, want: `did you mean "text"`},
		{name: "no channel", cfg: map[string]string{"text": "x"}, permanent: true, want: "channel: required"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			api := slackapitest.New(t)
			a := newSink(t, api)
			if tc.token != "" {
				t.Setenv("TEST_SLACK_BOT_TOKEN", tc.token)
				var err error
				if a, err = slack.New(slack.Config{DestinationConfig: slack.DestinationConfig{BotTokenEnv: "TEST_SLACK_BOT_TOKEN", APIURL: api.URL}}); err != nil {
					t.Fatal(err)
				}
			}
			if tc.script != nil {
				tc.script(api)
			}
			cfg := tc.cfg
			if cfg == nil {
				cfg = map[string]string{"channel": "C1", "text": "x"}
			}
			payload := tc.payload
			if payload == "" {
				payload = `{"text":"hello"}`
			}
			err := a.Deliver(context.Background(), outDelivery("dlv_2", cfg, payload))
			if err == nil {
				t.Fatal("Deliver = nil, want an error")
			}
			if got := sdk.IsPermanent(err); got != tc.permanent {
				t.Errorf("permanent = %v, want %v (%v)", got, tc.permanent, err)
			}
			if d, _ := sdk.RetryDelay(err); d != tc.wait {
				t.Errorf("retry delay %s, want %s", d, tc.wait)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q, want it to name %q", err, tc.want)
			}
			if strings.Contains(err.Error(), slackapitest.Token) || strings.Contains(err.Error(), "xoxb-wrong") {
				t.Errorf("error %q shows the token", err)
			}
		})
	}
}

// TestDestinationConfig: the destination half's config errors and the
// source turned off when only a bot token is configured.
func TestDestinationConfig(t *testing.T) {
	t.Setenv(slack.DefaultSecretEnv, "")
	t.Setenv(slack.DefaultBotTokenEnv, "")
	for _, tc := range []struct {
		name string
		cfg  slack.Config
		want string
	}{
		{"two token sources", slack.Config{DestinationConfig: slack.DestinationConfig{BotTokenEnv: "A", BotTokenFile: "/b"}}, "only one of bot_token_env and bot_token_file"},
		{"bad api url", slack.Config{DestinationConfig: slack.DestinationConfig{BotTokenEnv: "A", APIURL: "ftp://x"}}, "adapter.api_url"},
		{"api url in clear", slack.Config{DestinationConfig: slack.DestinationConfig{BotTokenEnv: "A", APIURL: "http://slack.example.com/api/"}}, "http is only for a stand-in"},
		{"empty token env", slack.Config{DestinationConfig: slack.DestinationConfig{BotTokenEnv: "EMPTY_SLACK_TOKEN_ENV"}}, "EMPTY_SLACK_TOKEN_ENV is empty"},
		{"neither role", slack.Config{}, "SLACK_SIGNING_SECRET"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := slack.New(tc.cfg)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("New = %v, want an error containing %q", err, tc.want)
			}
		})
	}
	t.Run("destination only refuses webhooks", func(t *testing.T) {
		t.Setenv("TEST_SLACK_BOT_TOKEN", "xoxb-1")
		a, err := slack.New(slack.Config{DestinationConfig: slack.DestinationConfig{BotTokenEnv: "TEST_SLACK_BOT_TOKEN"}})
		if err != nil {
			t.Fatalf("New: %v", err)
		}
		rec := httptestPost(a)
		if rec != http.StatusNotFound {
			t.Errorf("webhook answered %d, want 404", rec)
		}
	})
	t.Run("source only dead-letters deliveries", func(t *testing.T) {
		t.Setenv(slack.DefaultSecretEnv, secret)
		a, err := slack.New(slack.Config{})
		if err != nil {
			t.Fatalf("New: %v", err)
		}
		err = a.Deliver(context.Background(), outDelivery("dlv_3", map[string]string{"channel": "C1"}, `{"text":"x"}`))
		if !sdk.IsPermanent(err) || !strings.Contains(err.Error(), "bot_token_env") {
			t.Errorf("Deliver = %v, want a permanent error naming bot_token_env", err)
		}
	})
}

// httptestPost posts a webhook to a and returns the answer's status.
func httptestPost(a *slack.Adapter) int {
	rec := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodPost, "/webhooks/slack", strings.NewReader(`{}`))
	req.Header.Set("Content-Type", "application/json")
	a.Webhook(func(context.Context, *junctionv1.Event) (sdk.PublishResult, error) {
		return sdk.PublishResult{}, nil
	}).ServeHTTP(rec, req)
	return rec.Code
}
