package cloudevents_test

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	cehttp "github.com/cloudevents/sdk-go/v2/protocol/http"
	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
)

// signed returns h with Standard Webhooks headers signing body, made by
// the library.
func signed(t *testing.T, h http.Header, body string) http.Header {
	t.Helper()
	wh, err := standardwebhooks.NewWebhook(secret)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	sig, err := wh.Sign("msg_raw", now, []byte(body))
	if err != nil {
		t.Fatal(err)
	}
	out := h.Clone()
	out.Set(standardwebhooks.HeaderWebhookID, "msg_raw")
	out.Set(standardwebhooks.HeaderWebhookTimestamp, strconv.FormatInt(now.Unix(), 10))
	out.Set(standardwebhooks.HeaderWebhookSignature, sig)
	return out
}

// binaryHeaders are the ce-* headers of a valid binary-mode event,
// changed by kv (name, value; an empty value deletes).
func binaryHeaders(kv ...string) http.Header {
	h := http.Header{}
	h.Set("Ce-Specversion", "1.0")
	h.Set("Ce-Id", "r-1")
	h.Set("Ce-Source", "/orders")
	h.Set("Ce-Type", "order.created")
	h.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] == "" {
			h.Del(kv[i])
			continue
		}
		h.Set(kv[i], kv[i+1])
	}
	return h
}

func structured() http.Header {
	h := http.Header{}
	h.Set("Content-Type", "application/cloudevents+json")
	return h
}

func batched() http.Header {
	h := http.Header{}
	h.Set("Content-Type", "application/cloudevents-batch+json")
	return h
}

// sdkRejects says whether the CloudEvents SDK, receiving the same
// request, refuses it: it cannot read it as events, or an event fails
// Validate().
func sdkRejects(h http.Header, body string) bool {
	req := httptest.NewRequest(http.MethodPost, "/webhooks/cloudevents", strings.NewReader(body))
	req.Header = h.Clone()
	if cehttp.IsHTTPBatch(req.Header) {
		events, err := cehttp.NewEventsFromHTTPRequest(req)
		if err != nil {
			return true
		}
		for _, e := range events {
			if e.Validate() != nil {
				return true
			}
		}
		return false
	}
	e, err := cehttp.NewEventFromHTTPRequest(req)
	return err != nil || e.Validate() != nil
}

const okData = `{"total":1}`

