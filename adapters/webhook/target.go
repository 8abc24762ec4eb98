package webhook

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"time"

	"golang.org/x/net/http/httpguts"

	"github.com/junctionhq/junction/adapters/sdk/clip"
	"github.com/junctionhq/junction/adapters/sdk/verify"
	junctionv1 "github.com/junctionhq/junction/proto/junction/v1"
)

// The body modes of a target's "body" key.
const (
	// BodyJSON sends the delivery payload (the route's transform) as is,
	// the default.
	BodyJSON = "json"
	// BodyCloudEventStructured sends a CloudEvent in structured mode: a
	// JSON envelope (application/cloudevents+json) with the payload as
	// data.
	BodyCloudEventStructured = "cloudevent-structured"
	// BodyCloudEventBinary sends the payload as the body with the
	// CloudEvent's attributes in ce-* headers.
	BodyCloudEventBinary = "cloudevent-binary"
)

// The CloudEvents extension attributes a CloudEvent body carries besides
// the hub event's id, source, type and time.
const (
	CloudEventDeliveryID = "junctiondeliveryid"
	CloudEventRoute      = "junctionroute"
)

// reservedHeaders are the headers a target's "headers" may not set: the
// signature and the hub's own headers, those the body mode sets, those
// net/http owns, and Authorization, which only "auth" sets so that no
// credential is written in a route.
var reservedHeaders = []string{
	verify.HeaderWebhookID, verify.HeaderWebhookTimestamp, verify.HeaderWebhookSignature,
	HeaderEventID, HeaderRoute, "Content-Type", "Content-Length", "Content-Encoding",
	"Transfer-Encoding", "Connection", "Host", "Authorization", "Proxy-Authorization",
	"Cookie", "Te", "Trailer", "Upgrade", "Keep-Alive", "Expect",
}

// credentialName is the form of an outbound.credentials name.
var credentialName = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,62}$`)

// targetOptions is a target config read: extra headers, the credential's
// name and the body mode.
type targetOptions struct {
	headers http.Header
	names   []string // header names in the order given
	auth    string
	body    string
}

// CheckTarget checks the keys of a webhook target's config beyond what
// Spec.Targets declares: each line of "headers" is "Name: value" with a
// valid name that is none of the signature's, the hub's or
// Authorization; "auth" is a credential name's form (whether the
// adapter has it is known only at delivery). The hub's gateway calls it
// when a route is saved; its errors start with the key and never repeat a
// header's value.
func CheckTarget(config map[string]string) error {
	_, err := readTarget(config)
	return err
}

func readTarget(config map[string]string) (*targetOptions, error) {
	o := &targetOptions{headers: http.Header{}, auth: config["auth"], body: config["body"]}
	if o.body == "" {
		o.body = BodyJSON
	}
	if !slices.Contains([]string{BodyJSON, BodyCloudEventStructured, BodyCloudEventBinary}, o.body) {
		return nil, fmt.Errorf(`body: must be one of "json", "cloudevent-structured", "cloudevent-binary"`)
	}
	if o.auth != "" && !credentialName.MatchString(o.auth) {
		return nil, errors.New("auth: must name a credential of the webhook adapter's outbound.credentials (lower-case letters, digits, _ and -), e.g. crm; never the secret itself")
	}
	for i, line := range strings.Split(config["headers"], "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		name, value, ok := strings.Cut(line, ":")
		name, value = strings.TrimSpace(name), strings.TrimSpace(value)
		switch {
		case !ok:
			return nil, fmt.Errorf(`headers: line %d has no ":": give one "Name: value" per line, e.g. "X-Tenant: acme"`, i+1)
		case !httpguts.ValidHeaderFieldName(name):
			return nil, fmt.Errorf("headers: line %d: %q is not a valid header name (letters, digits and !#$%%&'*+-.^_`|~)", i+1, clip.N(name, 64))
		case !httpguts.ValidHeaderFieldValue(value):
			return nil, fmt.Errorf("headers: line %d (%s): the value holds control characters", i+1, name)
		}
		canon := http.CanonicalHeaderKey(name)
		if slices.ContainsFunc(reservedHeaders, func(r string) bool { return strings.EqualFold(r, name) }) || strings.HasPrefix(strings.ToLower(name), "ce-") {
			return nil, fmt.Errorf("headers: %s is set by the adapter (signature, hub, body and connection headers, ce-*, and Authorization, which only auth sets from outbound.credentials) and cannot be given", canon)
		}
		if _, dup := o.headers[canon]; dup {
			return nil, fmt.Errorf("headers: %s is given twice", canon)
		}
		o.headers.Set(canon, value)
		o.names = append(o.names, canon)
	}
	return o, nil
}

