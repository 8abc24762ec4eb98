package jira_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/junctionhq/junction/adapters/jira"
	"github.com/junctionhq/junction/adapters/jira/jiratest"
	"github.com/junctionhq/junction/adapters/sdk"
	"github.com/junctionhq/junction/adapters/sdk/sdktest/conformance"
	junctionv1 "github.com/junctionhq/junction/proto/junction/v1"
)

// destConfig is the adapter's config as a destination of the stand-in.
func destConfig(t *testing.T, api *jiratest.Server) jira.Config {
	t.Helper()
	t.Setenv("TEST_JIRA_API_TOKEN", jiratest.Token)
	t.Setenv(jira.DefaultSecretEnv, "")
	return jira.Config{DestinationConfig: jira.DestinationConfig{
		BaseURL: api.URL, Email: jiratest.Email, APITokenEnv: "TEST_JIRA_API_TOKEN",
		CAFile: api.CAFile, Outbound: jira.OutboundConfig{Allow: []string{"127.0.0.1/32"}},
	}}
}

func newSink(t *testing.T, api *jiratest.Server) *jira.Adapter {
	t.Helper()
	a, err := jira.New(destConfig(t, api))
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return a
}

func TestSinkConformance(t *testing.T) {
	conformance.RunSink(t, conformance.SinkCase{
		App: jira.Spec.App,
		New: func(t *testing.T) (any, conformance.App) {
			api := jiratest.New(t)
			return newSink(t, api), api
		},
		Config: func(conformance.App) map[string]string {
			return map[string]string{"action": jira.ActionCreateIssue, "project": "OPS", "summary": "an item arrived"}
		},
		PermanentStatus: 400,
	})
}

func outDelivery(id string, cfg map[string]string, payload string) *junctionv1.Delivery {
	return &junctionv1.Delivery{
		Id: id, EventId: "evt_" + id, EventSource: "forms", EventType: "ticket.requested",
		RouteId: "forms-to-jira", Target: "jira", Destination: "jira",
		Config: cfg, Payload: []byte(payload), ContentType: "application/json",
	}
}

// TestCreateIssue: the issue's fields come from the payload and the
// target; the description is an ADF document; the delivery's label and
// property are on it; a second delivery of the same id (a retry) finds
// it and creates nothing.
func TestCreateIssue(t *testing.T) {
	api := jiratest.New(t)
	a := newSink(t, api)
	cfg := map[string]string{"action": jira.ActionCreateIssue, "project": "OPS", "issue_type": "Bug", "labels": "from-junction"}
	d := outDelivery("dlv_create_1", cfg, `{"summary":"Checkout fails","description":"Line one\nline two\n\nSecond paragraph","labels":["checkout"],"priority":"High"}`)
	for attempt := 1; attempt <= 2; attempt++ {
		if err := a.Deliver(context.Background(), d); err != nil {
			t.Fatalf("attempt %d: Deliver = %v, want nil", attempt, err)
		}
	}
	issues := api.Issues()
	if len(issues) != 1 {
		t.Fatalf("%d issues created, want 1 (the retry must find the first)", len(issues))
	}
	is := issues[0]
	if is.Project != "OPS" || is.IssueType != "Bug" || is.Summary != "Checkout fails" || is.Priority != "High" {
		t.Errorf("issue %+v, want project OPS, type Bug, summary and priority High", is)
	}
	label := jira.DeliveryLabel("dlv_create_1")
	if want := []string{label, "checkout", "from-junction"}; !slices.Equal(is.Labels, want) {
		t.Errorf("labels %v, want %v", is.Labels, want)
	}
	if is.DeliveryID != "dlv_create_1" {
		t.Errorf("junction.delivery property %q, want dlv_create_1", is.DeliveryID)
	}
	if paras, _ := is.Description["content"].([]any); len(paras) != 2 {
		t.Errorf("description %v, want an ADF doc of 2 paragraphs", is.Description)
	}
	if s := api.Searches(); len(s) != 2 || s[0] != `labels = "`+label+`"` {
		t.Errorf("searches %q, want two for the delivery's label", s)
	}
	if v := api.Violations(); len(v) > 0 {
		t.Errorf("requests broke the documented API: %q", v)
	}
}

