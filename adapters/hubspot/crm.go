package hubspot

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/junctionhq/junction/adapters/sdk"
	"github.com/junctionhq/junction/adapters/sdk/clip"
	"github.com/junctionhq/junction/adapters/sdk/platform/egress"
	junctionv1 "github.com/junctionhq/junction/proto/junction/v1"
)

// Defaults of CRMConfig.
const (
	// DefaultTokenEnv is the environment variable holding the private
	// app's access token when crm.token_env and crm.token_file are unset.
	DefaultTokenEnv = "HUBSPOT_ACCESS_TOKEN"
	// DefaultBaseURL is HubSpot's API.
	DefaultBaseURL = "https://api.hubapi.com"
	// DefaultCRMTimeout bounds one API call.
	DefaultCRMTimeout = 10 * time.Second
)

// HeaderDeliveryID carries the hub's delivery id on every CRM call.
// HubSpot takes no idempotency key; the header is there for HubSpot's
// request logs and for test stand-ins. The upsert by email is what makes
// a retried delivery one contact, not two.
const HeaderDeliveryID = "Junction-Delivery-Id"

// CRMConfig is the `crm:` section of the adapter's config: how the
// destination reaches HubSpot's CRM API. The access token is read from
// the environment or a file, never written here.
type CRMConfig struct {
	// TokenEnv names the environment variable holding the private app's
	// access token (sent as Authorization: Bearer). Default
	// HUBSPOT_ACCESS_TOKEN.
	TokenEnv string `yaml:"token_env"`
	// TokenFile is the path of a file holding the token instead.
	TokenFile string `yaml:"token_file"`
	// BaseURL is the API's base URL. Default https://api.hubapi.com.
	BaseURL string `yaml:"base_url"`
	// Timeout bounds one API call. Default 10s.
	Timeout time.Duration `yaml:"timeout"`
	// Allow lists internal addresses the client may reach (CIDR, address
	// or host:port, as the webhook adapter's outbound.allow): the client
	// refuses loopback, private, link-local and metadata addresses
	// otherwise. For tests and private proxies.
	Allow []string `yaml:"allow"`
}

