package hub

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/spf13/cobra"
	"go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/junctionhq/junction/adapters/sdk"
	"github.com/junctionhq/junction/adapters/sdk/platform/natstrace"
	"github.com/junctionhq/junction/adapters/sdk/platform/topology"
	"github.com/junctionhq/junction/internal/cli"
	junctionv1 "github.com/junctionhq/junction/proto/junction/v1"
	"github.com/junctionhq/junction/proto/junction/v1/junctionv1grpc"
)

// recordSpans installs an in-memory span recorder as the global tracer
// provider for the test; create the hub after calling it.
func recordSpans(t *testing.T) *tracetest.SpanRecorder {
	t.Helper()
	rec := tracetest.NewSpanRecorder()
	prev := otel.GetTracerProvider()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	otel.SetTracerProvider(tp)
	t.Cleanup(func() {
		otel.SetTracerProvider(prev)
		_ = tp.Shutdown(context.Background())
	})
	return rec
}

// spansOf returns the ended spans of trace id.
func spansOf(rec *tracetest.SpanRecorder, id trace.TraceID) []sdktrace.ReadOnlySpan {
	var out []sdktrace.ReadOnlySpan
	for _, s := range rec.Ended() {
		if s.SpanContext().TraceID() == id {
			out = append(out, s)
		}
	}
	return out
}

func attr(s sdktrace.ReadOnlySpan, key string) attribute.Value {
	for _, kv := range s.Attributes() {
		if string(kv.Key) == key {
			return kv.Value
		}
	}
	return attribute.Value{}
}

// find returns the spans named name of kind.
func find(spans []sdktrace.ReadOnlySpan, name string, kind trace.SpanKind) []sdktrace.ReadOnlySpan {
	var out []sdktrace.ReadOnlySpan
	for _, s := range spans {
		if s.Name() == name && s.SpanKind() == kind {
			out = append(out, s)
		}
	}
	return out
}

func one(t *testing.T, spans []sdktrace.ReadOnlySpan, name string, kind trace.SpanKind) sdktrace.ReadOnlySpan {
	t.Helper()
	got := find(spans, name, kind)
	if len(got) != 1 {
		t.Fatalf("%d %s spans named %q, want 1; the trace has:\n%s", len(got), kind, name, describe(spans))
	}
	return got[0]
}

func describe(spans []sdktrace.ReadOnlySpan) string {
	var b strings.Builder
	for _, s := range spans {
		fmt.Fprintf(&b, "  %s %q span=%s parent=%s\n", s.SpanKind(), s.Name(), s.SpanContext().SpanID(), s.Parent().SpanID())
	}
	return b.String()
}

func wantChild(t *testing.T, child, parent sdktrace.ReadOnlySpan) {
	t.Helper()
	if got, want := child.Parent().SpanID(), parent.SpanContext().SpanID(); got != want {
		t.Errorf("%q parent = %s, want %q (%s)", child.Name(), got, parent.Name(), want)
	}
}

func wantLink(t *testing.T, s, to sdktrace.ReadOnlySpan) {
	t.Helper()
	for _, l := range s.Links() {
		if l.SpanContext.SpanID() == to.SpanContext().SpanID() {
			return
		}
	}
	t.Errorf("%q has no link to %q", s.Name(), to.Name())
}

func wantAttr(t *testing.T, s sdktrace.ReadOnlySpan, key string, want any) {
	t.Helper()
	if got := attr(s, key).AsInterface(); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("%q %s = %v, want %v", s.Name(), key, got, want)
	}
}

// flaky is a receiver that answers 503 to the first fail requests, then
// 204, and records the traceparent of each request.
type flaky struct {
	*httptest.Server
	mu      sync.Mutex
	fail    int
	status  int
	parents []string
	uris    []string
}

func newFlaky(t *testing.T, fail, status int) *flaky {
	f := &flaky{fail: fail, status: status}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		defer f.mu.Unlock()
		f.parents = append(f.parents, r.Header.Get("traceparent"))
		f.uris = append(f.uris, r.URL.RequestURI())
		if len(f.parents) <= f.fail {
			w.WriteHeader(f.status)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(f.Close)
	return f
}

func (f *flaky) requests() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.parents...)
}

