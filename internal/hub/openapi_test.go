package hub

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi2"
	"github.com/getkin/kin-openapi/openapi2conv"
	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
	"google.golang.org/grpc/codes"

	"github.com/junctionhq/junction/adapters/sdk/rpcstatus"
)

// openAPIClient calls a running hub over HTTP and checks every request and
// every answer against the OpenAPI document the hub serves (converted to
// OpenAPI 3), recording which of the document's operations were called.
type openAPIClient struct {
	t      *testing.T
	base   string // http://host:port
	key    string
	doc    *openapi3.T
	router routers.Router
	called map[string]int // operation id: calls
}

// loadServedOpenAPI fetches /openapi.json from the hub, converts it from
// Swagger 2.0 to OpenAPI 3 and validates it.
func loadServedOpenAPI(t *testing.T, h *running) *openAPIClient {
	t.Helper()
	base := "http://" + h.Addrs().HTTP
	resp, err := http.Get(base + "/openapi.json")
	if err != nil {
		t.Fatalf("GET /openapi.json: %v", err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /openapi.json = %d %s, want 200", resp.StatusCode, raw)
	}
	var doc2 openapi2.T
	if err := json.Unmarshal(raw, &doc2); err != nil {
		t.Fatalf("the served document is not Swagger 2.0: %v", err)
	}
	doc, err := openapi2conv.ToV3(&doc2)
	if err != nil {
		t.Fatalf("convert to OpenAPI 3: %v", err)
	}
	// The document names no host: requests go to this hub.
	doc.Servers = openapi3.Servers{{URL: base}}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("the served document, converted to OpenAPI 3, is invalid: %v", err)
	}
	router, err := gorillamux.NewRouter(doc)
	if err != nil {
		t.Fatalf("route the document's paths: %v", err)
	}
	return &openAPIClient{t: t, base: base, key: h.adminKey(t), doc: doc, router: router, called: map[string]int{}}
}

// operations returns the id of every operation in the document.
func (c *openAPIClient) operations() []string {
	var ids []string
	for path, item := range c.doc.Paths.Map() {
		for method, op := range item.Operations() {
			id := op.OperationID
			if id == "" {
				id = method + " " + path
			}
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	return ids
}

// authenticate is the document's security scheme Bearer: an API key in
// Authorization. The hub checks the key itself; this checks the request
// carries one where the document says it must.
func authenticate(_ context.Context, in *openapi3filter.AuthenticationInput) error {
	if in.SecuritySchemeName != "Bearer" {
		return fmt.Errorf("unknown security scheme %q", in.SecuritySchemeName)
	}
	if !strings.HasPrefix(in.RequestValidationInput.Request.Header.Get("Authorization"), "Bearer ") {
		return fmt.Errorf("no Authorization: Bearer <key>")
	}
	return nil
}

// call sends method path with body (JSON-encoded unless []byte; nil for
// none) and header, the admin key unless header sets Authorization.
// Request and answer must match the document; the answer must have
// wantStatus. It returns the answer's body.
func (c *openAPIClient) call(method, path string, body any, header http.Header, wantStatus int) []byte {
	c.t.Helper()
	var data []byte
	switch b := body.(type) {
	case nil:
	case []byte:
		data = b
	default:
		var err error
		if data, err = json.Marshal(b); err != nil {
			c.t.Fatal(err)
		}
	}
	newReq := func() *http.Request {
		var r io.Reader
		if data != nil {
			r = bytes.NewReader(data)
		}
		req, err := http.NewRequest(method, c.base+path, r)
		if err != nil {
			c.t.Fatal(err)
		}
		if data != nil {
			req.Header.Set("Content-Type", "application/json")
		}
		req.Header.Set("Authorization", "Bearer "+c.key)
		for k, v := range header {
			req.Header[k] = v
		}
		return req
	}
	req := newReq()
	route, params, err := c.router.FindRoute(req)
	if err != nil {
		c.t.Fatalf("%s %s: no operation of the document matches: %v", method, path, err)
	}
	opts := &openapi3filter.Options{AuthenticationFunc: authenticate, IncludeResponseStatus: true, MultiError: true}
	in := &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route, Options: opts}
	if err := openapi3filter.ValidateRequest(context.Background(), in); err != nil {
		c.t.Errorf("%s %s (%s): the request does not match the document: %v", method, path, route.Operation.OperationID, err)
	}
	resp, err := http.DefaultClient.Do(newReq()) // validation read the body
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	got, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	c.called[route.Operation.OperationID]++
	if resp.StatusCode != wantStatus {
		c.t.Fatalf("%s %s (%s) = %d %s, want %d", method, path, route.Operation.OperationID, resp.StatusCode, got, wantStatus)
	}
	out := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: resp.StatusCode,
		Header: resp.Header, Body: io.NopCloser(bytes.NewReader(got)), Options: opts}
	if err := openapi3filter.ValidateResponse(context.Background(), out); err != nil {
		c.t.Errorf("%s %s (%s) answered %d %s, which does not match the document: %v", method, path, route.Operation.OperationID, resp.StatusCode, got, err)
	}
	if resp.StatusCode >= 400 {
		if _, err := rpcstatus.Parse(got); err != nil {
			c.t.Errorf("%s %s: %v", method, path, err)
		}
	}
	return got
}

