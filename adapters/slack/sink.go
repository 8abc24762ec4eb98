package slack

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/junctionhq/junction/adapters/sdk"
	"github.com/junctionhq/junction/adapters/sdk/clip"
	junctionv1 "github.com/junctionhq/junction/proto/junction/v1"
)

// Destination defaults.
const (
	// DefaultBotTokenEnv is the environment variable read for the bot
	// token when the config names none.
	DefaultBotTokenEnv = "SLACK_BOT_TOKEN"
	// DefaultAPIURL is the Slack Web API's base URL.
	DefaultAPIURL = "https://slack.com/api/"
	// DefaultTimeout bounds one chat.postMessage call.
	DefaultTimeout = 30 * time.Second
	// DefaultRateLimitDelay is the wait after a 429 without Retry-After.
	DefaultRateLimitDelay = 30 * time.Second
	// MetadataEventType is the message metadata's event_type: its
	// event_payload carries the delivery id.
	MetadataEventType = "junction_delivery"
)

// Targets declares the target config of a route's slack target.
var Targets = &sdk.TargetSchema{Keys: []sdk.TargetKey{
	{Name: "channel", Required: true, Description: `the channel to post in (an id such as C0123456789, or "#name"); a payload's "channel" overrides it`},
	{Name: "text", Description: `the message text when the payload has no "text" (and the fallback of Block Kit blocks in notifications)`},
}}

// DestinationConfig is the destination half of [Config]: chat.postMessage
// through the Web API with a bot token. The token comes from the
// environment or a file, never from a route.
type DestinationConfig struct {
	// BotTokenEnv names the environment variable holding the bot token
	// (xoxb-...); default SLACK_BOT_TOKEN.
	BotTokenEnv string `yaml:"bot_token_env"`
	// BotTokenFile is a file holding the bot token instead.
	BotTokenFile string `yaml:"bot_token_file"`
	// APIURL is the Web API's base URL; default https://slack.com/api/.
	// Other values are for a test stand-in or an egress proxy; http only
	// on this machine (loopback).
	APIURL string `yaml:"api_url"`
	// Timeout bounds one API call; default 30s.
	Timeout time.Duration `yaml:"timeout"`
}

// validate says what is wrong with the destination half.
func (c *DestinationConfig) validate() error {
	var errs []error
	if c.BotTokenEnv != "" && c.BotTokenFile != "" {
		errs = append(errs, errors.New("adapter: set only one of bot_token_env and bot_token_file"))
	}
	if c.APIURL != "" {
		u, err := url.Parse(c.APIURL)
		switch {
		case err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil:
			errs = append(errs, errors.New("adapter.api_url must be an absolute https URL without credentials, e.g. https://slack.com/api/"))
		case u.Scheme == "http" && !loopback(u.Hostname()):
			errs = append(errs, errors.New("adapter.api_url: http is only for a stand-in on this machine (localhost, 127.0.0.1, ::1); the bot token would cross the network in clear: use https"))
		}
	}
	if c.Timeout < 0 {
		errs = append(errs, fmt.Errorf("adapter.timeout %s must be positive, e.g. 30s", c.Timeout))
	}
	return errors.Join(errs...)
}

// loopback reports whether host names this machine.
func loopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.IsLoopback()
}

// configured reports whether the config names a bot token source.
func (c *DestinationConfig) configured() bool {
	return c.BotTokenEnv != "" || c.BotTokenFile != "" || os.Getenv(DefaultBotTokenEnv) != ""
}

// sink posts deliveries with chat.postMessage.
type sink struct {
	token   string
	postURL string
	origin  string
	client  *http.Client
}

// newSink reads the bot token; nil, nil when none is configured.
func newSink(c DestinationConfig) (*sink, error) {
	if !c.configured() {
		return nil, nil
	}
	var token string
	switch {
	case c.BotTokenFile != "":
		b, err := os.ReadFile(c.BotTokenFile)
		if err != nil {
			return nil, fmt.Errorf("adapter.bot_token_file: %w", err)
		}
		if token = strings.TrimSpace(string(b)); token == "" {
			return nil, fmt.Errorf("adapter.bot_token_file %s is empty", c.BotTokenFile)
		}
	default:
		env := c.BotTokenEnv
		if env == "" {
			env = DefaultBotTokenEnv
		}
		if token = strings.TrimSpace(os.Getenv(env)); token == "" {
			return nil, fmt.Errorf("environment variable %s is empty: set it to the Slack app's bot token (xoxb-...)", env)
		}
	}
	base := c.APIURL
	if base == "" {
		base = DefaultAPIURL
	}
	u, _ := url.Parse(strings.TrimSuffix(base, "/") + "/chat.postMessage")
	timeout := c.Timeout
	if timeout == 0 {
		timeout = DefaultTimeout
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	return &sink{
		token:   token,
		postURL: u.String(),
		origin:  u.Scheme + "://" + u.Host,
		client: &http.Client{Transport: sdk.TraceTransport(tr), Timeout: timeout, CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		}},
	}, nil
}

// outMessage is the delivery payload the route's transform shapes.
type outMessage struct {
	Channel  string          `json:"channel"`
	Text     string          `json:"text"`
	Blocks   json.RawMessage `json:"blocks"`
	ThreadTS string          `json:"thread_ts"`
}