// postSigned posts body to the acme source with extra headers and fails
// the test unless it is answered 2xx.
func postSigned(t *testing.T, h *running, id string, body []byte, hdr map[string]string) {
	t.Helper()
	if resp := h.sendWebhookWith(t, id, body, hdr); resp.StatusCode/100 != 2 {
		t.Fatalf("webhook answered %d, want 2xx", resp.StatusCode)
	}
}

func createRoute(t *testing.T, h *running, id, url string, policy *junctionv1.DeliveryPolicy) {
	t.Helper()
	created, err := h.routes(t).CreateRoute(context.Background(), &junctionv1.CreateRouteRequest{
		RouteId: id,
		Route: &junctionv1.Route{
			Filter:  "acme.user.created",
			Targets: []*junctionv1.Target{{Name: "hook", Destination: "webhook", Config: map[string]string{"url": url}}},
			Policy:  policy,
		},
	})
	if err != nil {
		t.Fatalf("CreateRoute: %v", err)
	}
	h.routeApplied(t, created.GetRoute().GetRevision())
}

// The sender's trace: a webhook arriving with this traceparent must be
// continued, not start a new trace.
const (
	senderTraceID = "4bf92f3577b34da6a3ce929d0e0e4736"
	senderParent  = "00-" + senderTraceID + "-00f067aa0ba902b7-01"
)

