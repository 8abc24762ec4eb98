package slack

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// slack-go's own test vector (security_test.go of
// github.com/slack-go/slack v0.35.0): a request Slack signed at
// 1531431954 with secret e6b19c573432dcc6b075501d51b51bb8.
const (
	vectorSecret    = "e6b19c573432dcc6b075501d51b51bb8"
	vectorTimestamp = "1531431954"
	vectorSignature = "v0=adada4ed31709aef585c2580ca3267678c6a8eaeb7e0c1aca3ee57b656886b2c"
	vectorBody      = `{"token":"aF5ynEYQH0dFN9imlgcADxDB","team_id":"XXXXXXXXX","api_app_id":"YYYYYYYYY","event":{"type":"app_mention","user":"AAAAAAAAA","text":"<@EEEEEEEEE> hello world","client_msg_id":"477cc591-ch73-a14z-4db8-g0cd76321bec","ts":"1531431954.000073","channel":"TTTTTTTTT","event_ts":"1531431954.000073"},"type":"event_callback","event_id":"TvBP7LRED7","event_time":1531431954,"authed_users":["EEEEEEEEE"]}`
)

// TestSlackGoVector: the verifier accepts slack-go's recorded request at
// its time, refuses it with another secret or a changed body, and
// refuses it as stale now.
func TestSlackGoVector(t *testing.T) {
	signedAt := time.Unix(1531431954, 0)
	for _, tt := range []struct {
		name    string
		secrets []string
		body    string
		now     time.Time
		ok      bool
	}{
		{"as recorded", []string{vectorSecret}, vectorBody, signedAt, true},
		{"second of two secrets", []string{"new-secret", vectorSecret}, vectorBody, signedAt.Add(4 * time.Minute), true},
		{"other secret", []string{"e6b19c573432dcc6b075501d51b51boo"}, vectorBody, signedAt, false},
		{"changed body", []string{vectorSecret}, strings.Replace(vectorBody, "hello", "hallo", 1), signedAt, false},
		{"replayed today", []string{vectorSecret}, vectorBody, time.Now(), false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodPost, "/webhooks/slack", strings.NewReader(tt.body))
			r.Header.Set(HeaderSignature, vectorSignature)
			r.Header.Set(HeaderTimestamp, vectorTimestamp)
			err := newVerifier(tt.secrets, 0, func() time.Time { return tt.now }).Verify(r, []byte(tt.body))
			if (err == nil) != tt.ok {
				t.Errorf("Verify = %v, want ok %v", err, tt.ok)
			}
		})
	}
}
