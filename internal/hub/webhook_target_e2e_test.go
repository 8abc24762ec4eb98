package hub

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	cehttp "github.com/cloudevents/sdk-go/v2/protocol/http"
	"github.com/nats-io/nats.go/jetstream"
	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/junctionhq/junction/adapters/sdk/platform/topology"
	"github.com/junctionhq/junction/adapters/webhook"
	junctionv1 "github.com/junctionhq/junction/proto/junction/v1"
)

// TestWebhookTargetOptionsEndToEnd: serve's webhook destination sends a
// route's CloudEvent in binary mode with its extra header and the bearer
// credential the target names from outbound.credentials, signed over the
// body sent; a target naming a credential the adapter lacks is
// dead-lettered naming it; an Authorization header in a route is refused
// at save; the token is in no dead letter.
func TestWebhookTargetOptionsEndToEnd(t *testing.T) {
	const token = "canary-e2e-token-77c1"
	t.Setenv("E2E_CRM_TOKEN", token)
	wh, err := standardwebhooks.NewWebhook(outboundSecret)
	if err != nil {
		t.Fatal(err)
	}
	var (
		mu  sync.Mutex
		got []*http.Request
	)
	rc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if err := wh.Verify(body, r.Header); err != nil {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		r2 := httptest.NewRequest(http.MethodPost, "/crm", strings.NewReader(string(body)))
		r2.Header = r.Header.Clone()
		mu.Lock()
		got = append(got, r2)
		mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(rc.Close)

	cfg := testConfig(t.TempDir())
	cfg.Webhook.Outbound.Credentials = map[string]webhook.Credential{"crm": {BearerEnv: "E2E_CRM_TOKEN"}}
	h := startHub(t, cfg)
	routes := h.routes(t)
	ctx := context.Background()

	_, err = routes.CreateRoute(ctx, &junctionv1.CreateRouteRequest{RouteId: "token-in-route", Route: &junctionv1.Route{
		Filter:  "acme.user.created",
		Targets: []*junctionv1.Target{{Name: "crm", Destination: "webhook", Config: map[string]string{"url": rc.URL, "headers": "Authorization: Bearer " + token}}},
	}})
	if status.Code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), "headers: Authorization is set by the adapter") || strings.Contains(err.Error(), token) {
		t.Errorf("CreateRoute with an Authorization header = %v, want InvalidArgument naming it, without the value", err)
	}

	var rev uint64
	for _, r := range []struct{ id, auth string }{{"crm-binary", "crm"}, {"payroll", "payroll"}} {
		created, err := routes.CreateRoute(ctx, &junctionv1.CreateRouteRequest{RouteId: r.id, Route: &junctionv1.Route{
			Filter: "acme.user.created",
			Targets: []*junctionv1.Target{{Name: "crm", Destination: "webhook",
				Config:    map[string]string{"url": rc.URL + "/crm", "auth": r.auth, "body": "cloudevent-binary", "headers": "X-Tenant: acme"},
				Transform: `{"email": data.data.email, "plan": data.data.plan}`}},
		}})
		if err != nil {
			t.Fatalf("CreateRoute %s: %v", r.id, err)
		}
		rev = created.GetRoute().GetRevision()
	}
	h.routeApplied(t, rev)
	postSigned(t, h, "msg_ce_1", userCreated("pro", "alex@example.com"), nil)

	waitFor(t, 30*time.Second, "the CloudEvent at the receiver", func() error {
		mu.Lock()
		defer mu.Unlock()
		if len(got) == 0 {
			return fmt.Errorf("nothing received")
		}
		return nil
	})
	mu.Lock()
	req := got[0]
	n := len(got)
	mu.Unlock()
	if n != 1 {
		t.Errorf("receiver got %d deliveries, want 1 (the payroll target has no credential)", n)
	}
	if v := req.Header.Get("Authorization"); v != "Bearer "+token {
		t.Errorf("Authorization %q, want the crm credential's bearer token", v)
	}
	if v := req.Header.Get("X-Tenant"); v != "acme" {
		t.Errorf("X-Tenant %q, want acme", v)
	}
	ev, err := cehttp.NewEventFromHTTPRequest(req)
	if err != nil {
		t.Fatalf("sdk-go cannot read the CloudEvent: %v", err)
	}
	if ev.ID() != "msg_ce_1" || ev.Source() != "acme" || ev.Type() != "user.created" || string(ev.Data()) == "" {
		t.Errorf("CloudEvent id %q source %q type %q, want msg_ce_1 acme user.created", ev.ID(), ev.Source(), ev.Type())
	}
	if !strings.Contains(string(ev.Data()), `"alex@example.com"`) || !strings.Contains(string(ev.Data()), `"pro"`) {
		t.Errorf("CloudEvent data %s, want the transform's JSON", ev.Data())
	}

	nc, err := platformConn(h.Hub)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	var msg *jetstream.RawStreamMsg
	waitFor(t, 30*time.Second, "dead letter of the payroll target", func() error {
		s, err := js.Stream(ctx, topology.DLQStream)
		if err != nil {
			return err
		}
		msg, err = s.GetLastMsgForSubject(ctx, "junction.dlq.webhook.payroll")
		return err
	})
	last := msg.Header.Get(topology.HeaderDLQLastError)
	if msg.Header.Get(topology.HeaderDLQReason) != topology.DLQReasonPermanent || !strings.Contains(last, `target auth "payroll" names no credential`) || !strings.Contains(last, "it has crm") {
		t.Errorf("dead letter reason %q error %q, want permanent naming the missing credential", msg.Header.Get(topology.HeaderDLQReason), last)
	}
	for k, vs := range msg.Header {
		for _, v := range vs {
			if strings.Contains(v, token) {
				t.Errorf("dead letter header %s holds the token", k)
			}
		}
	}
	if strings.Contains(string(msg.Data), token) {
		t.Error("dead letter body holds the token")
	}
}