// TestAddComment: a comment on the payload's issue, as an ADF document
// with the delivery id in its property.
func TestAddComment(t *testing.T) {
	api := jiratest.New(t)
	api.AddIssue("OPS-41")
	a := newSink(t, api)
	err := a.Deliver(context.Background(), outDelivery("dlv_c1", map[string]string{"action": jira.ActionAddComment}, `{"issue":"OPS-41","comment":"Payment received"}`))
	if err != nil {
		t.Fatalf("Deliver = %v, want nil", err)
	}
	c := api.Comments()
	if len(c) != 1 || c[0].Issue != "OPS-41" || c[0].DeliveryID != "dlv_c1" {
		t.Fatalf("comments %+v, want one on OPS-41 with delivery dlv_c1", c)
	}
	if v := api.Violations(); len(v) > 0 {
		t.Errorf("requests broke the documented API: %q", v)
	}
}

// TestDeliverClassifiesErrors: each answer's class and what the error
// names.
func TestDeliverClassifiesErrors(t *testing.T) {
	create := map[string]string{"action": jira.ActionCreateIssue, "project": "OPS"}
	for _, tc := range []struct {
		name      string
		answer    conformance.Answer
		token     string
		cfg       map[string]string
		payload   string
		permanent bool
		wait      time.Duration
		want      string
	}{
		{name: "429 with Retry-After", answer: conformance.Answer{Status: 429, RetryAfter: 9 * time.Second}, wait: 9 * time.Second, want: "429"},
		{name: "500", answer: conformance.Answer{Status: 500}, want: "Internal server error"},
		{name: "503 with Retry-After", answer: conformance.Answer{Status: 503, RetryAfter: 2 * time.Second}, wait: 2 * time.Second, want: "503"},
		{name: "400 names Jira's errors", answer: conformance.Answer{Status: 400}, permanent: true, want: "summary: You must specify a summary"},
		{name: "403", answer: conformance.Answer{Status: http.StatusForbidden}, permanent: true, want: "403"},
		{name: "unknown project", cfg: map[string]string{"action": jira.ActionCreateIssue, "project": "NOPE"}, permanent: true, want: "project: valid project is required"},
		{name: "wrong token", token: "wrong", permanent: true, want: "401"},
		{name: "comment on a missing issue", cfg: map[string]string{"action": jira.ActionAddComment, "issue": "OPS-999"}, payload: `{"text":"hi"}`, permanent: true, want: "Issue does not exist"},
		{name: "no summary", payload: `{"description":"x"}`, permanent: true, want: "no summary"},
		{name: "bad project key", cfg: map[string]string{"action": jira.ActionCreateIssue, "project": "ops"}, permanent: true, want: "not a Jira project key"},
		{name: "bad issue key", cfg: map[string]string{"action": jira.ActionAddComment, "issue": "OPS 1"}, payload: `{"text":"hi"}`, permanent: true, want: "not a Jira issue key"},
		{name: "label with a space", payload: `{"summary":"s","labels":["a b"]}`, permanent: true, want: "has a space"},
		{name: "payload not an object", payload: `"x"`, permanent: true, want: "JSON object"},
		{name: "unknown action", cfg: map[string]string{"action": "delete_issue"}, permanent: true, want: "must be one of"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			api := jiratest.New(t)
			cfg := destConfig(t, api)
			if tc.token != "" {
				t.Setenv("TEST_JIRA_API_TOKEN", tc.token)
			}
			a, err := jira.New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			if tc.answer.Status != 0 {
				api.Script(tc.answer)
			}
			target := tc.cfg
			if target == nil {
				target = create
			}
			payload := tc.payload
			if payload == "" {
				payload = `{"summary":"s"}`
			}
			err = a.Deliver(context.Background(), outDelivery("dlv_e", target, payload))
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
			if strings.Contains(err.Error(), jiratest.Token) {
				t.Errorf("error %q shows the token", err)
			}
		})
	}
}

