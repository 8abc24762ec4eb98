package sdk_test

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/junctionhq/junction/adapters/sdk"
)

// countingConn counts the writes made on a client connection.
type countingConn struct {
	net.Conn
	writes *atomic.Int64
}

func (c countingConn) Write(p []byte) (int, error) {
	c.writes.Add(1)
	return c.Conn.Write(p)
}

// TestTraceTransportOneWrite: a small request body goes out with its
// headers in one write on the connection, through the traced transport as
// through a plain one (the traced transport's body wrapper made net/http
// flush the headers first: two writes, two system calls, per delivery).
// A body over the in-memory limit still arrives whole.
func TestTraceTransportOneWrite(t *testing.T) {
	var got atomic.Pointer[string]
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		s := string(b)
		got.Store(&s)
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()
	tests := []struct {
		name       string
		body       string
		wantWrites int64 // 0: not checked
	}{
		{name: "512 bytes", body: `{"seq":1,"pad":"` + strings.Repeat("x", 493) + `"}`, wantWrites: 1},
		{name: "empty", body: "", wantWrites: 1},
		{name: "over the in-memory limit", body: strings.Repeat("y", 100<<10)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var writes atomic.Int64
			base := &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
				c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
				if err != nil {
					return nil, err
				}
				return countingConn{Conn: c, writes: &writes}, nil
			}}
			defer base.CloseIdleConnections()
			client := &http.Client{Transport: sdk.TraceTransport(base)}
			req, err := http.NewRequest(http.MethodPost, srv.URL+"/hook?token=secret", bytes.NewReader([]byte(tc.body)))
			if err != nil {
				t.Fatal(err)
			}
			resp, err := client.Do(req)
			if err != nil {
				t.Fatalf("POST: %v", err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusNoContent {
				t.Errorf("status = %d, want 204", resp.StatusCode)
			}
			if p := got.Load(); p == nil || *p != tc.body {
				n := -1
				if p != nil {
					n = len(*p)
				}
				t.Errorf("server got %d bytes, want the %d sent", n, len(tc.body))
			}
			if w := writes.Load(); tc.wantWrites > 0 && w != tc.wantWrites {
				t.Errorf("request took %d writes on the connection, want %d (headers and body together)", w, tc.wantWrites)
			}
		})
	}
}
