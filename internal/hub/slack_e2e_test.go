package hub

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"testing"
	"time"

	slackgo "github.com/slack-go/slack"

	"github.com/junctionhq/junction/adapters/sdk/platform/topology"
	junctionv1 "github.com/junctionhq/junction/proto/junction/v1"
)

const slackSigningSecret = "8f742231b10e8888abcd99yyyzzz85a5"

// postSlack posts body to serve's /webhooks/slack signed as Slack signs
// (v0=, HMAC-SHA256 of "v0:<ts>:<body>"), after checking with slack-go's
// SecretsVerifier that Slack's own library accepts the request.
func postSlack(t *testing.T, h *running, body string, hdr map[string]string) (int, []byte) {
	t.Helper()
	ts := strconv.FormatInt(time.Now().Unix(), 10)
	mac := hmac.New(sha256.New, []byte(slackSigningSecret))
	mac.Write([]byte("v0:" + ts + ":" + body))
	req, _ := http.NewRequest(http.MethodPost, "http://"+h.Addrs().HTTP+"/webhooks/slack", bytes.NewReader([]byte(body)))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Slack-Request-Timestamp", ts)
	req.Header.Set("X-Slack-Signature", "v0="+hex.EncodeToString(mac.Sum(nil)))
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	sv, err := slackgo.NewSecretsVerifier(req.Header, slackSigningSecret)
	if err == nil {
		_, _ = sv.Write([]byte(body))
		err = sv.Ensure()
	}
	if err != nil {
		t.Fatalf("slack-go refuses the test's request: %v", err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("post to /webhooks/slack: %v", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

func slackMessage(eventID, channel, text string) string {
	return `{"token":"XXYYZZ","team_id":"T123ABC456","api_app_id":"A123ABC456","event":{"type":"message","channel":"` + channel +
		`","user":"U123ABC456","text":"` + text + `","ts":"1355517523.000005","event_ts":"1355517523.000005","channel_type":"channel"},` +
		`"type":"event_callback","event_id":"` + eventID + `","event_time":1355517523,"authed_users":["U123ABC456"]}`
}

// TestSlackEndToEnd: inside serve, Slack's URL check is answered; a
// message Slack signs is stored once with its event_id, type
// message.posted and the canonical Message, Slack's retry included; a
// route whose condition reads the Message delivers it to a receiver; a
// message in another channel is stored and not delivered.
func TestSlackEndToEnd(t *testing.T) {
	t.Setenv("TEST_SLACK_SIGNING_SECRET", slackSigningSecret)
	h := startHub(t, withSourceApp(t, testConfig(t.TempDir()), "slack", "secrets: [{secret_env: TEST_SLACK_SIGNING_SECRET}]\nack_timeout: 2s"))
	rc := newReceiver(t)
	ctx := context.Background()

	created, err := h.routes(t).CreateRoute(ctx, &junctionv1.CreateRouteRequest{
		RouteId: "slack-outage",
		Route: &junctionv1.Route{
			Filter:    "slack.message.posted",
			Condition: `event.message.channel_id == "C123ABC456" && event.message.text.contains("outage")`,
			Targets: []*junctionv1.Target{{Name: "on-call", Destination: "webhook", Config: map[string]string{"url": rc.URL + "/page"},
				Transform: `{"text": "Outage reported by " + event.message.sender.id + ": " + event.message.text, "slack_ts": event.message.id}`}},
		},
	})
	if err != nil {
		t.Fatalf("CreateRoute: %v", err)
	}
	h.routeApplied(t, created.GetRoute().GetRevision())

	code, b := postSlack(t, h, `{"token":"Jhj5dZrVaK7ZwHHjRyZWjbDl","challenge":"3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P","type":"url_verification"}`, nil)
	if code != http.StatusOK || !bytes.Contains(b, []byte(`"challenge":"3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"`)) {
		t.Fatalf("url_verification answered %d %s, want 200 with the challenge", code, b)
	}

	body := slackMessage("Ev0OUTAGE1", "C123ABC456", "The database is in an outage")
	for i, hdr := range []map[string]string{nil, {"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"}} {
		code, b := postSlack(t, h, body, hdr)
		var got struct {
			ID        string `json:"id"`
			Duplicate bool   `json:"duplicate"`
		}
		if code != http.StatusOK || json.Unmarshal(b, &got) != nil || got.ID != "Ev0OUTAGE1" || got.Duplicate != (i == 1) {
			t.Fatalf("attempt %d answered %d %s, want 200 with id Ev0OUTAGE1, duplicate %v", i, code, b, i == 1)
		}
	}
	if code, b := postSlack(t, h, slackMessage("Ev0RANDOM1", "C999RANDOM", "an outage elsewhere"), nil); code != http.StatusOK {
		t.Fatalf("message in another channel answered %d %s, want 200", code, b)
	}

	got, err := h.events(t).GetEvent(ctx, &junctionv1.GetEventRequest{Name: "events/Ev0OUTAGE1", Source: "slack"})
	if err != nil {
		t.Fatalf("GetEvent: %v", err)
	}
	e := got.GetEvent()
	m := e.GetMessage()
	if e.GetType() != "message.posted" || e.GetSubject() != "C123ABC456" || string(e.GetData()) != body {
		t.Errorf("stored %s subject %q, data kept %v; want message.posted, C123ABC456, the body", e.GetType(), e.GetSubject(), string(e.GetData()) == body)
	}
	if m.GetId() != "1355517523.000005" || m.GetChannelId() != "C123ABC456" || m.GetText() != "The database is in an outage" ||
		m.GetSender().GetId() != "U123ABC456" || m.GetWorkspaceId() != "T123ABC456" {
		t.Errorf("stored Message %v, want the Slack message's ts, channel, text, user and team", m)
	}

	waitFor(t, 30*time.Second, "the on-call delivery", func() error {
		if n := len(rc.deliveries()); n < 1 {
			return fmt.Errorf("%d deliveries", n)
		}
		return nil
	})
	h.settled(t)
	if n := h.streamMsgs(t, topology.EventsStream); n != 2 {
		t.Errorf("EVENTS holds %d events, want 2 (the retry stored once, the URL check not at all)", n)
	}
	d := rc.deliveries()
	if len(d) != 1 {
		t.Fatalf("receiver got %d deliveries, want 1 (the other channel does not match)", len(d))
	}
	var payload map[string]string
	if err := json.Unmarshal(d[0].body, &payload); err != nil {
		t.Fatalf("delivery %s is not JSON: %v", d[0].body, err)
	}
	if payload["text"] != "Outage reported by U123ABC456: The database is in an outage" || payload["slack_ts"] != "1355517523.000005" {
		t.Errorf("delivered %v, want the transform of the Message", payload)
	}
}
