package webhook

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/testing/protocmp"

	"github.com/google/go-cmp/cmp"
	"github.com/junctionhq/junction/adapters/sdk"
	"github.com/junctionhq/junction/adapters/sdk/platform/topology"
	"github.com/junctionhq/junction/adapters/sdk/rpcstatus"
	"github.com/junctionhq/junction/adapters/sdk/sdktest"
	modelv1 "github.com/junctionhq/junction/proto/junction/model/v1"
	junctionv1 "github.com/junctionhq/junction/proto/junction/v1"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// inboundEnv is the adapter's webhook handler, emitting through a real
// Publisher into an embedded hub, served by a real HTTP server.
type inboundEnv struct {
	hub *sdktest.Hub
	url string
}

func newInboundEnv(t *testing.T) *inboundEnv {
	t.Helper()
	hub := sdktest.NewHub(t)
	pub, err := sdk.NewPublisher(hub.JS)
	if err != nil {
		t.Fatalf("NewPublisher: %v", err)
	}
	a := newTestAdapter(t, testConfig())
	srv := httptest.NewServer(a.Webhook(pub.Publish))
	t.Cleanup(srv.Close)
	return &inboundEnv{hub: hub, url: srv.URL}
}

type request struct {
	method  string
	path    string
	body    string
	header  http.Header
	chunked bool // send without Content-Length
}

type response struct {
	code   int
	header http.Header
	body   []byte
}

func (env *inboundEnv) do(t *testing.T, r request) response {
	t.Helper()
	if r.method == "" {
		r.method = http.MethodPost
	}
	var body io.Reader = strings.NewReader(r.body)
	if r.chunked {
		body = io.MultiReader(body) // hides the length from net/http
	}
	req, err := http.NewRequest(r.method, env.url+r.path, body)
	if err != nil {
		t.Fatalf("NewRequest: %v", err)
	}
	for k, v := range r.header {
		req.Header[k] = v
	}
	if _, ok := req.Header["Content-Type"]; !ok {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", r.method, r.path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read response: %v", err)
	}
	return response{code: resp.StatusCode, header: resp.Header, body: b}
}

