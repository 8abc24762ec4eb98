package hookhttp_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/junctionhq/junction/adapters/internal/hookhttp"
	"github.com/junctionhq/junction/adapters/sdk"
	junctionv1 "github.com/junctionhq/junction/proto/junction/v1"
)

func TestReadBody(t *testing.T) {
	for _, tt := range []struct {
		name, method, contentType, body string
		wantOK                          bool
		wantCode                        int
	}{
		{name: "json", method: "POST", contentType: "application/json", body: `{}`, wantOK: true},
		{name: "json with charset", method: "POST", contentType: "application/json; charset=utf-8", body: `{}`, wantOK: true},
		{name: "no content type", method: "POST", body: `{}`, wantOK: true},
		{name: "at the limit", method: "POST", contentType: "application/json", body: strings.Repeat("x", 16), wantOK: true},
		{name: "over the limit", method: "POST", contentType: "application/json", body: strings.Repeat("x", 17), wantCode: http.StatusRequestEntityTooLarge},
		{name: "form", method: "POST", contentType: "application/x-www-form-urlencoded", body: `payload=%7B%7D`, wantCode: http.StatusUnsupportedMediaType},
		{name: "GET", method: "GET", wantCode: http.StatusMethodNotAllowed},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(tt.method, "/webhooks/x", strings.NewReader(tt.body))
			if tt.contentType != "" {
				r.Header.Set("Content-Type", tt.contentType)
			}
			w := httptest.NewRecorder()
			body, ok := hookhttp.ReadBody(w, r, 16)
			if ok != tt.wantOK {
				t.Fatalf("ReadBody ok = %v (answer %d %s), want %v", ok, w.Code, w.Body, tt.wantOK)
			}
			if ok && string(body) != tt.body {
				t.Errorf("body %q, want %q", body, tt.body)
			}
			if !ok && w.Code != tt.wantCode {
				t.Errorf("answered %d %s, want %d", w.Code, w.Body, tt.wantCode)
			}
		})
	}
}

func TestStore(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	for _, tt := range []struct {
		name     string
		err      error
		wantCode int
	}{
		{"stored", nil, http.StatusAccepted},
		{"invalid", errors.Join(sdk.ErrInvalidEvent, errors.New("id is empty")), http.StatusBadRequest},
		{"unavailable", sdk.ErrUnavailable, http.StatusServiceUnavailable},
		{"anything else", errors.New("boom"), http.StatusServiceUnavailable},
	} {
		t.Run(tt.name, func(t *testing.T) {
			emit := func(context.Context, *junctionv1.Event) (sdk.PublishResult, error) {
				return sdk.PublishResult{Sequence: 7}, tt.err
			}
			w := httptest.NewRecorder()
			hookhttp.Store(w, httptest.NewRequest("POST", "/", nil), log, emit, &junctionv1.Event{Id: "e1", Source: "x", Type: "a.b"})
			if w.Code != tt.wantCode {
				t.Fatalf("answered %d %s, want %d", w.Code, w.Body, tt.wantCode)
			}
			if tt.err == nil {
				var a hookhttp.Accepted
				if err := json.Unmarshal(w.Body.Bytes(), &a); err != nil || a.ID != "e1" || a.Sequence != 7 {
					t.Errorf("answer %s, want {\"id\":\"e1\",\"sequence\":7}", w.Body)
				}
			}
		})
	}
}

func TestSecrets(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "s")
	if err := os.WriteFile(file, []byte(" from-file \n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("HOOKHTTP_TEST_SECRET", "from-env")
	got, err := hookhttp.ResolveSecrets([]hookhttp.SecretRef{{Env: "HOOKHTTP_TEST_SECRET"}, {File: file}})
	if err != nil || len(got) != 2 || got[0] != "from-env" || got[1] != "from-file" {
		t.Errorf("ResolveSecrets = %q, %v; want [from-env from-file]", got, err)
	}
	if err := hookhttp.ValidateSecrets(nil); err == nil {
		t.Error("ValidateSecrets(nil) = nil, want an error")
	}
	if _, err := hookhttp.ResolveSecrets([]hookhttp.SecretRef{{Env: "HOOKHTTP_TEST_UNSET"}}); err == nil || strings.Contains(err.Error(), "from-env") {
		t.Errorf("ResolveSecrets of an unset variable = %v, want an error naming the variable only", err)
	}
}
