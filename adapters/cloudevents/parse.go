package cloudevents

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"mime"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/junctionhq/junction/adapters/sdk/clip"
	junctionv1 "github.com/junctionhq/junction/proto/junction/v1"
)

// Media types of the CloudEvents HTTP binding.
const (
	// MediaStructured is a structured-mode request: one event in the JSON
	// event format.
	MediaStructured = "application/cloudevents+json"
	// MediaBatch is a batched-mode request: a JSON array of events in the
	// JSON event format.
	MediaBatch = "application/cloudevents-batch+json"
)

// SpecVersion is the CloudEvents version the adapter reads.
const SpecVersion = "1.0"

// Mode is how a request carries its events.
type Mode string

// The modes of the CloudEvents HTTP binding.
const (
	// Binary: attributes in ce-* headers, data the body, datacontenttype
	// the Content-Type.
	Binary Mode = "binary"
	// Structured: one JSON event format object.
	Structured Mode = "structured"
	// Batched: a JSON array of event format objects.
	Batched Mode = "batched"
)

// Limits the hub puts on an event, stricter than CloudEvents in places;
// a request breaking one is refused with a message saying which.
const (
	// maxIDLen is the hub's longest event id, in bytes.
	maxIDLen = 256
	// maxTypeLen is the hub's longest event type, in bytes.
	maxTypeLen = 200
	// maxExtensionName is the hub's longest extension name (CloudEvents
	// says names SHOULD NOT exceed 20 characters).
	maxExtensionName = 20
)

var (
	// typeRe is what the hub accepts as an event type: dot-separated
	// words of letters, digits, '_' and '-'.
	typeRe = regexp.MustCompile(`^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$`)
	// nameRe is a CloudEvents attribute name.
	nameRe = regexp.MustCompile(`^[a-z0-9]+$`)
)

// specAttributes are the context attributes of CloudEvents 1.0 and the
// data members of the JSON format; every other member is an extension.
var specAttributes = map[string]bool{
	"id": true, "source": true, "specversion": true, "type": true,
	"datacontenttype": true, "dataschema": true, "subject": true, "time": true,
	"data": true, "data_base64": true,
}

// invalid is a request whose events cannot be stored: its message says
// which attribute is wrong and how to fix it. Answer 400.
type invalid struct{ msg string }

func (e *invalid) Error() string { return e.msg }

func invalidf(format string, args ...any) error {
	return &invalid{msg: fmt.Sprintf(format, args...)}
}

// unsupported is a request in a format the adapter does not read. Answer
// 415.
type unsupported struct{ msg string }

func (e *unsupported) Error() string { return e.msg }

// ModeOf says how r carries its events: structured or batched by its
// Content-Type, else binary when it has a ce-specversion header. An
// error (answer 415 or 400) says what a CloudEvents sender must send.
func ModeOf(h http.Header) (Mode, error) {
	ct := h.Get("Content-Type")
	mt, _, err := mime.ParseMediaType(ct)
	if err == nil {
		switch {
		case mt == MediaStructured:
			return Structured, nil
		case mt == MediaBatch:
			return Batched, nil
		case strings.HasPrefix(mt, "application/cloudevents"):
			return "", &unsupported{msg: fmt.Sprintf("content type %q is a CloudEvents format this hub does not read: send %s (structured), %s (batched) or binary mode (ce-* headers)", clip.String(mt), MediaStructured, MediaBatch)}
		}
	}
	if len(h.Values("Ce-Specversion")) > 0 {
		return Binary, nil
	}
	return "", invalidf("the request is not a CloudEvent: send binary mode (headers ce-specversion: 1.0, ce-id, ce-source, ce-type; the data as the body) or Content-Type %s or %s", MediaStructured, MediaBatch)
}

