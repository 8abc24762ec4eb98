package hub

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	"github.com/junctionhq/junction/adapters/sdk/platform/topology"
	"github.com/junctionhq/junction/adapters/sdk/sdktest"
	"github.com/junctionhq/junction/adapters/webhook"
	junctionv1 "github.com/junctionhq/junction/proto/junction/v1"
	"github.com/junctionhq/junction/proto/junction/v1/junctionv1grpc"
)

const (
	inboundSecret  = "whsec_dGVzdC1pbmJvdW5kLXNlY3JldC0wMTIzNDU2Nzg5YWI="
	outboundSecret = "whsec_dGVzdC1vdXRib3VuZC1zZWNyZXQtMDEyMzQ1Njc4OWE="
)

// testConfig is a hub on free loopback ports with one Standard Webhooks
// source, "acme".
func testConfig(dataDir string) Config {
	return Config{
		DataDir:  dataDir,
		HTTPAddr: "127.0.0.1:0",
		GRPCAddr: "127.0.0.1:0",
		NATSAddr: "127.0.0.1:0",
		LogLevel: "warn",
		Webhook: webhook.Config{
			Sources: []webhook.SourceConfig{{
				Name:      "acme",
				Scheme:    webhook.SchemeStandardWebhooks,
				SecretRef: webhook.SecretRef{Secret: inboundSecret},
				TypeField: "event",
				TimeField: "timestamp",
			}},
			Outbound: webhook.OutboundConfig{SecretRef: webhook.SecretRef{Secret: outboundSecret}, Allow: []string{"127.0.0.1/32"}},
		},
	}
}

// running is a hub under test, stopped at cleanup.
type running struct {
	*Hub
	stop func() error
}

