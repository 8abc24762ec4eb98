package gateway

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestBrowserConfigValidate(t *testing.T) {
	err := BrowserConfig{
		AllowedHosts:       []string{"ok.example", "", "http://x/"},
		CORSAllowedOrigins: []string{"https://console.example.com", "console.example.com", "https://x.example/path"},
	}.Validate("api")
	for _, want := range []string{`api.allowed_hosts[1] ""`, `api.allowed_hosts[2] "http://x/"`, `api.cors_allowed_origins[1] "console.example.com"`, `api.cors_allowed_origins[2] "https://x.example/path"`} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Validate = %v, want it to contain %s", err, want)
		}
	}
	if strings.Contains(err.Error(), "ok.example") || strings.Contains(err.Error(), "[0]") {
		t.Errorf("Validate = %v, want the valid entries left out", err)
	}
}

func TestBrowserGuardHosts(t *testing.T) {
	ok := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusTeapot) })
	tests := []struct {
		name  string
		cfg   BrowserConfig
		host  string
		allow bool
	}{
		{"default localhost any port", BrowserConfig{}, "localhost:1234", true},
		{"default 127.0.0.1", BrowserConfig{}, "127.0.0.1:8080", true},
		{"default [::1]", BrowserConfig{}, "[::1]:8080", true},
		{"default LOCALHOST. (case, dot)", BrowserConfig{}, "LOCALHOST.:8080", true},
		{"listen host", BrowserConfig{}, "10.0.0.5:8080", true},
		{"default refuses others", BrowserConfig{}, "evil.example:8080", false},
		{"default refuses localhost.evil.example", BrowserConfig{}, "localhost.evil.example", false},
		{"empty Host", BrowserConfig{}, "", false},
		{"configured name", BrowserConfig{AllowedHosts: []string{"junction.internal"}}, "junction.internal:443", true},
		{"configured list drops the defaults", BrowserConfig{AllowedHosts: []string{"junction.internal"}}, "localhost:8080", false},
		{"configured host:port, right port", BrowserConfig{AllowedHosts: []string{"junction.internal:8443"}}, "junction.internal:8443", true},
		{"configured host:port, other port", BrowserConfig{AllowedHosts: []string{"junction.internal:8443"}}, "junction.internal:9000", false},
		{"wildcard", BrowserConfig{AllowedHosts: []string{"*"}}, "anything.example", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g, err := BrowserGuard(tt.cfg, "10.0.0.5:8080", ok)
			if err != nil {
				t.Fatal(err)
			}
			req := httptest.NewRequest(http.MethodGet, "/v1/routes", nil)
			req.Host = tt.host
			rec := httptest.NewRecorder()
			g.ServeHTTP(rec, req)
			if got := rec.Code == http.StatusTeapot; got != tt.allow {
				t.Errorf("Host %q: answered %d %s, want allowed=%v", tt.host, rec.Code, rec.Body, tt.allow)
			}
		})
	}
}

func TestSameOrigin(t *testing.T) {
	tests := []struct {
		origin, host string
		want         bool
	}{
		{"http://127.0.0.1:8080", "127.0.0.1:8080", true},
		{"http://example.com", "example.com:80", true},
		{"https://example.com", "example.com", true},
		{"https://example.com", "example.com:8443", false},
		{"http://127.0.0.1:3000", "127.0.0.1:8080", false},
		{"null", "127.0.0.1:8080", false},
		{"http://[::1]:8080", "[::1]:8080", true},
	}
	for _, tt := range tests {
		if got := sameOrigin(tt.origin, tt.host); got != tt.want {
			t.Errorf("sameOrigin(%q, %q) = %v, want %v", tt.origin, tt.host, got, tt.want)
		}
	}
}