// FromBinary reads a binary-mode event: its attributes from the ce-*
// headers (percent-decoded, as the HTTP binding says), datacontenttype
// from Content-Type, data the body byte for byte.
func FromBinary(h http.Header, body []byte) (*junctionv1.Event, error) {
	a := attrs{}
	for key, values := range h {
		lower := strings.ToLower(key)
		name, ok := strings.CutPrefix(lower, "ce-")
		if !ok {
			continue
		}
		if len(values) != 1 {
			return nil, invalidf("header %s is sent %d times: send each attribute once", clip.String(lower), len(values))
		}
		v, err := percentDecode(values[0])
		if err != nil {
			return nil, invalidf("header %s: %v", clip.String(lower), err)
		}
		switch {
		case name == "datacontenttype":
			return nil, invalidf("header ce-datacontenttype is not used in binary mode: send the data's media type as Content-Type")
		case name == "data" || name == "data_base64":
			return nil, invalidf("header %s is not an attribute: in binary mode the body is the data", clip.String(lower))
		case specAttributes[name]:
			a.set(name, v)
		default:
			if err := a.extension(name, v); err != nil {
				return nil, err
			}
		}
	}
	if ct := h.Values("Content-Type"); len(ct) > 0 {
		a.set("datacontenttype", ct[0])
	}
	e, err := a.event()
	if err != nil {
		return nil, err
	}
	if isJSON(e.GetDataContentType()) && len(body) > 0 && !json.Valid(body) {
		return nil, invalidf("the body is not valid JSON although Content-Type %q says it is: send the JSON data, or the data's real media type", clip.String(e.GetDataContentType()))
	}
	e.Data = body
	return e, nil
}

// FromStructured reads one event in the JSON event format. data is kept
// byte for byte as it appears in the object when the datacontenttype is
// JSON (or absent); the string's contents for another media type; the
// decoded bytes of data_base64.
func FromStructured(body []byte) (*junctionv1.Event, error) {
	if !utf8.Valid(body) {
		return nil, invalidf("the event is not UTF-8: JSON is sent as UTF-8 (RFC 8259)")
	}
	members, err := object(body)
	if err != nil {
		return nil, err
	}
	return fromMembers(members)
}

// FromBatch reads a batch: a JSON array of events in the JSON event
// format. It returns every event or, when any one is wrong, an error
// naming its index: a batch is taken whole or not at all.
func FromBatch(body []byte, max int) ([]*junctionv1.Event, error) {
	if !utf8.Valid(body) {
		return nil, invalidf("the batch is not UTF-8: JSON is sent as UTF-8 (RFC 8259)")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	tok, err := dec.Token()
	if err != nil || tok != json.Delim('[') {
		return nil, invalidf("a batch must be a JSON array of CloudEvents (Content-Type %s)", MediaBatch)
	}
	var events []*junctionv1.Event
	for dec.More() {
		if len(events) == max {
			return nil, invalidf("the batch holds more than %d events, this adapter's max_batch: send smaller batches", max)
		}
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, invalidf("the batch is not valid JSON: %v", err)
		}
		members, err := object(raw)
		if err != nil {
			return nil, invalidf("batch event %d: %v", len(events), err)
		}
		e, err := fromMembers(members)
		if err != nil {
			return nil, invalidf("batch event %d: %v", len(events), err)
		}
		events = append(events, e)
	}
	if _, err := dec.Token(); err != nil {
		return nil, invalidf("the batch is not valid JSON: %v", err)
	}
	if _, err := dec.Token(); err == nil {
		return nil, invalidf("the batch has data after its closing ']': send one JSON array")
	}
	return events, nil
}

// object reads a JSON object into its members, raw, refusing a member
// named twice (which would make the event ambiguous).
func object(b []byte) (map[string]json.RawMessage, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	tok, err := dec.Token()
	if err != nil || tok != json.Delim('{') {
		return nil, invalidf("a CloudEvent in the JSON format must be a JSON object, e.g. {\"specversion\":\"1.0\",\"id\":\"1\",\"source\":\"/shop\",\"type\":\"order.created\"}")
	}
	members := map[string]json.RawMessage{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, invalidf("the event is not valid JSON: %v", err)
		}
		key, _ := tok.(string)
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, invalidf("the event is not valid JSON: %v", err)
		}
		if _, dup := members[key]; dup {
			return nil, invalidf("member %q appears twice: send each attribute once", clip.String(key))
		}
		members[key] = raw
	}
	if _, err := dec.Token(); err != nil {
		return nil, invalidf("the event is not valid JSON: %v", err)
	}
	if _, err := dec.Token(); err == nil {
		return nil, invalidf("the body has data after the event's closing '}': send one JSON object")
	}
	return members, nil
}