// Deliver posts d as a message with chat.postMessage. The payload is a
// JSON object {"channel"?, "text"?, "blocks"?, "thread_ts"?}; the target's
// channel and text fill what it leaves out. The delivery id travels in the
// message's metadata (event_type junction_delivery), since Slack takes no
// idempotency key. A 429 is retried after its Retry-After; ratelimited,
// internal_error, fatal_error, service_unavailable, request_timeout, 408
// and 5xx answers and network errors are retried; any other error Slack
// names (channel_not_found, invalid_auth, not_in_channel, invalid_blocks,
// msg_too_long, ...) is [sdk.Permanent], the error named.
func (a *Adapter) Deliver(ctx context.Context, d *junctionv1.Delivery) error {
	if a.sink == nil {
		return sdk.Permanent(fmt.Errorf("the slack destination has no bot token: set adapter.bot_token_env (default %s) or adapter.bot_token_file, restart, then redrive the dead letters", DefaultBotTokenEnv))
	}
	if err := Targets.Check(d.GetConfig()); err != nil {
		return sdk.Permanent(fmt.Errorf("target config %w", err))
	}
	form, err := buildForm(d)
	if err != nil {
		return sdk.Permanent(err)
	}
	return a.sink.post(ctx, form)
}

// buildForm is the chat.postMessage arguments of d.
func buildForm(d *junctionv1.Delivery) (url.Values, error) {
	var m outMessage
	if p := bytes.TrimSpace(d.GetPayload()); len(p) > 0 {
		if err := json.Unmarshal(p, &m); err != nil {
			return nil, fmt.Errorf(`payload must be a JSON object {"channel"?, "text"?, "blocks"?}: shape it with the route's transform: %w`, err)
		}
	}
	if m.Channel == "" {
		m.Channel = d.GetConfig()["channel"]
	}
	if m.Text == "" {
		m.Text = d.GetConfig()["text"]
	}
	blocks := bytes.TrimSpace(m.Blocks)
	if string(blocks) == "null" {
		blocks = nil
	}
	if len(blocks) > 0 && blocks[0] != '[' {
		return nil, errors.New(`payload "blocks" must be a JSON array of Block Kit blocks`)
	}
	if m.Text == "" && len(blocks) == 0 {
		return nil, errors.New(`the message is empty: give "text" or "blocks" in the payload (the route's transform), or "text" in the target config`)
	}
	meta, err := json.Marshal(map[string]any{
		"event_type": MetadataEventType,
		"event_payload": map[string]string{
			"delivery_id": d.GetId(), "event_id": d.GetEventId(), "route": d.GetRouteId(),
		},
	})
	if err != nil {
		return nil, err
	}
	form := url.Values{"channel": {m.Channel}, "metadata": {string(meta)}}
	if m.Text != "" {
		form.Set("text", m.Text)
	}
	if len(blocks) > 0 {
		form.Set("blocks", string(blocks))
	}
	if m.ThreadTS != "" {
		form.Set("thread_ts", m.ThreadTS)
	}
	return form, nil
}

// retryableErrors are the `ok:false` errors worth retrying.
var retryableErrors = []string{"ratelimited", "rate_limited", "internal_error", "fatal_error", "service_unavailable", "request_timeout", "team_added_to_org"}

// apiAnswer is the part of a Web API answer the adapter reads.
type apiAnswer struct {
	OK       bool   `json:"ok"`
	Error    string `json:"error"`
	Metadata struct {
		Messages []string `json:"messages"`
	} `json:"response_metadata"`
}

// post calls chat.postMessage and classifies the answer.
func (s *sink) post(ctx context.Context, form url.Values) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.postURL, strings.NewReader(form.Encode()))
	if err != nil {
		return sdk.Permanent(fmt.Errorf("build request: %w", err))
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Authorization", "Bearer "+s.token)
	resp, err := s.client.Do(req)
	if err != nil {
		var uerr *url.Error
		if errors.As(err, &uerr) {
			err = uerr.Err
		}
		return sdk.Retryable(fmt.Errorf("slack chat.postMessage at %s: %w", s.origin, err))
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	return classify(resp, body)
}

// classify turns a chat.postMessage answer into nil, a retryable or a
// permanent error.
func classify(resp *http.Response, body []byte) error {
	code := resp.StatusCode
	wait := retryAfter(resp.Header.Get("Retry-After"))
	switch {
	case code == http.StatusTooManyRequests:
		if wait == 0 {
			wait = DefaultRateLimitDelay
		}
		return sdk.RetryAfter(fmt.Errorf("slack chat.postMessage: rate limited (429), retry after %s", wait), wait)
	case code == http.StatusRequestTimeout || code >= 500:
		err := fmt.Errorf("slack chat.postMessage: HTTP %d", code)
		if wait > 0 {
			return sdk.RetryAfter(err, wait)
		}
		return sdk.Retryable(err)
	case code < 200 || code >= 300:
		return sdk.Permanent(fmt.Errorf("slack chat.postMessage: HTTP %d: %s", code, clip.String(string(body))))
	}
	var ans apiAnswer
	if err := json.Unmarshal(body, &ans); err != nil {
		return sdk.Retryable(fmt.Errorf("slack chat.postMessage: answer is not JSON: %w", err))
	}
	if ans.OK {
		return nil
	}
	err := fmt.Errorf("slack chat.postMessage: %s", ans.Error)
	if len(ans.Metadata.Messages) > 0 {
		err = fmt.Errorf("%w (%s)", err, clip.String(strings.Join(ans.Metadata.Messages, "; ")))
	}
	switch {
	case ans.Error == "":
		return sdk.Retryable(errors.New("slack chat.postMessage: ok false without an error"))
	case slices.Contains(retryableErrors, ans.Error):
		if wait > 0 {
			return sdk.RetryAfter(err, wait)
		}
		return sdk.Retryable(err)
	}
	return sdk.Permanent(err)
}

// retryAfter reads a Retry-After of whole seconds; 0 when absent or bad.
func retryAfter(v string) time.Duration {
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil || n <= 0 {
		return 0
	}
	return time.Duration(n) * time.Second
}

var _ sdk.Sink = (*Adapter)(nil)