func TestInboundRejects(t *testing.T) {
	env := newInboundEnv(t)
	now := time.Now()
	good := `{"type":"user.created","data":{"id":"u1"}}`
	big := `{"kind":"lead.created","meta":{"id":"m1"},"pad":"` + strings.Repeat("x", 300) + `"}`

	tests := []struct {
		name       string
		req        request
		wantCode   int
		wantStatus string
		wantMsg    string
	}{
		{
			name:     "unknown source",
			req:      request{path: "/webhooks/nobody", body: good, header: standardHeaders(t, acmeSecret, "msg_1", now, good)},
			wantCode: 404, wantStatus: "NOT_FOUND", wantMsg: `no webhook source named "nobody"`,
		},
		{
			name:     "no source in path",
			req:      request{path: "/webhooks/", body: good},
			wantCode: 404, wantStatus: "NOT_FOUND", wantMsg: "POST to /webhooks/<source>",
		},
		{
			name:     "nested path",
			req:      request{path: "/webhooks/acme/extra", body: good},
			wantCode: 404, wantStatus: "NOT_FOUND", wantMsg: "no webhook endpoint",
		},
		{
			name:     "wrong method",
			req:      request{method: http.MethodGet, path: "/webhooks/acme"},
			wantCode: 405, wantStatus: "UNIMPLEMENTED", wantMsg: "send webhooks with POST",
		},
		{
			name:     "oversized with length",
			req:      request{path: "/webhooks/gamma", body: big, header: gammaHeaders(big)},
			wantCode: 413, wantStatus: "RESOURCE_EXHAUSTED", wantMsg: "larger than 256 bytes",
		},
		{
			name:     "oversized chunked",
			req:      request{path: "/webhooks/gamma", body: big, header: gammaHeaders(big), chunked: true},
			wantCode: 413, wantStatus: "RESOURCE_EXHAUSTED", wantMsg: "max_body_bytes",
		},
		{
			name:     "standard missing signature",
			req:      request{path: "/webhooks/acme", body: good, header: without(standardHeaders(t, acmeSecret, "msg_1", now, good), "webhook-signature")},
			wantCode: 400, wantStatus: "INVALID_ARGUMENT", wantMsg: "header webhook-signature is missing",
		},
		{
			name:     "standard missing timestamp",
			req:      request{path: "/webhooks/acme", body: good, header: without(standardHeaders(t, acmeSecret, "msg_1", now, good), "webhook-timestamp")},
			wantCode: 400, wantStatus: "INVALID_ARGUMENT", wantMsg: "header webhook-timestamp is missing",
		},
		{
			name:     "standard bad signature",
			req:      request{path: "/webhooks/acme", body: good, header: standardHeaders(t, outboundSecret, "msg_1", now, good)},
			wantCode: 401, wantStatus: "UNAUTHENTICATED", wantMsg: "webhook-signature does not match",
		},
		{
			name:     "standard body changed after signing",
			req:      request{path: "/webhooks/acme", body: good + " ", header: standardHeaders(t, acmeSecret, "msg_1", now, good)},
			wantCode: 401, wantStatus: "UNAUTHENTICATED", wantMsg: "webhook-signature does not match",
		},
		{
			name:     "standard stale timestamp",
			req:      request{path: "/webhooks/acme", body: good, header: standardHeaders(t, acmeSecret, "msg_1", now.Add(-10*time.Minute), good)},
			wantCode: 401, wantStatus: "UNAUTHENTICATED", wantMsg: "more than the 5m0s tolerance",
		},
		{
			name:     "standard future timestamp",
			req:      request{path: "/webhooks/acme", body: good, header: standardHeaders(t, acmeSecret, "msg_1", now.Add(10*time.Minute), good)},
			wantCode: 401, wantStatus: "UNAUTHENTICATED", wantMsg: "tolerance",
		},
		{
			name:     "standard timestamp not a number",
			req:      request{path: "/webhooks/acme", body: good, header: with(standardHeaders(t, acmeSecret, "msg_1", now, good), "webhook-timestamp", "yesterday")},
			wantCode: 400, wantStatus: "INVALID_ARGUMENT", wantMsg: "must be Unix seconds",
		},
		{
			name:     "hmac missing signature",
			req:      request{path: "/webhooks/beta", body: good, header: without(betaHeaders("b1", now, good), "X-Beta-Signature")},
			wantCode: 400, wantStatus: "INVALID_ARGUMENT", wantMsg: "header X-Beta-Signature is missing",
		},
		{
			name:     "hmac bad signature",
			req:      request{path: "/webhooks/beta", body: good, header: with(betaHeaders("b1", now, good), "X-Beta-Signature", hmacHex("wrong", good))},
			wantCode: 401, wantStatus: "UNAUTHENTICATED", wantMsg: "does not match",
		},
		{
			name:     "hmac signature not hex",
			req:      request{path: "/webhooks/beta", body: good, header: with(betaHeaders("b1", now, good), "X-Beta-Signature", "sha256=zz")},
			wantCode: 400, wantStatus: "INVALID_ARGUMENT", wantMsg: "must be the hex HMAC-SHA256",
		},
		{
			name:     "hmac missing timestamp",
			req:      request{path: "/webhooks/beta", body: good, header: without(betaHeaders("b1", now, good), "X-Beta-Timestamp")},
			wantCode: 400, wantStatus: "INVALID_ARGUMENT", wantMsg: "header X-Beta-Timestamp is missing",
		},
		{
			name:     "hmac stale timestamp",
			req:      request{path: "/webhooks/beta", body: good, header: betaHeaders("b1", now.Add(-time.Hour), good)},
			wantCode: 401, wantStatus: "UNAUTHENTICATED", wantMsg: "tolerance",
		},
		{
			name:     "hmac missing id header",
			req:      request{path: "/webhooks/beta", body: good, header: without(betaHeaders("b1", now, good), "X-Beta-Id")},
			wantCode: 400, wantStatus: "INVALID_ARGUMENT", wantMsg: "header X-Beta-Id is missing",
		},
		{
			name:     "malformed JSON",
			req:      request{path: "/webhooks/acme", body: `{"type":`, header: standardHeaders(t, acmeSecret, "msg_1", now, `{"type":`)},
			wantCode: 400, wantStatus: "INVALID_ARGUMENT", wantMsg: "body is not valid JSON",
		},
		{
			name:     "JSON array",
			req:      request{path: "/webhooks/acme", body: `[1]`, header: standardHeaders(t, acmeSecret, "msg_1", now, `[1]`)},
			wantCode: 400, wantStatus: "INVALID_ARGUMENT", wantMsg: "must be a JSON object, got an array",
		},
		{
			name:     "two JSON values",
			req:      request{path: "/webhooks/acme", body: `{"type":"a.b"} {}`, header: standardHeaders(t, acmeSecret, "msg_1", now, `{"type":"a.b"} {}`)},
			wantCode: 400, wantStatus: "INVALID_ARGUMENT", wantMsg: "more than one JSON value",
		},
		{
			name:     "stray closing brace after the object",
			req:      request{path: "/webhooks/acme", body: `{"type":"a.b"}}`, header: standardHeaders(t, acmeSecret, "msg_1", now, `{"type":"a.b"}}`)},
			wantCode: 400, wantStatus: "INVALID_ARGUMENT", wantMsg: "trailing data",
		},
		{
			name:     "bad configured time",
			req:      request{path: "/webhooks/beta", body: `{"type":"a.b","at":"noon"}`, header: betaHeaders("b1", now, `{"type":"a.b","at":"noon"}`)},
			wantCode: 400, wantStatus: "INVALID_ARGUMENT", wantMsg: `field "at" must be an RFC 3339 time or Unix seconds`,
		},
		{
			name:     "empty body",
			req:      request{path: "/webhooks/acme", body: ``, header: standardHeaders(t, acmeSecret, "msg_1", now, ``)},
			wantCode: 400, wantStatus: "INVALID_ARGUMENT", wantMsg: "body is empty",
		},
		{
			name:     "missing type",
			req:      request{path: "/webhooks/acme", body: `{"data":{}}`, header: standardHeaders(t, acmeSecret, "msg_1", now, `{"data":{}}`)},
			wantCode: 400, wantStatus: "INVALID_ARGUMENT", wantMsg: `no event type: set field "type" or "event"`,
		},
		{
			name:     "invalid type",
			req:      request{path: "/webhooks/acme", body: `{"type":"user created"}`, header: standardHeaders(t, acmeSecret, "msg_1", now, `{"type":"user created"}`)},
			wantCode: 400, wantStatus: "INVALID_ARGUMENT", wantMsg: "dot-separated words",
		},
		{
			name:     "type not a string",
			req:      request{path: "/webhooks/acme", body: `{"type":7}`, header: standardHeaders(t, acmeSecret, "msg_1", now, `{"type":7}`)},
			wantCode: 400, wantStatus: "INVALID_ARGUMENT", wantMsg: `field "type" must be a string`,
		},
		{
			name:     "configured id field missing",
			req:      request{path: "/webhooks/gamma", body: `{"kind":"lead.created"}`, header: gammaHeaders(`{"kind":"lead.created"}`)},
			wantCode: 400, wantStatus: "INVALID_ARGUMENT", wantMsg: `id_field "meta.id" is missing`,
		},
		{
			name:     "id rejected by the hub",
			req:      request{path: "/webhooks/acme", body: good, header: standardHeaders(t, acmeSecret, strings.Repeat("i", 300), now, good)},
			wantCode: 400, wantStatus: "INVALID_ARGUMENT", wantMsg: "id is 300 bytes",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := env.hub.StreamMsgs(t, topology.EventsStream)
			resp := env.do(t, tt.req)
			if resp.code != tt.wantCode {
				t.Fatalf("status = %d, want %d; body %s", resp.code, tt.wantCode, resp.body)
			}
			got := decodeError(t, resp.body)
			if got.Code != int(rpcstatus.CodeFor(tt.wantCode)) || got.Status != tt.wantStatus || !strings.Contains(got.Message, tt.wantMsg) {
				t.Errorf("error = %+v, want code %d, status %s, message containing %q", got, tt.wantCode, tt.wantStatus, tt.wantMsg)
			}
			if ct := resp.header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type = %q, want application/json", ct)
			}
			if tt.wantCode == 405 && resp.header.Get("Allow") != "POST" {
				t.Errorf("Allow = %q, want POST", resp.header.Get("Allow"))
			}
			if after := env.hub.StreamMsgs(t, topology.EventsStream); after != before {
				t.Errorf("EVENTS holds %d messages after the rejection, want %d (nothing published)", after, before)
			}
		})
	}
}