// decode unmarshals an answer into a map.
func decode(t *testing.T, b []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("answer %s is not a JSON object: %v", b, err)
	}
	return m
}

// webhookHeaders returns the headers of body signed as a Standard Webhook
// of source acme (testConfig's secret).
func webhookHeaders(t *testing.T, id string, body []byte) http.Header {
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
	h := http.Header{}
	h.Set("webhook-id", id)
	h.Set("webhook-timestamp", fmt.Sprint(now.Unix()))
	h.Set("webhook-signature", sig)
	return h
}

// TestOpenAPIMatchesServer loads the OpenAPI document a real hub serves,
// validates it (converted to OpenAPI 3), and calls every operation in it
// against the hub — REST, webhooks, health, metrics — checking each request
// and each answer (errors included) against the document. An operation
// the document has and this test does not call fails the test: a new RPC
// needs a call here.
func TestOpenAPIMatchesServer(t *testing.T) {
	h := startHub(t, testConfig(t.TempDir()))
	c := loadServedOpenAPI(t, h)

	// A destination that refuses every delivery for good (400): its
	// deliveries are dead letters after one attempt.
	refusing := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, `{"error":"refused by the test"}`, http.StatusBadRequest)
	}))
	t.Cleanup(refusing.Close)

	// The document itself, health and metrics.
	c.call(http.MethodGet, "/openapi.json", nil, nil, http.StatusOK)
	c.call(http.MethodGet, "/healthz", nil, nil, http.StatusOK)
	c.call(http.MethodGet, "/readyz", nil, nil, http.StatusOK)
	c.call(http.MethodGet, "/metrics", nil, nil, http.StatusOK)

	// Routes.
	route := map[string]any{
		"description": "refused deliveries",
		"filter":      "acme.user.created",
		"targets":     []any{map[string]any{"name": "refusing", "destination": "webhook", "config": map[string]string{"url": refusing.URL}}},
		"policy":      map[string]any{"max_attempts": 1},
	}
	created := decode(t, c.call(http.MethodPost, "/v1/routes?route_id=refuse", route, nil, http.StatusOK))
	if created["name"] != "routes/refuse" {
		t.Fatalf("created route %v, want name routes/refuse", created)
	}
	c.call(http.MethodPost, "/v1/routes?route_id=refuse", route, nil, http.StatusConflict)
	c.call(http.MethodPost, "/v1/routes?route_id=bad", map[string]any{"filter": "a..b", "targets": route["targets"]}, nil, http.StatusBadRequest)
	c.call(http.MethodGet, "/v1/routes", nil, nil, http.StatusOK)
	c.call(http.MethodGet, "/v1/routes?page_size=1", nil, nil, http.StatusOK)
	c.call(http.MethodGet, "/v1/routes/refuse", nil, nil, http.StatusOK)
	c.call(http.MethodGet, "/v1/routes/missing", nil, nil, http.StatusNotFound)
	// A PATCH carries only what changes: no filter, no targets.
	patched := decode(t, c.call(http.MethodPatch, "/v1/routes/refuse?update_mask=description", map[string]any{"description": "changed"}, nil, http.StatusOK))
	if patched["description"] != "changed" || patched["filter"] != "acme.user.created" {
		t.Errorf("patched route %v, want the new description and the old filter", patched)
	}
	enabled := decode(t, c.call(http.MethodPatch, "/v1/routes/refuse", map[string]any{"enabled": true}, nil, http.StatusOK))
	h.routeApplied(t, revisionOf(t, enabled["revision"]))
	c.call(http.MethodPost, "/v1/routes:test", map[string]any{
		"name":  "routes/refuse",
		"event": map[string]any{"source": "acme", "type": "user.created", "subject": "acme.user.created", "data": "e30="},
	}, nil, http.StatusOK)

	// A webhook, stored as an event whose delivery is refused.
	body := userCreated("free", "openapi@example.com")
	accepted := decode(t, c.call(http.MethodPost, "/webhooks/acme", body, webhookHeaders(t, "msg_openapi_1", body), http.StatusAccepted))
	c.call(http.MethodPost, "/webhooks/acme", body, webhookHeaders(t, "msg_openapi_1", body), http.StatusAccepted) // a duplicate
	bad := webhookHeaders(t, "msg_openapi_2", body)
	bad.Set("webhook-signature", "v1,AAAA")
	c.call(http.MethodPost, "/webhooks/acme", body, bad, http.StatusUnauthorized)
	c.call(http.MethodPost, "/webhooks/nosuchsource", body, nil, http.StatusNotFound)
	eventID, _ := accepted["id"].(string)
	if eventID == "" {
		t.Fatalf("webhook answer %v has no id", accepted)
	}

	// Events.
	c.call(http.MethodPost, "/v1/events", map[string]any{"source": "acme", "type": "note.added", "id": "n1", "data": "e30="}, nil, http.StatusOK)
	c.call(http.MethodPost, "/v1/events", map[string]any{"type": "note.added"}, nil, http.StatusBadRequest)
	c.call(http.MethodGet, "/v1/events/"+eventID+"?source=acme", nil, nil, http.StatusOK)
	c.call(http.MethodGet, "/v1/events/no-such-event", nil, nil, http.StatusNotFound)
	// Search, replay (a dry run) and tail (its refusal: a tail's 200 is a
	// stream without end, which TestTailOverSSE reads).
	c.call(http.MethodGet, "/v1/events?filter.source=acme&filter.subject_pattern=acme.>&page_size=1", nil, nil, http.StatusOK)
	c.call(http.MethodGet, "/v1/events?filter.condition=data.(", nil, nil, http.StatusBadRequest)
	since := time.Now().Add(-time.Hour).UTC().Format(time.RFC3339)
	c.call(http.MethodPost, "/v1/events:replay", map[string]any{"filter": map[string]any{"start_time": since, "source": "acme"}, "all_routes": true, "dry_run": true}, nil, http.StatusOK)
	c.call(http.MethodPost, "/v1/events:replay", map[string]any{"filter": map[string]any{"source": "acme"}, "all_routes": true}, nil, http.StatusBadRequest) // no start_time
	c.call(http.MethodGet, "/v1/events:tail?subject_pattern=acme..x", nil, nil, http.StatusBadRequest)

	// The delivery fails for good: a dead letter.
	var deadLetter string
	waitFor(t, 30*time.Second, "the refused delivery to be dead-lettered", func() error {
		list := decode(t, c.call(http.MethodGet, "/v1/deadLetters?filter.route_id=refuse", nil, nil, http.StatusOK))
		items, _ := list["dead_letters"].([]any)
		if len(items) == 0 {
			return fmt.Errorf("no dead letters yet: %v", list)
		}
		deadLetter, _ = items[0].(map[string]any)["name"].(string)
		return nil
	})
	c.call(http.MethodGet, "/v1/"+deadLetter, nil, nil, http.StatusOK)
	c.call(http.MethodGet, "/v1/deadLetters/999999", nil, nil, http.StatusNotFound)
	c.call(http.MethodGet, "/v1/events/"+eventID+"/deliveries?source=acme", nil, nil, http.StatusOK)
	c.call(http.MethodPost, "/v1/events/"+eventID+":resend", map[string]any{"source": "acme"}, nil, http.StatusOK)
	c.call(http.MethodPost, "/v1/deadLetters:redrive", map[string]any{"names": []string{deadLetter}}, nil, http.StatusOK)
	c.call(http.MethodPost, "/v1/deadLetters:purge", map[string]any{"all": true}, nil, http.StatusOK)
	c.call(http.MethodPost, "/v1/deadLetters:purge", map[string]any{}, nil, http.StatusBadRequest)

	// Adapters.
	c.call(http.MethodGet, "/v1/adapters", nil, nil, http.StatusOK)
	c.call(http.MethodGet, "/v1/adapters?app=webhook", nil, nil, http.StatusOK)

	// Keys.
	key := decode(t, c.call(http.MethodPost, "/v1/keys", map[string]any{"display_name": "reader", "scopes": []string{"routes:read"}}, nil, http.StatusOK))
	keyName, _ := key["key"].(map[string]any)["name"].(string)
	if !strings.HasPrefix(keyName, "keys/") {
		t.Fatalf("created key %v, want key.name keys/...", key)
	}
	readerSecret, _ := key["secret"].(string)
	c.call(http.MethodPost, "/v1/routes?route_id=not-allowed", route, http.Header{"Authorization": {"Bearer " + readerSecret}}, http.StatusForbidden)
	c.call(http.MethodPost, "/v1/keys", map[string]any{"scopes": []string{"no-such-scope"}}, nil, http.StatusBadRequest)
	c.call(http.MethodGet, "/v1/keys", nil, nil, http.StatusOK)
	c.call(http.MethodGet, "/v1/"+keyName, nil, nil, http.StatusOK)
	c.call(http.MethodPost, "/v1/"+keyName+":rotate", map[string]any{}, nil, http.StatusOK)
	c.call(http.MethodPost, "/v1/"+keyName+":revoke", map[string]any{}, nil, http.StatusOK)
	c.call(http.MethodGet, "/v1/keys/kaaaaaaaaaaaaaaaa", nil, nil, http.StatusNotFound)

	// With a key that is none.
	c.call(http.MethodGet, "/v1/routes", nil, http.Header{"Authorization": {"Bearer jk_not_a_key"}}, http.StatusUnauthorized)

	// Delete last.
	c.call(http.MethodDelete, "/v1/routes/refuse", nil, nil, http.StatusOK)
	c.call(http.MethodDelete, "/v1/routes/refuse", nil, nil, http.StatusNotFound)

	var missing []string
	for _, id := range c.operations() {
		if c.called[id] == 0 {
			missing = append(missing, id)
		}
	}
	if len(missing) > 0 {
		t.Errorf("operations of the served document this test never called: %s; add a call for each to TestOpenAPIMatchesServer", strings.Join(missing, ", "))
	}
	t.Logf("%d operations in the document, %d called and checked (%d calls)", len(c.operations()), len(c.operations())-len(missing), total(c.called))
}

