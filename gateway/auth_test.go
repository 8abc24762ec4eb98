package gateway_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/emptypb"

	"github.com/junctionhq/junction/adapters/sdk/platform/topology"
	"github.com/junctionhq/junction/gateway"
	"github.com/junctionhq/junction/gateway/auth"
	junctionv1 "github.com/junctionhq/junction/proto/junction/v1"
	"github.com/junctionhq/junction/proto/junction/v1/junctionv1grpc"
)

// syncBuffer is a log sink safe for the gateway's goroutines.
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

// authEnv is an env whose gRPC server runs the auth interceptor, with an
// admin key and a log of refused calls.
type authEnv struct {
	*env
	admin string
	log   *syncBuffer
}

func newAuthEnv(t *testing.T, rl auth.RateLimit, o *auth.OIDC) *authEnv {
	t.Helper()
	log := &syncBuffer{}
	e := newEnvWith(t, func(s *gateway.Server) []grpc.ServerOption {
		return gateway.Auth{
			Authenticator: auth.NewAuthenticator(s.Keys(), o),
			Limiter:       auth.NewLimiter(rl, 0),
			Logger:        slog.New(slog.NewTextHandler(log, nil)),
		}.ServerOptions()
	})
	ae := &authEnv{env: e, log: log}
	ae.admin = ae.newKey(t, auth.ScopeAdmin)
	return ae
}

// newKey stores a key with scopes straight in the store and returns it.
func (e *authEnv) newKey(t *testing.T, scopes ...string) string {
	t.Helper()
	_, k, err := e.srv.Keys().Create(context.Background(), auth.NewKey{DisplayName: "test", Scopes: scopes})
	if err != nil {
		t.Fatalf("create key: %v", err)
	}
	return k.String()
}

// withKey returns ctx sending key as a bearer token.
func withKey(ctx context.Context, key string) context.Context {
	if key == "" {
		return ctx
	}
	return metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+key)
}

// restDo sends a REST request with an optional Authorization header and
// returns the response (body read into the returned bytes).
func (e *authEnv) restDo(t *testing.T, method, path, authz string, body any) (*http.Response, []byte) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		raw, _ := json.Marshal(body)
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, e.rest.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if authz != "" {
		req.Header.Set("Authorization", authz)
	}
	resp, err := e.rest.Client().Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return resp, raw
}

// restOperation is one REST route of the OpenAPI document.
type restOperation struct {
	method, path, fullMethod string
}

// restOperations lists every REST operation (under /v1/) of the OpenAPI
// document with a concrete path (each path parameter filled from its pattern).
func restOperations(t *testing.T) []restOperation {
	t.Helper()
	var doc struct {
		Paths map[string]map[string]struct {
			OperationID string `json:"operationId"`
			Parameters  []struct {
				Name    string `json:"name"`
				In      string `json:"in"`
				Pattern string `json:"pattern"`
			} `json:"parameters"`
		} `json:"paths"`
	}
	if err := json.Unmarshal(gateway.OpenAPI, &doc); err != nil {
		t.Fatalf("OpenAPI: %v", err)
	}
	var ops []restOperation
	for path, methods := range doc.Paths {
		if !strings.HasPrefix(path, "/v1/") {
			// Webhooks, health, metrics and the document itself
			// (gateway/openapi/http.swagger.json): no gRPC methods.
			continue
		}
		for method, op := range methods {
			concrete := path
			for _, p := range op.Parameters {
				if p.In == "path" {
					val := strings.ReplaceAll(p.Pattern, "[^/]+", "x")
					if val == "" {
						val = "x"
					}
					concrete = strings.ReplaceAll(concrete, "{"+p.Name+"}", val)
				}
			}
			svc, m, ok := strings.Cut(op.OperationID, "_")
			if !ok {
				t.Fatalf("operation %s %s: operationId %q is not Service_Method", method, path, op.OperationID)
			}
			ops = append(ops, restOperation{strings.ToUpper(method), concrete, "/junction.v1." + svc + "/" + m})
		}
	}
	sort.Slice(ops, func(i, j int) bool { return ops[i].fullMethod+ops[i].method < ops[j].fullMethod+ops[j].method })
	return ops
}