func without(h http.Header, key string) http.Header {
	h.Del(key)
	return h
}

func with(h http.Header, key, value string) http.Header {
	h.Set(key, value)
	return h
}

func TestInboundAccepts(t *testing.T) {
	env := newInboundEnv(t)
	now := time.Now()
	seedTime := time.Date(2026, 6, 20, 19, 8, 41, 0, time.UTC)
	lead := `{"kind":"lead.created","meta":{"id":4711},"created_at":"2026-01-02T03:04:05Z","data":{"contact_id":"c9","email":"kim@example.com","first_name":"Kim","phone":"+4912345","title":"CTO","company":{"name":"Initech"},"score":12}}`
	gammaUser := `{"kind":"user.created","meta":{"id":"g2"},"data":{"id":"u2"}}`
	tolerated := `{"type":"order.paid"}`

	tests := []struct {
		name string
		req  request
		want *junctionv1.Event // compared without receive_time and, when nil here, time
	}{
		{
			name: "standard-webhooks seed user.created maps to User",
			req:  request{path: "/webhooks/acme", body: seedPayload, header: standardHeaders(t, acmeSecret, "msg_seed_1", now, seedPayload)},
			want: &junctionv1.Event{
				Id: "msg_seed_1", Source: "acme", Type: "user.created", Subject: "usr_987654321",
				Time: timestamppb.New(seedTime), DataContentType: "application/json", Data: []byte(seedPayload), SpecVersion: "1.0",
				Model: &junctionv1.Event_User{User: &modelv1.User{
					Id: "usr_987654321", Email: "alex@example.com", FirstName: "Alex", LastName: "Rivera",
					Company: "Acme Corp", Plan: "enterprise",
				}},
			},
		},
		{
			name: "hmac with timestamp and id header",
			req:  request{path: "/webhooks/beta", body: `{"event":"invoice.paid","amount":5}`, header: betaHeaders("beta-evt-1", now, `{"event":"invoice.paid","amount":5}`)},
			want: &junctionv1.Event{
				Id: "beta-evt-1", Source: "beta", Type: "invoice.paid",
				DataContentType: "application/json", Data: []byte(`{"event":"invoice.paid","amount":5}`), SpecVersion: "1.0",
			},
		},
		{
			name: "hmac over body, id and type from configured fields, contact model",
			req:  request{path: "/webhooks/gamma", body: lead, header: gammaHeaders(lead)},
			want: &junctionv1.Event{
				Id: "4711", Source: "gamma", Type: "lead.created", Subject: "c9",
				Time: timestamppb.New(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)), DataContentType: "application/json", Data: []byte(lead), SpecVersion: "1.0",
				Model: &junctionv1.Event_Contact{Contact: &modelv1.Contact{
					Id: "c9", Email: "kim@example.com", FirstName: "Kim", Phone: "+4912345", Title: "CTO", Company: "Initech",
					Attributes: map[string]string{"score": "12"},
				}},
			},
		},
		{
			name: "model none overrides the user default",
			req:  request{path: "/webhooks/gamma", body: gammaUser, header: gammaHeaders(gammaUser)},
			want: &junctionv1.Event{
				Id: "g2", Source: "gamma", Type: "user.created",
				DataContentType: "application/json", Data: []byte(gammaUser), SpecVersion: "1.0",
			},
		},
		{
			name: "configured tolerance accepts an older signature",
			req:  request{path: "/webhooks/slow", body: tolerated, header: standardHeaders(t, acmeSecret, "msg_slow", now.Add(-30*time.Minute), tolerated)},
			want: &junctionv1.Event{
				Id: "msg_slow", Source: "slow", Type: "order.paid",
				DataContentType: "application/json", Data: []byte(tolerated), SpecVersion: "1.0",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := env.hub.StreamMsgs(t, topology.EventsStream)
			resp := env.do(t, tt.req)
			if resp.code != http.StatusAccepted {
				t.Fatalf("status = %d, want 202; body %s", resp.code, resp.body)
			}
			var acc Accepted
			if err := json.Unmarshal(resp.body, &acc); err != nil {
				t.Fatalf("response %s: %v", resp.body, err)
			}
			if acc.ID != tt.want.Id || acc.Duplicate || acc.Sequence != before+1 {
				t.Errorf("response = %+v, want id %q, duplicate false, sequence %d", acc, tt.want.Id, before+1)
			}
			got := storedEvent(t, env.hub, acc.Sequence)
			if got.GetReceiveTime() == nil {
				t.Errorf("receive_time not set")
			}
			got.ReceiveTime = nil
			if tt.want.Time == nil {
				if got.GetTime() == nil {
					t.Errorf("time not set")
				}
				got.Time = nil
			}
			if diff := cmp.Diff(tt.want, got, protocmp.Transform()); diff != "" {
				t.Errorf("stored event differs (-want +got):\n%s", diff)
			}
			if after := env.hub.StreamMsgs(t, topology.EventsStream); after != before+1 {
				t.Errorf("EVENTS holds %d messages, want %d", after, before+1)
			}
		})
	}
}