// cloudEvent is the structured-mode envelope (CloudEvents 1.0 JSON
// format).
type cloudEvent struct {
	SpecVersion     string          `json:"specversion"`
	ID              string          `json:"id"`
	Source          string          `json:"source"`
	Type            string          `json:"type"`
	Time            string          `json:"time,omitempty"`
	DataContentType string          `json:"datacontenttype,omitempty"`
	Data            json.RawMessage `json:"data,omitempty"`
	DataBase64      string          `json:"data_base64,omitempty"`
	DeliveryID      string          `json:"junctiondeliveryid"`
	Route           string          `json:"junctionroute,omitempty"`
}

// ceTime is the hub event's time as CloudEvents writes it, or "".
func ceTime(d *junctionv1.Delivery) string {
	if t := d.GetEventTime(); t != nil {
		return t.AsTime().UTC().Format(time.RFC3339Nano)
	}
	return ""
}

// encode returns the request body and its content type for the mode, and
// sets the mode's headers (ce-* in binary mode) on h. The CloudEvent is
// the hub event (id, source, type, time) with the delivery payload as
// data.
func (o *targetOptions) encode(d *junctionv1.Delivery, h http.Header) ([]byte, string, error) {
	contentType := d.GetContentType()
	if contentType == "" {
		contentType = "application/json"
	}
	switch o.body {
	case BodyCloudEventStructured:
		ce := cloudEvent{SpecVersion: "1.0", ID: d.GetEventId(), Source: d.GetEventSource(), Type: d.GetEventType(),
			Time: ceTime(d), DataContentType: contentType, DeliveryID: d.GetId(), Route: d.GetRouteId()}
		if isJSON(contentType) && json.Valid(d.GetPayload()) {
			ce.Data = d.GetPayload()
		} else if len(d.GetPayload()) > 0 {
			ce.DataBase64 = base64.StdEncoding.EncodeToString(d.GetPayload())
		}
		b, err := json.Marshal(ce)
		if err != nil {
			return nil, "", fmt.Errorf("encode the cloudevent: %w", err)
		}
		return b, "application/cloudevents+json", nil
	case BodyCloudEventBinary:
		h.Set("ce-specversion", "1.0")
		h.Set("ce-id", d.GetEventId())
		h.Set("ce-source", d.GetEventSource())
		h.Set("ce-type", d.GetEventType())
		if t := ceTime(d); t != "" {
			h.Set("ce-time", t)
		}
		h.Set("ce-"+CloudEventDeliveryID, d.GetId())
		if d.GetRouteId() != "" {
			h.Set("ce-"+CloudEventRoute, d.GetRouteId())
		}
		return d.GetPayload(), contentType, nil
	}
	return d.GetPayload(), contentType, nil
}

// isJSON reports whether a media type is JSON (application/json or a
// +json type).
func isJSON(contentType string) bool {
	mt, _, _ := strings.Cut(strings.ToLower(contentType), ";")
	mt = strings.TrimSpace(mt)
	return mt == "application/json" || strings.HasSuffix(mt, "+json")
}