// TestTraceWebhookRouteDeliveryWithRetry: one trace, continued from the
// sender's traceparent, holds the webhook's server span, the publish onto
// EVENTS, the router's process and route spans, the delivery publish, and
// two delivery attempts (a retry, then success) each with its HTTP client
// span; the receiver gets the trace's traceparent; GetEvent shows the
// trace id.
func TestTraceWebhookRouteDeliveryWithRetry(t *testing.T) {
	rec := recordSpans(t)
	h := startHub(t, testConfig(t.TempDir()))
	rcv := newFlaky(t, 1, http.StatusServiceUnavailable)
	createRoute(t, h, "signups", rcv.URL+"/hook?token=url-secret", &junctionv1.DeliveryPolicy{
		InitialBackoff: durationpb.New(50 * time.Millisecond), MaxBackoff: durationpb.New(100 * time.Millisecond),
	})

	postSigned(t, h, "msg_traced_1", userCreated("pro", "t@example.com"), map[string]string{"traceparent": senderParent})
	tid, _ := trace.TraceIDFromHex(senderTraceID)
	var spans []sdktrace.ReadOnlySpan
	waitFor(t, 30*time.Second, "two delivery attempts traced", func() error {
		spans = spansOf(rec, tid)
		if n := len(find(spans, "process junction.deliveries.webhook.signups", trace.SpanKindConsumer)); n < 2 {
			return fmt.Errorf("%d attempt spans", n)
		}
		return nil
	})
	h.settled(t)
	spans = spansOf(rec, tid)

	in := one(t, spans, "POST /webhooks/{source}", trace.SpanKindServer)
	if got := in.Parent().SpanID().String(); got != "00f067aa0ba902b7" || !in.Parent().IsRemote() {
		t.Errorf("webhook span parent = %s (remote %v), want the sender's 00f067aa0ba902b7", got, in.Parent().IsRemote())
	}
	pub := one(t, spans, "publish junction.events.acme.user.created", trace.SpanKindProducer)
	wantChild(t, pub, in)
	wantAttr(t, pub, "messaging.system", "nats")
	wantAttr(t, pub, "messaging.operation.type", "send")
	wantAttr(t, pub, "messaging.destination.name", "junction.events.acme.user.created")
	wantAttr(t, pub, "junction.event.id", "msg_traced_1")

	proc := one(t, spans, "process junction.events.acme.user.created", trace.SpanKindConsumer)
	wantChild(t, proc, pub)
	wantLink(t, proc, pub)
	wantAttr(t, proc, "messaging.operation.type", "process")
	wantAttr(t, proc, "messaging.consumer.group.name", topology.RouterConsumer)

	route := one(t, spans, "route signups", trace.SpanKindInternal)
	wantChild(t, route, proc)
	wantAttr(t, route, "junction.route.matched", true)

	dpub := one(t, spans, "publish junction.deliveries.webhook.signups", trace.SpanKindProducer)
	wantChild(t, dpub, route)
	wantAttr(t, dpub, "junction.route.id", "signups")

	attempts := find(spans, "process junction.deliveries.webhook.signups", trace.SpanKindConsumer)
	if len(attempts) != 2 {
		t.Fatalf("%d attempt spans, want 2:\n%s", len(attempts), describe(spans))
	}
	clients := find(spans, "POST", trace.SpanKindClient)
	if len(clients) != 2 {
		t.Fatalf("%d HTTP client spans, want 2:\n%s", len(clients), describe(spans))
	}
	for i, want := range []struct {
		outcome string
		status  int
	}{{"retry", 503}, {"success", 204}} {
		var a sdktrace.ReadOnlySpan
		for _, s := range attempts {
			if attr(s, "junction.delivery.attempt").AsInt64() == int64(i+1) {
				a = s
			}
		}
		if a == nil {
			t.Fatalf("no span for attempt %d", i+1)
		}
		wantChild(t, a, dpub)
		wantLink(t, a, dpub)
		wantAttr(t, a, "junction.delivery.outcome", want.outcome)
		wantAttr(t, a, "junction.destination", "webhook")
		var c sdktrace.ReadOnlySpan
		for _, s := range clients {
			if s.Parent().SpanID() == a.SpanContext().SpanID() {
				c = s
			}
		}
		if c == nil {
			t.Fatalf("attempt %d has no HTTP client span:\n%s", i+1, describe(spans))
		}
		wantAttr(t, c, "http.response.status_code", want.status)
		wantAttr(t, c, "url.full", rcv.URL+"/") // the origin only: URLs may hold secrets
	}
	retried := false
	for _, ev := range attempts[0].Events() {
		retried = retried || ev.Name == "retry scheduled"
	}
	for _, ev := range attempts[1].Events() {
		retried = retried || ev.Name == "retry scheduled"
	}
	if !retried {
		t.Errorf("no attempt span has a \"retry scheduled\" event")
	}

	rcv.mu.Lock()
	uris := append([]string(nil), rcv.uris...)
	rcv.mu.Unlock()
	for _, u := range uris {
		if u != "/hook?token=url-secret" {
			t.Errorf("receiver got %s, want /hook?token=url-secret", u)
		}
	}
	for i, tp := range rcv.requests() {
		if !strings.Contains(tp, senderTraceID) {
			t.Errorf("request %d to the receiver had traceparent %q, want trace %s", i+1, tp, senderTraceID)
		}
	}
	got, err := h.events(t).GetEvent(context.Background(), &junctionv1.GetEventRequest{Name: "events/msg_traced_1"})
	if err != nil {
		t.Fatalf("GetEvent: %v", err)
	}
	if got.GetEvent().GetTraceId() != senderTraceID {
		t.Errorf("GetEvent trace_id = %q, want %q", got.GetEvent().GetTraceId(), senderTraceID)
	}
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{"events", "get", "msg_traced_1"}, []string{"TRACE ID:", senderTraceID}},
		{[]string{"events", "trace", "msg_traced_1"}, []string{"TRACE ID:  " + senderTraceID}},
		{[]string{"events", "trace", "msg_traced_1", "--jaeger-url", "http://localhost:16686/"}, []string{"JAEGER:    http://localhost:16686/trace/" + senderTraceID}},
		{[]string{"events", "trace", "msg_traced_1", "-o", "json", "--jaeger-url", "http://j:16686"}, []string{`"trace_id": "` + senderTraceID, `"jaeger_url": "http://j:16686/trace/` + senderTraceID}},
	} {
		out, err := runCLI(t, h, tc.args...)
		if err != nil {
			t.Errorf("junction %v: %v", tc.args, err)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(out, w) {
				t.Errorf("junction %v printed %q, want it to contain %q", tc.args, out, w)
			}
		}
	}
}

