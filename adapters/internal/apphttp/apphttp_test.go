package apphttp

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/junctionhq/junction/adapters/sdk"
)

func TestResolveSecrets(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "s")
	if err := os.WriteFile(file, []byte("  from-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("APPHTTP_A", "from-env")
	t.Setenv("APPHTTP_EMPTY", "")
	for _, tt := range []struct {
		name    string
		refs    []SecretRef
		want    string // secrets joined by ","
		wantErr string
	}{
		{name: "default", want: "from-env"},
		{name: "env and file", refs: []SecretRef{{SecretEnv: "APPHTTP_A"}, {SecretFile: file}}, want: "from-env,from-file"},
		{name: "empty env", refs: []SecretRef{{SecretEnv: "APPHTTP_EMPTY"}}, wantErr: "key[0]: environment variable APPHTTP_EMPTY"},
		{name: "missing file", refs: []SecretRef{{SecretFile: filepath.Join(dir, "nope")}}, wantErr: "key[0]: read secret_file"},
		{name: "neither", refs: []SecretRef{{}}, wantErr: "key[0]: set secret_env"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ResolveSecrets("key", tt.refs, SecretRef{SecretEnv: "APPHTTP_A"})
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err %v, want %q", err, tt.wantErr)
				}
				if strings.Contains(err.Error(), "from-") {
					t.Errorf("error %q shows a secret", err)
				}
				return
			}
			if err != nil || strings.Join(got, ",") != tt.want {
				t.Errorf("got %q, %v; want %s", got, err, tt.want)
			}
		})
	}
}

func TestReadBody(t *testing.T) {
	for _, tt := range []struct {
		name, body string
		want       int // 0: read
	}{
		{"fits", "12345", 0},
		{"too large", "123456", http.StatusRequestEntityTooLarge},
		{"empty", "", http.StatusBadRequest},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(tt.body))
			r.ContentLength = -1 // as a chunked request: the reader must stop it
			b, rej := ReadBody(httptest.NewRecorder(), r, 5)
			switch {
			case tt.want == 0 && (rej != nil || string(b) != tt.body):
				t.Errorf("ReadBody = %q, %v; want the body", b, rej)
			case tt.want != 0 && (rej == nil || rej.Code != tt.want):
				t.Errorf("ReadBody rejection %v, want %d", rej, tt.want)
			}
		})
	}
}

func TestEmitRejection(t *testing.T) {
	for _, tt := range []struct {
		err  error
		want int
	}{
		{fmt.Errorf("%w: too big", sdk.ErrInvalidEvent), http.StatusBadRequest},
		{fmt.Errorf("%w: no stream", sdk.ErrUnavailable), http.StatusServiceUnavailable},
		{context.DeadlineExceeded, http.StatusServiceUnavailable},
		{errors.New("odd"), http.StatusInternalServerError},
	} {
		if got := EmitRejection("id1", tt.err); got.Code != tt.want {
			t.Errorf("EmitRejection(%v) = %d, want %d", tt.err, got.Code, tt.want)
		}
	}
	w := httptest.NewRecorder()
	EmitRejection("id1", sdk.ErrUnavailable).Answer(w, httptest.NewRequest(http.MethodPost, "/", nil), "test")
	if w.Code != http.StatusServiceUnavailable || w.Header().Get("Retry-After") != RetryAfterUnavailable ||
		!strings.Contains(w.Body.String(), `"status":"UNAVAILABLE"`) {
		t.Errorf("503 answer %d %v %s", w.Code, w.Header(), w.Body)
	}
}
