package jira

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/junctionhq/junction/adapters/sdk"
	"github.com/junctionhq/junction/adapters/sdk/clip"
	"github.com/junctionhq/junction/adapters/sdk/platform/egress"
	junctionv1 "github.com/junctionhq/junction/proto/junction/v1"
)

// The actions of a jira target.
const (
	ActionCreateIssue = "create_issue"
	ActionAddComment  = "add_comment"
)

// Destination defaults.
const (
	// DefaultAPITokenEnv is the environment variable read for the API
	// token when the config names none.
	DefaultAPITokenEnv = "JIRA_API_TOKEN"
	// DefaultIssueType is the issue type of targets and payloads that name
	// none.
	DefaultIssueType = "Task"
	// DefaultTimeout bounds one API call.
	DefaultTimeout = 30 * time.Second
	// DefaultRateLimitDelay is the wait after a 429 without Retry-After.
	DefaultRateLimitDelay = 30 * time.Second
	// LabelPrefix starts the label that marks an issue with the delivery
	// that created it.
	LabelPrefix = "junction-"
	// PropertyKey is the issue (and comment) property holding the
	// delivery id.
	PropertyKey = "junction.delivery"
)

// Targets declares the target config of a route's jira target.
var Targets = &sdk.TargetSchema{Keys: []sdk.TargetKey{
	{Name: "action", Required: true, Values: []string{ActionCreateIssue, ActionAddComment}, Description: "what to do: create_issue or add_comment"},
	{Name: "project", Description: `the project key of created issues, e.g. OPS; a payload's "project" overrides it`},
	{Name: "issue_type", Description: `the issue type name of created issues, e.g. Bug; default Task; a payload's "issue_type" overrides it`},
	{Name: "issue", Description: `the key of the issue to comment on, e.g. OPS-12; a payload's "issue" overrides it`},
	{Name: "summary", Description: `the summary of created issues when the payload has no "summary"`},
	{Name: "labels", Description: "labels added to created issues, comma-separated"},
}}

// DestinationConfig is the destination half of [Config]: the Jira Cloud
// site and the credentials of REST API v3 (basic auth with an account's
// email and an API token, both from the environment or a file).
type DestinationConfig struct {
	// BaseURL is the site, e.g. https://acme.atlassian.net. Setting it
	// turns the destination on.
	BaseURL string `yaml:"base_url"`
	// Email is the account's email; EmailEnv names an environment
	// variable holding it instead.
	Email    string `yaml:"email"`
	EmailEnv string `yaml:"email_env"`
	// APITokenEnv names the environment variable holding the API token;
	// default JIRA_API_TOKEN. APITokenFile is a file holding it instead.
	APITokenEnv  string `yaml:"api_token_env"`
	APITokenFile string `yaml:"api_token_file"`
	// CAFile is a PEM file of CA certificates trusted for the site besides
	// the system's (a Jira behind a private proxy; tests).
	CAFile string `yaml:"ca_file"`
	// Outbound guards the connections to the site.
	Outbound OutboundConfig `yaml:"outbound"`
	// Timeout bounds one API call; default 30s.
	Timeout time.Duration `yaml:"timeout"`
}

// OutboundConfig lists the internal addresses the destination may reach.
type OutboundConfig struct {
	// Allow lists internal targets (CIDRs, addresses, host:port) the
	// site may resolve to; any other loopback, private, link-local or
	// metadata address is refused when connecting, as for the webhook
	// adapter's deliveries.
	Allow []string `yaml:"allow"`
}

// on reports whether the destination is configured.
func (c *DestinationConfig) on() bool { return c.BaseURL != "" }

// validate says what is wrong with the destination half.
func (c *DestinationConfig) validate() error {
	var errs []error
	if c.BaseURL != "" {
		u, err := url.Parse(c.BaseURL)
		if err != nil || u.Scheme != "https" || u.Host == "" || u.User != nil || u.RawQuery != "" {
			errs = append(errs, errors.New("adapter.base_url must be the site's https URL without credentials or query, e.g. https://acme.atlassian.net"))
		}
		if c.Email == "" && c.EmailEnv == "" {
			errs = append(errs, errors.New("adapter.base_url needs email (or email_env): the account the API token belongs to"))
		}
	}
	if c.Email != "" && c.EmailEnv != "" {
		errs = append(errs, errors.New("adapter: set only one of email and email_env"))
	}
	if c.APITokenEnv != "" && c.APITokenFile != "" {
		errs = append(errs, errors.New("adapter: set only one of api_token_env and api_token_file"))
	}
	if err := egress.ValidateAllow("adapter.outbound.allow", c.Outbound.Allow); err != nil {
		errs = append(errs, err)
	}
	if c.Timeout < 0 {
		errs = append(errs, fmt.Errorf("adapter.timeout %s must be positive, e.g. 30s", c.Timeout))
	}
	return errors.Join(errs...)
}

