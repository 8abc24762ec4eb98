package hub

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"

	"github.com/junctionhq/junction/services/router"
)

// TestBrowserRequestsRefused sends the requests a web page open on an
// operator's machine can make to a loopback hub's REST API (bodies a
// browser sends without a CORS preflight, cross-origin and cross-site
// requests, a rebound Host) and checks that each is refused by the browser
// guard, the API's outermost layer (before authentication), in the API's
// error shape, and that no route was created, read from the routes bucket
// directly.
func TestBrowserRequestsRefused(t *testing.T) {
	cfg := testConfig(t.TempDir())
	cfg.API.CORSAllowedOrigins = []string{"https://console.example.com"}
	h := startHub(t, cfg)
	base := "http://" + h.Addrs().HTTP
	route := func(id string) string {
		return `{"filter":"acme.user.created","targets":[{"destination":"webhook","config":{"url":"https://attacker.example/` + id + `"}}]}`
	}
	var mp bytes.Buffer
	mw := multipart.NewWriter(&mp)
	_ = mw.WriteField("route", route("multipart"))
	_ = mw.Close()

	tests := []struct {
		name       string
		method     string
		body       string
		header     map[string]string
		host       string
		wantStatus int
		wantMsg    string
	}{
		{name: "text/plain body", method: "POST", body: route("text"), header: map[string]string{"Content-Type": "text/plain"}, wantStatus: 415, wantMsg: `content type "text/plain"`},
		{name: "text/plain with a charset", method: "POST", body: route("text2"), header: map[string]string{"Content-Type": "text/plain;charset=UTF-8"}, wantStatus: 415, wantMsg: "Content-Type: application/json"},
		{name: "form body", method: "POST", body: "route=" + route("form"), header: map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, wantStatus: 415, wantMsg: "application/x-www-form-urlencoded"},
		{name: "multipart body", method: "POST", body: mp.String(), header: map[string]string{"Content-Type": mw.FormDataContentType()}, wantStatus: 415, wantMsg: "multipart/form-data"},
		{name: "no Content-Type", method: "POST", body: route("none"), wantStatus: 415, wantMsg: `content type "none"`},
		{name: "json with another parameter", method: "POST", body: route("param"), header: map[string]string{"Content-Type": "application/json; boundary=x"}, wantStatus: 415, wantMsg: "content type"},
		{name: "cross-origin Origin", method: "POST", body: route("origin"), header: map[string]string{"Content-Type": "application/json", "Origin": "https://evil.example"}, wantStatus: 403, wantMsg: `cross-origin request from "https://evil.example"`},
		{name: "Origin null (sandboxed page)", method: "POST", body: route("null"), header: map[string]string{"Content-Type": "application/json", "Origin": "null"}, wantStatus: 403, wantMsg: "cross-origin"},
		{name: "Origin on another loopback port", method: "POST", body: route("port"), header: map[string]string{"Content-Type": "application/json", "Origin": "http://127.0.0.1:3000"}, wantStatus: 403, wantMsg: "cross-origin"},
		{name: "Sec-Fetch-Site cross-site", method: "POST", body: route("fetch"), header: map[string]string{"Content-Type": "application/json", "Sec-Fetch-Site": "cross-site"}, wantStatus: 403, wantMsg: "cross-site request refused"},
		{name: "cross-site GET reading routes", method: "GET", header: map[string]string{"Sec-Fetch-Site": "cross-site"}, wantStatus: 403, wantMsg: "cross-site"},
		{name: "rebinding Host evil.example", method: "POST", body: route("rebind"), header: map[string]string{"Content-Type": "application/json"}, host: "evil.example:" + port(h.Addrs().HTTP), wantStatus: 421, wantMsg: `host "evil.example:`},
		{name: "rebinding Host on a GET", method: "GET", host: "evil.example", wantStatus: 421, wantMsg: "api.allowed_hosts"},
		{name: "preflight from a foreign origin", method: "OPTIONS", header: map[string]string{"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"}, wantStatus: 403, wantMsg: "cross-origin"},
	}
	refused := 0
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var rd io.Reader
			if tt.body != "" {
				rd = strings.NewReader(tt.body)
			}
			req, err := http.NewRequest(tt.method, base+"/v1/routes?route_id=browser", rd)
			if err != nil {
				t.Fatal(err)
			}
			for k, v := range tt.header {
				req.Header.Set(k, v)
			}
			if tt.host != "" {
				req.Host = tt.host
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tt.wantStatus {
				t.Fatalf("%s: status %d (%s), want %d", tt.name, resp.StatusCode, b, tt.wantStatus)
			}
			var body struct {
				Code    *int              `json:"code"`
				Message string            `json:"message"`
				Details []json.RawMessage `json:"details"`
			}
			if err := json.Unmarshal(b, &body); err != nil || body.Code == nil || body.Details == nil {
				t.Fatalf("body %s is not the API's error shape {code, message, details}: %v", b, err)
			}
			if !strings.Contains(body.Message, tt.wantMsg) {
				t.Errorf("message %q, want it to contain %q", body.Message, tt.wantMsg)
			}
			if got := resp.Header.Get("Access-Control-Allow-Origin"); got != "" {
				t.Errorf("Access-Control-Allow-Origin = %q on a refused request, want none", got)
			}
			if !t.Failed() {
				refused++
			}
		})
	}

	store, err := router.NewStore(context.Background(), h.js)
	if err != nil {
		t.Fatal(err)
	}
	routes, err := store.List(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(routes) != 0 {
		t.Errorf("routes bucket holds %d routes after refused requests, want 0", len(routes))
	}
	t.Logf("browser guard: %d browser-style requests tried, %d refused as intended, routes created: %d", len(tests), refused, len(routes))
}