// TestSSRFGuard: without outbound.allow the site on 127.0.0.1 is refused,
// permanently, naming the key that would allow it.
func TestSSRFGuard(t *testing.T) {
	api := jiratest.New(t)
	cfg := destConfig(t, api)
	cfg.Outbound.Allow = nil
	a, err := jira.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	err = a.Deliver(context.Background(), outDelivery("dlv_s", map[string]string{"action": jira.ActionCreateIssue, "project": "OPS"}, `{"summary":"s"}`))
	if !sdk.IsPermanent(err) || !strings.Contains(err.Error(), "adapter.outbound.allow") {
		t.Fatalf("Deliver = %v, want a permanent error naming adapter.outbound.allow", err)
	}
	if n := len(api.Searches()); n != 0 {
		t.Errorf("the stand-in got %d searches, want none", n)
	}
}

// TestDestinationConfig: config errors of the destination half, and the
// source off when only the destination is configured.
func TestDestinationConfig(t *testing.T) {
	t.Setenv(jira.DefaultSecretEnv, "")
	t.Setenv(jira.DefaultAPITokenEnv, "")
	for _, tc := range []struct {
		name string
		cfg  jira.DestinationConfig
		want string
	}{
		{"http base url", jira.DestinationConfig{BaseURL: "http://acme.atlassian.net", Email: "a@b"}, "https URL"},
		{"no email", jira.DestinationConfig{BaseURL: "https://acme.atlassian.net"}, "needs email"},
		{"two token sources", jira.DestinationConfig{BaseURL: "https://acme.atlassian.net", Email: "a@b", APITokenEnv: "A", APITokenFile: "/b"}, "only one of api_token_env and api_token_file"},
		{"bad allow entry", jira.DestinationConfig{BaseURL: "https://acme.atlassian.net", Email: "a@b", Outbound: jira.OutboundConfig{Allow: []string{"not an address"}}}, "adapter.outbound.allow"},
		{"empty token", jira.DestinationConfig{BaseURL: "https://acme.atlassian.net", Email: "a@b"}, "JIRA_API_TOKEN is empty"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := jira.New(jira.Config{DestinationConfig: tc.cfg})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("New = %v, want an error containing %q", err, tc.want)
			}
		})
	}
	t.Run("destination only refuses webhooks", func(t *testing.T) {
		api := jiratest.New(t)
		a, err := jira.New(destConfig(t, api))
		if err != nil {
			t.Fatal(err)
		}
		rec := httptest.NewRecorder()
		req := httptest.NewRequest(http.MethodPost, "/webhooks/jira", strings.NewReader(`{}`))
		req.Header.Set("Content-Type", "application/json")
		a.Webhook(func(context.Context, *junctionv1.Event) (sdk.PublishResult, error) {
			t.Error("an event was emitted")
			return sdk.PublishResult{}, nil
		}).ServeHTTP(rec, req)
		if rec.Code != http.StatusNotFound {
			t.Errorf("webhook answered %d, want 404", rec.Code)
		}
	})
	t.Run("source only dead-letters deliveries", func(t *testing.T) {
		t.Setenv(jira.DefaultSecretEnv, "s3cret")
		a, err := jira.New(jira.Config{})
		if err != nil {
			t.Fatal(err)
		}
		err = a.Deliver(context.Background(), outDelivery("d", map[string]string{"action": jira.ActionCreateIssue}, `{}`))
		if !sdk.IsPermanent(err) || !strings.Contains(err.Error(), "base_url") {
			t.Errorf("Deliver = %v, want a permanent error naming base_url", err)
		}
	})
}