// sink calls Jira Cloud's REST API v3.
type sink struct {
	base   string // without a trailing slash
	origin string
	auth   string // the Authorization header
	client *http.Client
}

// newSink reads the credentials; nil, nil when the destination is off.
func newSink(c DestinationConfig) (*sink, error) {
	if !c.on() {
		return nil, nil
	}
	email := c.Email
	if c.EmailEnv != "" {
		if email = strings.TrimSpace(os.Getenv(c.EmailEnv)); email == "" {
			return nil, fmt.Errorf("environment variable %s is empty: set it to the Jira account's email", c.EmailEnv)
		}
	}
	var token string
	if c.APITokenFile != "" {
		b, err := os.ReadFile(c.APITokenFile)
		if err != nil {
			return nil, fmt.Errorf("adapter.api_token_file: %w", err)
		}
		if token = strings.TrimSpace(string(b)); token == "" {
			return nil, fmt.Errorf("adapter.api_token_file %s is empty", c.APITokenFile)
		}
	} else {
		env := c.APITokenEnv
		if env == "" {
			env = DefaultAPITokenEnv
		}
		if token = strings.TrimSpace(os.Getenv(env)); token == "" {
			return nil, fmt.Errorf("environment variable %s is empty: set it to an API token of the Jira account (id.atlassian.com, Security, API tokens)", env)
		}
	}
	guard, err := egress.New(egress.Policy{Allow: c.Outbound.Allow, Key: "adapter.outbound.allow"})
	if err != nil {
		return nil, err
	}
	tr := guard.Transport()
	if c.CAFile != "" {
		pool, err := x509.SystemCertPool()
		if err != nil {
			pool = x509.NewCertPool()
		}
		pem, err := os.ReadFile(c.CAFile)
		if err != nil {
			return nil, fmt.Errorf("adapter.ca_file: %w", err)
		}
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("adapter.ca_file %s holds no PEM certificate", c.CAFile)
		}
		tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	}
	timeout := c.Timeout
	if timeout == 0 {
		timeout = DefaultTimeout
	}
	u, _ := url.Parse(c.BaseURL)
	return &sink{
		base:   strings.TrimSuffix(c.BaseURL, "/"),
		origin: u.Scheme + "://" + u.Host,
		auth:   "Basic " + base64.StdEncoding.EncodeToString([]byte(email+":"+token)),
		client: guard.Client(sdk.TraceTransport(tr), timeout),
	}, nil
}

// payload is the delivery payload the route's transform shapes. Every
// field is optional where the target config gives it.
type payload struct {
	Project     string   `json:"project"`
	IssueType   string   `json:"issue_type"`
	Summary     string   `json:"summary"`
	Description string   `json:"description"`
	Text        string   `json:"text"`
	Labels      []string `json:"labels"`
	Priority    string   `json:"priority"`
	Issue       string   `json:"issue"`
	Comment     string   `json:"comment"`
}

var (
	projectKey = regexp.MustCompile(`^[A-Z][A-Z0-9_]{0,254}$`)
	issueKey   = regexp.MustCompile(`^([A-Z][A-Z0-9_]*-[1-9][0-9]*|[1-9][0-9]*)$`)
)

// Deliver creates an issue or adds a comment, as the target's action
// says. Jira takes no idempotency key: a created issue carries the label
// junction-<hash of the delivery id> (and the delivery id in its
// junction.delivery property), and Deliver first searches for an issue
// with that label, so a retried delivery does not create a second one.
// A 429 is retried after its Retry-After, 408 and 5xx answers and network
// errors are retried; 400, 401, 403, 404 and other 4xx answers are
// [sdk.Permanent], with Jira's errorMessages and errors named.
func (a *Adapter) Deliver(ctx context.Context, d *junctionv1.Delivery) error {
	if a.sink == nil {
		return sdk.Permanent(errors.New("the jira destination is off: set adapter.base_url, email and api_token_env (or api_token_file), restart, then redrive the dead letters"))
	}
	cfg := d.GetConfig()
	if err := Targets.Check(cfg); err != nil {
		return sdk.Permanent(fmt.Errorf("target config %w", err))
	}
	var p payload
	if b := bytes.TrimSpace(d.GetPayload()); len(b) > 0 {
		if err := json.Unmarshal(b, &p); err != nil {
			return sdk.Permanent(fmt.Errorf(`payload must be a JSON object such as {"summary": "...", "description": "..."}: shape it with the route's transform: %w`, err))
		}
	}
	if d.GetId() == "" {
		return sdk.Permanent(errors.New("delivery has no id: it marks the issue so that a retry does not create a second one"))
	}
	if cfg["action"] == ActionAddComment {
		return a.sink.addComment(ctx, d, cfg, p)
	}
	return a.sink.createIssue(ctx, d, cfg, p)
}