func startHub(t *testing.T, cfg Config) *running {
	t.Helper()
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	if testing.Verbose() {
		logger = slog.New(slog.NewTextHandler(&testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	ctx, cancel := context.WithCancel(context.Background())
	h, err := New(ctx, cfg, logger)
	if err != nil {
		cancel()
		t.Fatalf("New: %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- h.Run(ctx) }()
	var once sync.Once
	var runErr error
	stop := func() error {
		once.Do(func() {
			cancel()
			select {
			case runErr = <-done:
			case <-time.After(60 * time.Second):
				runErr = errors.New("hub did not stop within 60s")
			}
		})
		return runErr
	}
	t.Cleanup(func() {
		if err := stop(); err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	r := &running{Hub: h, stop: stop}
	waitFor(t, 30*time.Second, "hub ready", func() error { return h.Ready() })
	return r
}

type testWriter struct{ t *testing.T }

func (w *testWriter) Write(p []byte) (int, error) {
	w.t.Log(string(bytes.TrimSpace(p)))
	return len(p), nil
}

func waitFor(t *testing.T, timeout time.Duration, what string, cond func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var err error
	for time.Now().Before(deadline) {
		if err = cond(); err == nil {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %s: %v", what, err)
}

func (r *running) routes(t *testing.T) junctionv1grpc.RouteServiceClient {
	conn, err := grpc.NewClient(r.Addrs().GRPC, grpc.WithTransportCredentials(insecure.NewCredentials()), r.adminCreds(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return junctionv1grpc.NewRouteServiceClient(conn)
}

func (r *running) events(t *testing.T) junctionv1grpc.EventServiceClient {
	conn, err := grpc.NewClient(r.Addrs().GRPC, grpc.WithTransportCredentials(insecure.NewCredentials()), r.adminCreds(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return junctionv1grpc.NewEventServiceClient(conn)
}

// sendWebhook signs body with the acme source's secret and posts it.
func (r *running) sendWebhook(t *testing.T, id string, body []byte) *http.Response {
	t.Helper()
	return r.sendWebhookWith(t, id, body, nil)
}

// sendWebhookWith is sendWebhook with extra request headers.
func (r *running) sendWebhookWith(t *testing.T, id string, body []byte, hdr map[string]string) *http.Response {
	t.Helper()
	wh, err := standardwebhooks.NewWebhook(inboundSecret)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	sig, err := wh.Sign(id, now, body)
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodPost, "http://"+r.Addrs().HTTP+"/webhooks/acme", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("webhook-id", id)
	req.Header.Set("webhook-timestamp", fmt.Sprint(now.Unix()))
	req.Header.Set("webhook-signature", sig)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("post webhook: %v", err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(b))
	return resp
}

// receiver is an HTTP endpoint that verifies every delivery with the
// Standard Webhooks library and records it.
type receiver struct {
	*httptest.Server
	mu  sync.Mutex
	got []delivery
	bad int
	wh  *standardwebhooks.Webhook
}

type delivery struct {
	id   string
	body []byte
}

func newReceiver(t *testing.T) *receiver {
	wh, err := standardwebhooks.NewWebhook(outboundSecret)
	if err != nil {
		t.Fatal(err)
	}
	rc := &receiver{wh: wh}
	rc.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		rc.mu.Lock()
		defer rc.mu.Unlock()
		if err := wh.Verify(body, r.Header); err != nil {
			rc.bad++
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		rc.got = append(rc.got, delivery{id: r.Header.Get("webhook-id"), body: body})
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(rc.Close)
	return rc
}

func (rc *receiver) deliveries() []delivery {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]delivery(nil), rc.got...)
}

func (rc *receiver) badSignatures() int {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return rc.bad
}

func userCreated(plan, email string) []byte {
	return []byte(fmt.Sprintf(`{"event":"user.created","timestamp":"2026-06-20T19:08:41Z","data":{"user_id":"usr_987654321","email":%q,"first_name":"Alex","last_name":"Rivera","company":"Acme Corp","plan":%q}}`, email, plan))
}

// settled waits until the router has acked every event and every sink has
// acked every delivery, so counts that follow are final.
func (r *running) settled(t *testing.T) {
	t.Helper()
	nc, err := platformConn(r.Hub)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	ctx := context.Background()
	waitFor(t, 30*time.Second, "consumers to settle", func() error {
		// Acked up to the stream's last message: the server updates
		// NumPending asynchronously, so alone it can read 0 too early.
		check := func(stream, consumer string) error {
			s, err := js.Stream(ctx, stream)
			if err != nil {
				return err
			}
			sinfo, err := s.Info(ctx)
			if err != nil {
				return err
			}
			c, err := js.Consumer(ctx, stream, consumer)
			if err != nil {
				return err
			}
			info, err := c.Info(ctx)
			if err != nil {
				return err
			}
			if info.AckFloor.Stream < sinfo.State.LastSeq || info.NumPending != 0 || info.NumAckPending != 0 {
				return fmt.Errorf("%s/%s: acked to %d of %d, %d pending, %d unacked", stream, consumer, info.AckFloor.Stream, sinfo.State.LastSeq, info.NumPending, info.NumAckPending)
			}
			return nil
		}
		if err := check(topology.EventsStream, topology.RouterConsumer); err != nil {
			return err
		}
		return check(topology.DeliveriesStream, topology.DeliveryConsumer("webhook"))
	})
}

func (r *running) streamMsgs(t *testing.T, stream string) uint64 {
	t.Helper()
	nc, err := platformConn(r.Hub)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	s, err := js.Stream(context.Background(), stream)
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Info(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return info.State.Msgs
}

// TestWebhookThroughRouteToReceivers is the foundation's promise: a signed
// webhook is matched by a route with a CEL condition, transformed, and
// delivered, signed, to two receivers; a non-matching event is not; a route
// change applies without a restart.
func TestWebhookThroughRouteToReceivers(t *testing.T) {
	h := startHub(t, testConfig(t.TempDir()))
	sales, archive := newReceiver(t), newReceiver(t)
	ctx := context.Background()
	routes := h.routes(t)

	created, err := routes.CreateRoute(ctx, &junctionv1.CreateRouteRequest{
		RouteId: "enterprise-signups",
		Route: &junctionv1.Route{
			Filter:    "acme.user.created",
			Condition: `data.data.plan == "enterprise"`,
			Targets: []*junctionv1.Target{
				{Name: "sales", Destination: "webhook", Config: map[string]string{"url": sales.URL + "/hook"},
					Transform: `{"text": "New user " + event.user.email, "plan": data.data.plan}`},
				{Name: "archive", Destination: "webhook", Config: map[string]string{"url": archive.URL}},
			},
		},
	})
	if err != nil {
		t.Fatalf("CreateRoute: %v", err)
	}

	h.routeApplied(t, created.GetRoute().GetRevision())
	enterprise := userCreated("enterprise", "alex@example.com")
	resp := h.sendWebhook(t, "msg_enterprise_1", enterprise)
	if resp.StatusCode/100 != 2 {
		body, _ := io.ReadAll(resp.Body)
		t.Fatalf("webhook answered %d %s, want 2xx", resp.StatusCode, body)
	}
	waitFor(t, 30*time.Second, "both receivers", func() error {
		if n, m := len(sales.deliveries()), len(archive.deliveries()); n < 1 || m < 1 {
			return fmt.Errorf("sales got %d, archive got %d", n, m)
		}
		return nil
	})

	var msg map[string]any
	if err := json.Unmarshal(sales.deliveries()[0].body, &msg); err != nil {
		t.Fatalf("sales payload is not JSON: %v", err)
	}
	if msg["text"] != "New user alex@example.com" || msg["plan"] != "enterprise" {
		t.Errorf("sales payload = %v, want the transform's text and plan", msg)
	}
	if got := archive.deliveries()[0].body; !bytes.Equal(got, enterprise) {
		t.Errorf("archive payload = %s, want the original webhook body %s", got, enterprise)
	}
	if sales.deliveries()[0].id == archive.deliveries()[0].id {
		t.Errorf("both targets got webhook-id %s; each delivery needs its own", sales.deliveries()[0].id)
	}

	// Not matching the condition: stored as an event, delivered nowhere.
	if resp := h.sendWebhook(t, "msg_free_1", userCreated("free", "sam@example.com")); resp.StatusCode/100 != 2 {
		t.Fatalf("webhook answered %d, want 2xx", resp.StatusCode)
	}
	h.settled(t)
	if got := h.streamMsgs(t, topology.EventsStream); got != 2 {
		t.Errorf("EVENTS holds %d events, want 2", got)
	}
	if got := h.streamMsgs(t, topology.DeliveriesStream); got != 2 {
		t.Errorf("DELIVERIES holds %d, want 2 (one event x two targets)", got)
	}
	if n, m := len(sales.deliveries()), len(archive.deliveries()); n != 1 || m != 1 {
		t.Errorf("after a non-matching event sales got %d, archive %d; want 1 and 1", n, m)
	}
	if sales.badSignatures()+archive.badSignatures() != 0 {
		t.Errorf("receivers saw %d deliveries with bad signatures", sales.badSignatures()+archive.badSignatures())
	}

	// Change the condition while running: free users now match.
	updated, err := routes.UpdateRoute(ctx, &junctionv1.UpdateRouteRequest{
		Route:      &junctionv1.Route{Name: created.GetRoute().GetName(), Condition: `data.data.plan == "free"`},
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"condition"}},
	})
	if err != nil {
		t.Fatalf("UpdateRoute: %v", err)
	}
	h.routeApplied(t, updated.GetRoute().GetRevision())
	if resp := h.sendWebhook(t, "msg_free_2", userCreated("free", "kim@example.com")); resp.StatusCode/100 != 2 {
		t.Fatalf("webhook answered %d", resp.StatusCode)
	}
	waitFor(t, 30*time.Second, "the free user's delivery under the changed route", func() error {
		for _, d := range sales.deliveries() {
			if bytes.Contains(d.body, []byte("kim@example.com")) {
				return nil
			}
		}
		return errors.New("not delivered yet")
	})
}

// routeApplied waits until the router runs with routes at revision rev.
func (r *running) routeApplied(t *testing.T, rev uint64) {
	t.Helper()
	waitFor(t, 30*time.Second, fmt.Sprintf("router at routes revision %d", rev), func() error {
		if got := r.router.AppliedRevision(); got < rev {
			return fmt.Errorf("router at revision %d", got)
		}
		return nil
	})
}

// TestRepeatedProviderIDStoredOnce: a provider retry (same webhook-id)
// answers 2xx and stores nothing new.
func TestRepeatedProviderIDStoredOnce(t *testing.T) {
	h := startHub(t, testConfig(t.TempDir()))
	body := userCreated("enterprise", "alex@example.com")
	for i := range 3 {
		resp := h.sendWebhook(t, "msg_retry_1", body)
		if resp.StatusCode/100 != 2 {
			t.Fatalf("attempt %d answered %d, want 2xx", i, resp.StatusCode)
		}
	}
	if got := h.streamMsgs(t, topology.EventsStream); got != 1 {
		t.Errorf("EVENTS holds %d events after 3 sends of one id, want 1", got)
	}
	got, err := h.events(t).GetEvent(context.Background(), &junctionv1.GetEventRequest{Name: "events/msg_retry_1"})
	if err != nil {
		t.Fatalf("GetEvent: %v", err)
	}
	if got.GetEvent().GetType() != "user.created" || got.GetEvent().GetUser().GetEmail() != "alex@example.com" {
		t.Errorf("GetEvent = %v, want the user.created event with its User model", got.GetEvent())
	}
}

// TestServeRestartKeepsState: a hub started on an existing data dir keeps
// its routes and events and goes on delivering.
func TestServeRestartKeepsState(t *testing.T) {
	dir := t.TempDir()
	rc := newReceiver(t)
	ctx := context.Background()

	first := startHub(t, testConfig(dir))
	created, err := first.routes(t).CreateRoute(ctx, &junctionv1.CreateRouteRequest{
		RouteId: "all-users",
		Route: &junctionv1.Route{Filter: "acme.user.>", Targets: []*junctionv1.Target{
			{Destination: "webhook", Config: map[string]string{"url": rc.URL}},
		}},
	})
	if err != nil {
		t.Fatalf("CreateRoute: %v", err)
	}
	first.routeApplied(t, created.GetRoute().GetRevision())
	if resp := first.sendWebhook(t, "msg_before_restart", userCreated("free", "a@example.com")); resp.StatusCode/100 != 2 {
		t.Fatalf("webhook answered %d", resp.StatusCode)
	}
	waitFor(t, 30*time.Second, "first delivery", func() error {
		if len(rc.deliveries()) > 0 {
			return nil
		}
		return errors.New("not delivered yet")
	})
	if err := first.stop(); err != nil {
		t.Fatalf("first hub: %v", err)
	}

	second := startHub(t, testConfig(dir))
	got, err := second.routes(t).GetRoute(ctx, &junctionv1.GetRouteRequest{Name: "routes/all-users"})
	if err != nil {
		t.Fatalf("GetRoute after restart: %v", err)
	}
	if got.GetRoute().GetFilter() != topology.NormalizeFilter("acme.user.>") && got.GetRoute().GetFilter() != "acme.user.>" {
		t.Errorf("route filter after restart = %q", got.GetRoute().GetFilter())
	}
	if _, err := second.events(t).GetEvent(ctx, &junctionv1.GetEventRequest{Name: "events/msg_before_restart"}); err != nil {
		t.Errorf("GetEvent after restart: %v", err)
	}
	// The provider retrying an event from before the restart is still a duplicate.
	before := second.streamMsgs(t, topology.EventsStream)
	if resp := second.sendWebhook(t, "msg_before_restart", userCreated("free", "a@example.com")); resp.StatusCode/100 != 2 {
		t.Fatalf("retry answered %d, want 2xx", resp.StatusCode)
	}
	if after := second.streamMsgs(t, topology.EventsStream); after != before {
		t.Errorf("EVENTS went from %d to %d on a provider retry, want unchanged", before, after)
	}
	n := len(rc.deliveries())
	if resp := second.sendWebhook(t, "msg_after_restart", userCreated("free", "b@example.com")); resp.StatusCode/100 != 2 {
		t.Fatalf("webhook answered %d", resp.StatusCode)
	}
	waitFor(t, 30*time.Second, "delivery after restart", func() error {
		if len(rc.deliveries()) > n {
			return nil
		}
		return errors.New("not delivered yet")
	})
}

// TestInvalidRouteRejected: a condition that does not compile is refused
// with the compiler's message and nothing is stored.
func TestInvalidRouteRejected(t *testing.T) {
	h := startHub(t, testConfig(t.TempDir()))
	routes := h.routes(t)
	_, err := routes.CreateRoute(context.Background(), &junctionv1.CreateRouteRequest{
		RouteId: "broken",
		Route: &junctionv1.Route{Filter: "acme.>", Condition: `event.type == `, Targets: []*junctionv1.Target{
			{Destination: "webhook", Config: map[string]string{"url": "http://127.0.0.1:1"}},
		}},
	})
	if status.Code(err) != codes.InvalidArgument {
		t.Fatalf("CreateRoute with bad CEL: %v, want InvalidArgument", err)
	}
	if _, err := routes.GetRoute(context.Background(), &junctionv1.GetRouteRequest{Name: "routes/broken"}); status.Code(err) != codes.NotFound {
		t.Errorf("GetRoute after a rejected create: %v, want NotFound", err)
	}
}

// TestServeAgainstExternalNATS: with NATSURL set the hub starts no NATS of
// its own, creates the topology on the one named, and routes through it.
func TestServeAgainstExternalNATS(t *testing.T) {
	external := sdktest.NewHub(t)
	cfg := testConfig(t.TempDir())
	cfg.NATSURL = external.URL
	cfg.Auth.AdminKeyFile = filepath.Join(t.TempDir(), "admin.key") // not defaulted with an external NATS
	h := startHub(t, cfg)
	if h.ns != nil {
		t.Fatal("hub started an embedded NATS although nats_url was set")
	}
	if got := h.Addrs().NATS; got != external.URL {
		t.Errorf("hub NATS address = %q, want the external %q", got, external.URL)
	}
	rc := newReceiver(t)
	created, err := h.routes(t).CreateRoute(context.Background(), &junctionv1.CreateRouteRequest{
		RouteId: "external",
		Route: &junctionv1.Route{Filter: "acme.>", Targets: []*junctionv1.Target{
			{Destination: "webhook", Config: map[string]string{"url": rc.URL}},
		}},
	})
	if err != nil {
		t.Fatalf("CreateRoute: %v", err)
	}
	h.routeApplied(t, created.GetRoute().GetRevision())
	if resp := h.sendWebhook(t, "msg_external_1", userCreated("free", "x@example.com")); resp.StatusCode/100 != 2 {
		t.Fatalf("webhook answered %d", resp.StatusCode)
	}
	waitFor(t, 30*time.Second, "delivery through the external NATS", func() error {
		if len(rc.deliveries()) == 1 {
			return nil
		}
		return fmt.Errorf("%d deliveries", len(rc.deliveries()))
	})
	// The event is on the external server's stream.
	if got := external.StreamMsgs(t, topology.EventsStream); got != 1 {
		t.Errorf("external EVENTS holds %d events, want 1", got)
	}
}

// TestGracefulStopLosesNothing stops the hub while webhooks are arriving
// and deliveries are in flight: every webhook answered 2xx is stored and,
// after a restart on the same data dir, delivered.
func TestGracefulStopLosesNothing(t *testing.T) {
	dir := t.TempDir()
	rc := newReceiver(t)
	ctx := context.Background()
	first := startHub(t, testConfig(dir))
	created, err := first.routes(t).CreateRoute(ctx, &junctionv1.CreateRouteRequest{
		RouteId: "all",
		Route: &junctionv1.Route{Filter: "acme.>", Targets: []*junctionv1.Target{
			{Destination: "webhook", Config: map[string]string{"url": rc.URL}},
		}},
	})
	if err != nil {
		t.Fatalf("CreateRoute: %v", err)
	}
	first.routeApplied(t, created.GetRoute().GetRevision())

	const senders, perSender = 8, 40
	var mu sync.Mutex
	accepted := map[string]bool{}
	var wg sync.WaitGroup
	client := &http.Client{Timeout: 10 * time.Second}
	wh, _ := standardwebhooks.NewWebhook(inboundSecret)
	addr := first.Addrs().HTTP
	for s := range senders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range perSender {
				id := fmt.Sprintf("msg_stop_%d_%d", s, i)
				body := userCreated("free", id+"@example.com")
				now := time.Now()
				sig, _ := wh.Sign(id, now, body)
				req, _ := http.NewRequest(http.MethodPost, "http://"+addr+"/webhooks/acme", bytes.NewReader(body))
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("webhook-id", id)
				req.Header.Set("webhook-timestamp", fmt.Sprint(now.Unix()))
				req.Header.Set("webhook-signature", sig)
				resp, err := client.Do(req)
				if err != nil {
					return // the hub stopped listening: nothing was promised
				}
				resp.Body.Close()
				if resp.StatusCode/100 == 2 {
					mu.Lock()
					accepted[id] = true
					mu.Unlock()
				}
			}
		}()
	}
	// Stop once some webhooks were accepted, with more still arriving.
	waitFor(t, 30*time.Second, "some accepted webhooks", func() error {
		mu.Lock()
		defer mu.Unlock()
		if len(accepted) < 40 {
			return fmt.Errorf("%d accepted", len(accepted))
		}
		return nil
	})
	if err := first.stop(); err != nil {
		t.Fatalf("stop: %v", err)
	}
	wg.Wait()

	second := startHub(t, testConfig(dir))
	mu.Lock()
	want := len(accepted)
	mu.Unlock()
	if stored := second.streamMsgs(t, topology.EventsStream); stored < uint64(want) {
		t.Fatalf("EVENTS holds %d events after restart, but %d webhooks were answered 2xx", stored, want)
	}
	waitFor(t, 60*time.Second, "every accepted webhook delivered", func() error {
		got := map[string]bool{}
		for _, d := range rc.deliveries() {
			var p struct {
				Data struct {
					Email string `json:"email"`
				} `json:"data"`
			}
			if json.Unmarshal(d.body, &p) == nil {
				got[strings.TrimSuffix(p.Data.Email, "@example.com")] = true
			}
		}
		missing := 0
		mu.Lock()
		for id := range accepted {
			if !got[id] {
				missing++
			}
		}
		mu.Unlock()
		if missing > 0 {
			return fmt.Errorf("%d of %d accepted webhooks not delivered yet", missing, want)
		}
		return nil
	})
	t.Logf("accepted %d of %d webhooks before the stop; all delivered after restart (%d deliveries received)", want, senders*perSender, len(rc.deliveries()))
}