// TestTraceDeadLetterCarriesTrace: a delivery the receiver refuses for good
// ends in a dead_letter attempt span with a "publish junction.dlq..." child,
// and the dead letter carries the trace context, so a redrive continues
// the event's trace.
func TestTraceDeadLetterCarriesTrace(t *testing.T) {
	rec := recordSpans(t)
	h := startHub(t, testConfig(t.TempDir()))
	rcv := newFlaky(t, 100, http.StatusBadRequest)
	createRoute(t, h, "refused", rcv.URL, nil)
	postSigned(t, h, "msg_traced_dlq", userCreated("pro", "d@example.com"), map[string]string{"traceparent": senderParent})

	tid, _ := trace.TraceIDFromHex(senderTraceID)
	var dlq sdktrace.ReadOnlySpan
	waitFor(t, 30*time.Second, "dead letter traced", func() error {
		if got := find(spansOf(rec, tid), "publish junction.dlq.webhook.refused", trace.SpanKindProducer); len(got) == 1 {
			dlq = got[0]
			return nil
		}
		return errors.New("no dead letter span yet")
	})
	h.settled(t)
	spans := spansOf(rec, tid)
	attempt := one(t, spans, "process junction.deliveries.webhook.refused", trace.SpanKindConsumer)
	wantChild(t, dlq, attempt)
	wantAttr(t, attempt, "junction.delivery.outcome", "dead_letter")
	wantAttr(t, dlq, "junction.dlq.reason", topology.DLQReasonPermanent)

	nc, err := platformConn(h.Hub)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	s, err := js.Stream(context.Background(), topology.DLQStream)
	if err != nil {
		t.Fatal(err)
	}
	msg, err := s.GetLastMsgForSubject(context.Background(), "junction.dlq.webhook.refused")
	if err != nil {
		t.Fatalf("dead letter: %v", err)
	}
	sc := trace.SpanContextFromContext(natstrace.Extract(context.Background(), msg.Header))
	if sc.TraceID() != tid || sc.SpanID() != dlq.SpanContext().SpanID() {
		t.Errorf("dead letter carries %s/%s, want trace %s span %s", sc.TraceID(), sc.SpanID(), tid, dlq.SpanContext().SpanID())
	}

	// Redrive, the receiver now accepting: the redrive is a span of the
	// request's own trace that links to the dead letter's, and the new
	// attempt hangs under it.
	rcv.mu.Lock()
	rcv.fail = 0
	rcv.mu.Unlock()
	conn, err := grpc.NewClient(h.Addrs().GRPC, grpc.WithTransportCredentials(insecure.NewCredentials()), h.adminCreds(t),
		grpc.WithStatsHandler(otelgrpc.NewClientHandler(otelgrpc.WithPropagators(propagation.TraceContext{}))))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	rctx, reqSpan := otel.Tracer("operator").Start(context.Background(), "redrive by hand")
	res, err := junctionv1grpc.NewDeadLetterServiceClient(conn).RedriveDeadLetters(rctx, &junctionv1.RedriveDeadLettersRequest{All: true})
	reqSpan.End()
	if err != nil || res.GetRedrivenCount() != 1 {
		t.Fatalf("RedriveDeadLetters = %v, %v; want 1 redriven", res, err)
	}
	rtid := reqSpan.SpanContext().TraceID()
	var redrive, again sdktrace.ReadOnlySpan
	waitFor(t, 30*time.Second, "the redriven delivery's attempt traced", func() error {
		spans := spansOf(rec, rtid)
		pubs := find(spans, "publish junction.deliveries.webhook.refused", trace.SpanKindProducer)
		attempts := find(spans, "process junction.deliveries.webhook.refused", trace.SpanKindConsumer)
		if len(pubs) != 1 || len(attempts) != 1 {
			return fmt.Errorf("%d redrive and %d attempt spans in the redrive's trace", len(pubs), len(attempts))
		}
		redrive, again = pubs[0], attempts[0]
		return nil
	})
	wantLink(t, redrive, dlq)
	wantChild(t, again, redrive)
	wantAttr(t, again, "junction.delivery.outcome", "success")
	// The receiver got the refused attempt and then the redriven one, the
	// latter in the redrive's trace.
	rcv.mu.Lock()
	defer rcv.mu.Unlock()
	if len(rcv.parents) != 2 || !strings.Contains(rcv.parents[1], rtid.String()) {
		t.Errorf("receiver traceparents = %q, want two, the second in the redrive's trace %s", rcv.parents, rtid)
	}
}

