package webhook

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"google.golang.org/protobuf/proto"

	"github.com/junctionhq/junction/adapters/sdk"
	"github.com/junctionhq/junction/adapters/sdk/platform/topology"
	"github.com/junctionhq/junction/adapters/sdk/rpcstatus"
	junctionv1 "github.com/junctionhq/junction/proto/junction/v1"
	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
)

// fuzzAdapter is the test adapter with rate limits out of the way (a
// fuzzer sends far more than a burst).
func fuzzAdapter(t testing.TB) *Adapter {
	t.Helper()
	cfg := testConfig()
	for i := range cfg.Sources {
		cfg.Sources[i].RateLimit = RateLimit{PerSecond: 1e9, Burst: 1e9}
	}
	a, err := NewWithOptions(cfg, WithLogger(discardLogger()))
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// fuzzSources builds the test sources ready to verify, keyed by name.
func fuzzSources(t testing.TB) map[string]*source { return fuzzAdapter(t).sources }

// FuzzVerifyStandard feeds arbitrary Standard Webhooks headers and bodies
// to the verifier. Properties: it never panics; a header set it accepts
// carries a signature the library itself computes for that id, timestamp
// and body (nothing unsigned passes); and a body signed now with the
// source's secret is always accepted (round trip).
func FuzzVerifyStandard(f *testing.F) {
	f.Add("msg_1", "1700000000", "v1,AAAA", []byte(`{"type":"a.b"}`))
	src := fuzzSources(f)["acme"]
	wh, err := standardwebhooks.NewWebhook(acmeSecret)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, id, ts, sig string, body []byte) {
		h := http.Header{}
		h.Set(standardwebhooks.HeaderWebhookID, id)
		h.Set(standardwebhooks.HeaderWebhookTimestamp, ts)
		h.Set(standardwebhooks.HeaderWebhookSignature, sig)
		if rej := src.verify(signedRequest(h), body); rej == nil {
			sec, err := strconv.ParseInt(h.Get(standardwebhooks.HeaderWebhookTimestamp), 10, 64)
			if err != nil {
				t.Fatalf("accepted a non-numeric timestamp %q", ts)
			}
			want, err := wh.Sign(h.Get(standardwebhooks.HeaderWebhookID), time.Unix(sec, 0), body)
			if err != nil {
				t.Fatal(err)
			}
			if !containsSignature(h.Get(standardwebhooks.HeaderWebhookSignature), want) {
				t.Fatalf("accepted signature %q for id %q ts %q, want it to carry %q", sig, id, ts, want)
			}
		} else if rej.code != http.StatusUnauthorized && rej.code != http.StatusBadRequest {
			t.Fatalf("rejected with %d, want 401 or 400", rej.code)
		}
		// Round trip: a properly signed request passes whatever the body.
		if id == "" || strings.ContainsAny(id, "\r\n") || !validHeaderValue(id) {
			return
		}
		now := time.Now()
		good, err := wh.Sign(id, now, body)
		if err != nil {
			t.Fatal(err)
		}
		h.Set(standardwebhooks.HeaderWebhookTimestamp, strconv.FormatInt(now.Unix(), 10))
		h.Set(standardwebhooks.HeaderWebhookSignature, good)
		if rej := src.verify(signedRequest(h), body); rej != nil {
			t.Fatalf("a body signed now with the source's secret was rejected: %v", rej)
		}
	})
}

// signedRequest is a webhook request carrying header h, for the
// source's verifier (which reads only the request's headers and URL).
func signedRequest(h http.Header) *http.Request {
	r := httptest.NewRequest(http.MethodPost, "/webhooks/fuzz", nil)
	r.Header = h
	return r
}

// containsSignature reports whether header, a space-separated list of
// "v1,<base64>", holds want.
func containsSignature(header, want string) bool {
	for _, s := range strings.Fields(header) {
		if s == want {
			return true
		}
	}
	return false
}

// validHeaderValue mirrors what net/http would send unchanged.
func validHeaderValue(v string) bool {
	return strings.TrimSpace(v) == v && utf8.ValidString(v) && !strings.ContainsAny(v, "\x00\x7f")
}