func total(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

// revisionOf reads a route's revision from its JSON (protojson writes a
// uint64 as a string).
func revisionOf(t *testing.T, v any) uint64 {
	t.Helper()
	s, _ := v.(string)
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		t.Fatalf("revision %v is not a uint64 string: %v", v, err)
	}
	return n
}

// TestWrongMethodIs405: every path of the served document, called with a
// method no operation there has, answers 405 with Allow naming the
// document's methods (HEAD aside, which GET implies) and the error body.
func TestWrongMethodIs405(t *testing.T) {
	h := startHub(t, testConfig(t.TempDir()))
	c := loadServedOpenAPI(t, h)
	placeholder := regexp.MustCompile(`\{[^}]*\}`)
	paths := c.doc.Paths.InMatchingOrder()
	sort.Strings(paths)
	tried := 0
	for _, tmpl := range paths {
		concrete := placeholder.ReplaceAllString(tmpl, "x")
		if strings.HasPrefix(tmpl, "/webhooks/") {
			concrete = placeholder.ReplaceAllString(tmpl, "acme")
		}
		want := methodsOf(c.doc.Paths.Value(tmpl))
		// Methods no path that fits the request has: one that another
		// path has would reach that operation.
		taken := map[string]bool{}
		for _, other := range paths {
			re := regexp.MustCompile("^" + strings.Join(quoteAll(placeholder.Split(other, -1)), `[^/]+`) + "$")
			if re.MatchString(concrete) {
				for _, m := range methodsOf(c.doc.Paths.Value(other)) {
					taken[m] = true
				}
			}
		}
		for _, method := range []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete} {
			if taken[method] {
				continue
			}
			tried++
			t.Run(method+" "+tmpl, func(t *testing.T) {
				req, _ := http.NewRequest(method, c.base+concrete, strings.NewReader("{}"))
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("Authorization", "Bearer "+c.key)
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				var allow []string
				for _, m := range strings.Split(resp.Header.Get("Allow"), ",") {
					if m = strings.TrimSpace(m); m != "" && m != http.MethodHead {
						allow = append(allow, m)
					}
				}
				slices.Sort(allow)
				if resp.StatusCode != http.StatusMethodNotAllowed || !slices.Equal(allow, want) {
					t.Fatalf("%s %s = %d Allow %q %s, want 405 with Allow %v", method, concrete, resp.StatusCode, resp.Header.Get("Allow"), body, want)
				}
				st, err := rpcstatus.Parse(body)
				if err != nil || codes.Code(st.Code) != codes.Unimplemented || st.Message == "" {
					t.Errorf("body %s (%v), want the error body with code UNIMPLEMENTED and a message", body, err)
				}
			})
		}
	}
	if tried < len(paths) {
		t.Errorf("tried %d wrong methods over %d paths, want at least one per path", tried, len(paths))
	}
	t.Logf("%d wrong methods tried over %d paths", tried, len(paths))
}

