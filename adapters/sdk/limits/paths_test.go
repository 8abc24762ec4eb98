package limits

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestCanonicalPaths sends raw requests (so no client cleans the path) to a
// server of NewHTTPServer whose mux has /webhooks/ and /v1/: a path with
// '.', '..' or empty segments gets 400 and never a redirect to the cleaned
// path; canonical paths reach their handler.
func TestCanonicalPaths(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("/webhooks/", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprint(w, "webhook") })
	mux.HandleFunc("/v1/", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprint(w, "api") })
	srv := httptest.NewUnstartedServer(nil)
	srv.Config = NewHTTPServer(Config{}, mux, nil)
	srv.Start()
	defer srv.Close()

	for _, tt := range []struct {
		path string
		want int
		body string
	}{
		{"/webhooks/acme", 200, "webhook"},
		{"/v1/routes", 200, "api"},
		{"/v1/routes/", 200, "api"},
		{"/webhooks/../v1/routes", 400, "empty segments"},
		{"/webhooks/./acme", 400, "empty segments"},
		{"/webhooks//acme", 400, "empty segments"},
		{"/webhooks/%2e%2e/v1/routes", 400, "empty segments"},
	} {
		t.Run(tt.path, func(t *testing.T) {
			c, err := net.Dial("tcp", srv.Listener.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n", tt.path)
			resp, err := http.ReadResponse(bufio.NewReader(c), nil)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tt.want || !strings.Contains(string(b), tt.body) {
				t.Errorf("GET %s = %d %q (Location %q), want %d containing %q", tt.path, resp.StatusCode, b, resp.Header.Get("Location"), tt.want, tt.body)
			}
		})
	}
}