// TestRejects: what the adapter refuses it answers with a 4xx and a
// message saying what to fix, stores nothing, and the CloudEvents SDK
// receiving the same request refuses it too (every case here is one
// where the SDK validates).
func TestRejects(t *testing.T) {
	env := newEnv(t, stdConfig(t))
	tests := []struct {
		name     string
		header   http.Header
		body     string
		wantCode int
		wantMsg  string
	}{
		{"binary: no ce-id", binaryHeaders("Ce-Id", ""), okData, 400, "id is required"},
		{"binary: blank ce-id", binaryHeaders("Ce-Id", "  "), okData, 400, "id is required"},
		{"binary: no ce-source", binaryHeaders("Ce-Source", ""), okData, 400, "source is required"},
		{"binary: no ce-type", binaryHeaders("Ce-Type", ""), okData, 400, "type is required"},
		{"binary: specversion 0.2", binaryHeaders("Ce-Specversion", "0.2"), okData, 400, `specversion "0.2"`},
		{"binary: time not RFC 3339", binaryHeaders("Ce-Time", "yesterday"), okData, 400, "RFC 3339"},
		{"binary: relative dataschema", binaryHeaders("Ce-Dataschema", "/schemas/order"), okData, 400, "absolute URI"},
		{"binary: Content-Type not a media type", binaryHeaders("Content-Type", "not a media type"), okData, 400, "media type"},
		{"not a CloudEvent", http.Header{"Content-Type": {"application/json"}}, okData, 400, "not a CloudEvent"},
		{"another event format", http.Header{"Content-Type": {"application/cloudevents+avro"}}, okData, 415, "format this hub does not read"},
		{"structured: not JSON", structured(), `{"specversion":`, 400, "JSON"},
		{"structured: not an object", structured(), `["specversion"]`, 400, "JSON object"},
		{"structured: no specversion", structured(), `{"id":"r-1","source":"/o","type":"order.created"}`, 400, "specversion is missing"},
		{"structured: id a number", structured(), `{"specversion":"1.0","id":1,"source":"/o","type":"order.created"}`, 400, "id must be a JSON string"},
		{"structured: empty source", structured(), `{"specversion":"1.0","id":"r-1","source":"","type":"order.created"}`, 400, "source is required"},
		{"structured: blank subject", structured(), `{"specversion":"1.0","id":"r-1","source":"/o","type":"order.created","subject":"  "}`, 400, "subject"},
		{"structured: extension an object", structured(), `{"specversion":"1.0","id":"r-1","source":"/o","type":"order.created","ext":{"a":1}}`, 400, "not objects or arrays"},
		{"structured: extension name with a dash", structured(), `{"specversion":"1.0","id":"r-1","source":"/o","type":"order.created","my-ext":"x"}`, 400, "lower-case letters and digits"},
		{"structured: an attribute's name in upper case", structured(), `{"specversion":"1.0","id":"r-1","source":"/o","type":"order.created","ID":"r-2"}`, 400, "name of a CloudEvents attribute"},
		{"structured: data_base64 not base64", structured(), `{"specversion":"1.0","id":"r-1","source":"/o","type":"order.created","data_base64":"***"}`, 400, "base64"},
		{"structured: relative dataschema", structured(), `{"specversion":"1.0","id":"r-1","source":"/o","type":"order.created","dataschema":"schemas/order"}`, 400, "absolute URI"},
		{"structured: time not RFC 3339", structured(), `{"specversion":"1.0","id":"r-1","source":"/o","type":"order.created","time":"12/07/2026"}`, 400, "RFC 3339"},
		{"structured: datacontenttype not a media type", structured(), `{"specversion":"1.0","id":"r-1","source":"/o","type":"order.created","datacontenttype":"no type"}`, 400, "media type"},
		{"structured: empty datacontenttype", structured(), `{"specversion":"1.0","id":"r-1","source":"/o","type":"order.created","datacontenttype":""}`, 400, "media type"},
		{"structured: text data not a string", structured(), `{"specversion":"1.0","id":"r-1","source":"/o","type":"order.created","datacontenttype":"text/plain","data":{"a":1}}`, 400, "must be a JSON string"},
		{"batched: not an array", batched(), `{"specversion":"1.0"}`, 400, "JSON array"},
		{"batched: one bad event of three", batched(), `[{"specversion":"1.0","id":"b-1","source":"/o","type":"order.created"},{"specversion":"1.0","id":"b-2","source":"/o"},{"specversion":"1.0","id":"b-3","source":"/o","type":"order.created"}]`, 400, "batch event 1: attribute type is required"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequest(http.MethodPost, env.url, strings.NewReader(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			req.Header = signed(t, tt.header, tt.body)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tt.wantCode {
				t.Errorf("answered %d %s, want %d", resp.StatusCode, b, tt.wantCode)
			}
			if msg := errorMessage(t, b); !strings.Contains(msg, tt.wantMsg) {
				t.Errorf("message %q, want it to contain %q", msg, tt.wantMsg)
			}
			if !sdkRejects(tt.header, tt.body) {
				t.Errorf("the CloudEvents SDK accepts this request; the adapter should not refuse it (or the case belongs in TestHubStricter)")
			}
		})
	}
	if n := len(env.events(t)); n != 0 {
		t.Errorf("refused requests stored %d events, want none", n)
	}
}

// TestEmptyOptionalAttributes: an optional attribute sent empty is read
// as absent, as the SDK reads it, and the event is stored.
func TestEmptyOptionalAttributes(t *testing.T) {
	env := newEnv(t, stdConfig(t))
	body := `{"specversion":"1.0","id":"e-1","source":"/o","type":"order.created","subject":"","time":"","dataschema":""}`
	if sdkRejects(structured(), body) {
		t.Fatal("the SDK refuses the event: the case is wrong")
	}
	req, _ := http.NewRequest(http.MethodPost, env.url, strings.NewReader(body))
	req.Header = signed(t, structured(), body)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("answered %d %s, want 202", resp.StatusCode, b)
	}
	got := env.events(t)
	if len(got) != 1 || got[0].GetSubject() != "" || got[0].GetDataSchema() != "" || got[0].GetDataContentType() != "" {
		t.Errorf("stored %v, want one event with no subject, dataschema or datacontenttype", got)
	}
}

// TestHubStricter lists what the adapter refuses although the SDK's
// Validate() passes it: limits of the hub's event (a type is a NATS
// subject's tokens, an extension name at most 20 characters as
// CloudEvents recommends, an id at most 256 bytes without control
// characters) and the HTTP binding's percent-decoding, which the SDK
// does not do. docs/adapters/cloudevents.md lists them.
func TestHubStricter(t *testing.T) {
	env := newEnv(t, stdConfig(t))
	tests := []struct {
		name    string
		header  http.Header
		body    string
		wantMsg string
	}{
		{"type with a slash", binaryHeaders("Ce-Type", "com.example/order.created"), okData, "dot-separated words"},
		{"type with a space", binaryHeaders("Ce-Type", "order created"), okData, "dot-separated words"},
		{"extension name of 21 characters", binaryHeaders("Ce-"+strings.Repeat("x", 21), "v"), okData, "at most 20"},
		{"id of 257 bytes", binaryHeaders("Ce-Id", strings.Repeat("i", 257)), okData, "at most 256"},
		{"id with a percent-encoded newline", binaryHeaders("Ce-Id", "a%0Ab"), okData, "control characters"},
		{"extension a fraction", structured(), `{"specversion":"1.0","id":"r-1","source":"/o","type":"order.created","ratio":1.5}`, "CloudEvents Integer"},
		{"binary: JSON data that is not JSON", binaryHeaders(), `{"total":`, "not valid JSON"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodPost, env.url, bytes.NewReader([]byte(tt.body)))
			req.Header = signed(t, tt.header, tt.body)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusBadRequest {
				t.Errorf("answered %d %s, want 400", resp.StatusCode, b)
			}
			if msg := errorMessage(t, b); !strings.Contains(msg, tt.wantMsg) {
				t.Errorf("message %q, want it to contain %q", msg, tt.wantMsg)
			}
			if sdkRejects(tt.header, tt.body) {
				t.Errorf("the SDK refuses this too: move the case to TestRejects")
			}
		})
	}
	if n := len(env.events(t)); n != 0 {
		t.Errorf("refused requests stored %d events, want none", n)
	}
}