// DeliveryLabel is the label marking the issue created by delivery id:
// "junction-" and 20 hex digits of its SHA-256 (labels take no spaces and
// delivery ids may be long).
func DeliveryLabel(id string) string {
	sum := sha256.Sum256([]byte(id))
	return LabelPrefix + hex.EncodeToString(sum[:10])
}

func (s *sink) createIssue(ctx context.Context, d *junctionv1.Delivery, cfg map[string]string, p payload) error {
	project := first(p.Project, cfg["project"])
	if !projectKey.MatchString(project) {
		return sdk.Permanent(fmt.Errorf(`project %q is not a Jira project key (upper-case letters and digits, e.g. OPS): give "project" in the target config or the payload`, clip.String(project)))
	}
	summary := strings.TrimSpace(first(p.Summary, cfg["summary"]))
	if summary == "" {
		return sdk.Permanent(errors.New(`the issue has no summary: give "summary" in the payload (the route's transform) or the target config`))
	}
	summary = strings.ReplaceAll(summary, "\n", " ")
	label := DeliveryLabel(d.GetId())
	labels := []string{label}
	extra := append([]string(nil), p.Labels...)
	if l := cfg["labels"]; l != "" {
		extra = append(extra, strings.Split(l, ",")...)
	}
	for _, l := range extra {
		if l = strings.TrimSpace(l); l != "" {
			if strings.ContainsAny(l, " \t\n") {
				return sdk.Permanent(fmt.Errorf("label %q has a space: Jira labels cannot", clip.String(l)))
			}
			labels = append(labels, l)
		}
	}
	// Already created by an earlier attempt?
	found, err := s.search(ctx, label)
	if err != nil {
		return err
	}
	if found != "" {
		slog.Default().LogAttrs(ctx, slog.LevelInfo, "jira issue already created by this delivery",
			slog.String("delivery_id", d.GetId()), slog.String("issue", clip.String(found)))
		return nil
	}
	fields := map[string]any{
		"project":   map[string]string{"key": project},
		"issuetype": map[string]string{"name": first(p.IssueType, cfg["issue_type"], DefaultIssueType)},
		"summary":   summary,
		"labels":    labels,
	}
	if text := first(p.Description, p.Text); strings.TrimSpace(text) != "" {
		fields["description"] = ADF(text)
	}
	if p.Priority != "" {
		fields["priority"] = map[string]string{"name": p.Priority}
	}
	body := map[string]any{"fields": fields, "properties": []any{property(d)}}
	return s.call(ctx, http.MethodPost, "/rest/api/3/issue", body, nil)
}

func (s *sink) addComment(ctx context.Context, d *junctionv1.Delivery, cfg map[string]string, p payload) error {
	key := first(p.Issue, cfg["issue"])
	if !issueKey.MatchString(key) {
		return sdk.Permanent(fmt.Errorf(`issue %q is not a Jira issue key (e.g. OPS-12): give "issue" in the payload or the target config`, clip.String(key)))
	}
	text := first(p.Comment, p.Text, p.Description)
	if strings.TrimSpace(text) == "" {
		return sdk.Permanent(errors.New(`the comment is empty: give "comment" (or "text") in the payload, shaped by the route's transform`))
	}
	body := map[string]any{"body": ADF(text), "properties": []any{property(d)}}
	return s.call(ctx, http.MethodPost, "/rest/api/3/issue/"+url.PathEscape(key)+"/comment", body, nil)
}

// property is the entity property carrying the delivery.
func property(d *junctionv1.Delivery) map[string]any {
	return map[string]any{"key": PropertyKey, "value": map[string]string{
		"delivery_id": d.GetId(), "event_id": d.GetEventId(), "route": d.GetRouteId(),
	}}
}

