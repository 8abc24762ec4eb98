package cloudevents_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"mime"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	cehttp "github.com/cloudevents/sdk-go/v2/protocol/http"
	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	ce "github.com/junctionhq/junction/adapters/cloudevents"
	"github.com/junctionhq/junction/adapters/sdk"
	junctionv1 "github.com/junctionhq/junction/proto/junction/v1"
)

var (
	hubType = regexp.MustCompile(`^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$`)
	extName = regexp.MustCompile(`^[a-z0-9]{1,20}$`)
)

// checkEvent fails t unless e is an event the hub stores: an id of at
// most 256 bytes of UTF-8 without control characters, a hub type, a
// source URI-reference, spec version 1.0, extension names the hub takes,
// and data that is JSON when its content type says so.
func checkEvent(t *testing.T, e *junctionv1.Event) {
	t.Helper()
	id := e.GetId()
	if strings.TrimSpace(id) == "" || len(id) > 256 || !utf8.ValidString(id) || strings.ContainsFunc(id, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		t.Fatalf("accepted id %q", id)
	}
	if !hubType.MatchString(e.GetType()) || len(e.GetType()) > 200 {
		t.Fatalf("accepted type %q", e.GetType())
	}
	if _, err := url.Parse(e.GetSourceUri()); err != nil || strings.TrimSpace(e.GetSourceUri()) == "" {
		t.Fatalf("accepted source %q", e.GetSourceUri())
	}
	if e.GetSpecVersion() != "1.0" {
		t.Fatalf("accepted specversion %q", e.GetSpecVersion())
	}
	for k := range e.GetExtensions() {
		if !extName.MatchString(k) {
			t.Fatalf("accepted extension name %q", k)
		}
	}
	if ct := e.GetDataContentType(); ct != "" {
		if _, _, err := mime.ParseMediaType(ct); err != nil {
			t.Fatalf("accepted datacontenttype %q", ct)
		}
	}
}

// sdkJSON is the Go SDK's test of a JSON data content type.
func sdkJSON(ct string) bool {
	mt, _, _ := mime.ParseMediaType(ct)
	switch mt {
	case "", "application/json", "text/json":
		return true
	}
	return false
}

// adapterJSON is the adapter's test of a JSON data content type, as
// docs/adapters/cloudevents.md states it: the SDK's, and any +json type.
func adapterJSON(ct string) bool {
	mt, _, _ := mime.ParseMediaType(ct)
	return sdkJSON(ct) || strings.HasSuffix(mt, "+json")
}

