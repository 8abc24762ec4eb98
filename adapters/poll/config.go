package poll

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/junctionhq/junction/adapters/sdk/platform/egress"
	"github.com/junctionhq/junction/adapters/sdk/platform/topology"
)

// Pagination styles of an endpoint.
const (
	// PageNone reads one page per poll.
	PageNone = "none"
	// PageLink follows the Link header's rel="next" URL (RFC 8288).
	PageLink = "link"
	// PageCursor sends the body's next-cursor value in a query parameter.
	PageCursor = "cursor"
	// PageNumber counts a page parameter up until a page has no items.
	PageNumber = "page"
)

// Defaults of fields left zero.
const (
	DefaultTimeout      = 30 * time.Second
	DefaultMaxPages     = 100
	DefaultMaxAttempts  = 5
	DefaultBackoff      = time.Second
	DefaultMaxRetryWait = time.Minute
	DefaultMaxBodyBytes = 10 << 20
	DefaultFirstPage    = 1
	DefaultLease        = 5 * time.Minute
	// maxSeen bounds the ids an endpoint remembers in its cursor.
	maxSeen = 1000
)

// ErrConfig is wrapped by every configuration error.
var ErrConfig = errors.New("invalid poll adapter config")

// Config is the adapter's own configuration, the `adapter:` section of its
// YAML file (or a `sources:` entry's config in `junction serve`).
type Config struct {
	// Endpoints are the REST endpoints polled, each with a cursor of its
	// own (kept together in the adapter's cursor on the hub).
	Endpoints []Endpoint `yaml:"endpoints"`
	// Outbound says which internal addresses the adapter may call.
	Outbound Outbound `yaml:"outbound"`
	// Lease is how long an instance holds the cursor's lease: of several
	// instances in one hub.cursor_group only the holder polls, renewing
	// it at each poll, and another takes over when it stops renewing.
	// Keep it above hub.poll_interval. Default 5m; 0s takes no lease
	// (every instance polls; the hub still stores each item once).
	Lease *time.Duration `yaml:"lease"`
}

// Outbound configures the adapter's HTTP client.
type Outbound struct {
	// Allow lists internal addresses the endpoints may be on (CIDRs,
	// addresses or host:port, see package egress); every other loopback,
	// private, link-local or metadata address is refused when connecting.
	Allow []string `yaml:"allow"`
	// Timeout bounds one request. Default 30s.
	Timeout time.Duration `yaml:"timeout"`
}

// Endpoint is one polled REST endpoint.
type Endpoint struct {
	// Name identifies the endpoint: a lowercase token, the prefix of its
	// events' ids ("<name>.<item id>") and its key in the cursor.
	Name string `yaml:"name"`
	// URL is the first page's absolute http(s) URL.
	URL string `yaml:"url"`
	// Interval is the least time between two polls of this endpoint.
	// Default 0: every poll of the adapter (hub.poll_interval).
	Interval time.Duration `yaml:"interval"`
	// Auth is the header that authenticates the requests, its value read
	// from the environment or a file.
	Auth Auth `yaml:"auth"`
	// Items is the dot path to the array of items in the JSON answer
	// ("data.items"); empty when the answer is the array itself.
	Items string `yaml:"items"`
	// IDField is the dot path to an item's id (string or number).
	// Required.
	IDField string `yaml:"id_field"`
	// TimeField is the dot path to an item's time (RFC 3339, or Unix
	// seconds or milliseconds as a number). Optional: with it, items
	// older than the cursor are skipped and the cursor is a time.
	TimeField string `yaml:"time_field"`
	// Type is the event type of every item, or the fallback of TypeField.
	Type string `yaml:"type"`
	// TypeField is the dot path to an item's event type.
	TypeField string `yaml:"type_field"`
	// Since starts the endpoint's first poll (no cursor yet) at this time:
	// an RFC 3339 time to backfill from, or "now" to take only items
	// newer than the first poll. Empty: everything the endpoint lists.
	// Items older than Since are skipped (TimeField needed).
	Since string `yaml:"since"`
	// SinceParam, when set, is the query parameter the cursor time (or
	// Since) is sent in, so the API lists only newer items.
	SinceParam string `yaml:"since_param"`
	// SinceFormat is how the time is sent: "rfc3339" (default) or "unix".
	SinceFormat string `yaml:"since_format"`
	// Pagination says how to get the next page.
	Pagination Pagination `yaml:"pagination"`
	// MaxBodyBytes is the largest answer read. Default 10 MiB.
	MaxBodyBytes int64 `yaml:"max_body_bytes"`
	// Retry bounds retries of a page on 429, 408, 5xx and network errors.
	Retry Retry `yaml:"retry"`
}

