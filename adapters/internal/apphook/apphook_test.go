package apphook

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"

	"github.com/junctionhq/junction/adapters/sdk"
	"github.com/junctionhq/junction/adapters/sdk/rpcstatus"
	"github.com/junctionhq/junction/adapters/sdk/verify"
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
		{"stored under the hub's id", sdk.PublishResult{Sequence: 7, Event: &junctionv1.Event{Id: "evt_hub"}}, nil, http.StatusAccepted, `"id":"evt_hub"`, ""},
		{"retry", sdk.PublishResult{Duplicate: true, Sequence: 7}, nil, http.StatusAccepted, `"duplicate":true`, ""},
		{"invalid", sdk.PublishResult{}, fmt.Errorf("%w: type: bad", sdk.ErrInvalidEvent), http.StatusBadRequest, `"code":3,`, ""},
		{"invalid, joined", sdk.PublishResult{}, errors.Join(sdk.ErrInvalidEvent, errors.New("id is empty")), http.StatusBadRequest, "id is empty", ""},
		{"unavailable", sdk.PublishResult{}, fmt.Errorf("%w: no stream", sdk.ErrUnavailable), http.StatusServiceUnavailable, "retry later", RetryAfterUnavailable},
		{"deadline", sdk.PublishResult{}, context.DeadlineExceeded, http.StatusServiceUnavailable, `"code":14,`, RetryAfterUnavailable},
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

// TestEmitRejection: the status of each kind of emit error.
func TestEmitRejection(t *testing.T) {
	for _, tt := range []struct {
		name string
		err  error
		want int
	}{
		{"invalid", fmt.Errorf("%w: too big", sdk.ErrInvalidEvent), http.StatusBadRequest},
		{"unavailable", fmt.Errorf("%w: no stream", sdk.ErrUnavailable), http.StatusServiceUnavailable},
		{"deadline", context.DeadlineExceeded, http.StatusServiceUnavailable},
		{"other", errors.New("odd"), http.StatusInternalServerError},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := EmitRejection("id1", tt.err); got.Code != tt.want {
				t.Errorf("EmitRejection(%v) = %d, want %d", tt.err, got.Code, tt.want)
			}
		})
	}
}

// TestRequestChecks: path, method, media type, size and emptiness are
// checked, each by its own step.
func TestRequestChecks(t *testing.T) {
	for _, tt := range []struct {
		name, method, path, contentType, body string
		wantCode                              int
	}{
		{name: "ok", method: http.MethodPost, path: "/webhooks/x", body: "{}"},
		{name: "json", method: http.MethodPost, path: "/webhooks/x", contentType: "application/json", body: "{}"},
		{name: "json with charset", method: http.MethodPost, path: "/webhooks/x", contentType: "application/json; charset=utf-8", body: "{}"},
		{name: "at the limit", method: http.MethodPost, path: "/webhooks/x", body: strings.Repeat("x", 10)},
		{name: "trailing slash", method: http.MethodPost, path: "/webhooks/x/", body: "{}"},
		{name: "another app's path", method: http.MethodPost, path: "/webhooks/y", body: "{}", wantCode: http.StatusNotFound},
		{name: "below the app's path", method: http.MethodPost, path: "/webhooks/x/commands", body: "{}", wantCode: http.StatusNotFound},
		{name: "get", method: http.MethodGet, path: "/webhooks/x", wantCode: http.StatusMethodNotAllowed},
		{name: "form", method: http.MethodPost, path: "/webhooks/x", contentType: "application/x-www-form-urlencoded", body: "payload=%7B%7D", wantCode: http.StatusUnsupportedMediaType},
		{name: "empty", method: http.MethodPost, path: "/webhooks/x", wantCode: http.StatusBadRequest},
		{name: "too large", method: http.MethodPost, path: "/webhooks/x", body: strings.Repeat("x", 11), wantCode: http.StatusRequestEntityTooLarge},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(tt.method, tt.path, strings.NewReader(tt.body))
			r.ContentLength = -1 // as with a chunked request: the limit reader must catch it
			if tt.contentType != "" {
				r.Header.Set("Content-Type", tt.contentType)
			}
			var body []byte
			rej := CheckPath(r, "x")
			if rej == nil {
				rej = CheckMethod(r)
			}
			if rej == nil {
				rej = CheckJSON(r)
			}
			if rej == nil {
				body, rej = ReadBody(httptest.NewRecorder(), r, 10)
			}
			got := 0
			if rej != nil {
				got = rej.Code
			}
			if got != tt.wantCode {
				t.Fatalf("rejected with %d (%v), want %d", got, rej, tt.wantCode)
			}
			if rej == nil && string(body) != tt.body {
				t.Errorf("body %q, want %q", body, tt.body)
			}
		})
	}
}

