package webhook

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/junctionhq/junction/adapters/sdk"
	"github.com/junctionhq/junction/adapters/sdk/platform/egress"
	"github.com/junctionhq/junction/adapters/sdk/verify"
	junctionv1 "github.com/junctionhq/junction/proto/junction/v1"
)

// Headers set on every outbound delivery besides the Standard Webhooks ones.
const (
	HeaderEventID = "Junction-Event-Id"
	HeaderRoute   = "Junction-Route"
	// HeaderReplayID is set on a delivery sent by a replay
	// (EventService.ReplayEvents): the replay's id. Junction-Event-Id
	// names the original event.
	HeaderReplayID = "Junction-Replay-Id"
)

// Limits on what is read back from a receiver.
const (
	excerptBytes = 512      // kept for the error of a failed delivery
	drainBytes   = 64 << 10 // read and dropped so the connection can be reused
)

// ErrBlockedAddress is matched (errors.Is) by the error of a delivery to
// an address the outbound guard refuses: loopback, private, link-local,
// cloud metadata and the other classes of package egress, unless listed in
// outbound.allow, and the hub's own listeners always. Such a delivery
// fails permanently (it is dead-lettered, not retried).
var ErrBlockedAddress = egress.ErrBlocked

// ErrNoSigningSecret is returned (wrapped in sdk.Permanent) for every
// delivery when the adapter has no outbound secret.
var ErrNoSigningSecret = errors.New("no outbound signing secret is configured")

// StatusError is a receiver's answer other than 2xx. Deliver wraps it in
// sdk.Permanent or sdk.Retryable by its status.
type StatusError struct {
	// StatusCode is the HTTP status the receiver answered.
	StatusCode int
	// Excerpt is the start of the response body, at most 512 bytes.
	Excerpt string
}

// Error says what the receiver answered.
func (e *StatusError) Error() string {
	msg := fmt.Sprintf("receiver answered %d %s", e.StatusCode, http.StatusText(e.StatusCode))
	if e.Excerpt != "" {
		msg += ": " + e.Excerpt
	}
	return msg
}

// outbound POSTs deliveries.
type outbound struct {
	signer    *deliverySigner
	guard     *egress.Guard
	client    *http.Client
	timeout   time.Duration
	userAgent string
	creds     map[string]authHeader
}

func newOutbound(cfg OutboundConfig, own func() []string, resolver *net.Resolver) (*outbound, error) {
	var signer *deliverySigner
	if cfg.SecretRef.count() > 0 {
		secret, err := cfg.SecretRef.Resolve()
		if err != nil {
			return nil, err
		}
		key, err := verify.DecodeStandardSecret(secret)
		if err != nil {
			return nil, err
		}
		signer = newDeliverySigner(key)
	}
	creds, err := resolveCredentials(cfg.Credentials)
	if err != nil {
		return nil, err
	}
	timeout := cfg.Timeout
	if timeout == 0 {
		timeout = DefaultOutboundTimeout
	}
	guard, err := egress.New(egress.Policy{Allow: cfg.Allow, Key: "outbound.allow", Own: own, Resolver: resolver})
	if err != nil {
		return nil, err
	}
	return &outbound{
		signer:    signer,
		guard:     guard,
		client:    newClient(guard),
		timeout:   timeout,
		userAgent: "Junction-Webhook/" + Version,
		creds:     creds,
	}, nil
}

// newClient returns the guard's client: it never follows redirects (a
// receiver that redirects is misconfigured, and following would let an
// allowed URL lead to a refused one), uses no proxy, and refuses internal
// addresses not in outbound.allow when it connects, after DNS resolution,
// so a name cannot be re-pointed past the check.
func newClient(guard *egress.Guard) *http.Client {
	tr := guard.Transport()
	// Keep as many idle connections to one receiver as deliveries may run
	// at once (sdk hub.concurrency is at most maxIdleConns): with fewer,
	// every burst closes the surplus and the next one dials again, a TCP
	// handshake and teardown per delivery under load. Idle ones still
	// close after IdleConnTimeout.
	tr.MaxIdleConns = maxIdleConns
	tr.MaxIdleConnsPerHost = maxIdleConns
	// No client timeout: every request carries a context with the
	// deadline (Deliver), which bounds reading the answer too; a client
	// timeout would add a timer and a context per request.
	return guard.Client(sdk.TraceTransport(tr), 0)
}

// maxIdleConns bounds the idle connections the outbound client keeps, per
// receiver and in all: the largest sdk.Config.Concurrency.
const maxIdleConns = 1000

// Deliver POSTs d.Payload to d.Config["url"], signed with Standard Webhooks
// (webhook-id is d.Id, the same on every attempt), with the target's
// extra headers, its credential (auth, from outbound.credentials) and its
// body mode (json, or the hub event as a CloudEvent in structured or
// binary mode); the signature covers the body sent. A target naming a
// credential the adapter does not have is permanent, saying so. A 2xx answer is
// success; 408, 429 and 5xx answers and network errors are retryable
// (honouring Retry-After); any other answer, and a delivery that cannot be
// sent as configured, is permanent.
func (a *Adapter) Deliver(ctx context.Context, d *junctionv1.Delivery) error {
	return a.out.deliver(ctx, d)
}