// Auth is an endpoint's authentication header. The value never appears in
// the configuration file.
type Auth struct {
	// Header is the header's name, e.g. Authorization or X-Api-Key.
	Header string `yaml:"header"`
	// Prefix is put before the value, e.g. "Bearer ".
	Prefix string `yaml:"prefix"`
	// ValueEnv names the environment variable holding the value.
	ValueEnv string `yaml:"value_env"`
	// ValueFile is a file holding the value (trailing space trimmed).
	ValueFile string `yaml:"value_file"`
}

// Pagination is how an endpoint's pages follow each other.
type Pagination struct {
	// Style is none (default), link, cursor or page.
	Style string `yaml:"style"`
	// NextCursor (cursor) is the dot path to the next page's cursor in
	// the body; an absent or empty value ends the pages.
	NextCursor string `yaml:"next_cursor"`
	// CursorParam (cursor) is the query parameter the cursor is sent in.
	CursorParam string `yaml:"cursor_param"`
	// PageParam (page) is the query parameter of the page number.
	PageParam string `yaml:"page_param"`
	// FirstPage (page) is the first page's number. Default 1.
	FirstPage *int `yaml:"first_page"`
	// MaxPages bounds the pages read in one poll. Default 100.
	MaxPages int `yaml:"max_pages"`
}

// Retry bounds the retries of one page.
type Retry struct {
	// MaxAttempts is how many times a page is tried. Default 5.
	MaxAttempts int `yaml:"max_attempts"`
	// Backoff is the first wait after a 5xx or network error, doubled
	// each time. Default 1s.
	Backoff time.Duration `yaml:"backoff"`
	// MaxWait is the longest Retry-After (or backoff) waited inside a
	// poll; a longer one ends the poll, and the endpoint is not polled
	// again before it passed. Default 1m.
	MaxWait time.Duration `yaml:"max_wait"`
}