func methodsOf(item *openapi3.PathItem) []string {
	var ms []string
	for m := range item.Operations() {
		ms = append(ms, strings.ToUpper(m))
	}
	slices.Sort(ms)
	return ms
}

func quoteAll(parts []string) []string {
	out := make([]string, len(parts))
	for i, p := range parts {
		out[i] = regexp.QuoteMeta(p)
	}
	return out
}

// TestErrorBodiesShareOneShape: every writer of an HTTP error on the hub's
// listener — REST (grpc-gateway), authentication, the browser guard, the
// webhook endpoints, the hub's own mux — answers google.rpc.Status as
// grpc-gateway writes it, with the gRPC code of the HTTP status.
func TestErrorBodiesShareOneShape(t *testing.T) {
	h := startHub(t, testConfig(t.TempDir()))
	base := "http://" + h.Addrs().HTTP
	key := h.adminKey(t)
	tests := []struct {
		name       string
		method     string
		path       string
		body       string
		header     map[string]string
		wantStatus int
		wantCode   codes.Code
	}{
		{name: "REST not found", method: "GET", path: "/v1/routes/missing", header: map[string]string{"Authorization": "Bearer " + key}, wantStatus: 404, wantCode: codes.NotFound},
		{name: "REST unknown path", method: "GET", path: "/v1/nothing-here", header: map[string]string{"Authorization": "Bearer " + key}, wantStatus: 404, wantCode: codes.NotFound},
		{name: "REST invalid", method: "POST", path: "/v1/routes?route_id=x", body: `{"filter":""}`, header: map[string]string{"Authorization": "Bearer " + key, "Content-Type": "application/json"}, wantStatus: 400, wantCode: codes.InvalidArgument},
		{name: "REST without a key", method: "GET", path: "/v1/routes", wantStatus: 401, wantCode: codes.Unauthenticated},
		{name: "REST wrong method", method: "PUT", path: "/v1/routes", body: "{}", header: map[string]string{"Authorization": "Bearer " + key, "Content-Type": "application/json"}, wantStatus: 405, wantCode: codes.Unimplemented},
		{name: "browser guard host", method: "GET", path: "/v1/routes", header: map[string]string{"Host-Override": "evil.example"}, wantStatus: 421, wantCode: codes.InvalidArgument},
		{name: "browser guard origin", method: "GET", path: "/v1/routes", header: map[string]string{"Origin": "https://evil.example"}, wantStatus: 403, wantCode: codes.PermissionDenied},
		{name: "browser guard content type", method: "POST", path: "/v1/routes", body: "x=1", header: map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, wantStatus: 415, wantCode: codes.InvalidArgument},
		{name: "webhook bad signature", method: "POST", path: "/webhooks/acme", body: `{"event":"x"}`, header: map[string]string{"Content-Type": "application/json", "webhook-id": "m1", "webhook-timestamp": fmt.Sprint(time.Now().Unix()), "webhook-signature": "v1,AAAA"}, wantStatus: 401, wantCode: codes.Unauthenticated},
		{name: "webhook unknown source", method: "POST", path: "/webhooks/nosuch", body: `{}`, header: map[string]string{"Content-Type": "application/json"}, wantStatus: 404, wantCode: codes.NotFound},
		{name: "webhook wrong method", method: "GET", path: "/webhooks/acme", wantStatus: 405, wantCode: codes.Unimplemented},
		{name: "webhook not JSON", method: "POST", path: "/webhooks/acme", body: "x", header: map[string]string{"Content-Type": "text/plain"}, wantStatus: 415, wantCode: codes.InvalidArgument},
		{name: "no endpoint", method: "GET", path: "/no-such-endpoint", wantStatus: 404, wantCode: codes.NotFound},
		{name: "health wrong method", method: "DELETE", path: "/healthz", wantStatus: 405, wantCode: codes.Unimplemented},
		{name: "metrics wrong method", method: "DELETE", path: "/metrics", wantStatus: 405, wantCode: codes.Unimplemented},
		{name: "document wrong method", method: "DELETE", path: "/openapi.json", wantStatus: 405, wantCode: codes.Unimplemented},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var body io.Reader
			if tt.body != "" {
				body = strings.NewReader(tt.body)
			}
			req, err := http.NewRequest(tt.method, base+tt.path, body)
			if err != nil {
				t.Fatal(err)
			}
			for k, v := range tt.header {
				if k == "Host-Override" {
					req.Host = v
					continue
				}
				req.Header.Set(k, v)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			got, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tt.wantStatus {
				t.Fatalf("%s %s = %d %s, want %d", tt.method, tt.path, resp.StatusCode, got, tt.wantStatus)
			}
			if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
				t.Errorf("Content-Type %q, want application/json", ct)
			}
			st, err := rpcstatus.Parse(got)
			if err != nil {
				t.Fatal(err)
			}
			if codes.Code(st.Code) != tt.wantCode || st.Message == "" {
				t.Errorf("body %s: code %s, want %s with a message", got, codes.Code(st.Code), tt.wantCode)
			}
		})
	}
}
