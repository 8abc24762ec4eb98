package verify

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"
)

var now = time.Unix(1700000000, 0)

const (
	stdSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSwMfKQ9r8GKYo="
	stdOther  = "whsec_c2lnbmluZy1zZWNyZXQtZm9yLW91dGJvdW5kLXRlc3Q="
)

func stdHeader(t *testing.T, secret, id string, at time.Time, body string) http.Header {
	t.Helper()
	key, err := DecodeStandardSecret(secret)
	if err != nil {
		t.Fatal(err)
	}
	h := http.Header{}
	h.Set(HeaderWebhookID, id)
	h.Set(HeaderWebhookTimestamp, strconv.FormatInt(at.Unix(), 10))
	h.Set(HeaderWebhookSignature, SignStandard(key, id, at, []byte(body)))
	return h
}

func hexMAC(secret, content string) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(content))
	return hex.EncodeToString(m.Sum(nil))
}

func TestStandardWebhooks(t *testing.T) {
	body := `{"type":"a.b"}`
	v, err := NewStandardWebhooks(stdOther, stdSecret) // rotation: either passes
	if err != nil {
		t.Fatal(err)
	}
	v.Now = func() time.Time { return now }
	tests := []struct {
		name    string
		header  http.Header
		body    string
		want    error
		wantMsg string
	}{
		{name: "valid", header: stdHeader(t, stdSecret, "msg_1", now, body), body: body},
		{name: "valid under the other secret", header: stdHeader(t, stdOther, "msg_1", now, body), body: body},
		{name: "within tolerance", header: stdHeader(t, stdSecret, "msg_1", now.Add(-4*time.Minute), body), body: body},
		{name: "one byte changed", header: stdHeader(t, stdSecret, "msg_1", now, body), body: strings.Replace(body, "a", "c", 1), want: ErrBadSignature, wantMsg: "webhook-signature does not match"},
		{name: "wrong secret", header: stdHeader(t, "whsec_"+strings.Repeat("A", 24), "msg_1", now, body), body: body, want: ErrBadSignature, wantMsg: "does not match"},
		{name: "id changed", header: func() http.Header {
			h := stdHeader(t, stdSecret, "msg_1", now, body)
			h.Set(HeaderWebhookID, "msg_2")
			return h
		}(), body: body, want: ErrBadSignature},
		{name: "missing signature", header: func() http.Header {
			h := stdHeader(t, stdSecret, "msg_1", now, body)
			h.Del(HeaderWebhookSignature)
			return h
		}(), body: body, want: ErrMissingHeader, wantMsg: "header webhook-signature is missing"},
		{name: "timestamp not a number", header: func() http.Header {
			h := stdHeader(t, stdSecret, "msg_1", now, body)
			h.Set(HeaderWebhookTimestamp, "yesterday")
			return h
		}(), body: body, want: ErrMalformedHeader, wantMsg: "must be Unix seconds"},
		{name: "signature not base64", header: func() http.Header {
			h := stdHeader(t, stdSecret, "msg_1", now, body)
			h.Set(HeaderWebhookSignature, "v1,***")
			return h
		}(), body: body, want: ErrMalformedHeader, wantMsg: "no \"v1,"},
		{name: "stale", header: stdHeader(t, stdSecret, "msg_1", now.Add(-6*time.Minute), body), body: body, want: ErrTimestamp, wantMsg: "timestamp too old"},
		{name: "future", header: stdHeader(t, stdSecret, "msg_1", now.Add(6*time.Minute), body), body: body, want: ErrTimestamp, wantMsg: "timestamp too new"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := v.VerifyHeader(tt.header, []byte(tt.body))
			check(t, err, tt.want, tt.wantMsg)
		})
	}
}

func check(t *testing.T, err, want error, wantMsg string) {
	t.Helper()
	if want == nil {
		if err != nil {
			t.Fatalf("Verify = %v, want nil", err)
		}
		return
	}
	if !errors.Is(err, want) {
		t.Fatalf("Verify = %v, want class %v", err, want)
	}
	if !strings.Contains(err.Error(), wantMsg) {
		t.Fatalf("Verify = %q, want it to contain %q", err, wantMsg)
	}
	wantStatus := http.StatusUnauthorized
	if want == ErrMissingHeader || want == ErrMalformedHeader {
		wantStatus = http.StatusBadRequest
	}
	if got := Status(err); got != wantStatus {
		t.Fatalf("Status(%v) = %d, want %d", err, got, wantStatus)
	}
}