// Validate reports every mistake in c and how to fix it.
func (c *Config) Validate() error {
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("%w: "+format, append([]any{ErrConfig}, args...)...))
	}
	if len(c.Endpoints) == 0 {
		bad("endpoints: give at least one endpoint (name, url, id_field, type)")
	}
	seen := map[string]bool{}
	for i := range c.Endpoints {
		e := &c.Endpoints[i]
		where := fmt.Sprintf("endpoints[%d]", i)
		if e.Name != "" {
			where = fmt.Sprintf("endpoints[%d] (%s)", i, e.Name)
		}
		if err := topology.ValidToken(e.Name); err != nil {
			bad("%s.name: %v", where, err)
		} else if seen[e.Name] {
			bad("%s.name: %q is used twice: give each endpoint its own name", where, e.Name)
		}
		seen[e.Name] = true
		if err := validURL(e.URL); err != nil {
			bad("%s.url: %v", where, err)
		}
		if e.Interval < 0 {
			bad("%s.interval %v: use a positive duration, or leave it out to poll every hub.poll_interval", where, e.Interval)
		}
		if err := e.Auth.validate(); err != nil {
			bad("%s.auth: %v", where, err)
		}
		for key, p := range map[string]string{"items": e.Items, "id_field": e.IDField, "time_field": e.TimeField, "type_field": e.TypeField, "pagination.next_cursor": e.Pagination.NextCursor} {
			if _, err := ParsePath(p); err != nil {
				bad("%s.%s: %v", where, key, err)
			}
		}
		if e.IDField == "" {
			bad("%s.id_field: required: the dot path to each item's id, e.g. id", where)
		}
		if e.Type == "" && e.TypeField == "" {
			bad("%s: set type (a fixed event type) or type_field (the dot path to it)", where)
		}
		if e.Type != "" {
			if err := topology.ValidType(e.Type); err != nil {
				bad("%s.type: %v", where, err)
			}
		}
		if e.Since != "" && e.Since != "now" {
			if _, err := time.Parse(time.RFC3339, e.Since); err != nil {
				bad("%s.since %q: give an RFC 3339 time (2026-01-31T00:00:00Z) or now", where, e.Since)
			}
		}
		if e.Since != "" && e.TimeField == "" {
			bad("%s.since: needs time_field, the item time it is compared with", where)
		}
		if e.SinceParam != "" && e.TimeField == "" {
			bad("%s.since_param: needs time_field, whose latest value is sent", where)
		}
		switch e.SinceFormat {
		case "", "rfc3339", "unix":
		default:
			bad("%s.since_format %q: use rfc3339 or unix", where, e.SinceFormat)
		}
		p := e.Pagination
		switch p.Style {
		case "", PageNone, PageLink:
		case PageCursor:
			if p.NextCursor == "" || p.CursorParam == "" {
				bad("%s.pagination: style cursor needs next_cursor (the dot path to the next cursor in the body) and cursor_param (the query parameter to send it in)", where)
			}
		case PageNumber:
			if p.PageParam == "" {
				bad("%s.pagination: style page needs page_param (the query parameter of the page number)", where)
			}
		default:
			bad("%s.pagination.style %q: use none, link, cursor or page", where, p.Style)
		}
		if p.MaxPages < 0 {
			bad("%s.pagination.max_pages %d: use a positive number", where, p.MaxPages)
		}
		if e.MaxBodyBytes < 0 {
			bad("%s.max_body_bytes %d: use a positive number", where, e.MaxBodyBytes)
		}
		if e.Retry.MaxAttempts < 0 || e.Retry.Backoff < 0 || e.Retry.MaxWait < 0 {
			bad("%s.retry: max_attempts, backoff and max_wait must not be negative", where)
		}
	}
	if err := egress.ValidateAllow("outbound.allow", c.Outbound.Allow); err != nil {
		bad("%v", err)
	}
	if c.Lease != nil && *c.Lease < 0 {
		bad("lease %v: use a positive duration, or 0s for no lease", *c.Lease)
	}
	if c.Outbound.Timeout < 0 {
		bad("outbound.timeout %v: use a positive duration", c.Outbound.Timeout)
	}
	return errors.Join(errs...)
}

func validURL(s string) error {
	if s == "" {
		return errors.New("required: the endpoint's absolute https:// or http:// URL")
	}
	u, err := url.Parse(s)
	if err != nil {
		return fmt.Errorf("%q is not a URL: %w", s, err)
	}
	if u.Scheme != "https" && u.Scheme != "http" || u.Host == "" {
		return fmt.Errorf("%q: give an absolute https:// or http:// URL", s)
	}
	if u.User != nil {
		return errors.New("credentials in the URL are not allowed: use auth with value_env or value_file")
	}
	return nil
}

func (a Auth) validate() error {
	switch {
	case a.Header == "" && a.ValueEnv == "" && a.ValueFile == "" && a.Prefix == "":
		return nil // no auth
	case a.Header == "":
		return errors.New("header is required: the header's name, e.g. Authorization")
	case a.ValueEnv != "" && a.ValueFile != "":
		return errors.New("set only one of value_env and value_file")
	case a.ValueEnv == "" && a.ValueFile == "":
		return errors.New("set value_env (an environment variable name) or value_file: the value is never written in the config")
	case strings.ContainsAny(a.Header, " :\r\n"):
		return fmt.Errorf("header %q is not a header name", a.Header)
	}
	return nil
}

// value reads the header's value from the environment or its file.
func (a Auth) value() (string, error) {
	switch {
	case a.ValueEnv != "":
		v, ok := os.LookupEnv(a.ValueEnv)
		if !ok || strings.TrimSpace(v) == "" {
			return "", fmt.Errorf("environment variable %s (auth.value_env) is not set or empty", a.ValueEnv)
		}
		return a.Prefix + strings.TrimSpace(v), nil
	case a.ValueFile != "":
		b, err := os.ReadFile(a.ValueFile)
		if err != nil {
			return "", fmt.Errorf("auth.value_file: %w", err)
		}
		v := strings.TrimSpace(string(b))
		if v == "" {
			return "", fmt.Errorf("auth.value_file %s is empty", a.ValueFile)
		}
		return a.Prefix + v, nil
	}
	return "", nil
}
