package gateway_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/junctionhq/junction/adapters/sdk/sdktest"
	"github.com/junctionhq/junction/gateway"
	junctionv1 "github.com/junctionhq/junction/proto/junction/v1"
	"github.com/junctionhq/junction/proto/junction/v1/junctionv1grpc"
)

// startHub runs an embedded nats-server with JetStream on a random loopback
// port, creates the hub's topology and returns a JetStream on it.
func startHub(t *testing.T) jetstream.JetStream {
	t.Helper()
	return sdktest.NewHub(t).JS
}

// env is a gateway served over gRPC on a random loopback port and over
// REST on an httptest server, with clients for both.
type env struct {
	js       jetstream.JetStream
	grpcAddr string
	conn     *grpc.ClientConn
	routes   junctionv1grpc.RouteServiceClient
	events   junctionv1grpc.EventServiceClient
	adapters junctionv1grpc.AdapterServiceClient
	rest     *httptest.Server
	srv      *gateway.Server
	grpcSrv  *grpc.Server
}

func newEnv(t *testing.T, opts ...grpc.ServerOption) *env {
	t.Helper()
	return newEnvWith(t, func(*gateway.Server) []grpc.ServerOption { return opts })
}

// newEnvWith is newEnv with server options made from the gateway, e.g. the
// auth interceptor over its key store.
func newEnvWith(t *testing.T, optsFor func(*gateway.Server) []grpc.ServerOption) *env {
	t.Helper()
	js := startHub(t)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	s, err := gateway.New(ctx, gateway.Config{JS: js, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Version: "test"})
	if err != nil {
		t.Fatalf("gateway.New: %v", err)
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	g := gateway.NewGRPCServer(s, optsFor(s)...)
	served := make(chan struct{})
	go func() {
		defer close(served)
		_ = g.Serve(lis)
	}()
	t.Cleanup(func() {
		g.Stop()
		<-served
	})

	h, err := gateway.RESTHandler(ctx, lis.Addr().String())
	if err != nil {
		t.Fatalf("RESTHandler: %v", err)
	}
	rest := httptest.NewServer(h)
	t.Cleanup(rest.Close)

	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatalf("grpc client: %v", err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return &env{
		js:       js,
		grpcAddr: lis.Addr().String(),
		conn:     conn,
		routes:   junctionv1grpc.NewRouteServiceClient(conn),
		events:   junctionv1grpc.NewEventServiceClient(conn),
		adapters: junctionv1grpc.NewAdapterServiceClient(conn),
		rest:     rest,
		srv:      s,
		grpcSrv:  g,
	}
}

func testCtx(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// wantCode fails the test unless err is a gRPC status with code want and
// a message containing every one of msgParts.
func wantCode(t *testing.T, err error, want codes.Code, msgParts ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want %s", want)
	}
	st := status.Convert(err)
	if st.Code() != want {
		t.Fatalf("got code %s (%q), want %s", st.Code(), st.Message(), want)
	}
	for _, p := range msgParts {
		if !strings.Contains(st.Message(), p) {
			t.Errorf("got message %q, want it to contain %q", st.Message(), p)
		}
	}
}

// do sends a REST request with a JSON body (nil for none) and returns the
// status and the decoded JSON response.
func (e *env) do(t *testing.T, method, path string, body any) (int, map[string]any) {
	t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			t.Fatalf("marshal body: %v", err)
		}
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, e.rest.URL+path, rd)
	if err != nil {
		t.Fatalf("new request: %v", err)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := e.rest.Client().Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read body: %v", err)
	}
	out := map[string]any{}
	if len(bytes.TrimSpace(raw)) > 0 {
		if err := json.Unmarshal(raw, &out); err != nil {
			t.Fatalf("%s %s: response is not a JSON object: %v: %s", method, path, err, raw)
		}
	}
	return resp.StatusCode, out
}

// webhookRoute is a valid route sending acme user events to a webhook.
func webhookRoute(condition string) *junctionv1.Route {
	return &junctionv1.Route{
		Description: "users to the CRM",
		Filter:      "acme.user.*",
		Condition:   condition,
		Targets: []*junctionv1.Target{{
			Destination: "webhook",
			Action:      "post",
			Transform:   `{"email": data.email, "kind": event.type}`,
			Config:      map[string]string{"url": "https://example.com/hook"},
		}},
	}
}
