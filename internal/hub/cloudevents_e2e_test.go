package hub

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"testing"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/cloudevents/sdk-go/v2/binding"
	cehttp "github.com/cloudevents/sdk-go/v2/protocol/http"
	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
	"go.yaml.in/yaml/v3"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/junctionhq/junction/adapters/sdk/platform/topology"
	junctionv1 "github.com/junctionhq/junction/proto/junction/v1"
)

// ceSecret signs the CloudEvents sender's requests (Standard Webhooks).
const ceSecret = "whsec_Y2xvdWRldmVudHMtZTJlLXNpZ25pbmctc2VjcmV0IQ=="

// ceSigner is the sender's HTTP transport: it signs each body with the
// Standard Webhooks library, as a CloudEvents producer's webhook
// middleware does.
type ceSigner struct {
	wh *standardwebhooks.Webhook
	n  int
}

func (s *ceSigner) RoundTrip(r *http.Request) (*http.Response, error) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return nil, err
	}
	s.n++
	id, now := "msg_ce_"+strconv.Itoa(s.n), time.Now()
	sig, err := s.wh.Sign(id, now, body)
	if err != nil {
		return nil, err
	}
	out := r.Clone(r.Context())
	out.Body, out.ContentLength = io.NopCloser(bytes.NewReader(body)), int64(len(body))
	out.Header.Set("webhook-id", id)
	out.Header.Set("webhook-timestamp", strconv.FormatInt(now.Unix(), 10))
	out.Header.Set("webhook-signature", sig)
	return http.DefaultTransport.RoundTrip(out)
}

// order is a CloudEvent of the shop's order producer, with every
// attribute set.
func order(t *testing.T, id string, total float64) cloudevents.Event {
	t.Helper()
	e := cloudevents.NewEvent()
	e.SetID(id)
	e.SetSource("https://shop.example.com/orders")
	e.SetType("com.example.order.created")
	e.SetSubject("ord-" + id)
	e.SetTime(time.Date(2026, 12, 7, 1, 30, 0, 123000000, time.UTC))
	e.SetDataSchema("https://schemas.example.com/order/v2")
	e.SetExtension("region", "eu")
	e.SetExtension("attempt", 1)
	if err := e.SetData(cloudevents.ApplicationJSON, map[string]any{"total": total, "currency": "EUR"}); err != nil {
		t.Fatal(err)
	}
	return e
}

// TestCloudEventsThroughServe: `junction serve` runs the cloudevents app
// from a sources: entry; a binary-mode CloudEvent sent by the CloudEvents
// Go SDK to /webhooks/cloudevents is stored once with every attribute and
// extension, and a route on its type, its source URI, an extension and
// its data delivers it to a real receiver; an order the condition does
// not match is stored and delivered nowhere.
func TestCloudEventsThroughServe(t *testing.T) {
	t.Setenv("CLOUDEVENTS_WEBHOOK_SECRET", ceSecret)
	cfg := testConfig(t.TempDir())
	var node yaml.Node
	if err := yaml.Unmarshal([]byte("signature:\n  scheme: standard-webhooks\nsources: [\"https://shop.example.com/*\"]\n"), &node); err != nil {
		t.Fatal(err)
	}
	cfg.Sources = append(cfg.Sources, SourceApp{App: "cloudevents", Config: *node.Content[0]})
	h := startHub(t, cfg)
	rc := newReceiver(t)
	ctx := context.Background()

	created, err := h.routes(t).CreateRoute(ctx, &junctionv1.CreateRouteRequest{
		RouteId: "big-eu-orders",
		Route: &junctionv1.Route{
			Filter:    "cloudevents.com.example.order.created",
			Condition: `event.source_uri.startsWith("https://shop.example.com/") && event.extensions["region"] == "eu" && data.total > 1000`,
			Targets:   []*junctionv1.Target{{Name: "finance", Destination: "webhook", Config: map[string]string{"url": rc.URL + "/orders"}}},
		},
	})
	if err != nil {
		t.Fatalf("CreateRoute: %v", err)
	}
	h.routeApplied(t, created.GetRoute().GetRevision())
	// The docs' example route is accepted (its CEL checked against the
	// Event, source_uri included); it delivers nowhere reachable, so it
	// is deleted again.
	id, route := docRoute(t, "cloudevents.md")
	if _, err := h.routes(t).CreateRoute(ctx, &junctionv1.CreateRouteRequest{RouteId: id, Route: route}); err != nil {
		t.Fatalf("the example route of docs/adapters/cloudevents.md is refused: %v", err)
	}
	if _, err := h.routes(t).DeleteRoute(ctx, &junctionv1.DeleteRouteRequest{Name: "routes/" + id}); err != nil {
		t.Fatalf("DeleteRoute: %v", err)
	}

	wh, err := standardwebhooks.NewWebhook(ceSecret)
	if err != nil {
		t.Fatal(err)
	}
	p, err := cehttp.New(cehttp.WithTarget("http://"+h.Addrs().HTTP+"/webhooks/cloudevents"), cehttp.WithRoundTripper(&ceSigner{wh: wh}))
	if err != nil {
		t.Fatal(err)
	}
	client, err := cloudevents.NewClient(p)
	if err != nil {
		t.Fatal(err)
	}
	big, small := order(t, "o-1001", 1250.5), order(t, "o-1002", 40)
	for _, e := range []cloudevents.Event{big, small, big} { // the last is the producer's retry
		if res := client.Send(binding.WithForceBinary(ctx), e); !cloudevents.IsACK(res) {
			t.Fatalf("send %s: %v, want accepted", e.ID(), res)
		}
	}

	waitFor(t, 30*time.Second, "the big order at the receiver", func() error {
		if n := len(rc.deliveries()); n < 1 {
			return fmt.Errorf("%d deliveries", n)
		}
		return nil
	})
	if got := rc.deliveries()[0].body; !bytes.Equal(got, big.Data()) {
		t.Errorf("delivered %s, want the CloudEvent's data %s", got, big.Data())
	}

	got, err := h.events(t).GetEvent(ctx, &junctionv1.GetEventRequest{Name: "events/o-1001", Source: "cloudevents"})
	if err != nil {
		t.Fatalf("GetEvent: %v", err)
	}
	want := &junctionv1.Event{
		Id: "o-1001", Source: "cloudevents", SourceUri: "https://shop.example.com/orders", Type: "com.example.order.created",
		Subject: "ord-o-1001", Time: timestamppb.New(big.Time()), DataContentType: "application/json",
		DataSchema: "https://schemas.example.com/order/v2", Extensions: map[string]string{"region": "eu", "attempt": "1"},
		SpecVersion: "1.0", Data: big.Data(),
	}
	stored := proto.CloneOf(got.GetEvent())
	stored.ReceiveTime, stored.TraceId = nil, ""
	if !proto.Equal(stored, want) {
		t.Errorf("stored event\n%v\nwant\n%v", stored, want)
	}

	h.settled(t)
	if n := h.streamMsgs(t, topology.EventsStream); n != 2 {
		t.Errorf("EVENTS holds %d events, want 2 (the retry is the same event)", n)
	}
	if n := len(rc.deliveries()); n != 1 {
		t.Errorf("the receiver got %d deliveries, want 1 (the small order does not match)", n)
	}
	if n := rc.badSignatures(); n != 0 {
		t.Errorf("the receiver saw %d deliveries with bad signatures", n)
	}
}