// FuzzFromStructured reads arbitrary bodies as structured-mode events.
// Properties: it never panics; an accepted event is one the hub stores;
// JSON data is kept byte for byte (it is a part of the body); and when
// the Go SDK reads and validates the same request, it agrees on id, type
// and, where both read the data the same way, the data.
func FuzzFromStructured(f *testing.F) {
	f.Add([]byte(`{"specversion":"1.0","id":"1","source":"/o","type":"order.created","data":{"a":1}}`))
	f.Add([]byte(`{"specversion":"1.0","id":"1","source":"/o","type":"a","datacontenttype":"text/plain","data":"hi"}`))
	f.Add([]byte(`{"specversion":"1.0","id":"1","source":"/o","type":"a","data_base64":"AAEC","n":42,"b":true}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		e, err := ce.FromStructured(body)
		if err != nil {
			return
		}
		checkEvent(t, e)
		var members map[string]json.RawMessage
		_ = json.Unmarshal(body, &members)
		if _, inline := members["data"]; inline && adapterJSON(e.GetDataContentType()) && !bytes.Contains(body, e.GetData()) {
			t.Fatalf("JSON data %q is not a part of the body", e.GetData())
		}
		req := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(body))
		req.Header.Set("Content-Type", ce.MediaStructured)
		se, serr := cehttp.NewEventFromHTTPRequest(req)
		if serr != nil || se.Validate() != nil {
			return
		}
		if se.ID() != e.GetId() || se.Type() != e.GetType() {
			t.Fatalf("SDK read id %q type %q, adapter %q %q", se.ID(), se.Type(), e.GetId(), e.GetType())
		}
		sdata := se.Data()
		if _, inline := members["data"]; inline && sdkJSON(e.GetDataContentType()) {
			// The SDK keeps the white space before a JSON value; the
			// adapter keeps the value itself.
			sdata = bytes.TrimLeft(sdata, " \t\r\n")
		}
		if sdkJSON(e.GetDataContentType()) == adapterJSON(e.GetDataContentType()) && !bytes.Equal(sdata, e.GetData()) {
			t.Fatalf("SDK read data %q, adapter %q", sdata, e.GetData())
		}
	})
}

// FuzzFromBinary reads binary-mode requests with arbitrary attribute
// headers. Properties: it never panics; an accepted event is one the hub
// stores and its data is the body byte for byte.
func FuzzFromBinary(f *testing.F) {
	f.Add("1", "/o", "order.created", "ext", "v", "application/json", []byte(`{"a":1}`))
	f.Add("a%0Ab", "https://x.example/%20", "a.b", "n", "%25", "text/plain", []byte("hi"))
	f.Add(" ", "", "a b", "BadName", "", "", []byte{0xff})
	f.Fuzz(func(t *testing.T, id, source, typ, ext, extValue, ct string, body []byte) {
		h := http.Header{}
		h["Ce-Specversion"] = []string{"1.0"}
		h["Ce-Id"] = []string{id}
		h["Ce-Source"] = []string{source}
		h["Ce-Type"] = []string{typ}
		h["Ce-"+ext] = []string{extValue}
		if ct != "" {
			h["Content-Type"] = []string{ct}
		}
		e, err := ce.FromBinary(h, body)
		if err != nil {
			return
		}
		checkEvent(t, e)
		if !bytes.Equal(e.GetData(), body) {
			t.Fatalf("data %q, want the body %q", e.GetData(), body)
		}
	})
}

// FuzzFromBatch reads arbitrary bodies as batches. Properties: it never
// panics; a batch is taken whole (every event one the hub stores, at
// most max of them) or refused.
func FuzzFromBatch(f *testing.F) {
	f.Add([]byte(`[{"specversion":"1.0","id":"1","source":"/o","type":"a.b"},{"specversion":"1.0","id":"2","source":"/o","type":"a.b","data":[1,2]}]`))
	f.Add([]byte(`[]`))
	f.Add([]byte(`[{"specversion":"1.0"}]`))
	f.Fuzz(func(t *testing.T, body []byte) {
		events, err := ce.FromBatch(body, 3)
		if err != nil {
			return
		}
		if len(events) > 3 {
			t.Fatalf("took a batch of %d, max 3", len(events))
		}
		for _, e := range events {
			checkEvent(t, e)
		}
	})
}

// percentEncode encodes s as the HTTP binding asks a sender to: every
// byte outside printable ASCII, and space, '"' and '%'.
func percentEncode(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= 0x20 || c >= 0x7f || c == '"' || c == '%' {
			fmt.Fprintf(&b, "%%%02X", c)
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

// FuzzPercentDecode: a ce-subject a sender percent-encoded comes back as
// it was (UTF-8 values round-trip), and nothing panics.
func FuzzPercentDecode(f *testing.F) {
	f.Add("plain")
	f.Add("Ünïcödé \"quoted\" 100%")
	f.Add("%zz%4")
	f.Fuzz(func(t *testing.T, s string) {
		h := http.Header{}
		h["Ce-Specversion"] = []string{"1.0"}
		h["Ce-Id"] = []string{"1"}
		h["Ce-Source"] = []string{"/o"}
		h["Ce-Type"] = []string{"a.b"}
		h["Ce-Subject"] = []string{s}
		_, _ = ce.FromBinary(h, nil) // raw: must not panic
		if !utf8.ValidString(s) || strings.TrimSpace(s) == "" {
			return
		}
		h["Ce-Subject"] = []string{percentEncode(s)}
		e, err := ce.FromBinary(h, nil)
		if err != nil {
			t.Fatalf("percent-encoded subject %q refused: %v", s, err)
		}
		if e.GetSubject() != s {
			t.Fatalf("subject %q came back as %q", s, e.GetSubject())
		}
	})
}

// FuzzSignedRequest sends arbitrary Standard Webhooks headers (under
// either name set) and bodies through the adapter's handler. Properties:
// it never panics, and nothing is emitted unless the Standard Webhooks
// library verifies the same headers and body (nothing unsigned passes).
func FuzzSignedRequest(f *testing.F) {
	f.Add("msg_1", "1700000000", "v1,AAAA", false, []byte(`{"specversion":"1.0","id":"1","source":"/o","type":"a.b"}`))
	f.Add("msg_2", "now", "v1,***", true, []byte(`[]`))
	f.Setenv("CE_SECRET", secret)
	a, err := ce.New(ce.Config{Signature: ce.Signature{Scheme: ce.SchemeStandardWebhooks, SecretEnv: "CE_SECRET", Tolerance: 100 * 365 * 24 * time.Hour}})
	if err != nil {
		f.Fatal(err)
	}
	lib, err := standardwebhooks.NewWebhook(secret)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, id, ts, sig string, svix bool, body []byte) {
		emitted := 0
		h := a.Webhook(func(context.Context, *junctionv1.Event) (sdk.PublishResult, error) {
			emitted++
			return sdk.PublishResult{}, nil
		})
		req := httptest.NewRequest(http.MethodPost, "/webhooks/cloudevents", bytes.NewReader(body))
		req.Header.Set("Content-Type", ce.MediaStructured)
		if bytes.HasPrefix(bytes.TrimSpace(body), []byte("[")) {
			req.Header.Set("Content-Type", ce.MediaBatch)
		}
		names := [3]string{"webhook-id", "webhook-timestamp", "webhook-signature"}
		if svix {
			names = [3]string{"svix-id", "svix-timestamp", "svix-signature"}
		}
		for i, v := range []string{id, ts, sig} {
			req.Header[http.CanonicalHeaderKey(names[i])] = []string{v}
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if emitted == 0 {
			return
		}
		std := http.Header{}
		std.Set("webhook-id", id)
		std.Set("webhook-timestamp", ts)
		std.Set("webhook-signature", sig)
		if err := lib.VerifyIgnoringTimestamp(body, std); err != nil {
			t.Fatalf("emitted %d events for a request the library refuses (%v): id %q ts %q sig %q", emitted, err, id, ts, sig)
		}
		if _, err := strconv.ParseInt(ts, 10, 64); err != nil {
			t.Fatalf("emitted for timestamp %q", ts)
		}
		var probe any
		if json.Unmarshal(body, &probe) != nil {
			t.Fatalf("emitted for a body that is not JSON")
		}
	})
}