// search returns the key of an issue labelled label, or "".
func (s *sink) search(ctx context.Context, label string) (string, error) {
	q := url.Values{"jql": {fmt.Sprintf("labels = %q", label)}, "fields": {"key"}, "maxResults": {"1"}}
	var ans struct {
		Issues []struct {
			Key string `json:"key"`
		} `json:"issues"`
	}
	if err := s.call(ctx, http.MethodGet, "/rest/api/3/search/jql?"+q.Encode(), nil, &ans); err != nil {
		return "", err
	}
	if len(ans.Issues) == 0 {
		return "", nil
	}
	return ans.Issues[0].Key, nil
}

// call sends one request and classifies the answer; out, when not nil,
// receives a 2xx answer's JSON.
func (s *sink) call(ctx context.Context, method, path string, body, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return sdk.Permanent(err)
		}
		rd = bytes.NewReader(b)
	}
	op := method + " " + strings.SplitN(path, "?", 2)[0]
	req, err := http.NewRequestWithContext(ctx, method, s.base+path, rd)
	if err != nil {
		return sdk.Permanent(fmt.Errorf("jira %s: %w", op, err))
	}
	req.Header.Set("Authorization", s.auth)
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := s.client.Do(req)
	if err != nil {
		var uerr *url.Error
		if errors.As(err, &uerr) {
			err = uerr.Err
		}
		err = fmt.Errorf("jira %s at %s: %w", op, s.origin, err)
		if errors.Is(err, egress.ErrBlocked) {
			return sdk.Permanent(err)
		}
		return sdk.Retryable(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err := classify(resp, b, op); err != nil {
		return err
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			return sdk.Retryable(fmt.Errorf("jira %s: answer is not JSON: %w", op, err))
		}
	}
	return nil
}

// classify turns a Jira answer into nil, a retryable or a permanent
// error naming Jira's errorMessages and errors.
func classify(resp *http.Response, body []byte, op string) error {
	code := resp.StatusCode
	if code >= 200 && code < 300 {
		return nil
	}
	err := fmt.Errorf("jira %s: %d %s%s", op, code, http.StatusText(code), jiraErrors(body))
	wait := retryAfter(resp.Header.Get("Retry-After"))
	switch {
	case code == http.StatusTooManyRequests:
		if wait == 0 {
			wait = DefaultRateLimitDelay
		}
		return sdk.RetryAfter(err, wait)
	case code == http.StatusRequestTimeout || code >= 500:
		if wait > 0 {
			return sdk.RetryAfter(err, wait)
		}
		return sdk.Retryable(err)
	}
	return sdk.Permanent(err)
}

// jiraErrors is ": " and Jira's error collection of body, or "".
func jiraErrors(body []byte) string {
	var ec struct {
		ErrorMessages []string          `json:"errorMessages"`
		Errors        map[string]string `json:"errors"`
	}
	if json.Unmarshal(body, &ec) != nil {
		return ""
	}
	parts := append([]string(nil), ec.ErrorMessages...)
	keys := make([]string, 0, len(ec.Errors))
	for k := range ec.Errors {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		parts = append(parts, k+": "+ec.Errors[k])
	}
	if len(parts) == 0 {
		return ""
	}
	return ": " + clip.String(strings.Join(parts, "; "))
}

// retryAfter reads a Retry-After of whole seconds; 0 when absent or bad.
func retryAfter(v string) time.Duration {
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil || n <= 0 {
		return 0
	}
	return time.Duration(n) * time.Second
}

// ADF is text as an Atlassian Document Format document: a paragraph per
// block of lines separated by a blank line, line breaks kept as hardBreak
// nodes.
func ADF(text string) map[string]any {
	var paras []any
	for _, block := range strings.Split(strings.ReplaceAll(text, "\r\n", "\n"), "\n\n") {
		if strings.TrimSpace(block) == "" {
			continue
		}
		var content []any
		for i, line := range strings.Split(block, "\n") {
			if i > 0 {
				content = append(content, map[string]any{"type": "hardBreak"})
			}
			if line != "" {
				content = append(content, map[string]any{"type": "text", "text": line})
			}
		}
		paras = append(paras, map[string]any{"type": "paragraph", "content": content})
	}
	if paras == nil {
		paras = []any{}
	}
	return map[string]any{"type": "doc", "version": 1, "content": paras}
}

// first is the first non-empty value.
func first(vs ...string) string {
	for _, v := range vs {
		if v != "" {
			return v
		}
	}
	return ""
}

var _ sdk.Sink = (*Adapter)(nil)