// TestTraceUserServiceContinued: an event a user's service publishes
// through the SDK inside its own span is routed and delivered in that
// trace, and a user's Subscribe handler runs in it too.
func TestTraceUserServiceContinued(t *testing.T) {
	rec := recordSpans(t)
	h := startHub(t, testConfig(t.TempDir()))
	rcv := newFlaky(t, 0, 0)
	createRoute(t, h, "from-service", rcv.URL, nil)

	nc, err := platformConn(h.Hub)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	pub, err := sdk.NewPublisher(js)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	handled := make(chan trace.SpanContext, 1)
	subDone := make(chan error, 1)
	go func() {
		subDone <- sdk.Subscribe(ctx, js, "user-service", "acme.>", func(ctx context.Context, _ *junctionv1.Event) error {
			select {
			case handled <- trace.SpanContextFromContext(ctx):
			default:
			}
			return nil
		})
	}()

	sctx, span := otel.Tracer("user-service").Start(context.Background(), "signup")
	res, err := pub.Publish(sctx, &junctionv1.Event{Id: "svc_1", Source: "acme", Type: "user.created", Data: []byte(`{}`)})
	span.End()
	if err != nil {
		t.Fatalf("Publish: %v", err)
	}
	tid := span.SpanContext().TraceID()
	if got := res.Event.GetTraceId(); got != tid.String() {
		t.Errorf("published event trace_id = %q, want the service's %s", got, tid)
	}
	var got trace.SpanContext
	select {
	case got = <-handled:
	case <-time.After(30 * time.Second):
		t.Fatal("the subscriber got no event")
	}
	if got.TraceID() != tid {
		t.Errorf("subscriber handler ran in trace %s, want %s", got.TraceID(), tid)
	}
	// The subscriber's process span ends after its handler returned, so
	// it may be recorded after the delivery's: wait for both.
	waitFor(t, 30*time.Second, "delivery and subscriber traced in the service's trace", func() error {
		spans := spansOf(rec, tid)
		if len(find(spans, "POST", trace.SpanKindClient)) == 0 {
			return errors.New("no delivery span yet")
		}
		if n := len(find(spans, "process junction.events.acme.user.created", trace.SpanKindConsumer)); n < 2 {
			return fmt.Errorf("%d process spans so far", n)
		}
		return nil
	})
	spans := spansOf(rec, tid)
	pubSpan := one(t, spans, "publish junction.events.acme.user.created", trace.SpanKindProducer)
	if pubSpan.Parent().SpanID() != span.SpanContext().SpanID() {
		t.Errorf("publish span parent = %s, want the service's span %s", pubSpan.Parent().SpanID(), span.SpanContext().SpanID())
	}
	for _, s := range find(spans, "process junction.events.acme.user.created", trace.SpanKindConsumer) {
		wantChild(t, s, pubSpan)
	}
	if n := len(find(spans, "process junction.events.acme.user.created", trace.SpanKindConsumer)); n != 2 {
		t.Errorf("%d process spans for the event, want 2 (router and the user's subscriber)", n)
	}
	cancel()
	if err := <-subDone; err != nil {
		t.Errorf("Subscribe: %v", err)
	}
}

// runCLI runs the junction CLI against the hub's gateway.
func runCLI(t *testing.T, h *running, args ...string) (string, error) {
	t.Helper()
	root := &cobra.Command{Use: "junction", SilenceErrors: true, SilenceUsage: true}
	root.AddCommand(cli.Commands()...)
	var out bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&out)
	root.SetArgs(append(args, "--server", h.Addrs().GRPC, "--api-key-file", h.AdminKeyFile()))
	err := root.ExecuteContext(t.Context())
	return out.String(), err
}

// TestTraceRESTThroughGRPC: a REST call continues the caller's trace into
// the gRPC handler (REST is served by calling the gRPC server).
func TestTraceRESTThroughGRPC(t *testing.T) {
	rec := recordSpans(t)
	h := startHub(t, testConfig(t.TempDir()))
	req, _ := http.NewRequest(http.MethodGet, "http://"+h.Addrs().HTTP+"/v1/routes", nil)
	req.Header.Set("traceparent", senderParent)
	req.Header.Set("Authorization", "Bearer "+h.adminKey(t))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /v1/routes = %d, want 200", resp.StatusCode)
	}
	tid, _ := trace.TraceIDFromHex(senderTraceID)
	var spans []sdktrace.ReadOnlySpan
	waitFor(t, 10*time.Second, "grpc server span", func() error {
		spans = spansOf(rec, tid)
		if len(find(spans, "junction.v1.RouteService/ListRoutes", trace.SpanKindServer)) == 0 {
			return errors.New("not yet")
		}
		return nil
	})
	httpSpan := one(t, spans, "GET /v1/*", trace.SpanKindServer)
	client := one(t, spans, "junction.v1.RouteService/ListRoutes", trace.SpanKindClient)
	server := one(t, spans, "junction.v1.RouteService/ListRoutes", trace.SpanKindServer)
	wantChild(t, client, httpSpan)
	wantChild(t, server, client)
	wantAttr(t, server, "rpc.system.name", "grpc")
	wantAttr(t, server, "rpc.response.status_code", "OK")
}