// TestEveryMethodHasAPolicy enumerates every method registered on the
// gateway's gRPC server and every REST operation of the OpenAPI document:
// each must be open by design or have a scope in MethodScopes, and every
// MethodScopes entry must name a registered method.
func TestEveryMethodHasAPolicy(t *testing.T) {
	e := newAuthEnv(t, auth.RateLimit{}, nil)
	registered := map[string]bool{}
	open, scoped := 0, 0
	for svc, info := range e.grpcSrv.GetServiceInfo() {
		for _, m := range info.Methods {
			full := "/" + svc + "/" + m.Name
			registered[full] = true
			_, has := gateway.MethodScopes[full]
			switch {
			case gateway.OpenMethod(full) && has:
				t.Errorf("%s is both open and scoped", full)
			case gateway.OpenMethod(full):
				open++
			case has:
				scoped++
			default:
				t.Errorf("%s is registered but has no policy: add it to gateway.MethodScopes", full)
			}
		}
	}
	for m := range gateway.MethodScopes {
		if !registered[m] {
			t.Errorf("MethodScopes names %s, which is not registered", m)
		}
	}
	ops := restOperations(t)
	for _, op := range ops {
		if _, ok := gateway.MethodScopes[op.fullMethod]; !ok {
			t.Errorf("REST %s %s (%s) has no policy", op.method, op.path, op.fullMethod)
		}
	}
	if scoped != len(gateway.MethodScopes) || len(ops) != scoped || open == 0 {
		t.Errorf("got %d scoped gRPC methods, %d REST operations, %d open methods; want %d scoped, as many REST operations, some open", scoped, len(ops), open, len(gateway.MethodScopes))
	}
	t.Logf("policy: %d scoped gRPC methods, %d REST operations, %d open methods (health, reflection)", scoped, len(ops), open)
}

// TestMethodScopeMatrix calls every scoped method four ways: with no
// credentials (Unauthenticated), with a key lacking the scope
// (PermissionDenied naming it), with exactly that scope and with admin
// (both let through: any code but those two).
func TestMethodScopeMatrix(t *testing.T) {
	e := newAuthEnv(t, auth.RateLimit{RPS: -1}, nil)
	ctx := testCtx(t)
	other := e.newKey(t, auth.ScopeMetricsRead)
	otherID := auth.IDOf(other)
	methods := make([]string, 0, len(gateway.MethodScopes))
	for m := range gateway.MethodScopes {
		methods = append(methods, m)
	}
	sort.Strings(methods)
	tried, refused, allowed := 0, 0, 0
	for _, m := range methods {
		need := gateway.MethodScopes[m]
		exact := e.newKey(t, need)
		t.Run(strings.TrimPrefix(m, "/junction.v1."), func(t *testing.T) {
			call := func(key string) error {
				tried++
				return e.conn.Invoke(withKey(ctx, key), m, &emptypb.Empty{}, &emptypb.Empty{})
			}
			err := call("")
			wantCode(t, err, codes.Unauthenticated, need)
			refused++
			err = call(other)
			wantCode(t, err, codes.PermissionDenied, "needs scope "+need, "key "+otherID, auth.ScopeMetricsRead)
			refused++
			for name, key := range map[string]string{"exact scope": exact, "admin": e.admin} {
				c := status.Code(call(key))
				if c == codes.Unauthenticated || c == codes.PermissionDenied {
					t.Errorf("%s key: got %s, want the call let through", name, c)
					continue
				}
				allowed++
			}
		})
	}
	t.Logf("method matrix: %d cases tried, %d refused as intended, %d allowed as intended", tried, refused, allowed)
	if !strings.Contains(e.log.String(), "call refused") || strings.Contains(e.log.String(), strings.SplitN(other, "_", 3)[2]) {
		t.Errorf("refusal log: want warnings without the key's secret, got:\n%s", e.log.String())
	}
}