// TestAnswer: the JSON error shape and the headers of a 405 and a 503.
func TestAnswer(t *testing.T) {
	for _, tt := range []struct {
		name             string
		code             int
		header, wantHead string
		wantCode         codes.Code
	}{
		{"unauthenticated", http.StatusUnauthorized, "", "", codes.Unauthenticated},
		{"method", http.StatusMethodNotAllowed, "Allow", http.MethodPost, codes.Unimplemented},
		{"unavailable", http.StatusServiceUnavailable, "Retry-After", RetryAfterUnavailable, codes.Unavailable},
		{"teapot", http.StatusTeapot, "", "", codes.Unknown},
	} {
		t.Run(tt.name, func(t *testing.T) {
			w := httptest.NewRecorder()
			Reject(tt.code, "because %s", strings.Repeat("x", 2*MaxMessage)).Answer(w, httptest.NewRequest(http.MethodPost, "/", nil), "test")
			eb, err := rpcstatus.Parse(w.Body.Bytes())
			if err != nil {
				t.Fatalf("answer %q is not an error body: %v", w.Body, err)
			}
			if w.Code != tt.code || codes.Code(eb.Code) != tt.wantCode {
				t.Errorf("answered %d %+v, want %d with code %s", w.Code, eb, tt.code, tt.wantCode)
			}
			if len(eb.Message) > MaxMessage+40 || !strings.HasPrefix(eb.Message, "because x") {
				t.Errorf("message of %d bytes %.40q..., want the start, cut near %d bytes", len(eb.Message), eb.Message, MaxMessage)
			}
			if tt.header != "" && w.Header().Get(tt.header) != tt.wantHead {
				t.Errorf("%s: %q, want %q", tt.header, w.Header().Get(tt.header), tt.wantHead)
			}
		})
	}
}

