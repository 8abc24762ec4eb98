package jira_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/junctionhq/junction/adapters/sdk"
	junctionv1 "github.com/junctionhq/junction/proto/junction/v1"
)

// TestSignatureAgreesWithAtlassian checks both directions against the
// receiver's check Atlassian documents: what it accepts the adapter
// accepts, what the adapter turns away it turns away too.
func TestSignatureAgreesWithAtlassian(t *testing.T) {
	body := issuePayload(t, "jira:issue_created")
	for _, tt := range []struct {
		name    string
		header  string
		key     string // the secret Atlassian's check uses
		wantOK  bool
		wantErr int
	}{
		{name: "current secret", header: sign(body, secret), key: secret, wantOK: true},
		{name: "previous secret while rotating", header: sign(body, oldSecret), key: oldSecret, wantOK: true},
		{name: "other secret", header: sign(body, "someone-else"), key: secret, wantErr: http.StatusUnauthorized},
		{name: "zeros", header: "sha256=" + strings.Repeat("0", 64), key: secret, wantErr: http.StatusUnauthorized},
		{name: "signature of another body", header: sign([]byte(`{}`), secret), key: secret, wantErr: http.StatusUnauthorized},
		{name: "truncated", header: sign(body, secret)[:39], key: secret, wantErr: http.StatusUnauthorized},
		{name: "missing", header: "", key: secret, wantErr: http.StatusBadRequest},
		{name: "not hex", header: "sha256=xyz", key: secret, wantErr: http.StatusBadRequest},
		{name: "no method", header: strings.TrimPrefix(sign(body, secret), "sha256="), key: secret, wantErr: http.StatusBadRequest},
		{name: "sha1 method", header: "sha1=" + strings.Repeat("ab", 20), key: secret, wantErr: http.StatusBadRequest},
	} {
		t.Run(tt.name, func(t *testing.T) {
			documented := atlassianVerify(tt.header, body, tt.key)
			if documented != tt.wantOK {
				t.Fatalf("the documented check says %v, the case says %v", documented, tt.wantOK)
			}
			var emitted int
			emit := func(context.Context, *junctionv1.Event) (sdk.PublishResult, error) {
				emitted++
				return sdk.PublishResult{}, nil
			}
			w := httptest.NewRecorder()
			newAdapter(t).Webhook(emit).ServeHTTP(w, request("wh-1", body, tt.header))
			accepted := w.Code == http.StatusAccepted
			if accepted != documented {
				t.Errorf("adapter answered %d %s; the documented check accepts: %v", w.Code, w.Body, documented)
			}
			if !accepted && w.Code != tt.wantErr {
				t.Errorf("adapter answered %d, want %d", w.Code, tt.wantErr)
			}
			if want := map[bool]int{true: 1, false: 0}[tt.wantOK]; emitted != want {
				t.Errorf("emitted %d events, want %d", emitted, want)
			}
		})
	}
}