// storedEvent reads the event at seq from EVENTS.
func storedEvent(t *testing.T, hub *sdktest.Hub, seq uint64) *junctionv1.Event {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	s, err := hub.JS.Stream(ctx, topology.EventsStream)
	if err != nil {
		t.Fatalf("stream: %v", err)
	}
	raw, err := s.GetMsg(ctx, seq)
	if err != nil {
		t.Fatalf("get event %d: %v", seq, err)
	}
	e := &junctionv1.Event{}
	if err := proto.Unmarshal(raw.Data, e); err != nil {
		t.Fatalf("decode event %d: %v", seq, err)
	}
	return e
}

func TestInboundProviderRetryStoredOnce(t *testing.T) {
	env := newInboundEnv(t)
	body := `{"type":"user.updated","data":{"id":"u1"}}`
	var first Accepted
	for i, wantCode := range []int{http.StatusAccepted, http.StatusAccepted, http.StatusAccepted} {
		// A provider's retry: same webhook-id, re-signed with a new timestamp.
		resp := env.do(t, request{path: "/webhooks/acme", body: body, header: standardHeaders(t, acmeSecret, "msg_retry", time.Now().Add(time.Duration(i)*time.Second), body)})
		if resp.code != wantCode {
			t.Fatalf("attempt %d: status = %d, want %d; body %s", i+1, resp.code, wantCode, resp.body)
		}
		var acc Accepted
		if err := json.Unmarshal(resp.body, &acc); err != nil {
			t.Fatalf("attempt %d: response %s: %v", i+1, resp.body, err)
		}
		if i == 0 {
			first = acc
			continue
		}
		want := Accepted{ID: "msg_retry", Duplicate: true, Sequence: first.Sequence}
		if acc != want {
			t.Errorf("attempt %d: response = %+v, want %+v", i+1, acc, want)
		}
	}
	if got := env.hub.StreamMsgs(t, topology.EventsStream); got != 1 {
		t.Errorf("EVENTS holds %d messages, want 1", got)
	}
}