// validate says what is wrong with c.
func (c *CRMConfig) validate() error {
	var errs []error
	if c.TokenEnv != "" && c.TokenFile != "" {
		errs = append(errs, errors.New("adapter.crm: set only one of token_env and token_file"))
	}
	if c.BaseURL != "" {
		u, err := url.Parse(c.BaseURL)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil || u.RawQuery != "" {
			errs = append(errs, fmt.Errorf("adapter.crm.base_url %q must be an absolute https:// or http:// URL without user or query, e.g. %s", clip.String(c.BaseURL), DefaultBaseURL))
		}
	}
	if c.Timeout < 0 {
		errs = append(errs, fmt.Errorf("adapter.crm.timeout %s must not be negative", c.Timeout))
	}
	if err := egress.ValidateAllow("adapter.crm.allow", c.Allow); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// token reads the access token: "" when none is configured and the
// default variable is unset (the adapter then serves as a source only,
// and every delivery is dead-lettered saying so).
func (c *CRMConfig) token() (string, error) {
	switch {
	case c.TokenFile != "":
		b, err := os.ReadFile(c.TokenFile)
		if err != nil {
			return "", fmt.Errorf("read adapter.crm.token_file: %w", err)
		}
		v := strings.TrimSpace(string(b))
		if v == "" {
			return "", fmt.Errorf("adapter.crm.token_file %s is empty: write the private app's access token in it", c.TokenFile)
		}
		return v, nil
	case c.TokenEnv != "":
		v := strings.TrimSpace(os.Getenv(c.TokenEnv))
		if v == "" {
			return "", fmt.Errorf("environment variable %s (adapter.crm.token_env) is not set or empty: set it to the private app's access token", c.TokenEnv)
		}
		return v, nil
	}
	return strings.TrimSpace(os.Getenv(DefaultTokenEnv)), nil
}

// crm calls HubSpot's CRM API for the destination.
type crm struct {
	token  string
	base   string
	client *http.Client
}

func newCRM(c CRMConfig) (*crm, error) {
	token, err := c.token()
	if err != nil {
		return nil, err
	}
	guard, err := egress.New(egress.Policy{Allow: c.Allow, Key: "adapter.crm.allow"})
	if err != nil {
		return nil, err
	}
	timeout := c.Timeout
	if timeout == 0 {
		timeout = DefaultCRMTimeout
	}
	base := strings.TrimRight(c.BaseURL, "/")
	if base == "" {
		base = DefaultBaseURL
	}
	return &crm{token: token, base: base, client: guard.Client(sdk.TraceTransport(guard.Transport()), timeout)}, nil
}

// targets is the destination's target config: the unique property
// contacts are upserted by, and the ids of a company and a deal every
// contact of the route is associated with (the payload's company_id and
// deal_id win over them).
var targets = &sdk.TargetSchema{Keys: []sdk.TargetKey{
	{Name: "id_property", Description: "the unique contact property to upsert by (HubSpot's idProperty); default email"},
	{Name: "company_id", Type: sdk.KeyInt, Description: "the HubSpot id of a company to associate each contact with"},
	{Name: "deal_id", Type: sdk.KeyInt, Description: "the HubSpot id of a deal to associate each contact with"},
}}

// contact is a delivery's payload read as a contact upsert.
type contact struct {
	idProperty string
	id         string
	properties map[string]string
	companyID  string
	dealID     string
}

// readContact reads a payload: a JSON object whose keys are contact
// properties (the id property, "email" by default, required), besides "company_id" and "deal_id", the
// records to associate. Values are strings, numbers or booleans; null
// leaves a property out.
func readContact(payload []byte, config map[string]string) (*contact, error) {
	var obj map[string]json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(payload))
	dec.UseNumber()
	if err := dec.Decode(&obj); err != nil || obj == nil {
		return nil, errors.New(`payload is not a JSON object: give the route a transform such as {"email": event.data.email, "firstname": event.data.first_name}`)
	}
	c := &contact{properties: map[string]string{}, companyID: config["company_id"], dealID: config["deal_id"]}
	for k, raw := range obj {
		v, ok, err := scalar(raw)
		if err != nil {
			return nil, fmt.Errorf("payload field %q: %w", clip.N(k, 64), err)
		}
		if !ok {
			continue
		}
		switch k {
		case "company_id":
			c.companyID = v
		case "deal_id":
			c.dealID = v
		default:
			c.properties[k] = v
		}
	}
	c.idProperty = config["id_property"]
	if c.idProperty == "" {
		c.idProperty = "email"
	}
	c.id = strings.TrimSpace(c.properties[c.idProperty])
	if c.id == "" {
		return nil, fmt.Errorf("payload has no %q: the contact is upserted by it (target config id_property); map one in the route's transform", clip.N(c.idProperty, 64))
	}
	for name, id := range map[string]string{"company_id": c.companyID, "deal_id": c.dealID} {
		if id != "" {
			if _, err := strconv.ParseUint(id, 10, 64); err != nil {
				return nil, fmt.Errorf("%s %q is not a HubSpot record id (a whole number)", name, clip.N(id, 64))
			}
		}
	}
	return c, nil
}

// scalar reads a JSON string, number or boolean as HubSpot's property
// value; ok is false for null.
func scalar(raw json.RawMessage) (string, bool, error) {
	var v any
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		return "", false, err
	}
	switch x := v.(type) {
	case nil:
		return "", false, nil
	case string:
		return x, true, nil
	case json.Number:
		return x.String(), true, nil
	case bool:
		return strconv.FormatBool(x), true, nil
	}
	return "", false, errors.New("is an object or array: contact properties take strings, numbers or booleans")
}

