package hub

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strconv"
	"testing"
	"time"

	"github.com/junctionhq/junction/adapters/sdk/platform/topology"
	junctionv1 "github.com/junctionhq/junction/proto/junction/v1"
)

const hubspotClientSecret = "yyyyyyyy-yyyy-yyyy-yyyy-yyyyyyyyyyyy"

// postHubSpot posts body to serve's /webhooks/hubspot signed with
// HubSpot's v3 signature as its validation guide documents it, over the
// URL HubSpot called: the public URL a proxy in front of serve answers.
func postHubSpot(t *testing.T, h *running, body string) (int, []byte) {
	t.Helper()
	ts := strconv.FormatInt(time.Now().UnixMilli(), 10)
	mac := hmac.New(sha256.New, []byte(hubspotClientSecret))
	mac.Write([]byte(http.MethodPost + "https://hooks.example.com/webhooks/hubspot" + body + ts))
	req, _ := http.NewRequest(http.MethodPost, "http://"+h.Addrs().HTTP+"/webhooks/hubspot", bytes.NewReader([]byte(body)))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-HubSpot-Request-Timestamp", ts)
	req.Header.Set("X-HubSpot-Signature-v3", base64.StdEncoding.EncodeToString(mac.Sum(nil)))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("post to /webhooks/hubspot: %v", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// hubspotBatch is one request of four notifications: a won deal, a deal
// at another stage, a ticket raised to high priority and a new contact.
const hubspotBatch = `[` +
	`{"objectId":4055127,"propertyName":"dealstage","propertyValue":"closedwon","changeSource":"CRM_UI","eventId":3816279601,"subscriptionId":109,"portalId":33,"appId":1160452,"occurredAt":1462216307945,"subscriptionType":"deal.propertyChange","attemptNumber":0},` +
	`{"objectId":4055128,"propertyName":"dealstage","propertyValue":"appointmentscheduled","changeSource":"CRM_UI","eventId":3816279602,"subscriptionId":109,"portalId":33,"appId":1160452,"occurredAt":1462216307945,"subscriptionType":"deal.propertyChange","attemptNumber":0},` +
	`{"objectId":981,"propertyName":"hs_ticket_priority","propertyValue":"HIGH","changeSource":"CRM_UI","eventId":3816279603,"subscriptionId":120,"portalId":33,"appId":1160452,"occurredAt":1462216307945,"subscriptionType":"ticket.propertyChange","attemptNumber":0},` +
	`{"objectId":1246978,"changeSource":"IMPORT","eventId":3816279604,"subscriptionId":22,"portalId":33,"appId":1160452,"occurredAt":1462216307945,"subscriptionType":"contact.creation","attemptNumber":0}]`

// TestHubSpotEndToEnd: inside serve, behind a proxy (public_url), a
// batch HubSpot signs becomes one event per notification, each stored
// once with its eventId (HubSpot's resend included), mapped type and
// canonical model; a route on the Deal's stage and a route on any
// source's high-priority tickets deliver what matches to a receiver.
func TestHubSpotEndToEnd(t *testing.T) {
	t.Setenv("TEST_HUBSPOT_CLIENT_SECRET", hubspotClientSecret)
	h := startHub(t, withSourceApp(t, testConfig(t.TempDir()), "hubspot",
		"secrets: [{secret_env: TEST_HUBSPOT_CLIENT_SECRET}]\npublic_url: https://hooks.example.com"))
	rc := newReceiver(t)
	ctx := context.Background()
	routes := h.routes(t)
	var rev uint64
	for _, r := range []struct {
		id, filter, condition, transform string
	}{
		{"hubspot-deal-won", "hubspot.deal.updated", `event.deal.stage == "closedwon"`, `{"won": event.deal.id}`},
		{"high-tickets", "*.ticket.updated", `event.ticket.priority == "high"`, `{"ticket": event.ticket.id, "from": event.source}`},
	} {
		created, err := routes.CreateRoute(ctx, &junctionv1.CreateRouteRequest{
			RouteId: r.id,
			Route: &junctionv1.Route{Filter: r.filter, Condition: r.condition, Targets: []*junctionv1.Target{
				{Name: "notify", Destination: "webhook", Config: map[string]string{"url": rc.URL}, Transform: r.transform}}},
		})
		if err != nil {
			t.Fatalf("CreateRoute %s: %v", r.id, err)
		}
		rev = max(rev, created.GetRoute().GetRevision())
	}
	h.routeApplied(t, rev)

	for attempt := range 2 {
		code, b := postHubSpot(t, h, hubspotBatch)
		var got struct {
			Events []struct {
				ID        string `json:"id"`
				Duplicate bool   `json:"duplicate"`
			} `json:"events"`
		}
		if code != http.StatusOK || json.Unmarshal(b, &got) != nil || len(got.Events) != 4 {
			t.Fatalf("attempt %d answered %d %s, want 200 with 4 events", attempt, code, b)
		}
		for i, e := range got.Events {
			if want := fmt.Sprint(3816279601 + i); e.ID != want || e.Duplicate != (attempt == 1) {
				t.Errorf("attempt %d event %d: id %s duplicate %v, want %s duplicate %v", attempt, i, e.ID, e.Duplicate, want, attempt == 1)
			}
		}
	}

	events := h.events(t)
	for _, want := range []struct {
		id, typ, subject string
		check            func(*junctionv1.Event) bool
	}{
		{"3816279601", "deal.updated", "4055127", func(e *junctionv1.Event) bool {
			return e.GetDeal().GetId() == "4055127" && e.GetDeal().GetStage() == "closedwon"
		}},
		{"3816279603", "ticket.updated", "981", func(e *junctionv1.Event) bool {
			return e.GetTicket().GetId() == "981" && e.GetTicket().GetPriority() == "high"
		}},
		{"3816279604", "contact.created", "1246978", func(e *junctionv1.Event) bool { return e.GetContact().GetId() == "1246978" }},
	} {
		got, err := events.GetEvent(ctx, &junctionv1.GetEventRequest{Name: "events/" + want.id, Source: "hubspot"})
		if err != nil {
			t.Fatalf("GetEvent %s: %v", want.id, err)
		}
		e := got.GetEvent()
		if e.GetType() != want.typ || e.GetSubject() != want.subject || !want.check(e) || !json.Valid(e.GetData()) || !bytes.Contains([]byte(hubspotBatch), e.GetData()) {
			t.Errorf("event %s stored as %s subject %q model %v data %s; want %s subject %q, its model and its notification", want.id, e.GetType(), e.GetSubject(), e.GetModel(), e.GetData(), want.typ, want.subject)
		}
		if !e.GetTime().AsTime().Equal(time.UnixMilli(1462216307945)) {
			t.Errorf("event %s time %v, want occurredAt", want.id, e.GetTime().AsTime())
		}
	}

	waitFor(t, 30*time.Second, "two deliveries", func() error {
		if n := len(rc.deliveries()); n < 2 {
			return fmt.Errorf("%d deliveries", n)
		}
		return nil
	})
	h.settled(t)
	if n := h.streamMsgs(t, topology.EventsStream); n != 4 {
		t.Errorf("EVENTS holds %d events, want 4 (one per notification, the resend stored nothing)", n)
	}
	var got []string
	for _, d := range rc.deliveries() {
		// Parsed and encoded again: the key order of the transform's
		// output is not fixed.
		var m map[string]string
		if err := json.Unmarshal(d.body, &m); err != nil {
			t.Fatalf("delivery %s is not a JSON object of strings: %v", d.body, err)
		}
		b, _ := json.Marshal(m)
		got = append(got, string(b))
	}
	sort.Strings(got)
	if want := []string{`{"from":"hubspot","ticket":"981"}`, `{"won":"4055127"}`}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("receiver got %q, want %q (the won deal and the high ticket, nothing else)", got, want)
	}
}
