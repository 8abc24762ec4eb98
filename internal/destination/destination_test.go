package destination

import (
	"context"
	"errors"
	"maps"
	"reflect"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/junctionhq/junction/adapters/sdk"
	"github.com/junctionhq/junction/adapters/sdk/platform"
	"github.com/junctionhq/junction/adapters/sdk/platform/topology"
	"github.com/junctionhq/junction/adapters/sdk/sdktest"
	"github.com/junctionhq/junction/adapters/webhook"
	junctionv1 "github.com/junctionhq/junction/proto/junction/v1"
	"github.com/junctionhq/junction/services/router"
)

type nopSink struct{}

func (nopSink) Deliver(context.Context, *junctionv1.Delivery) error { return nil }

// TestSchemaRoundTrip registers schemas the way a sink does (the SDK's
// Runner) and reads them back the way the gateway does: what the hub
// checks is what the adapter declared.
func TestSchemaRoundTrip(t *testing.T) {
	hub := sdktest.NewHub(t)
	tests := []struct {
		name   string
		schema *sdk.TargetSchema
	}{
		{"webhook", webhook.Spec.Targets},
		{"every type", &sdk.TargetSchema{AllowOtherKeys: true, Keys: []sdk.TargetKey{
			{Name: "url", Type: sdk.KeyURL, Required: true, Schemes: []string{"https"}, Description: "where"},
			{Name: "n", Type: sdk.KeyInt},
			{Name: "b", Type: sdk.KeyBool, Required: true},
			{Name: "s", Values: []string{"a", "b"}},
		}}},
		{"no keys", &sdk.TargetSchema{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := platform.NewRunner(sdk.Spec{App: "x", Targets: tt.schema}, nopSink{}, hub.Connect(t), platform.RunnerOptions{})
			if err != nil {
				t.Fatal(err)
			}
			got := fromProto(r.Registration().GetTargetSchema())
			if !reflect.DeepEqual(got, tt.schema) {
				t.Errorf("schema read back = %+v, want %+v", got, tt.schema)
			}
		})
	}
}

// TestBuiltinWebhookSchema checks a route against a Catalog that knows no
// registration: the webhook destination is still checked, an unknown one
// is not.
func TestBuiltinWebhookSchema(t *testing.T) {
	var none Catalog
	tests := []struct {
		name    string
		target  *junctionv1.Target
		wantErr bool
	}{
		{"webhook with url", &junctionv1.Target{Destination: "webhook", Config: map[string]string{"url": "http://example.com/h"}}, false},
		{"webhook without url", &junctionv1.Target{Destination: "webhook"}, true},
		{"webhook ftp", &junctionv1.Target{Destination: "webhook", Config: map[string]string{"url": "ftp://example.com/h"}}, true},
		{"unknown destination, any config", &junctionv1.Target{Destination: "salesforce", Config: map[string]string{"whatever": "x"}}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := none.Check(&junctionv1.Route{Targets: []*junctionv1.Target{tt.target}})
			if (err != nil) != tt.wantErr {
				t.Fatalf("Check = %v, want error %v", err, tt.wantErr)
			}
			if err != nil && !isInvalidRoute(err) {
				t.Errorf("Check error %v does not wrap router.ErrInvalidRoute", err)
			}
		})
	}
	if got := none.Unserved(&junctionv1.Route{Targets: []*junctionv1.Target{{Destination: "webhook"}, {Destination: "a"}, {Destination: "webhook"}}}); !reflect.DeepEqual(got, []string{"a", "webhook"}) {
		t.Errorf("Unserved with no registrations = %v, want [a webhook]", got)
	}
}