func (o *outbound) deliver(ctx context.Context, d *junctionv1.Delivery) error {
	u, err := validateURL(d.GetConfig()["url"])
	if err != nil {
		return sdk.Permanent(err)
	}
	if o.signer == nil {
		return sdk.Permanent(fmt.Errorf("%w: set outbound.secret_env (or secret_file) in the webhook adapter config to a whsec_ secret, then redrive the dead letters", ErrNoSigningSecret))
	}
	if d.GetId() == "" {
		return sdk.Permanent(errors.New("delivery has no id: it is needed as the webhook-id receivers dedupe on"))
	}
	opts, err := readTarget(d.GetConfig())
	if err != nil {
		return sdk.Permanent(fmt.Errorf("target config %w", err))
	}
	var auth authHeader
	if opts.auth != "" {
		var ok bool
		if auth, ok = o.creds[opts.auth]; !ok {
			return sdk.Permanent(fmt.Errorf("target auth %q names no credential in the webhook adapter's outbound.credentials (%s): add it there, restart the adapter and redrive the dead letters", opts.auth, credentialNames(o.creds)))
		}
		if _, clash := opts.headers[auth.name]; clash {
			return sdk.Permanent(fmt.Errorf("target headers set %s, which credential %q sets: leave it out of headers", auth.name, opts.auth))
		}
	}
	// The attempt's own deadline (the delivery policy's attempt_timeout)
	// may already be the sooner one: then no second timer.
	if dl, ok := ctx.Deadline(); !ok || time.Until(dl) > o.timeout {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, o.timeout)
		defer cancel()
	}

	modeHeaders := http.Header{}
	body, contentType, err := opts.encode(d, modeHeaders)
	if err != nil {
		return sdk.Permanent(err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), bytes.NewReader(body))
	if err != nil {
		return sdk.Permanent(fmt.Errorf("build request: %w", err))
	}
	for _, name := range opts.names {
		req.Header.Set(name, opts.headers.Get(name))
	}
	for name, vs := range modeHeaders {
		req.Header[name] = vs
	}
	if auth.name != "" {
		req.Header.Set(auth.name, auth.value)
	}
	now := time.Now()
	sig := o.signer.Sign(d.GetId(), now, body)
	// Canonical names set directly: Header.Set would canonicalise the
	// Standard Webhooks names, given in lower case, on every delivery.
	req.Header["Content-Type"] = []string{contentType}
	req.Header["User-Agent"] = []string{o.userAgent}
	req.Header[canonicalWebhookID] = []string{d.GetId()}
	req.Header[canonicalWebhookTimestamp] = []string{strconv.FormatInt(now.Unix(), 10)}
	req.Header[canonicalWebhookSignature] = []string{sig}
	req.Header[HeaderEventID] = []string{d.GetEventId()}
	req.Header[HeaderRoute] = []string{d.GetRouteId()}
	if id := d.GetReplayId(); id != "" {
		req.Header.Set(HeaderReplayID, id)
	}

	target := origin(u)
	resp, err := o.client.Do(req)
	if err != nil {
		// url.Error repeats the whole URL, which may hold a token.
		var uerr *url.Error
		if errors.As(err, &uerr) {
			err = uerr.Err
		}
		if errors.Is(err, ErrBlockedAddress) {
			return sdk.Permanent(fmt.Errorf("post %s: %w", target, err))
		}
		return sdk.Retryable(fmt.Errorf("post %s: %w", target, err))
	}
	defer resp.Body.Close()
	excerpt := readExcerpt(resp.Body)
	_, _ = io.CopyN(io.Discard, resp.Body, drainBytes)
	return classify(resp, excerpt, target, time.Now())
}

// The Standard Webhooks header names as net/http writes them.
var (
	canonicalWebhookID        = http.CanonicalHeaderKey(verify.HeaderWebhookID)
	canonicalWebhookTimestamp = http.CanonicalHeaderKey(verify.HeaderWebhookTimestamp)
	canonicalWebhookSignature = http.CanonicalHeaderKey(verify.HeaderWebhookSignature)
)

// origin is the part of a target URL errors may show: URLs such as Slack's
// incoming webhooks carry their secret in the path or query.
func origin(u *url.URL) string {
	return u.Scheme + "://" + u.Host
}

// classify turns a receiver's answer into nil, a retryable or a permanent
// error.
func classify(resp *http.Response, excerpt, target string, now time.Time) error {
	code := resp.StatusCode
	if code >= 200 && code < 300 {
		return nil
	}
	serr := &StatusError{StatusCode: code, Excerpt: excerpt}
	err := fmt.Errorf("post %s: %w", target, serr)
	switch {
	case code >= 300 && code < 400:
		loc := resp.Header.Get("Location")
		return sdk.Permanent(fmt.Errorf("%w (redirects are not followed: set the target url to the final address, Location: %q)", err, loc))
	case code == http.StatusRequestTimeout || code == http.StatusTooManyRequests || code >= 500:
		if d, ok := retryAfter(resp.Header.Get("Retry-After"), now); ok {
			return sdk.RetryAfter(err, d)
		}
		return sdk.Retryable(err)
	default:
		return sdk.Permanent(err)
	}
}

// retryAfter parses a Retry-After header: delay seconds or an HTTP date.
func retryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		if secs < 0 {
			return 0, false
		}
		return time.Duration(min(secs, int64(24*time.Hour/time.Second))) * time.Second, true
	}
	t, err := http.ParseTime(v)
	if err != nil {
		return 0, false
	}
	// Capped like the seconds form: a date years ahead must not park a
	// delivery for years.
	return min(max(t.Sub(now), 0), 24*time.Hour), true
}

// readExcerpt reads the start of a body as printable text.
func readExcerpt(r io.Reader) string {
	b, _ := io.ReadAll(io.LimitReader(r, excerptBytes))
	s := strings.TrimSpace(strings.ToValidUTF8(string(b), "\uFFFD"))
	s = strings.Map(func(r rune) rune {
		if r < 0x20 && r != '\n' && r != '\t' {
			return ' '
		}
		return r
	}, s)
	if len(b) == excerptBytes {
		s += "..."
	}
	return s
}