// FuzzVerifyHMAC feeds arbitrary signature and timestamp headers and
// bodies to the hex HMAC-SHA256 verifier (source beta signs
// "<timestamp>.<body>"). Properties: it never panics; anything it accepts
// carries exactly the HMAC of "<timestamp>.<body>" under the source's
// secret; a body signed now is always accepted (round trip).
func FuzzVerifyHMAC(f *testing.F) {
	f.Add("sha256=00", "1700000000", []byte(`{}`))
	src := fuzzSources(f)["beta"]
	f.Fuzz(func(t *testing.T, sig, ts string, body []byte) {
		h := http.Header{}
		h.Set("X-Beta-Signature", sig)
		h.Set("X-Beta-Timestamp", ts)
		if rej := src.verify(signedRequest(h), body); rej == nil {
			got := strings.TrimPrefix(strings.TrimSpace(h.Get("X-Beta-Signature")), "sha256=")
			m := hmac.New(sha256.New, []byte(betaSecret))
			m.Write([]byte(h.Get("X-Beta-Timestamp") + "."))
			m.Write(body)
			if want := hex.EncodeToString(m.Sum(nil)); !strings.EqualFold(got, want) {
				t.Fatalf("accepted signature %q, want the HMAC %s", sig, want)
			}
		} else if rej.code != http.StatusUnauthorized && rej.code != http.StatusBadRequest {
			t.Fatalf("rejected with %d, want 401 or 400", rej.code)
		}
		now := strconv.FormatInt(time.Now().Unix(), 10)
		h.Set("X-Beta-Timestamp", now)
		h.Set("X-Beta-Signature", "sha256="+hmacHex(betaSecret, now, ".", string(body)))
		if rej := src.verify(signedRequest(h), body); rej != nil {
			t.Fatalf("a body signed now was rejected: %v", rej)
		}
	})
}

