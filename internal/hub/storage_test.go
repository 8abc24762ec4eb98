package hub

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.yaml.in/yaml/v3"

	"github.com/junctionhq/junction/adapters/sdk/platform/storecheck"
	"github.com/junctionhq/junction/adapters/sdk/platform/topology"
	"github.com/junctionhq/junction/adapters/sdk/rpcstatus"
	"github.com/junctionhq/junction/internal/natsserver"
	junctionv1 "github.com/junctionhq/junction/proto/junction/v1"
)

// readyz reads the hub's /readyz: its status code and JSON body.
func readyz(t *testing.T, h *running) (int, map[string]string) {
	t.Helper()
	resp, err := http.Get("http://" + h.Addrs().HTTP + "/readyz")
	if err != nil {
		t.Fatalf("GET /readyz: %v", err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read /readyz: %v", err)
	}
	body := map[string]string{}
	if resp.StatusCode == http.StatusOK {
		if err := json.Unmarshal(data, &body); err != nil {
			t.Fatalf("decode /readyz: %v", err)
		}
		return resp.StatusCode, body
	}
	// Not ready: the error body every endpoint answers, with an
	// ErrorInfo NOT_READY whose metadata says which store check failed.
	st, err := rpcstatus.Parse(data)
	if err != nil {
		t.Fatalf("/readyz %d: %v", resp.StatusCode, err)
	}
	body["reason"] = st.Message
	for _, d := range st.Details {
		var info struct {
			Reason   string            `json:"reason"`
			Metadata map[string]string `json:"metadata"`
		}
		if json.Unmarshal(d, &info) == nil && info.Reason == rpcstatus.ReasonNotReady {
			body["store"] = info.Metadata["store"]
		}
	}
	return resp.StatusCode, body
}

// paddedEvent is a user.created webhook body of about 1 KiB.
func paddedEvent(i int) []byte {
	return userCreated("free", fmt.Sprintf("user%d-%s@example.com", i, strings.Repeat("x", 900)))
}

// TestFullEventsStreamRefusesAndRecovers: with a tiny EVENTS limit,
// webhooks are stored (2xx) until the stream is full, then answered 503
// with Retry-After; every stored event is kept (none dropped to make
// room) and nothing more is stored. /readyz says the store is full and
// why, junction_stream_bytes shows EVENTS at its max_bytes, and once
// room is made (a purge), /readyz is ready again and the provider's
// retry is stored, without a restart.
func TestFullEventsStreamRefusesAndRecovers(t *testing.T) {
	const maxBytes = 64 * 1024
	cfg := testConfig(t.TempDir())
	cfg.Storage.CheckInterval = 50 * time.Millisecond
	cfg.Storage.Limits = map[string]StoreLimit{"events": {MaxBytes: maxBytes}}
	h := startHub(t, cfg)
	ctx := context.Background()

	var accepted []string
	var refused *http.Response
	refusedID := ""
	for i := 0; i < 1000 && refused == nil; i++ {
		id := fmt.Sprintf("msg_fill_%d", i)
		resp := h.sendWebhook(t, id, paddedEvent(i))
		switch {
		case resp.StatusCode/100 == 2:
			accepted = append(accepted, id)
		case resp.StatusCode == http.StatusServiceUnavailable:
			refused, refusedID = resp, id
		default:
			t.Fatalf("webhook %s answered %d, want 2xx or 503", id, resp.StatusCode)
		}
	}
	if refused == nil {
		t.Fatalf("1000 webhooks of 1 KiB were all stored in a %d-byte EVENTS", maxBytes)
	}
	t.Logf("EVENTS max_bytes %d: %d webhooks stored, then 503", maxBytes, len(accepted))
	if got := refused.Header.Get("Retry-After"); got == "" {
		t.Errorf("503 without Retry-After")
	}
	// More webhooks while full: all refused, nothing stored, nothing lost.
	for i := 0; i < 5; i++ {
		if resp := h.sendWebhook(t, fmt.Sprintf("msg_more_%d", i), paddedEvent(i)); resp.StatusCode != http.StatusServiceUnavailable {
			t.Errorf("webhook while full answered %d, want 503", resp.StatusCode)
		}
	}
	if got := h.streamMsgs(t, topology.EventsStream); got != uint64(len(accepted)) {
		t.Errorf("EVENTS holds %d events, want the %d answered 2xx", got, len(accepted))
	}
	for _, id := range []string{accepted[0], accepted[len(accepted)-1]} {
		if _, err := h.events(t).GetEvent(ctx, &junctionv1.GetEventRequest{Name: "events/" + id}); err != nil {
			t.Errorf("GetEvent %s (answered 2xx): %v", id, err)
		}
	}

	waitFor(t, 30*time.Second, "/readyz to say the store is full", func() error {
		code, body := readyz(t, h)
		if code != http.StatusServiceUnavailable || body["store"] != "full" || !strings.Contains(body["reason"], topology.EventsStream) {
			return fmt.Errorf("/readyz = %d %v, want 503 with store full naming %s", code, body, topology.EventsStream)
		}
		return nil
	})
	fams := scrape(t, h)
	events := map[string]string{"stream": topology.EventsStream}
	gotMax, gotBytes := value(fams, "junction_stream_max_bytes", events), value(fams, "junction_stream_bytes", events)
	t.Logf("junction_stream_bytes{stream=EVENTS} %v of junction_stream_max_bytes %v", gotBytes, gotMax)
	if gotMax != maxBytes {
		t.Errorf("junction_stream_max_bytes{stream=EVENTS} = %v, want %d", gotMax, maxBytes)
	}
	if gotBytes > maxBytes || gotBytes < maxBytes-2*1024 {
		t.Errorf("junction_stream_bytes{stream=EVENTS} = %v, want within an event of %d", gotBytes, maxBytes)
	}
	if got := value(fams, "junction_store_writable", map[string]string{"component": "serve", "reason": "full"}); got != 0 {
		t.Errorf("junction_store_writable{reason=full} = %v, want 0", got)
	}
	if _, ok := fams["junction_store_writable"]; !ok {
		t.Errorf("junction_store_writable missing from /metrics")
	}

	// A restart on the full store starts (its API is how room is made)
	// and is not ready, for the same reason.
	if err := h.stop(); err != nil {
		t.Fatal(err)
	}
	h = startFullHub(t, cfg)
	if code, body := readyz(t, h); code != http.StatusServiceUnavailable || body["store"] != "full" {
		t.Errorf("/readyz after a restart on a full store = %d %v, want 503 store full", code, body)
	}

	// Room is made: ready again without a restart, and the refused
	// event's retry is stored.
	nc, err := platformConn(h.Hub)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	s, err := js.Stream(ctx, topology.EventsStream)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Purge(ctx); err != nil {
		t.Fatalf("purge: %v", err)
	}
	waitFor(t, 30*time.Second, "/readyz ready after the purge", func() error {
		if code, body := readyz(t, h); code != http.StatusOK {
			return fmt.Errorf("/readyz = %d %v", code, body)
		}
		return nil
	})
	if resp := h.sendWebhook(t, refusedID, paddedEvent(0)); resp.StatusCode/100 != 2 {
		t.Errorf("retry of the refused %s answered %d, want 2xx", refusedID, resp.StatusCode)
	}
	if v := value(scrape(t, h), "junction_store_writable", map[string]string{"component": "serve", "reason": ""}); v != 1 {
		t.Errorf("junction_store_writable{reason=\"\"} = %v after recovery, want 1", v)
	}
}

// TestStorageLimitsReachAnExistingStore: a data directory written by a
// version without byte limits (DiscardOld, no max_bytes) gets every
// stream's and bucket's limit and discard policy on the next start, and
// keeps its messages: an EVENTS already holding more than its new limit
// keeps every event (JetStream enforces a lowered max_bytes by dropping
// the oldest only under DiscardOld) and is full.
func TestStorageLimitsReachAnExistingStore(t *testing.T) {
	dir := t.TempDir()
	ns, err := natsserver.Start(natsserver.Options{Addr: "127.0.0.1:0", StoreDir: dir}, nil)
	if err != nil {
		t.Fatal(err)
	}
	nc, err := nats.Connect("", nats.InProcessServer(ns))
	if err != nil {
		t.Fatal(err)
	}
	js, _ := jetstream.New(nc)
	ctx := context.Background()
	for _, cfg := range topology.Streams(topology.Options{}) { // as the previous version made them
		cfg.MaxBytes, cfg.Discard = 0, jetstream.DiscardOld
		if _, err := js.CreateStream(ctx, cfg); err != nil {
			t.Fatalf("create old %s: %v", cfg.Name, err)
		}
	}
	for _, cfg := range topology.Buckets(topology.Options{}) {
		cfg.MaxBytes = 0
		if _, err := js.CreateKeyValue(ctx, cfg); err != nil {
			t.Fatalf("create old %s: %v", cfg.Bucket, err)
		}
	}
	const kept = 20
	for range kept {
		if _, err := js.Publish(ctx, topology.EventSubject("acme", "user.created"), make([]byte, 1024)); err != nil {
			t.Fatal(err)
		}
	}
	nc.Close()
	ns.Shutdown()
	ns.WaitForShutdown()

	cfg := testConfig(dir)
	const newLimit = 8 * 1024 // under the ~21 KB EVENTS holds
	cfg.Storage.Limits = map[string]StoreLimit{"events": {MaxBytes: newLimit}}
	h := startFullHub(t, cfg)
	pc, err := platformConn(h.Hub)
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	pjs, _ := jetstream.New(pc)
	want := map[string]topology.Limit{}
	for _, name := range topology.StoreNames() {
		want[name] = topology.DefaultLimit(name)
	}
	want[topology.EventsStream] = topology.Limit{MaxBytes: newLimit}
	for _, name := range topology.StoreNames() {
		stream := name
		if strings.HasPrefix(name, "junction_") {
			stream = "KV_" + name
		}
		t.Run(name, func(t *testing.T) {
			s, err := pjs.Stream(ctx, stream)
			if err != nil {
				t.Fatal(err)
			}
			c := s.CachedInfo().Config
			if c.MaxBytes != want[name].MaxBytes {
				t.Errorf("max_bytes = %d, want %d", c.MaxBytes, want[name].MaxBytes)
			}
			wantDiscard := jetstream.DiscardNew
			if stream == topology.AttemptsStream {
				wantDiscard = jetstream.DiscardOld
			}
			if c.Discard != wantDiscard {
				t.Errorf("discard = %v, want %v", c.Discard, wantDiscard)
			}
		})
	}
	if got := h.streamMsgs(t, topology.EventsStream); got != kept {
		t.Errorf("EVENTS holds %d after the upgrade, want %d", got, kept)
	}
	if code, body := readyz(t, h); code != http.StatusServiceUnavailable || body["store"] != "full" {
		t.Errorf("/readyz with EVENTS over its new limit = %d %v, want 503 store full", code, body)
	}
}

// TestStorageConfig: the storage section reads sizes with units and short
// names, and says what to fix when it is wrong.
func TestStorageConfig(t *testing.T) {
	cases := []struct {
		name    string
		yaml    string
		wantErr string
		check   func(t *testing.T, c Config)
	}{
		{name: "units and short names", yaml: "storage:\n  max_store: 20GiB\n  limits:\n    events: {max_bytes: 10GiB, max_age: 48h}\n    idempotency: {max_bytes: 1GB}\n",
			check: func(t *testing.T, c Config) {
				o := c.Topology()
				if got := o.Limits[topology.EventsStream]; got.MaxBytes != 10<<30 || got.MaxAge != 48*time.Hour {
					t.Errorf("events limit = %+v, want 10GiB and 48h", got)
				}
				if got := o.Limits[topology.IdempotencyBucket].MaxBytes; got != 1e9 {
					t.Errorf("idempotency max_bytes = %d, want 1e9", got)
				}
				if c.Storage.MaxStore != 20<<30 {
					t.Errorf("max_store = %d", c.Storage.MaxStore)
				}
			}},
		{name: "plain bytes", yaml: "storage:\n  limits:\n    EVENTS: {max_bytes: 65536}\n",
			check: func(t *testing.T, c Config) {
				if got := c.Topology().Limits[topology.EventsStream].MaxBytes; got != 65536 {
					t.Errorf("EVENTS max_bytes = %d", got)
				}
			}},
		{name: "unknown stream", yaml: "storage:\n  limits:\n    evnets: {max_bytes: 1GiB}\n", wantErr: `no stream or bucket is called "evnets"`},
		{name: "bad size", yaml: "storage:\n  limits:\n    events: {max_bytes: 10 gigs}\n", wantErr: "e.g. 512MiB"},
		{name: "limits over max_store", yaml: "storage:\n  max_store: 1GiB\n", wantErr: "storage.max_store: 1GiB is less than"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var c Config
			err := yaml.Unmarshal([]byte(tc.yaml), &c)
			if err == nil {
				c.DataDir = t.TempDir()
				c.SetDefaults()
				err = c.Validate()
			}
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error = %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, c)
		})
	}
}

// startFullHub starts a hub whose store is full: New and WaitReady
// succeed, and the store check has run once.
func startFullHub(t *testing.T, cfg Config) *running {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	h, err := New(ctx, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		cancel()
		t.Fatalf("New on a full store: %v", err)
	}
	done := make(chan error, 1)
	runDone := make(chan struct{})
	go func() { done <- h.Run(ctx); close(runDone) }()
	var once sync.Once
	var runErr error
	stop := func() error { once.Do(func() { cancel(); runErr = <-done }); return runErr }
	t.Cleanup(func() { _ = stop() })
	wctx, wcancel := context.WithTimeout(ctx, 30*time.Second)
	defer wcancel()
	if err := h.WaitReady(wctx, runDone); err != nil {
		t.Fatalf("WaitReady on a full store: %v", err)
	}
	waitFor(t, 30*time.Second, "the first store check", func() error {
		var se *storecheck.Error
		if err := h.store.Ready(); errors.As(err, &se) && se.Reason == storecheck.NotChecked {
			return err
		}
		return nil
	})
	return &running{Hub: h, stop: stop}
}