// TestWaiting counts the deliveries waiting for destinations: all of a
// destination's deliveries on DELIVERIES while it never had a consumer,
// and its consumers' unhanded and unacknowledged ones once it has.
func TestWaiting(t *testing.T) {
	hub := sdktest.NewHub(t)
	js := hub.JS
	ctx := t.Context()
	publish := func(subject string, n int) {
		t.Helper()
		for range n {
			if _, err := js.Publish(ctx, subject, []byte(`{}`)); err != nil {
				t.Fatalf("publish %s: %v", subject, err)
			}
		}
	}
	publish(topology.DeliverySubject("salesforce", "leads"), 3)
	publish(topology.DeliverySubject("salesforce", "deals"), 1)
	publish(topology.DeliverySubject("webhook", "hooks"), 2)

	want := func(when string, wantCounts map[string]int64) {
		t.Helper()
		dests := []string{"salesforce", "webhook", "hubspot"}
		got, err := Waiting(ctx, js, dests...)
		if err != nil {
			t.Fatalf("%s: Waiting: %v", when, err)
		}
		if !maps.Equal(got, wantCounts) {
			t.Errorf("%s: Waiting = %v, want %v", when, got, wantCounts)
		}
	}
	want("no consumers", map[string]int64{"salesforce": 4, "webhook": 2, "hubspot": 0})

	// The salesforce sink ran once: it acknowledged one delivery and took
	// one it never acknowledged before it stopped.
	cons, err := js.CreateOrUpdateConsumer(ctx, topology.DeliveriesStream, jetstream.ConsumerConfig{
		Durable: topology.DeliveryConsumer("salesforce"), FilterSubject: topology.DeliveriesPrefix + "salesforce.>",
		AckPolicy: jetstream.AckExplicitPolicy, AckWait: time.Hour,
	})
	if err != nil {
		t.Fatal(err)
	}
	batch, err := cons.FetchNoWait(2)
	if err != nil {
		t.Fatal(err)
	}
	var got []jetstream.Msg
	for m := range batch.Messages() {
		got = append(got, m)
	}
	if len(got) != 2 {
		t.Fatalf("fetched %d deliveries, want 2", len(got))
	}
	if err := got[0].DoubleAck(ctx); err != nil {
		t.Fatal(err)
	}
	want("after a sink acknowledged one", map[string]int64{"salesforce": 3, "webhook": 2, "hubspot": 0})

	// A retry parked for it counts too.
	publish(topology.RetriesPrefix+"salesforce.leads", 1)
	if _, err := js.CreateOrUpdateConsumer(ctx, topology.RetriesStream, jetstream.ConsumerConfig{
		Durable: topology.RetryConsumer("salesforce"), FilterSubject: topology.RetriesPrefix + "salesforce.>", AckPolicy: jetstream.AckExplicitPolicy,
	}); err != nil {
		t.Fatal(err)
	}
	want("with a retry waiting", map[string]int64{"salesforce": 4, "webhook": 2, "hubspot": 0})
}

// TestUnservedCounts reads the gauge's values: every destination routes
// name, 0 for a served one, the waiting deliveries for an unserved one.
func TestUnservedCounts(t *testing.T) {
	hub := sdktest.NewHub(t)
	js := hub.JS
	ctx := t.Context()
	store, err := router.NewStore(ctx, js)
	if err != nil {
		t.Fatal(err)
	}
	for id, dests := range map[string][]string{"leads": {"salesforce", "webhook"}, "hooks": {"webhook"}} {
		r := &junctionv1.Route{Filter: "acme.>"}
		for _, d := range dests {
			r.Targets = append(r.Targets, &junctionv1.Target{Destination: d})
		}
		if _, err := store.Create(ctx, id, r); err != nil {
			t.Fatal(err)
		}
	}
	for _, subject := range []string{topology.DeliverySubject("salesforce", "leads"), topology.DeliverySubject("webhook", "leads"), topology.DeliverySubject("gone", "old")} {
		if _, err := js.Publish(ctx, subject, []byte(`{}`)); err != nil {
			t.Fatal(err)
		}
	}
	kv, err := js.KeyValue(ctx, topology.AdaptersBucket)
	if err != nil {
		t.Fatal(err)
	}
	beat, _ := protojson.Marshal(&junctionv1.Adapter{App: "webhook", Instance: "a", Roles: []string{sdk.RoleSink}, LastSeenTime: timestamppb.Now()})
	if _, err := kv.Put(ctx, topology.AdapterKey("webhook", "a"), beat); err != nil {
		t.Fatal(err)
	}
	got, err := Unserved(ctx, js, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if want := map[string]int64{"salesforce": 1, "webhook": 0}; !maps.Equal(got, want) {
		t.Errorf("Unserved = %v, want %v (no series for a destination no route names)", got, want)
	}
}

func isInvalidRoute(err error) bool { return errors.Is(err, router.ErrInvalidRoute) }