// fromMembers builds the event of a JSON format object.
func fromMembers(members map[string]json.RawMessage) (*junctionv1.Event, error) {
	a := attrs{}
	for name, raw := range members {
		if name == "data" || name == "data_base64" {
			continue
		}
		if specAttributes[name] {
			if string(raw) == "null" {
				continue // absent
			}
			var s string
			if err := json.Unmarshal(raw, &s); err != nil {
				return nil, invalidf("attribute %s must be a JSON string", name)
			}
			a.set(name, s)
			continue
		}
		v, ok, err := extensionValue(raw)
		if err != nil {
			return nil, invalidf("extension %s: %v", clip.String(name), err)
		}
		if !ok {
			continue // null: absent
		}
		if err := a.extension(strings.ToLower(name), v); err != nil {
			return nil, err
		}
	}
	e, err := a.event()
	if err != nil {
		return nil, err
	}
	data, hasData := members["data"]
	b64, hasB64 := members["data_base64"]
	switch {
	case hasData && hasB64:
		return nil, invalidf("the event has both data and data_base64: send one")
	case hasB64 && string(b64) != "null":
		var s string
		if err := json.Unmarshal(b64, &s); err != nil {
			return nil, invalidf("data_base64 must be a JSON string of standard base64")
		}
		if e.Data, err = base64.StdEncoding.DecodeString(s); err != nil {
			return nil, invalidf("data_base64 is not standard base64 (RFC 4648, with padding)")
		}
	case hasData && isJSON(e.GetDataContentType()):
		e.Data = []byte(data)
	case hasData && string(data) != "null":
		var s string
		if err := json.Unmarshal(data, &s); err != nil {
			return nil, invalidf("data must be a JSON string when datacontenttype %q is not JSON: send the text as a string, or binary data as data_base64", clip.String(e.GetDataContentType()))
		}
		e.Data = []byte(s)
	}
	return e, nil
}

// extensionValue is the canonical string of a JSON extension value (the
// form binary mode sends): a string as it is, a boolean "true" or
// "false", an integer in decimal. ok is false for null (absent).
func extensionValue(raw json.RawMessage) (string, bool, error) {
	switch {
	case string(raw) == "null":
		return "", false, nil
	case string(raw) == "true" || string(raw) == "false":
		return string(raw), true, nil
	case len(raw) > 0 && raw[0] == '"':
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return "", false, errors.New("not a valid JSON string")
		}
		return s, true, nil
	case len(raw) > 0 && (raw[0] == '-' || raw[0] >= '0' && raw[0] <= '9'):
		n, err := strconv.ParseInt(string(raw), 10, 64)
		if err != nil || n < math.MinInt32 || n > math.MaxInt32 {
			return "", false, fmt.Errorf("%s is not a CloudEvents Integer (a whole number from -2147483648 to 2147483647): send other numbers as strings", clip.String(string(raw)))
		}
		return strconv.FormatInt(n, 10), true, nil
	}
	return "", false, errors.New("must be a string, a boolean or an integer (CloudEvents extensions are not objects or arrays)")
}

// attrs collects a CloudEvent's attributes before they are checked.
type attrs struct {
	values     map[string]string
	extensions map[string]string
}

func (a *attrs) set(name, v string) {
	if a.values == nil {
		a.values = map[string]string{}
	}
	a.values[name] = v
}

func (a *attrs) extension(name, v string) error {
	switch {
	case specAttributes[name]:
		return invalidf("extension %q has the name of a CloudEvents attribute: attribute names are lower case (send %q)", name, name)
	case !nameRe.MatchString(name):
		return invalidf("extension name %q must be lower-case letters and digits only (CloudEvents attribute naming)", clip.String(name))
	case len(name) > maxExtensionName:
		return invalidf("extension name %q is %d characters; the hub keeps names of at most %d (CloudEvents says names SHOULD NOT exceed 20)", clip.String(name), len(name), maxExtensionName)
	}
	if a.extensions == nil {
		a.extensions = map[string]string{}
	}
	if _, dup := a.extensions[name]; dup {
		return invalidf("extension %q is sent twice: send each attribute once", name)
	}
	a.extensions[name] = v
	return nil
}