// TestSecrets: the default variable, files, the previous secrets, and
// errors that name what to fix but never show a secret.
func TestSecrets(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "s")
	if err := os.WriteFile(file, []byte("  from-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("APPHOOK_DEFAULT", "from-default")
	t.Setenv("APPHOOK_OTHER", "from-env")
	t.Setenv("APPHOOK_EMPTY", "")
	for _, tt := range []struct {
		name     string
		current  SecretRef
		previous []SecretRef
		want     string // secrets joined by ","
		wantErr  string
	}{
		{name: "default", want: "from-default"},
		{name: "default and previous", previous: []SecretRef{{SecretFile: file}, {SecretEnv: "APPHOOK_OTHER"}}, want: "from-default,from-file,from-env"},
		{name: "env", current: SecretRef{SecretEnv: "APPHOOK_OTHER"}, want: "from-env"},
		{name: "file", current: SecretRef{SecretFile: file}, previous: []SecretRef{{SecretEnv: "APPHOOK_DEFAULT"}}, want: "from-file,from-default"},
		{name: "empty env", current: SecretRef{SecretEnv: "APPHOOK_EMPTY"}, wantErr: "adapter: environment variable APPHOOK_EMPTY"},
		{name: "unset previous", previous: []SecretRef{{SecretEnv: "APPHOOK_UNSET"}}, wantErr: "adapter.previous[0]: environment variable APPHOOK_UNSET"},
		{name: "missing file", current: SecretRef{SecretFile: filepath.Join(dir, "nope")}, wantErr: "adapter: read secret_file"},
		{name: "previous neither", previous: []SecretRef{{}}, wantErr: "adapter.previous[0]: set secret_env"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ResolveSecrets(tt.current, tt.previous, "APPHOOK_DEFAULT")
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ResolveSecrets error %v, want %q", err, tt.wantErr)
				}
				if strings.Contains(err.Error(), "from-") {
					t.Errorf("error %q shows a secret", err)
				}
				return
			}
			if err != nil || strings.Join(got, ",") != tt.want {
				t.Errorf("ResolveSecrets = %q, %v; want %s", got, err, tt.want)
			}
		})
	}
	if err := ValidateSecrets(SecretRef{SecretEnv: "A", SecretFile: "b"}, []SecretRef{{}, {SecretEnv: "C", SecretFile: "d"}}); err == nil ||
		!strings.Contains(err.Error(), "adapter: set only one") || !strings.Contains(err.Error(), "adapter.previous[0]: set secret_env") ||
		!strings.Contains(err.Error(), "adapter.previous[1]: set only one") {
		t.Errorf("ValidateSecrets = %v, want all three problems named", err)
	}
	if err := ValidateSecrets(SecretRef{}, nil); err != nil {
		t.Errorf("ValidateSecrets of the default = %v, want nil", err)
	}
}

// TestReceive: the checks run in order, then the body is read and
// verified; the first refusal is answered and nothing is returned.
func TestReceive(t *testing.T) {
	const secret = "receive-secret"
	v := &verify.HMAC{Header: "X-Sig", Secrets: []string{secret}, SignedAs: "the raw body"}
	sign := func(body string) string {
		mac := hmac.New(sha256.New, []byte(secret))
		mac.Write([]byte(body))
		return hex.EncodeToString(mac.Sum(nil))
	}
	for _, tt := range []struct {
		name, method, path, body, sig string
		wantCode                      int // 0: received
	}{
		{name: "received", method: http.MethodPost, path: "/webhooks/x", body: "{}", sig: sign("{}")},
		{name: "path before method", method: http.MethodGet, path: "/webhooks/y", wantCode: http.StatusNotFound},
		{name: "method", method: http.MethodGet, path: "/webhooks/x", wantCode: http.StatusMethodNotAllowed},
		{name: "too large, before the signature", method: http.MethodPost, path: "/webhooks/x", body: strings.Repeat("x", 11), sig: "00", wantCode: http.StatusRequestEntityTooLarge},
		{name: "bad signature", method: http.MethodPost, path: "/webhooks/x", body: "{}", sig: sign("{ }"), wantCode: http.StatusUnauthorized},
		{name: "no signature", method: http.MethodPost, path: "/webhooks/x", body: "{}", wantCode: http.StatusBadRequest},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(tt.method, tt.path, strings.NewReader(tt.body))
			if tt.sig != "" {
				r.Header.Set("X-Sig", tt.sig)
			}
			w := httptest.NewRecorder()
			body, ok := Receive(w, r, "x", 10, v, PathIs("x"), CheckMethod)
			if tt.wantCode == 0 {
				if !ok || string(body) != tt.body {
					t.Fatalf("Receive = %q, %v (answered %d %s), want the body", body, ok, w.Code, w.Body)
				}
				return
			}
			if ok || body != nil {
				t.Fatalf("Receive = %q, %v, want a refusal", body, ok)
			}
			got, err := rpcstatus.Parse(w.Body.Bytes())
			if err != nil || w.Code != tt.wantCode || rpcstatus.Code(got.Code) != rpcstatus.CodeFor(tt.wantCode) {
				t.Errorf("answered %d %s, want %d with the JSON error body", w.Code, w.Body, tt.wantCode)
			}
		})
	}
}