// Deliver upserts the payload's contact by email, or the target's
// id_property (POST /crm/v3/objects/contacts/batch/upsert), then
// associates it with the company and the deal given (PUT
// /crm/v4/objects/contact/{id}/associations/default/{company|deal}/{id}).
// Every call is idempotent: a retried delivery updates the same contact
// and re-creates the same associations. 429 is retried after Retry-After
// (or HubSpot's rate-limit window), 408 and 5xx with back-off; other
// answers are permanent, naming HubSpot's message.
func (a *Adapter) Deliver(ctx context.Context, d *junctionv1.Delivery) error {
	if err := targets.Check(d.GetConfig()); err != nil {
		return sdk.Permanent(fmt.Errorf("target config %w", err))
	}
	if a.crm == nil || a.crm.token == "" {
		return sdk.Permanent(fmt.Errorf("no HubSpot access token is configured: set %s (or adapter.crm.token_env / token_file) to a private app's token with the crm.objects.contacts.write scope, then redrive the dead letters", DefaultTokenEnv))
	}
	c, err := readContact(d.GetPayload(), d.GetConfig())
	if err != nil {
		return sdk.Permanent(err)
	}
	id, err := a.crm.upsert(ctx, d.GetId(), c)
	if err != nil {
		return err
	}
	for _, as := range []struct{ kind, id string }{{"company", c.companyID}, {"deal", c.dealID}} {
		if as.id == "" {
			continue
		}
		if err := a.crm.associate(ctx, d.GetId(), id, as.kind, as.id); err != nil {
			return err
		}
	}
	return nil
}

// upsertRequest is the body of batch/upsert.
type upsertRequest struct {
	Inputs []upsertInput `json:"inputs"`
}

type upsertInput struct {
	IDProperty string            `json:"idProperty"`
	ID         string            `json:"id"`
	Properties map[string]string `json:"properties"`
}

// upsertResponse is what batch/upsert answers (200, or 207 with errors).
type upsertResponse struct {
	Status  string `json:"status"`
	Results []struct {
		ID string `json:"id"`
	} `json:"results"`
	Errors []apiError `json:"errors"`
}

// upsert creates or updates c, returning the contact's id.
func (h *crm) upsert(ctx context.Context, deliveryID string, c *contact) (string, error) {
	body, err := json.Marshal(upsertRequest{Inputs: []upsertInput{{IDProperty: c.idProperty, ID: c.id, Properties: c.properties}}})
	if err != nil {
		return "", sdk.Permanent(fmt.Errorf("encode upsert: %w", err))
	}
	const what = "upsert contact"
	resp, err := h.call(ctx, http.MethodPost, "/crm/v3/objects/contacts/batch/upsert", deliveryID, body, what)
	if err != nil {
		return "", err
	}
	var out upsertResponse
	if err := json.Unmarshal(resp, &out); err != nil {
		return "", sdk.Retryable(fmt.Errorf("hubspot %s: answer is not the documented JSON: %w", what, err))
	}
	if len(out.Errors) > 0 {
		return "", sdk.Permanent(fmt.Errorf("hubspot %s: %s", what, out.Errors[0]))
	}
	if len(out.Results) == 0 || out.Results[0].ID == "" {
		return "", sdk.Retryable(fmt.Errorf("hubspot %s: answer has no result (status %q)", what, out.Status))
	}
	return out.Results[0].ID, nil
}

// associate creates the default association of contact id with a
// company or deal.
func (h *crm) associate(ctx context.Context, deliveryID, contactID, kind, toID string) error {
	path := "/crm/v4/objects/contact/" + url.PathEscape(contactID) + "/associations/default/" + kind + "/" + url.PathEscape(toID)
	_, err := h.call(ctx, http.MethodPut, path, deliveryID, nil, "associate contact with "+kind+" "+toID)
	return err
}

// maxAnswer bounds what is read of an answer.
const maxAnswer = 1 << 20