// TestBrowserAllowedRequestsPass checks that the guard lets through what
// it must: a same-origin request, an allowed CORS origin (with CORS
// headers and its preflight answered) and a JSON request with no Origin
// (the CLI, curl). They reach the API behind the guard, which answers
// them (whatever authentication then decides).
func TestBrowserAllowedRequestsPass(t *testing.T) {
	cfg := testConfig(t.TempDir())
	cfg.API.CORSAllowedOrigins = []string{"https://console.example.com"}
	h := startHub(t, cfg)
	base := "http://" + h.Addrs().HTTP
	guardWords := []string{"api.allowed_hosts", "cross-origin", "cross-site", "content type", "preflight refused"}
	tests := []struct {
		name       string
		method     string
		header     map[string]string
		body       string
		host       string
		wantStatus int    // 0: anything the API answers
		wantACAO   string // Access-Control-Allow-Origin
	}{
		{name: "curl-style GET", method: "GET"},
		{name: "host localhost", method: "GET", host: "localhost:" + port(h.Addrs().HTTP)},
		{name: "same-origin POST", method: "POST", body: `{}`, header: map[string]string{"Content-Type": "application/json; charset=utf-8", "Origin": base, "Sec-Fetch-Site": "same-origin"}},
		{name: "allowed origin", method: "GET", header: map[string]string{"Origin": "https://console.example.com", "Sec-Fetch-Site": "cross-site"}, wantACAO: "https://console.example.com"},
		{name: "allowed origin preflight", method: "OPTIONS", header: map[string]string{"Origin": "https://console.example.com", "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "authorization, content-type"}, wantStatus: 204, wantACAO: "https://console.example.com"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var rd io.Reader
			if tt.body != "" {
				rd = strings.NewReader(tt.body)
			}
			req, _ := http.NewRequest(tt.method, base+"/v1/routes", rd)
			for k, v := range tt.header {
				req.Header.Set(k, v)
			}
			if tt.host != "" {
				req.Host = tt.host
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			for _, w := range guardWords {
				if strings.Contains(string(b), w) {
					t.Errorf("%s: answered %d %s: refused by the browser guard, want it let through", tt.name, resp.StatusCode, b)
				}
			}
			if tt.wantStatus != 0 && resp.StatusCode != tt.wantStatus {
				t.Errorf("status = %d, want %d", resp.StatusCode, tt.wantStatus)
			}
			if got := resp.Header.Get("Access-Control-Allow-Origin"); got != tt.wantACAO {
				t.Errorf("Access-Control-Allow-Origin = %q, want %q", got, tt.wantACAO)
			}
		})
	}
}

func port(hostport string) string {
	i := strings.LastIndex(hostport, ":")
	return hostport[i+1:]
}
