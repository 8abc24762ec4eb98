package apphook

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/junctionhq/junction/adapters/sdk"
	junctionv1 "github.com/junctionhq/junction/proto/junction/v1"
)

// TestStore: the answer follows what emit returned.
func TestStore(t *testing.T) {
	for _, tt := range []struct {
		name       string
		res        sdk.PublishResult
		err        error
		wantCode   int
		wantIn     string
		retryAfter string
	}{
		{"stored", sdk.PublishResult{Sequence: 7}, nil, http.StatusAccepted, `"id":"evt_1","duplicate":false,"sequence":7`, ""},
		{"retry", sdk.PublishResult{Duplicate: true, Sequence: 7}, nil, http.StatusAccepted, `"duplicate":true`, ""},
		{"invalid", sdk.PublishResult{}, fmt.Errorf("%w: type: bad", sdk.ErrInvalidEvent), http.StatusBadRequest, `"status":"INVALID_ARGUMENT"`, ""},
		{"unavailable", sdk.PublishResult{}, fmt.Errorf("%w: no stream", sdk.ErrUnavailable), http.StatusServiceUnavailable, "retry later", "5"},
		{"other", sdk.PublishResult{}, errors.New("boom"), http.StatusInternalServerError, "could not be stored", ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			emit := func(context.Context, *junctionv1.Event) (sdk.PublishResult, error) { return tt.res, tt.err }
			w := httptest.NewRecorder()
			Store(w, httptest.NewRequest(http.MethodPost, "/webhooks/x", nil), emit, &junctionv1.Event{Id: "evt_1", Source: "x"})
			if w.Code != tt.wantCode || !strings.Contains(w.Body.String(), tt.wantIn) || w.Header().Get("Retry-After") != tt.retryAfter {
				t.Errorf("answered %d %s (Retry-After %q), want %d containing %s (Retry-After %q)", w.Code, w.Body, w.Header().Get("Retry-After"), tt.wantCode, tt.wantIn, tt.retryAfter)
			}
			if !json.Valid(w.Body.Bytes()) {
				t.Errorf("answer %q is not JSON", w.Body)
			}
		})
	}
}

// TestReadBody: method, size and emptiness are checked.
func TestReadBody(t *testing.T) {
	for _, tt := range []struct {
		name, method, path, body string
		wantCode                 int
	}{
		{"ok", http.MethodPost, "/webhooks/x", "{}", 0},
		{"trailing slash", http.MethodPost, "/webhooks/x/", "{}", 0},
		{"another app's path", http.MethodPost, "/webhooks/y", "{}", http.StatusNotFound},
		{"below the app's path", http.MethodPost, "/webhooks/x/commands", "{}", http.StatusNotFound},
		{"get", http.MethodGet, "/webhooks/x", "", http.StatusMethodNotAllowed},
		{"empty", http.MethodPost, "/webhooks/x", "", http.StatusBadRequest},
		{"too large", http.MethodPost, "/webhooks/x", strings.Repeat("x", 11), http.StatusRequestEntityTooLarge},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(tt.method, tt.path, strings.NewReader(tt.body))
			r.ContentLength = -1 // as with a chunked request: the limit reader must catch it
			_, rej := ReadBody(httptest.NewRecorder(), r, "x", 10)
			got := 0
			if rej != nil {
				got = rej.Code
			}
			if got != tt.wantCode {
				t.Errorf("ReadBody rejected with %d (%v), want %d", got, rej, tt.wantCode)
			}
		})
	}
}

// TestSecrets: the default variable, files, and the previous secrets.
func TestSecrets(t *testing.T) {
	file := filepath.Join(t.TempDir(), "s")
	if err := os.WriteFile(file, []byte("  from-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("APPHOOK_DEFAULT", "from-default")
	t.Setenv("APPHOOK_OTHER", "from-env")
	got, err := ResolveSecrets(SecretRef{}, []SecretRef{{SecretFile: file}, {SecretEnv: "APPHOOK_OTHER"}}, "APPHOOK_DEFAULT")
	if err != nil || strings.Join(got, ",") != "from-default,from-file,from-env" {
		t.Errorf("ResolveSecrets = %q, %v; want the default, the file's and the variable's", got, err)
	}
	if err := ValidateSecrets(SecretRef{SecretEnv: "A", SecretFile: "b"}, []SecretRef{{}}); err == nil ||
		!strings.Contains(err.Error(), "adapter: set only one") || !strings.Contains(err.Error(), "adapter.previous[0]: set secret_env") {
		t.Errorf("ValidateSecrets = %v, want both problems named", err)
	}
}