// event checks the attributes as CloudEvents 1.0 and the hub require and
// builds the event (without data).
func (a *attrs) event() (*junctionv1.Event, error) {
	v := a.values
	specversion, ok := v["specversion"]
	switch {
	case !ok:
		return nil, invalidf("attribute specversion is missing: send specversion %q", SpecVersion)
	case specversion != SpecVersion:
		return nil, invalidf("specversion %q is not read here: send CloudEvents %s", clip.String(specversion), SpecVersion)
	}
	for _, name := range []string{"id", "source", "type"} {
		if strings.TrimSpace(v[name]) == "" {
			return nil, invalidf("attribute %s is required and must not be empty", name)
		}
	}
	id, source, typ := v["id"], v["source"], v["type"]
	switch {
	case len(id) > maxIDLen:
		return nil, invalidf("id is %d bytes; the hub keeps ids of at most %d", len(id), maxIDLen)
	case !utf8.ValidString(id) || hasControl(id):
		return nil, invalidf("id %q must be UTF-8 without control characters", clip.String(id))
	}
	if _, err := url.Parse(source); err != nil || !utf8.ValidString(source) {
		return nil, invalidf("source %q must be a URI-reference, e.g. https://shop.example.com/orders or /sensors/tn-1", clip.String(source))
	}
	if len(typ) > maxTypeLen || !typeRe.MatchString(typ) {
		return nil, invalidf("type %q: the hub keeps types of dot-separated words of letters, digits, '_' and '-' (at most %d bytes), e.g. com.example.order.created", clip.String(typ), maxTypeLen)
	}
	e := &junctionv1.Event{
		Id:          id,
		SourceUri:   source,
		Type:        typ,
		SpecVersion: specversion,
		Extensions:  a.extensions,
	}
	// An empty subject, time or dataschema is absent, as the Go SDK reads
	// it (and as the Event's fields store it); a subject of spaces only
	// and an empty datacontenttype are refused, as CloudEvents says.
	if s := v["subject"]; s != "" {
		if strings.TrimSpace(s) == "" {
			return nil, invalidf("subject, when sent, must not be blank")
		}
		e.Subject = s
	}
	if ct, ok := v["datacontenttype"]; ok {
		if _, _, err := mime.ParseMediaType(ct); err != nil {
			return nil, invalidf("datacontenttype %q must be a media type (RFC 2046), e.g. application/json", clip.String(ct))
		}
		e.DataContentType = ct
	}
	if ds := v["dataschema"]; ds != "" {
		u, err := url.Parse(ds)
		if err != nil || !u.IsAbs() {
			return nil, invalidf("dataschema %q must be an absolute URI, e.g. https://schemas.example.com/order/v2", clip.String(ds))
		}
		e.DataSchema = ds
	}
	if ts := v["time"]; ts != "" {
		t, err := time.Parse(time.RFC3339Nano, ts)
		if err != nil {
			return nil, invalidf("time %q must be an RFC 3339 timestamp, e.g. 2026-12-07T01:02:03Z", clip.String(ts))
		}
		e.Time = timestamppb.New(t)
	}
	return e, nil
}

// isJSON says whether data of media type ct is JSON: application/json,
// text/json, any +json type, or no type at all (CloudEvents' default in
// the JSON format).
func isJSON(ct string) bool {
	if ct == "" {
		return true
	}
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		return false
	}
	return mt == "application/json" || mt == "text/json" || strings.HasSuffix(mt, "+json")
}

// percentDecode undoes the percent-encoding the HTTP binding asks senders
// to apply to header values ("%" followed by two hex digits is a byte); a
// '%' not followed by two hex digits is kept as it is. The result must be
// UTF-8.
func percentDecode(v string) (string, error) {
	if !strings.Contains(v, "%") {
		if !utf8.ValidString(v) {
			return "", errors.New("the value is not UTF-8: percent-encode bytes outside printable ASCII")
		}
		return v, nil
	}
	var b strings.Builder
	for i := 0; i < len(v); i++ {
		if v[i] == '%' && i+2 < len(v) && isHex(v[i+1]) && isHex(v[i+2]) {
			n, _ := strconv.ParseUint(v[i+1:i+3], 16, 8)
			b.WriteByte(byte(n))
			i += 2
			continue
		}
		b.WriteByte(v[i])
	}
	if !utf8.ValidString(b.String()) {
		return "", errors.New("the percent-decoded value is not UTF-8")
	}
	return b.String(), nil
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

func hasControl(s string) bool {
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			return true
		}
	}
	return false
}