// TestUnlistedMethodDenied registers a service the policy does not name:
// even an admin key is refused.
func TestUnlistedMethodDenied(t *testing.T) {
	e := newAuthEnv(t, auth.RateLimit{}, nil)
	a := gateway.Auth{Authenticator: auth.NewAuthenticator(e.srv.Keys(), nil), Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	g := grpc.NewServer(a.ServerOptions()...)
	g.RegisterService(&grpc.ServiceDesc{
		ServiceName: "test.Unlisted",
		HandlerType: (*any)(nil),
		Methods: []grpc.MethodDesc{{MethodName: "Call", Handler: func(_ any, ctx context.Context, dec func(any) error, in grpc.UnaryServerInterceptor) (any, error) {
			req := &emptypb.Empty{}
			if err := dec(req); err != nil {
				return nil, err
			}
			h := func(context.Context, any) (any, error) { return &emptypb.Empty{}, nil }
			return in(ctx, req, &grpc.UnaryServerInfo{FullMethod: "/test.Unlisted/Call"}, h)
		}}},
	}, struct{}{})
	lis := listen(t)
	go func() { _ = g.Serve(lis) }()
	t.Cleanup(g.Stop)
	conn := dial(t, lis.Addr().String())
	err := conn.Invoke(withKey(testCtx(t), e.admin), "/test.Unlisted/Call", &emptypb.Empty{}, &emptypb.Empty{})
	wantCode(t, err, codes.PermissionDenied, "no access policy")
}

// TestRESTAnonymousRefused sends every REST operation without credentials
// and with a malformed one: 401 with WWW-Authenticate, never reaching the
// handler.
func TestRESTAnonymousRefused(t *testing.T) {
	e := newAuthEnv(t, auth.RateLimit{RPS: -1}, nil)
	n := 0
	for _, op := range restOperations(t) {
		for _, authz := range []string{"", "Bearer jnk_nope", "Basic dXNlcjpwYXNz"} {
			var body any
			if op.method != http.MethodGet && op.method != http.MethodDelete {
				body = map[string]any{}
			}
			resp, raw := e.restDo(t, op.method, op.path, authz, body)
			n++
			if resp.StatusCode != http.StatusUnauthorized || resp.Header.Get("WWW-Authenticate") == "" {
				t.Errorf("%s %s with %q: got %d %s (WWW-Authenticate %q), want 401 with WWW-Authenticate", op.method, op.path, authz, resp.StatusCode, raw, resp.Header.Get("WWW-Authenticate"))
			}
		}
	}
	t.Logf("REST: %d anonymous or malformed requests, all 401", n)
	resp, raw := e.restDo(t, http.MethodGet, "/v1/routes", "Bearer "+e.admin, nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /v1/routes with the admin key: got %d %s, want 200", resp.StatusCode, raw)
	}
	req, _ := http.NewRequest(http.MethodGet, e.rest.URL+"/v1/routes", nil)
	req.Header.Set("X-Api-Key", e.admin)
	xr, err := e.rest.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	xr.Body.Close()
	if xr.StatusCode != http.StatusOK {
		t.Errorf("GET /v1/routes with X-Api-Key: got %d, want 200", xr.StatusCode)
	}
	reader := e.newKey(t, auth.ScopeRoutesRead)
	resp, raw = e.restDo(t, http.MethodPost, "/v1/routes?route_id=x", "Bearer "+reader, map[string]any{"filter": "a.b"})
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(string(raw), "needs scope routes:write") || !strings.Contains(string(raw), "has routes:read") {
		t.Errorf("POST /v1/routes with routes:read: got %d %s, want 403 naming routes:write and routes:read", resp.StatusCode, raw)
	}
}

// TestKeyLifecycle drives KeyService: create, use, rotate (old secret
// fails, new works), revoke (refused). Secrets show only in create and
// rotate answers.
func TestKeyLifecycle(t *testing.T) {
	e := newAuthEnv(t, auth.RateLimit{RPS: -1}, nil)
	ctx := testCtx(t)
	admin := withKey(ctx, e.admin)
	keys := junctionv1grpc.NewKeyServiceClient(e.conn)

	_, err := keys.CreateKey(admin, &junctionv1.CreateKeyRequest{Key: &junctionv1.Key{Scopes: []string{"routes:all"}}})
	wantCode(t, err, codes.InvalidArgument, "unknown scope", "routes:read")

	created, err := keys.CreateKey(admin, &junctionv1.CreateKeyRequest{Key: &junctionv1.Key{DisplayName: "ci", Scopes: []string{auth.ScopeRoutesRead}}})
	if err != nil {
		t.Fatalf("CreateKey: %v", err)
	}
	first := created.GetSecret()
	if !strings.HasPrefix(first, auth.KeyPrefix) || created.GetKey().GetName() != "keys/"+auth.IDOf(first) {
		t.Fatalf("CreateKey: got secret of form %q… and name %q, want jnk_<id>_… matching", first[:4], created.GetKey().GetName())
	}
	if _, err := e.routes.ListRoutes(withKey(ctx, first), &junctionv1.ListRoutesRequest{}); err != nil {
		t.Fatalf("ListRoutes with the new key: %v", err)
	}

	// Answers other than create and rotate never carry a secret.
	list, err := keys.ListKeys(admin, &junctionv1.ListKeysRequest{})
	if err != nil {
		t.Fatalf("ListKeys: %v", err)
	}
	got, err := keys.GetKey(admin, &junctionv1.GetKeyRequest{Name: created.GetKey().GetName()})
	if err != nil {
		t.Fatalf("GetKey: %v", err)
	}
	resp, raw := e.restDo(t, http.MethodGet, "/v1/keys", "Bearer "+e.admin, nil)
	secretOf := func(k string) string { return strings.SplitN(k, "_", 3)[2] }
	for name, text := range map[string]string{"ListKeys": list.String(), "GetKey": got.String(), "GET /v1/keys": string(raw)} {
		for _, k := range []string{first, e.admin} {
			if strings.Contains(text, secretOf(k)) {
				t.Errorf("%s answer holds a key secret", name)
			}
		}
	}
	if resp.StatusCode != http.StatusOK || len(list.GetKeys()) != 2 {
		t.Errorf("list: got %d over REST and %d keys, want 200 and 2 keys", resp.StatusCode, len(list.GetKeys()))
	}

	rotated, err := keys.RotateKey(admin, &junctionv1.RotateKeyRequest{Name: created.GetKey().GetName()})
	if err != nil {
		t.Fatalf("RotateKey: %v", err)
	}
	_, err = e.routes.ListRoutes(withKey(ctx, first), &junctionv1.ListRoutesRequest{})
	wantCode(t, err, codes.Unauthenticated, "invalid API key")
	if _, err := e.routes.ListRoutes(withKey(ctx, rotated.GetSecret()), &junctionv1.ListRoutesRequest{}); err != nil {
		t.Fatalf("ListRoutes with the rotated key: %v", err)
	}

	// Over REST too: rotate answers the new secret.
	resp, raw = e.restDo(t, http.MethodPost, "/v1/"+created.GetKey().GetName()+":rotate", "Bearer "+e.admin, map[string]any{})
	var rr struct{ Secret string }
	_ = json.Unmarshal(raw, &rr)
	if resp.StatusCode != http.StatusOK || auth.IDOf(rr.Secret) != auth.IDOf(first) {
		t.Fatalf("REST rotate: got %d %s, want 200 with a new secret of the same key", resp.StatusCode, raw)
	}

	if _, err := keys.RevokeKey(admin, &junctionv1.RevokeKeyRequest{Name: created.GetKey().GetName()}); err != nil {
		t.Fatalf("RevokeKey: %v", err)
	}
	_, err = e.routes.ListRoutes(withKey(ctx, rr.Secret), &junctionv1.ListRoutesRequest{})
	wantCode(t, err, codes.Unauthenticated, "revoked")
	_, err = keys.RotateKey(admin, &junctionv1.RotateKeyRequest{Name: created.GetKey().GetName()})
	wantCode(t, err, codes.FailedPrecondition, "revoked")
	_, err = keys.GetKey(admin, &junctionv1.GetKeyRequest{Name: "keys/kaaaaaaaaaaaaaaaa"})
	wantCode(t, err, codes.NotFound)
	if strings.Contains(e.log.String(), secretOf(first)) {
		t.Error("the gateway log holds a key secret")
	}
}

// TestExpiredKeyRefused: a key whose stored expiry has passed is refused
// by the interceptor, over gRPC and REST.
func TestExpiredKeyRefused(t *testing.T) {
	e := newAuthEnv(t, auth.RateLimit{RPS: -1}, nil)
	ctx := testCtx(t)
	key := e.newKey(t, auth.ScopeRoutesRead)
	if _, err := e.routes.ListRoutes(withKey(ctx, key), &junctionv1.ListRoutesRequest{}); err != nil {
		t.Fatalf("before expiry: %v", err)
	}
	// Move the stored expiry into the past, as time passing would.
	kv, err := e.js.KeyValue(ctx, topology.KeysBucket)
	if err != nil {
		t.Fatal(err)
	}
	entry, err := kv.Get(ctx, auth.IDOf(key))
	if err != nil {
		t.Fatal(err)
	}
	var rec map[string]any
	if err := json.Unmarshal(entry.Value(), &rec); err != nil {
		t.Fatal(err)
	}
	rec["expire_time"] = time.Now().Add(-time.Minute).UTC().Format(time.RFC3339Nano)
	raw, _ := json.Marshal(rec)
	if _, err := kv.Put(ctx, auth.IDOf(key), raw); err != nil {
		t.Fatal(err)
	}
	_, err = e.routes.ListRoutes(withKey(ctx, key), &junctionv1.ListRoutesRequest{})
	wantCode(t, err, codes.Unauthenticated, "expired", auth.IDOf(key))
	resp, body := e.restDo(t, http.MethodGet, "/v1/routes", "Bearer "+key, nil)
	if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(string(body), "expired") {
		t.Errorf("REST with an expired key: got %d %s, want 401 saying expired", resp.StatusCode, body)
	}
}

// TestKeysAdminCannotEscalate: a key with keys:admin cannot create a key
// with a scope it lacks, nor rotate (and so take over) such a key; it can
// create keys within its own scopes and revoke others.
func TestKeysAdminCannotEscalate(t *testing.T) {
	e := newAuthEnv(t, auth.RateLimit{RPS: -1}, nil)
	ctx := withKey(testCtx(t), e.newKey(t, auth.ScopeKeysAdmin, auth.ScopeRoutesRead))
	keys := junctionv1grpc.NewKeyServiceClient(e.conn)
	_, err := keys.CreateKey(ctx, &junctionv1.CreateKeyRequest{Key: &junctionv1.Key{Scopes: []string{auth.ScopeAdmin}}})
	wantCode(t, err, codes.PermissionDenied, "scope admin")
	_, err = keys.CreateKey(ctx, &junctionv1.CreateKeyRequest{Key: &junctionv1.Key{Scopes: []string{auth.ScopeRoutesWrite}}})
	wantCode(t, err, codes.PermissionDenied, "scope routes:write")
	if _, err := keys.CreateKey(ctx, &junctionv1.CreateKeyRequest{Key: &junctionv1.Key{Scopes: []string{auth.ScopeRoutesRead}}}); err != nil {
		t.Fatalf("create a key within its own scopes: %v", err)
	}
	adminName := "keys/" + auth.IDOf(e.admin)
	_, err = keys.RotateKey(ctx, &junctionv1.RotateKeyRequest{Name: adminName})
	wantCode(t, err, codes.PermissionDenied, "scope admin")
	if _, err := e.routes.ListRoutes(withKey(testCtx(t), e.admin), &junctionv1.ListRoutesRequest{}); err != nil {
		t.Fatalf("the admin key after a refused rotate: %v", err)
	}
}

// TestRateLimit: past its burst a key gets ResourceExhausted over gRPC
// with a retry-after header, and 429 with Retry-After over REST; another
// key is not affected.
func TestRateLimit(t *testing.T) {
	// One token every 1000 s: the bucket never refills during the test.
	e := newAuthEnv(t, auth.RateLimit{RPS: 0.001, Burst: 2}, nil)
	ctx := testCtx(t)
	key := e.newKey(t, auth.ScopeRoutesRead)
	for i := range 2 {
		if _, err := e.routes.ListRoutes(withKey(ctx, key), &junctionv1.ListRoutesRequest{}); err != nil {
			t.Fatalf("call %d within the burst: %v", i+1, err)
		}
	}
	var hdr metadata.MD
	_, err := e.routes.ListRoutes(withKey(ctx, key), &junctionv1.ListRoutesRequest{}, grpc.Header(&hdr), grpc.Trailer(&hdr))
	wantCode(t, err, codes.ResourceExhausted, "rate limit", auth.IDOf(key))
	if v := hdr.Get("retry-after"); len(v) == 0 || v[0] == "0" {
		t.Errorf("gRPC: got retry-after %v, want a positive number of seconds", v)
	}
	resp, raw := e.restDo(t, http.MethodGet, "/v1/routes", "Bearer "+key, nil)
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" || resp.Header.Get("Retry-After") == "0" {
		t.Errorf("REST: got %d Retry-After %q (%s), want 429 with Retry-After", resp.StatusCode, resp.Header.Get("Retry-After"), raw)
	}
	if _, err := e.routes.ListRoutes(withKey(ctx, e.newKey(t, auth.ScopeRoutesRead)), &junctionv1.ListRoutesRequest{}); err != nil {
		t.Errorf("another key: %v, want its own bucket", err)
	}
}

func listen(t *testing.T) net.Listener {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	return lis
}

func dial(t *testing.T, addr string) *grpc.ClientConn {
	t.Helper()
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatalf("grpc client: %v", err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return conn
}
