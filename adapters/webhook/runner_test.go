package webhook

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/junctionhq/junction/adapters/sdk"
	"github.com/junctionhq/junction/adapters/sdk/platform"
	"github.com/junctionhq/junction/adapters/sdk/platform/topology"
	"github.com/junctionhq/junction/adapters/sdk/sdktest"
	junctionv1 "github.com/junctionhq/junction/proto/junction/v1"
)

// runnerEnv runs the adapter in the SDK's real Runner against an embedded
// hub, with the Runner's handler on a real HTTP server.
type runnerEnv struct {
	hub *sdktest.Hub
	url string
}

func newRunnerEnv(t *testing.T) *runnerEnv {
	t.Helper()
	hub := sdktest.NewHub(t)
	a := newTestAdapter(t, testConfig())
	r, err := platform.NewRunner(Spec, a, hub.Connect(t), platform.RunnerOptions{
		Config: sdk.Config{Instance: "test-1", Concurrency: 4, ShutdownTimeout: 5 * time.Second},
		Logger: discardLogger(),
	})
	if err != nil {
		t.Fatalf("NewRunner: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run = %v, want nil after cancel", err)
		}
	})
	srv := httptest.NewServer(r.Handler())
	t.Cleanup(srv.Close)
	waitFor(t, "runner ready", func() bool { return r.Ready() == nil })
	return &runnerEnv{hub: hub, url: srv.URL}
}

// waitFor polls cond until it holds, failing the test after 10 seconds.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// fastPolicy retries within milliseconds so tests stay quick.
func fastPolicy(maxAttempts int32) *junctionv1.DeliveryPolicy {
	return &junctionv1.DeliveryPolicy{
		MaxAttempts:    maxAttempts,
		InitialBackoff: durationpb.New(5 * time.Millisecond),
		MaxBackoff:     durationpb.New(20 * time.Millisecond),
		AttemptTimeout: durationpb.New(5 * time.Second),
	}
}