func TestHMAC(t *testing.T) {
	body := `{"id":"evt_1"}`
	ts := strconv.FormatInt(now.Unix(), 10)
	stripe := &HMAC{
		Header: "Stripe-Signature", Secrets: []string{"new", "old"}, Parse: Fields("t", "v1"),
		Signed: []Part{Timestamp, Literal("."), Body}, Now: func() time.Time { return now }, Tolerance: time.Minute,
	}
	github := &HMAC{Header: "X-Hub-Signature-256", Prefix: "sha256=", Secrets: []string{"gh"}}
	tests := []struct {
		name    string
		v       *HMAC
		header  []string
		body    string
		want    error
		wantMsg string
	}{
		{name: "stripe valid", v: stripe, header: []string{"Stripe-Signature", "t=" + ts + ",v1=" + hexMAC("new", ts+"."+body)}, body: body},
		{name: "stripe old secret, two v1", v: stripe, header: []string{"Stripe-Signature", "t=" + ts + ",v1=00,v1=" + hexMAC("old", ts+"."+body)}, body: body},
		{name: "stripe wrong secret", v: stripe, header: []string{"Stripe-Signature", "t=" + ts + ",v1=" + hexMAC("other", ts+"."+body)}, body: body, want: ErrBadSignature, wantMsg: "does not match"},
		{name: "stripe timestamp changed", v: stripe, header: []string{"Stripe-Signature", "t=" + strconv.FormatInt(now.Unix()-1, 10) + ",v1=" + hexMAC("new", ts+"."+body)}, body: body, want: ErrBadSignature},
		{name: "stripe no t", v: stripe, header: []string{"Stripe-Signature", "v1=" + hexMAC("new", ts+"."+body)}, body: body, want: ErrMalformedHeader, wantMsg: "no t=<timestamp>"},
		{name: "stripe no v1", v: stripe, header: []string{"Stripe-Signature", "t=" + ts + ",v0=abc"}, body: body, want: ErrMalformedHeader, wantMsg: "no v1=<signature>"},
		{name: "stripe t twice", v: stripe, header: []string{"Stripe-Signature", "t=1,t=2,v1=00"}, body: body, want: ErrMalformedHeader, wantMsg: "twice"},
		{name: "stripe t not a number", v: stripe, header: []string{"Stripe-Signature", "t=soon,v1=00"}, body: body, want: ErrMalformedHeader, wantMsg: "must be Unix seconds"},
		{name: "stripe stale", v: stripe, header: []string{"Stripe-Signature", "t=" + strconv.FormatInt(now.Unix()-120, 10) + ",v1=" + hexMAC("new", strconv.FormatInt(now.Unix()-120, 10)+"."+body)}, body: body, want: ErrTimestamp, wantMsg: "too old"},
		{name: "stripe future", v: stripe, header: []string{"Stripe-Signature", "t=" + strconv.FormatInt(now.Unix()+120, 10) + ",v1=" + hexMAC("new", strconv.FormatInt(now.Unix()+120, 10)+"."+body)}, body: body, want: ErrTimestamp, wantMsg: "too new"},
		{name: "stripe missing", v: stripe, body: body, want: ErrMissingHeader, wantMsg: "header Stripe-Signature is missing"},
		{name: "github valid", v: github, header: []string{"X-Hub-Signature-256", "sha256=" + hexMAC("gh", body)}, body: body},
		{name: "github uppercase hex", v: github, header: []string{"X-Hub-Signature-256", "sha256=" + strings.ToUpper(hexMAC("gh", body))}, body: body},
		{name: "github one byte changed", v: github, header: []string{"X-Hub-Signature-256", "sha256=" + hexMAC("gh", body)}, body: body + " ", want: ErrBadSignature},
		{name: "github no prefix", v: github, header: []string{"X-Hub-Signature-256", hexMAC("gh", body)}, body: body, want: ErrMalformedHeader, wantMsg: `"sha256="`},
		{name: "github not hex", v: github, header: []string{"X-Hub-Signature-256", "sha256=zz"}, body: body, want: ErrMalformedHeader, wantMsg: "hex HMAC-SHA256"},
		{name: "github truncated", v: github, header: []string{"X-Hub-Signature-256", "sha256=" + hexMAC("gh", body)[:10]}, body: body, want: ErrBadSignature},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodPost, "/webhooks/x", strings.NewReader(tt.body))
			if len(tt.header) == 2 {
				r.Header.Set(tt.header[0], tt.header[1])
			}
			check(t, tt.v.Verify(r, []byte(tt.body)), tt.want, tt.wantMsg)
		})
	}
}

func TestErrorsHoldNoSecret(t *testing.T) {
	const secret = "super-secret-value"
	v := &HMAC{Header: "X-Sig", Secrets: []string{secret}}
	r := httptest.NewRequest(http.MethodPost, "/", nil)
	r.Header.Set("X-Sig", hexMAC("other", "b"))
	err := v.Verify(r, []byte("b"))
	if err == nil || strings.Contains(err.Error(), secret) || strings.Contains(err.Error(), hexMAC(secret, "b")) {
		t.Fatalf("error %q must hold neither the secret nor the expected signature", err)
	}
	if _, err := NewStandardWebhooks("whsec_" + "c2hvcnQ="); err == nil || strings.Contains(err.Error(), "c2hvcnQ") {
		t.Fatalf("NewStandardWebhooks(short) = %v, want an error without the secret", err)
	}
}

func TestStatus(t *testing.T) {
	tests := []struct {
		err  error
		want int
	}{
		{nil, 0},
		{fail(ErrMissingHeader, "x"), 400},
		{fail(ErrMalformedHeader, "x"), 400},
		{fail(ErrBadSignature, "x"), 401},
		{fail(ErrTimestamp, "x"), 401},
		{errors.New("other"), 401},
	}
	for _, tt := range tests {
		if got := Status(tt.err); got != tt.want {
			t.Errorf("Status(%v) = %d, want %d", tt.err, got, tt.want)
		}
	}
}