// FuzzNormalize sends arbitrary bodies, correctly signed, through the
// whole inbound handler: to source gamma (hex HMAC over the body, type
// from "kind", id from meta.id, custom models) or, with defaults set, to
// acme (Standard Webhooks, the default type, time and model fields).
// Properties: it never panics; a rejection publishes nothing and answers
// a JSON error; an accepted body publishes exactly one event whose data
// is the body byte for byte, whose type is valid, whose id is the sender's
// (meta.id or webhook-id), and which survives a protobuf round trip.
func FuzzNormalize(f *testing.F) {
	f.Add([]byte(`{"kind":"lead.created","meta":{"id":"m1"},"data":{"email":"a@b.c"}}`), false)
	wh, err := standardwebhooks.NewWebhook(acmeSecret)
	if err != nil {
		f.Fatal(err)
	}
	a := fuzzAdapter(f)
	var emitted []*junctionv1.Event
	h := a.Webhook(func(_ context.Context, e *junctionv1.Event) (sdk.PublishResult, error) {
		emitted = append(emitted, e)
		return sdk.PublishResult{Event: e, Sequence: 1}, nil
	})
	f.Fuzz(func(t *testing.T, body []byte, defaults bool) {
		emitted = emitted[:0]
		path := "/webhooks/gamma"
		if defaults {
			path = "/webhooks/acme"
		}
		req := httptest.NewRequest(http.MethodPost, path, bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		if defaults {
			now := time.Now()
			sig, err := wh.Sign("msg_fuzz", now, body)
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set(standardwebhooks.HeaderWebhookID, "msg_fuzz")
			req.Header.Set(standardwebhooks.HeaderWebhookTimestamp, strconv.FormatInt(now.Unix(), 10))
			req.Header.Set(standardwebhooks.HeaderWebhookSignature, sig)
		} else {
			req.Header.Set(DefaultSignatureHeader, hmacHex(betaSecret, string(body)))
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusAccepted {
			if len(emitted) != 0 {
				t.Fatalf("answered %d but published %d events", rec.Code, len(emitted))
			}
			if eb, err := rpcstatus.Parse(rec.Body.Bytes()); err != nil || eb.Code != int32(rpcstatus.CodeFor(rec.Code)) {
				t.Fatalf("answered %d with %q, want a JSON error of that code", rec.Code, rec.Body)
			}
			return
		}
		if len(emitted) != 1 {
			t.Fatalf("answered 202 but published %d events", len(emitted))
		}
		e := emitted[0]
		if !bytes.Equal(e.Data, body) {
			t.Fatalf("event data %q, want the body %q byte for byte", e.Data, body)
		}
		if err := topology.ValidType(e.Type); err != nil {
			t.Fatalf("accepted an invalid type: %v", err)
		}
		if !json.Valid(body) {
			t.Fatalf("accepted a body that is not JSON: %q", body)
		}
		obj, err := parseObject(body)
		if err != nil {
			t.Fatalf("accepted a body parseObject refuses: %v", err)
		}
		wantID := "msg_fuzz"
		if !defaults {
			if wantID, err = fieldID(obj, "meta.id"); err != nil {
				t.Fatalf("accepted a body without meta.id: %v", err)
			}
		}
		if e.Id != wantID {
			t.Fatalf("event id %q, want the sender's %q", e.Id, wantID)
		}
		b, err := proto.Marshal(e)
		if err != nil {
			t.Fatalf("marshal event: %v", err)
		}
		var back junctionv1.Event
		if err := proto.Unmarshal(b, &back); err != nil || !proto.Equal(&back, e) {
			t.Fatalf("event does not survive a protobuf round trip: %v", err)
		}
	})
}

// FuzzInboundRequest sends arbitrary paths, methods, content types and
// headers to the handler. Properties: it never panics; only a POST to a
// configured source with an accepted content type and a valid signature
// publishes, and every other answer is a JSON error with nothing
// published.
func FuzzInboundRequest(f *testing.F) {
	f.Add("/webhooks/acme", "POST", "application/json", "v1,AAAA", []byte(`{"type":"a.b"}`))
	a := fuzzAdapter(f)
	published := 0
	h := a.Webhook(func(_ context.Context, e *junctionv1.Event) (sdk.PublishResult, error) {
		published++
		return sdk.PublishResult{Event: e}, nil
	})
	f.Fuzz(func(t *testing.T, path, method, contentType, sig string, body []byte) {
		published = 0
		if !validMethod(method) {
			return
		}
		req := &http.Request{
			Method: method, URL: &url.URL{Path: path}, Header: http.Header{},
			Body: io.NopCloser(bytes.NewReader(body)), ContentLength: int64(len(body)),
		}
		req = req.WithContext(context.Background())
		req.Header.Set("Content-Type", contentType)
		req.Header.Set("webhook-id", "msg_fuzz")
		req.Header.Set("webhook-timestamp", strconv.FormatInt(time.Now().Unix(), 10))
		req.Header.Set("webhook-signature", sig)
		req.Header.Set(DefaultSignatureHeader, sig)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code == http.StatusAccepted {
			if published != 1 {
				t.Fatalf("answered 202 but published %d", published)
			}
			if method != http.MethodPost {
				t.Fatalf("accepted method %q", method)
			}
			return
		}
		if published != 0 {
			t.Fatalf("answered %d but published %d", rec.Code, published)
		}
		if eb, err := rpcstatus.Parse(rec.Body.Bytes()); err != nil || eb.Code != int32(rpcstatus.CodeFor(rec.Code)) || eb.Message == "" {
			t.Fatalf("answered %d with %q, want a JSON error", rec.Code, rec.Body)
		}
	})
}

func validMethod(m string) bool {
	if m == "" {
		return false
	}
	for _, r := range m {
		if r <= ' ' || r >= 0x7f || strings.ContainsRune("()<>@,;:\\\"/[]?={}", r) {
			return false
		}
	}
	return true
}

// FuzzRetryAfter parses a receiver's Retry-After. Properties: no panic;
// a delay it returns is between 0 and 24 hours; the seconds form round
// trips.
func FuzzRetryAfter(f *testing.F) {
	f.Add("120")
	now := time.Date(2026, 6, 20, 12, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, v string) {
		d, ok := retryAfter(v, now)
		if !ok {
			if d != 0 {
				t.Fatalf("retryAfter(%q) = %v, false; want 0 when not ok", v, d)
			}
			return
		}
		if d < 0 || d > 24*time.Hour {
			t.Fatalf("retryAfter(%q) = %v, want 0..24h", v, d)
		}
		if secs, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64); err == nil && secs <= 86400 && d != time.Duration(secs)*time.Second {
			t.Fatalf("retryAfter(%q) = %v, want %ds", v, d, secs)
		}
	})
}

// FuzzReadExcerpt reads an arbitrary receiver answer into the excerpt kept
// in a dead letter. Properties: no panic; the excerpt is valid UTF-8 with
// no control characters but newline and tab, and bounded in size.
func FuzzReadExcerpt(f *testing.F) {
	f.Add([]byte("bad request\x00\xff"))
	f.Fuzz(func(t *testing.T, b []byte) {
		s := readExcerpt(bytes.NewReader(b))
		if !utf8.ValidString(s) {
			t.Fatalf("excerpt %q is not valid UTF-8", s)
		}
		for _, r := range s {
			if r < 0x20 && r != '\n' && r != '\t' {
				t.Fatalf("excerpt %q holds control character %U", s, r)
			}
		}
		if len(s) > 3*excerptBytes+3 {
			t.Fatalf("excerpt is %d bytes, want at most %d", len(s), 3*excerptBytes+3)
		}
	})
}