func TestRunnerInboundSeedEvent(t *testing.T) {
	env := newRunnerEnv(t)
	req, err := http.NewRequest(http.MethodPost, env.url+"/webhooks/acme", strings.NewReader(seedPayload))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for k, v := range standardHeaders(t, acmeSecret, "msg_seed", time.Now(), seedPayload) {
		req.Header[k] = v
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var acc Accepted
	if err := json.NewDecoder(resp.Body).Decode(&acc); err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusAccepted || acc.ID != "msg_seed" || acc.Sequence != 1 {
		t.Fatalf("answer = %d %+v, want 202 id msg_seed sequence 1", resp.StatusCode, acc)
	}
	events := env.hub.WaitEvents(t, 1, 5*time.Second)
	u := events[0].GetUser()
	if u.GetId() != "usr_987654321" || u.GetEmail() != "alex@example.com" || u.GetPlan() != "enterprise" {
		t.Errorf("stored user = %v, want the seed user", u)
	}
	if got := events[0].GetType(); got != "user.created" {
		t.Errorf("type = %q, want user.created", got)
	}
}

func TestRunnerDeliveryRetriedThenDelivered(t *testing.T) {
	env := newRunnerEnv(t)
	rc := newReceiver(t, reply(500, "busy"), reply(503, ""), reply(200, "ok"))
	d := testDelivery(rc.srv.URL + "/hook")
	d.Policy = fastPolicy(5)
	d.CreateTime = timestamppb.Now()
	env.hub.PublishDelivery(t, d)

	waitFor(t, "three attempts", func() bool { return len(rc.requests()) >= 3 })
	waitFor(t, "the delivery to be acked", func() bool { return consumerSettled(t, env.hub) })
	reqs := rc.requests()
	if len(reqs) != 3 {
		t.Fatalf("receiver got %d requests, want 3", len(reqs))
	}
	for i, r := range reqs {
		if r.verified != nil {
			t.Errorf("attempt %d: Standard Webhooks verification failed: %v", i+1, r.verified)
		}
		if got := r.header.Get("webhook-id"); got != d.Id {
			t.Errorf("attempt %d: webhook-id = %q, want %q", i+1, got, d.Id)
		}
	}
	if n := env.hub.StreamMsgs(t, topology.DLQStream); n != 0 {
		t.Errorf("DLQ holds %d messages, want 0", n)
	}
}

func TestRunnerHonoursRetryAfter(t *testing.T) {
	env := newRunnerEnv(t)
	rc := newReceiver(t, reply(429, "slow down", "Retry-After", "1"), reply(200, "ok"))
	d := testDelivery(rc.srv.URL)
	d.Policy = fastPolicy(5) // backoff alone would retry within 20ms
	d.CreateTime = timestamppb.Now()
	env.hub.PublishDelivery(t, d)

	waitFor(t, "the retry", func() bool { return len(rc.requests()) >= 2 })
	waitFor(t, "the delivery to be acked", func() bool { return consumerSettled(t, env.hub) })
	reqs := rc.requests()
	if gap := reqs[1].at.Sub(reqs[0].at); gap < time.Second {
		t.Errorf("retry came %v after the 429, want at least the 1s Retry-After", gap)
	}
}

func TestRunnerDeliveryDeadLettered(t *testing.T) {
	tests := []struct {
		name       string
		replies    []func(w http.ResponseWriter)
		attempts   int32
		wantReason string
		wantTries  int
		wantErr    string
	}{
		{name: "400 is permanent", replies: []func(http.ResponseWriter){reply(400, `{"error":"unknown field plan"}`)}, attempts: 5,
			wantReason: "permanent", wantTries: 1, wantErr: `400 Bad Request: {"error":"unknown field plan"}`},
		{name: "500 until attempts run out", replies: []func(http.ResponseWriter){reply(500, "down")}, attempts: 3,
			wantReason: "max_attempts", wantTries: 3, wantErr: "500 Internal Server Error: down"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := newRunnerEnv(t)
			rc := newReceiver(t, tt.replies...)
			d := testDelivery(rc.srv.URL)
			d.Policy = fastPolicy(tt.attempts)
			d.CreateTime = timestamppb.Now()
			env.hub.PublishDelivery(t, d)

			msgs := env.hub.WaitMsgs(t, topology.DLQStream, 1, 10*time.Second)
			waitFor(t, "the delivery to be terminated", func() bool { return consumerSettled(t, env.hub) })
			if len(msgs) != 1 {
				t.Fatalf("DLQ holds %d messages, want 1", len(msgs))
			}
			m := msgs[0]
			if want := topology.DLQSubject("webhook", d.RouteId); m.Subject() != want {
				t.Errorf("subject = %q, want %q", m.Subject(), want)
			}
			h := m.Headers()
			if got := h.Get("Junction-Dlq-Reason"); got != tt.wantReason {
				t.Errorf("Junction-Dlq-Reason = %q, want %q", got, tt.wantReason)
			}
			if got := h.Get("Junction-Dlq-Last-Error"); !strings.Contains(got, tt.wantErr) {
				t.Errorf("Junction-Dlq-Last-Error = %q, want it to contain %q", got, tt.wantErr)
			}
			if got := h.Get(topology.HeaderDeliveryID); got != d.Id {
				t.Errorf("%s = %q, want %q", topology.HeaderDeliveryID, got, d.Id)
			}
			var dead junctionv1.Delivery
			if err := proto.Unmarshal(m.Data(), &dead); err != nil || dead.GetId() != d.Id {
				t.Errorf("dead letter = %v (%v), want delivery %s", &dead, err, d.Id)
			}
			if n := len(rc.requests()); n != tt.wantTries {
				t.Errorf("receiver got %d requests, want %d", n, tt.wantTries)
			}
		})
	}
}

func TestRunnerRegistration(t *testing.T) {
	env := newRunnerEnv(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	kv, err := env.hub.JS.KeyValue(ctx, topology.AdaptersBucket)
	if err != nil {
		t.Fatal(err)
	}
	var reg junctionv1.Adapter
	waitFor(t, "the registration", func() bool {
		e, err := kv.Get(ctx, topology.AdapterKey("webhook", "test-1"))
		return err == nil && protojson.Unmarshal(e.Value(), &reg) == nil
	})
	if got, want := strings.Join(reg.GetRoles(), ","), "webhook-source,sink"; got != want {
		t.Errorf("roles = %s, want %s", got, want)
	}
	if got, want := strings.Join(reg.GetSources(), ","), "acme,beta,gamma,slow"; got != want {
		t.Errorf("sources = %s, want %s", got, want)
	}
	if reg.GetVersion() != Version {
		t.Errorf("version = %q, want %q", reg.GetVersion(), Version)
	}
}

// consumerSettled reports whether the webhook sink's consumer has nothing
// pending or unacknowledged.
func consumerSettled(t *testing.T, hub *sdktest.Hub) bool {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return hub.Idle(ctx, topology.DeliveriesStream, topology.DeliveryConsumer("webhook")) == nil
}
