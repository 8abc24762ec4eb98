package github_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	gh "github.com/google/go-github/v90/github"

	"github.com/junctionhq/junction/adapters/sdk"
	junctionv1 "github.com/junctionhq/junction/proto/junction/v1"
)

// TestSignatureAgreesWithGoGitHub checks both directions against
// go-github: every signature header that its ValidatePayload accepts the
// adapter accepts, and every one the adapter turns away ValidateSignature
// turns away too.
func TestSignatureAgreesWithGoGitHub(t *testing.T) {
	body := issuesPayload(t, "opened")
	for _, tt := range []struct {
		name    string
		header  string
		key     string // the secret go-github checks with
		wantOK  bool
		wantErr int
	}{
		{name: "current secret", header: sign(body, secret), key: secret, wantOK: true},
		{name: "previous secret while rotating", header: sign(body, oldSecret), key: oldSecret, wantOK: true},
		{name: "upper case hex", header: "sha256=" + strings.ToUpper(strings.TrimPrefix(sign(body, secret), "sha256=")), key: secret, wantOK: true},
		{name: "other secret", header: sign(body, "someone-else"), key: secret, wantErr: http.StatusUnauthorized},
		{name: "zeros", header: "sha256=" + strings.Repeat("0", 64), key: secret, wantErr: http.StatusUnauthorized},
		{name: "signature of another body", header: sign([]byte(`{}`), secret), key: secret, wantErr: http.StatusUnauthorized},
		{name: "missing", header: "", key: secret, wantErr: http.StatusBadRequest},
		{name: "not hex", header: "sha256=xyz", key: secret, wantErr: http.StatusBadRequest},
		{name: "no prefix", header: strings.TrimPrefix(sign(body, secret), "sha256="), key: secret, wantErr: http.StatusBadRequest},
		{name: "unknown hash prefix", header: "md5=" + strings.TrimPrefix(sign(body, secret), "sha256="), key: secret, wantErr: http.StatusBadRequest},
		{name: "truncated", header: sign(body, secret)[:39], key: secret, wantErr: http.StatusUnauthorized},
	} {
		t.Run(tt.name, func(t *testing.T) {
			// go-github's verdict.
			libErr := gh.ValidateSignature(tt.header, body, []byte(tt.key))
			if tt.wantOK {
				req := delivery("issues", "d-1", body, tt.header)
				if _, err := gh.ValidatePayload(req, []byte(tt.key)); err != nil {
					t.Fatalf("go-github ValidatePayload rejects the case's request: %v", err)
				}
			}
			// The adapter's.
			var emitted int
			emit := func(context.Context, *junctionv1.Event) (sdk.PublishResult, error) {
				emitted++
				return sdk.PublishResult{}, nil
			}
			w := httptest.NewRecorder()
			newAdapter(t).Webhook(emit).ServeHTTP(w, delivery("issues", "d-1", body, tt.header))
			accepted := w.Code == http.StatusAccepted
			if accepted != tt.wantOK || (!tt.wantOK && w.Code != tt.wantErr) {
				t.Errorf("adapter answered %d %s; want accepted=%v (status %d)", w.Code, w.Body, tt.wantOK, tt.wantErr)
			}
			if accepted && libErr != nil {
				t.Errorf("adapter accepted a signature go-github rejects: %v", libErr)
			}
			if !accepted && libErr == nil && tt.key == secret {
				t.Errorf("adapter rejected (%d) a signature go-github accepts", w.Code)
			}
			if want := map[bool]int{true: 1, false: 0}[tt.wantOK]; emitted != want {
				t.Errorf("emitted %d events, want %d", emitted, want)
			}
		})
	}
}
