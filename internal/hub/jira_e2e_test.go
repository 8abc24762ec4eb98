package hub

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/junctionhq/junction/adapters/sdk/platform/topology"
	junctionv1 "github.com/junctionhq/junction/proto/junction/v1"
)

const jiraE2ESecret = "It0bRgmjpMEUp4nBtnJ4"

// jiraIssueCreated is a jira:issue_created request body as Atlassian
// documents its shape.
func jiraIssueCreated(key, priority string, ts int64) []byte {
	return []byte(fmt.Sprintf(`{"timestamp":%d,"webhookEvent":"jira:issue_created","issue_event_type_name":"issue_created",`+
		`"user":{"accountId":"5b10a2844c20165700ede21g","displayName":"Mia Krystof","active":true},`+
		`"issue":{"id":"10002","self":"https://example.atlassian.net/rest/api/2/issue/10002","key":%q,"fields":{`+
		`"summary":"Checkout fails with a 500","issuetype":{"id":"10004","name":"Bug"},"project":{"id":"10000","key":"PROJ","name":"Project"},`+
		`"status":{"id":"10000","name":"To Do"},"priority":{"id":"2","name":%q},"labels":["checkout"],`+
		`"reporter":{"accountId":"5b10a2844c20165700ede21g","displayName":"Mia Krystof"},"assignee":null,`+
		`"created":"2026-12-06T23:15:00.000+0100","updated":"2026-12-06T23:15:00.000+0100"}}}`, ts, key, priority))
}

// jiraHeaders are the headers of one Jira Cloud request: the WebSub
// signature Atlassian documents for webhooks with a secret ("sha256=" +
// hex HMAC-SHA256 of the body) and the webhook identifier.
func jiraHeaders(ident string, body []byte, secret string) map[string]string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	return map[string]string{
		"X-Hub-Signature":                "sha256=" + hex.EncodeToString(mac.Sum(nil)),
		"X-Atlassian-Webhook-Identifier": ident,
		"X-Atlassian-Webhook-Flow":       "Primary",
		"User-Agent":                     "Atlassian Webhook HTTP Client",
	}
}

// TestJiraThroughServe: a Jira Cloud request posted to serve's
// /webhooks/jira is stored once (Jira's retry too) with the id from the
// webhook identifier and timestamp, type ticket.created and the Ticket
// model; a route on the model (`event.ticket.priority == "high"`, for any
// ticket source) delivers the high-priority ticket to a real receiver and
// not the low-priority one.
func TestJiraThroughServe(t *testing.T) {
	t.Setenv("JIRA_E2E_SECRET", jiraE2ESecret)
	h := startHub(t, withDevSource(t, testConfig(t.TempDir()), "jira", "secrets: [{env: JIRA_E2E_SECRET}]"))
	rc := newReceiver(t)
	ctx := context.Background()
	created, err := h.routes(t).CreateRoute(ctx, &junctionv1.CreateRouteRequest{
		RouteId: "high-priority-tickets",
		Route: &junctionv1.Route{
			Filter:    "*.ticket.created",
			Condition: `event.ticket.priority == "high"`,
			Targets: []*junctionv1.Target{{Name: "oncall", Destination: "webhook", Config: map[string]string{"url": rc.URL + "/hook"},
				Transform: `{"text": event.ticket.key + " " + event.ticket.title, "url": event.ticket.url}`}},
		},
	})
	if err != nil {
		t.Fatalf("CreateRoute: %v", err)
	}
	h.routeApplied(t, created.GetRoute().GetRevision())

	const ts = 1796598900123
	high := jiraIssueCreated("PROJ-123", "High", ts)
	hdr := jiraHeaders("a5f2c7e4-0d1b-4c8a-9e3f-2b6d1c0e9a77", high, jiraE2ESecret)
	if code, b := h.postApp(t, "jira", high, hdr); code != http.StatusAccepted {
		t.Fatalf("a signed Jira request answered %d %s, want 202", code, b)
	}
	hdr["X-Atlassian-Webhook-Retry"] = "1" // Jira's retry: same identifier, same body
	if code, b := h.postApp(t, "jira", high, hdr); code != http.StatusAccepted {
		t.Fatalf("Jira's retry answered %d %s, want 202", code, b)
	}
	id := fmt.Sprintf("a5f2c7e4-0d1b-4c8a-9e3f-2b6d1c0e9a77-%d", ts)
	got, err := h.events(t).GetEvent(ctx, &junctionv1.GetEventRequest{Name: "events/" + id, Source: "jira"})
	if err != nil {
		t.Fatalf("GetEvent(%s): %v", id, err)
	}
	ev := got.GetEvent()
	if ev.GetType() != "ticket.created" || ev.GetSubject() != "PROJ-123" || !ev.GetTime().AsTime().Equal(time.UnixMilli(ts)) {
		t.Errorf("stored type %q subject %q time %v, want ticket.created, PROJ-123, %v", ev.GetType(), ev.GetSubject(), ev.GetTime().AsTime(), time.UnixMilli(ts))
	}
	tk := ev.GetTicket()
	if tk.GetKey() != "PROJ-123" || tk.GetPriority() != "high" || tk.GetKind() != "Bug" || tk.GetProject() != "PROJ" || tk.GetUrl() != "https://example.atlassian.net/browse/PROJ-123" {
		t.Errorf("stored ticket %v, want key PROJ-123, priority high, kind Bug, project PROJ, the browse URL", tk)
	}
	if !bytes.Equal(ev.GetData(), high) || len(ev.GetMappingErrors()) != 0 {
		t.Errorf("stored data equal to the body: %v; mapping errors %v, want none", bytes.Equal(ev.GetData(), high), ev.GetMappingErrors())
	}
	waitFor(t, 30*time.Second, "the high-priority ticket's delivery", func() error {
		if n := len(rc.deliveries()); n < 1 {
			return fmt.Errorf("receiver got %d deliveries", n)
		}
		return nil
	})
	if d := rc.deliveries()[0]; !bytes.Contains(d.body, []byte(`PROJ-123 Checkout fails with a 500`)) || !bytes.Contains(d.body, []byte(`/browse/PROJ-123`)) {
		t.Errorf("receiver got %s, want the transform of the ticket", d.body)
	}

	// A low-priority ticket: stored, not delivered. A wrong secret: refused.
	low := jiraIssueCreated("PROJ-124", "Low", ts+1000)
	if code, b := h.postApp(t, "jira", low, jiraHeaders("b1", low, jiraE2ESecret)); code != http.StatusAccepted {
		t.Fatalf("low-priority ticket answered %d %s", code, b)
	}
	if code, b := h.postApp(t, "jira", low, jiraHeaders("b2", low, "not-the-secret")); code != http.StatusUnauthorized {
		t.Errorf("a wrong secret answered %d %s, want 401", code, b)
	}
	h.settled(t)
	if n := h.streamMsgs(t, topology.EventsStream); n != 2 {
		t.Errorf("EVENTS holds %d events, want 2 (the high one once, the low one)", n)
	}
	if n := len(rc.deliveries()); n != 1 {
		t.Errorf("receiver got %d deliveries, want 1 (the high-priority ticket only)", n)
	}
}