func TestInboundHubUnavailable(t *testing.T) {
	env := newInboundEnv(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	// Fill EVENTS: one message, then refuse new ones.
	body := `{"type":"user.created"}`
	if resp := env.do(t, request{path: "/webhooks/acme", body: body, header: standardHeaders(t, acmeSecret, "msg_a", time.Now(), body)}); resp.code != http.StatusAccepted {
		t.Fatalf("first event: status %d, body %s", resp.code, resp.body)
	}
	cfg := topology.Streams(topology.Options{})[0]
	cfg.MaxMsgs = 1
	cfg.Discard = jetstream.DiscardNew
	if _, err := env.hub.JS.UpdateStream(ctx, cfg); err != nil {
		t.Fatalf("update stream: %v", err)
	}

	resp := env.do(t, request{path: "/webhooks/acme", body: body, header: standardHeaders(t, acmeSecret, "msg_b", time.Now(), body)})
	if resp.code != http.StatusServiceUnavailable {
		t.Fatalf("status = %d, want 503; body %s", resp.code, resp.body)
	}
	if got := resp.header.Get("Retry-After"); got == "" {
		t.Errorf("Retry-After missing on 503")
	}
	if got := decodeError(t, resp.body); got.Status != "UNAVAILABLE" || !strings.Contains(got.Message, "retry later") {
		t.Errorf("error = %+v, want UNAVAILABLE saying to retry later", got)
	}
	if got := env.hub.StreamMsgs(t, topology.EventsStream); got != 1 {
		t.Errorf("EVENTS holds %d messages, want 1", got)
	}
	// The provider's retry succeeds once the hub can store again.
	cfg.MaxMsgs = -1
	if _, err := env.hub.JS.UpdateStream(ctx, cfg); err != nil {
		t.Fatalf("update stream: %v", err)
	}
	resp = env.do(t, request{path: "/webhooks/acme", body: body, header: standardHeaders(t, acmeSecret, "msg_b", time.Now(), body)})
	if resp.code != http.StatusAccepted {
		t.Fatalf("retry: status = %d, want 202; body %s", resp.code, resp.body)
	}
}

// TestInboundEmitErrors covers the answers to emit errors the hub does not
// produce on demand.
func TestInboundEmitErrors(t *testing.T) {
	a := newTestAdapter(t, testConfig())
	body := `{"type":"user.created"}`
	tests := []struct {
		name     string
		err      error
		wantCode int
	}{
		{"unavailable", sdk.ErrUnavailable, http.StatusServiceUnavailable},
		{"invalid", sdk.ErrInvalidEvent, http.StatusBadRequest},
		{"other", io.ErrUnexpectedEOF, http.StatusInternalServerError},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := a.Webhook(func(context.Context, *junctionv1.Event) (sdk.PublishResult, error) {
				return sdk.PublishResult{}, tt.err
			})
			req := httptest.NewRequest(http.MethodPost, "/webhooks/acme", bytes.NewBufferString(body))
			req.Header.Set("Content-Type", "application/json")
			for k, v := range standardHeaders(t, acmeSecret, "msg_e", time.Now(), body) {
				req.Header[k] = v
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != tt.wantCode {
				t.Errorf("status = %d, want %d; body %s", rec.Code, tt.wantCode, rec.Body)
			}
			if got := decodeError(t, rec.Body.Bytes()); got.Code != int(rpcstatus.CodeFor(tt.wantCode)) {
				t.Errorf("error code = %d, want %d", got.Code, rpcstatus.CodeFor(tt.wantCode))
			}
		})
	}
}
