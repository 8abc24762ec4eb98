package main

import (
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/junctionhq/junction/adapters/sdk/sdktest"
	"github.com/junctionhq/junction/console"
)

// TestConsoleServed: `junction serve` and `junction gateway` serve the web
// console at / and its assets under /console/, to anyone, with the
// console's Content-Security-Policy, while the API beside it still needs a
// key. (The browser test, make test-console, drives the console itself.)
func TestConsoleServed(t *testing.T) {
	_, serveHTTP, _ := startServe(t, t.TempDir())

	hub := sdktest.NewHub(t)
	gwHTTP, gwGRPC := freeAddr(t), freeAddr(t)
	start(t, "gateway", "--nats-url", hub.URL, "--http-addr", gwHTTP, "--grpc-addr", gwGRPC, "--log-level", "warn",
		"--admin-key-file", filepath.Join(t.TempDir(), "admin.key"))
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get("http://" + gwHTTP + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("gateway not ready within 30s: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}

	tests := []struct {
		name       string
		path       string
		wantStatus int
		wantType   string
		wantBody   string
		wantCSP    bool
	}{
		{name: "page", path: "/", wantStatus: 200, wantType: "text/html; charset=utf-8", wantBody: `src="/console/app.js"`, wantCSP: true},
		{name: "script", path: "/console/app.js", wantStatus: 200, wantType: "text/javascript; charset=utf-8", wantCSP: true},
		{name: "style sheet", path: "/console/app.css", wantStatus: 200, wantType: "text/css; charset=utf-8", wantCSP: true},
		{name: "unknown asset", path: "/console/x.js", wantStatus: 404, wantCSP: true},
		{name: "API without a key", path: "/v1/routes", wantStatus: 401, wantBody: `"code":16`},
		{name: "dead letters without a key", path: "/v1/deadLetters", wantStatus: 401},
	}
	for server, addr := range map[string]string{"serve": serveHTTP, "gateway": gwHTTP} {
		for _, tc := range tests {
			t.Run(server+"/"+tc.name, func(t *testing.T) {
				resp, err := http.Get("http://" + addr + tc.path)
				if err != nil {
					t.Fatal(err)
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != tc.wantStatus {
					t.Fatalf("GET %s: status %d, want %d\n%s", tc.path, resp.StatusCode, tc.wantStatus, body)
				}
				if tc.wantType != "" && resp.Header.Get("Content-Type") != tc.wantType {
					t.Errorf("Content-Type = %q, want %q", resp.Header.Get("Content-Type"), tc.wantType)
				}
				if got := resp.Header.Get("Content-Security-Policy"); tc.wantCSP && got != console.CSP {
					t.Errorf("Content-Security-Policy = %q, want %q", got, console.CSP)
				}
				if tc.wantBody != "" && !strings.Contains(strings.ReplaceAll(string(body), " ", ""), strings.ReplaceAll(tc.wantBody, " ", "")) {
					t.Errorf("body lacks %s:\n%.300s", tc.wantBody, body)
				}
			})
		}
	}
}