// call sends one request and returns the 2xx answer's body, or the
// classified error.
func (h *crm) call(ctx context.Context, method, path, deliveryID string, body []byte, what string) ([]byte, error) {
	var r io.Reader
	if body != nil {
		r = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, h.base+path, r)
	if err != nil {
		return nil, sdk.Permanent(fmt.Errorf("hubspot %s: build request: %w", what, err))
	}
	req.Header.Set("Authorization", "Bearer "+h.token)
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("User-Agent", "Junction-HubSpot/"+Spec.Version)
	req.Header.Set(HeaderDeliveryID, deliveryID)
	resp, err := h.client.Do(req)
	if err != nil {
		var uerr *url.Error
		if errors.As(err, &uerr) {
			err = uerr.Err
		}
		err = fmt.Errorf("hubspot %s: %w", what, err)
		if errors.Is(err, egress.ErrBlocked) {
			return nil, sdk.Permanent(err)
		}
		return nil, sdk.Retryable(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	if resp.StatusCode/100 == 2 {
		return b, nil
	}
	return nil, classifyCRM(resp, b, what, time.Now())
}

// apiError is HubSpot's error body: {"status":"error","message":...,
// "correlationId":...,"category":...}.
type apiError struct {
	Message       string `json:"message"`
	Category      string `json:"category"`
	CorrelationID string `json:"correlationId"`
}

func (e apiError) String() string {
	var b strings.Builder
	if e.Category != "" {
		b.WriteString(e.Category + ": ")
	}
	if e.Message != "" {
		b.WriteString(clip.N(e.Message, 300))
	} else {
		b.WriteString("no message")
	}
	if e.CorrelationID != "" {
		b.WriteString(" (correlationId " + clip.N(e.CorrelationID, 64) + ")")
	}
	return b.String()
}

// StatusError is an answer of HubSpot's API other than 2xx.
type StatusError struct {
	// StatusCode is the HTTP status.
	StatusCode int
	// Category and Message are HubSpot's error body's, when it had one.
	Category, Message string
}

// Error names the status and HubSpot's message.
func (e *StatusError) Error() string {
	msg := fmt.Sprintf("answered %d %s", e.StatusCode, http.StatusText(e.StatusCode))
	if e.Message != "" || e.Category != "" {
		msg += ": " + apiError{Message: e.Message, Category: e.Category}.String()
	}
	return msg
}

// classifyCRM turns a non-2xx answer into a retryable or permanent error:
// 429 waits for Retry-After, else HubSpot's rate-limit window
// (X-HubSpot-RateLimit-Interval-Milliseconds); 408 and 5xx are retried;
// the rest (400, 401, 403, 404, 409, ...) are permanent.
func classifyCRM(resp *http.Response, body []byte, what string, now time.Time) error {
	var ae apiError
	_ = json.Unmarshal(body, &ae)
	if ae.Message == "" && len(body) > 0 && !json.Valid(body) {
		ae.Message = strings.TrimSpace(clip.N(string(body), 200))
	}
	serr := &StatusError{StatusCode: resp.StatusCode, Category: ae.Category, Message: ae.Message}
	err := fmt.Errorf("hubspot %s: %w", what, serr)
	if ae.CorrelationID != "" {
		err = fmt.Errorf("%w (correlationId %s)", err, clip.N(ae.CorrelationID, 64))
	}
	code := resp.StatusCode
	switch {
	case code == http.StatusTooManyRequests:
		if d, ok := retryAfter(resp.Header, now); ok {
			return sdk.RetryAfter(err, d)
		}
		return sdk.Retryable(err)
	case code == http.StatusRequestTimeout || code >= 500:
		if d, ok := retryAfter(resp.Header, now); ok {
			return sdk.RetryAfter(err, d)
		}
		return sdk.Retryable(err)
	default:
		return sdk.Permanent(err)
	}
}

// retryAfter reads Retry-After (seconds or an HTTP date), else HubSpot's
// X-HubSpot-RateLimit-Interval-Milliseconds when the window's remaining
// calls are spent. At most a day.
func retryAfter(h http.Header, now time.Time) (time.Duration, bool) {
	if v := strings.TrimSpace(h.Get("Retry-After")); v != "" {
		if secs, err := strconv.ParseInt(v, 10, 64); err == nil && secs >= 0 {
			return time.Duration(min(secs, 86400)) * time.Second, true
		}
		if t, err := http.ParseTime(v); err == nil {
			return min(max(t.Sub(now), 0), 24*time.Hour), true
		}
	}
	if h.Get("X-HubSpot-RateLimit-Remaining") == "0" {
		if ms, err := strconv.ParseInt(h.Get("X-HubSpot-RateLimit-Interval-Milliseconds"), 10, 64); err == nil && ms > 0 {
			return min(time.Duration(ms)*time.Millisecond, 24*time.Hour), true
		}
	}
	return 0, false
}
