package hub

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/prototext"
	"google.golang.org/protobuf/types/known/durationpb"

	sdktelemetry "github.com/junctionhq/junction/adapters/sdk/platform/telemetry"
	"github.com/junctionhq/junction/adapters/webhook"
	junctionv1 "github.com/junctionhq/junction/proto/junction/v1"
	"github.com/junctionhq/junction/proto/junction/v1/junctionv1grpc"
)

// syncBuffer is a bytes.Buffer safe for concurrent writers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestCanarySecretsNeverLeak configures canary secrets for a webhook source
// and for the outbound signer, drives every path that could print them
// (accepted, badly signed and replayed webhooks, a retried and a
// dead-lettered delivery, API reads over gRPC and REST, the admin API key,
// a created key used well and a forged one refused), and checks that
// neither the secrets nor their key bytes appear in the logs (debug level,
// JSON), the spans, /metrics or any API response.
func TestCanarySecretsNeverLeak(t *testing.T) {
	inKey := []byte("CANARY-IN-0123456789abcdefghijk")
	outKey := []byte("CANARY-OUT-0123456789abcdefghij")
	inSecret := "whsec_" + base64.StdEncoding.EncodeToString(inKey)
	outSecret := "whsec_" + base64.StdEncoding.EncodeToString(outKey)
	canaries := []string{inSecret, outSecret, base64.StdEncoding.EncodeToString(inKey),
		base64.StdEncoding.EncodeToString(outKey), "CANARY-IN", "CANARY-OUT"}

	rec := recordSpans(t)
	var logs syncBuffer
	cfg := testConfig(t.TempDir())
	cfg.Webhook.Sources[0].SecretRef = webhook.SecretRef{Secret: webhook.Secret(inSecret)}
	cfg.Webhook.Outbound.SecretRef = webhook.SecretRef{Secret: webhook.Secret(outSecret)}
	ctx, cancel := context.WithCancel(context.Background())
	h0, err := New(ctx, cfg, sdktelemetry.NewLogger(&logs, slog.LevelDebug))
	if err != nil {
		cancel()
		t.Fatalf("New: %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- h0.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(60 * time.Second):
			t.Error("hub did not stop")
		}
	})
	h := &running{Hub: h0}
	waitFor(t, 30*time.Second, "hub ready", func() error { return h.Ready() })
	canaries = append(canaries, natsSeeds(t, h.Hub)...)

	// API keys: the admin key serve wrote, a key created through the API
	// (its secret is in the create answer only), used well and badly.
	admin := h.adminKey(t)
	keyConn, err := grpc.NewClient(h.Addrs().GRPC, grpc.WithTransportCredentials(insecure.NewCredentials()), h.adminCreds(t))
	if err != nil {
		t.Fatal(err)
	}
	defer keyConn.Close()
	keys := junctionv1grpc.NewKeyServiceClient(keyConn)
	created, err := keys.CreateKey(context.Background(), &junctionv1.CreateKeyRequest{Key: &junctionv1.Key{DisplayName: "canary", Scopes: []string{"routes:read"}}})
	if err != nil {
		t.Fatalf("CreateKey: %v", err)
	}
	userKey := created.GetSecret()
	forged := userKey[:len(userKey)-43] + "CANARYFORGED0123456789abcdefghijklmnopqrstu"
	secretOf := func(k string) string { return k[len(k)-43:] }
	canaries = append(canaries, admin, secretOf(admin), userKey, secretOf(userKey), forged, secretOf(forged))
	for _, tok := range []string{userKey, forged, "Basic " + base64.StdEncoding.EncodeToString([]byte("u:"+secretOf(admin))), secretOf(userKey)} {
		for _, path := range []string{"/v1/routes", "/v1/keys"} {
			req, _ := http.NewRequest(http.MethodGet, "http://"+h.Addrs().HTTP+path, nil)
			if strings.HasPrefix(tok, "Basic ") {
				req.Header.Set("Authorization", tok)
			} else {
				req.Header.Set("Authorization", "Bearer "+tok)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			checkClean(t, "GET "+path+" with a key", string(b), canaries)
		}
	}
	userConn, err := grpc.NewClient(h.Addrs().GRPC, grpc.WithTransportCredentials(insecure.NewCredentials()), grpc.WithPerRPCCredentials(keyCreds(forged)))
	if err != nil {
		t.Fatal(err)
	}
	defer userConn.Close()
	_, err = junctionv1grpc.NewRouteServiceClient(userConn).ListRoutes(context.Background(), &junctionv1.ListRoutesRequest{})
	if status.Code(err) != codes.Unauthenticated {
		t.Errorf("forged key: got %v, want Unauthenticated", err)
	}
	checkClean(t, "forged key error", fmt.Sprint(err), canaries)
	kl, err := keys.ListKeys(context.Background(), &junctionv1.ListKeysRequest{})
	if err != nil {
		t.Fatalf("ListKeys: %v", err)
	}
	checkClean(t, "ListKeys", prototext.Format(kl), canaries)
	kg, err := keys.GetKey(context.Background(), &junctionv1.GetKeyRequest{Name: created.GetKey().GetName()})
	if err != nil {
		t.Fatalf("GetKey: %v", err)
	}
	checkClean(t, "GetKey", prototext.Format(kg), canaries)

	ok := newFlaky(t, 1, http.StatusServiceUnavailable)
	refused := newFlaky(t, 100, http.StatusBadRequest)
	fast := &junctionv1.DeliveryPolicy{InitialBackoff: durationpb.New(50 * time.Millisecond), MaxBackoff: durationpb.New(100 * time.Millisecond)}
	createRoute(t, h, "canary-ok", ok.URL, fast)
	createRoute(t, h, "canary-refused", refused.URL, fast)

	// Accepted, signed with the canary secret.
	wh, err := standardwebhooks.NewWebhook(inSecret)
	if err != nil {
		t.Fatal(err)
	}
	body := userCreated("pro", "c@example.com")
	post := func(id string, sign func(string, time.Time, []byte) (string, error), when time.Time) int {
		sig, err := sign(id, when, body)
		if err != nil {
			t.Fatal(err)
		}
		req, _ := http.NewRequest(http.MethodPost, "http://"+h.Addrs().HTTP+"/webhooks/acme", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("webhook-id", id)
		req.Header.Set("webhook-timestamp", fmt.Sprint(when.Unix()))
		req.Header.Set("webhook-signature", sig)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		checkClean(t, "webhook response", string(b), canaries)
		return resp.StatusCode
	}
	if code := post("msg_canary_1", wh.Sign, time.Now()); code != http.StatusAccepted {
		t.Fatalf("signed webhook answered %d", code)
	}
	other, _ := standardwebhooks.NewWebhook("whsec_" + base64.StdEncoding.EncodeToString([]byte("another-key-0123456789abcdefghi")))
	if code := post("msg_canary_bad", other.Sign, time.Now()); code != http.StatusUnauthorized {
		t.Errorf("badly signed webhook answered %d, want 401", code)
	}
	if code := post("msg_canary_old", wh.Sign, time.Now().Add(-time.Hour)); code != http.StatusUnauthorized {
		t.Errorf("replayed webhook answered %d, want 401", code)
	}
	waitFor(t, 30*time.Second, "deliveries settled", func() error {
		if len(ok.requests()) < 2 || len(refused.requests()) < 1 {
			return fmt.Errorf("ok got %d, refused %d", len(ok.requests()), len(refused.requests()))
		}
		return nil
	})
	h.settled(t)

	// API responses, gRPC and REST.
	ev, err := h.events(t).GetEvent(context.Background(), &junctionv1.GetEventRequest{Name: "events/msg_canary_1"})
	if err != nil {
		t.Fatalf("GetEvent: %v", err)
	}
	checkClean(t, "GetEvent", prototext.Format(ev), canaries)
	conn := h.routes(t)
	rl, err := conn.ListRoutes(context.Background(), &junctionv1.ListRoutesRequest{})
	if err != nil {
		t.Fatal(err)
	}
	checkClean(t, "ListRoutes", prototext.Format(rl), canaries)
	for _, path := range []string{"/v1/routes", "/v1/events/msg_canary_1", "/v1/adapters", "/v1/keys", "/openapi.json", "/readyz", "/healthz", "/metrics"} {
		resp, err := h.adminGet(t, "http://"+h.Addrs().HTTP+path)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("GET %s = %d", path, resp.StatusCode)
		}
		checkClean(t, "GET "+path, string(b), canaries)
	}

	// Spans: names, attributes, events, status, of every trace.
	var spans strings.Builder
	for _, s := range rec.Ended() {
		fmt.Fprintf(&spans, "%s %s %v %s\n", s.Name(), s.Status().Description, s.Attributes(), s.Resource().Attributes())
		for _, e := range s.Events() {
			fmt.Fprintf(&spans, "  %s %v\n", e.Name, e.Attributes)
		}
	}
	if spans.Len() == 0 {
		t.Fatal("no spans recorded")
	}
	checkClean(t, "spans", spans.String(), canaries)

	out := logs.String()
	for _, want := range []string{`"msg":"call refused"`, `"msg":"admin API key created"`, `"msg":"webhook rejected"`, `"msg":"delivery attempt failed, will retry"`, `"msg":"delivery dead-lettered"`} {
		if !strings.Contains(out, want) {
			t.Errorf("logs lack %s: the test did not drive that path", want)
		}
	}
	checkClean(t, "logs", out, canaries)
	if !strings.Contains(out, `"trace_id":"`) {
		t.Errorf("no log line carries a trace_id")
	}
}

func checkClean(t *testing.T, where, text string, canaries []string) {
	t.Helper()
	for _, c := range canaries {
		if i := strings.Index(text, c); i >= 0 {
			t.Errorf("%s contains the secret %q: ...%s...", where, c, text[max(0, i-80):min(len(text), i+len(c)+20)])
		}
	}
}
