package poll

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/junctionhq/junction/adapters/sdk/platform/egress"
)

// fetchAll reads e's pages from the first and returns their items.
func (a *Adapter) fetchAll(ctx context.Context, e *endpoint, since time.Time) ([]any, error) {
	first := *e.url
	q := first.Query()
	if e.SinceParam != "" && !since.IsZero() {
		if e.SinceFormat == "unix" {
			q.Set(e.SinceParam, strconv.FormatInt(since.Unix(), 10))
		} else {
			q.Set(e.SinceParam, since.UTC().Format(time.RFC3339Nano))
		}
	}
	page := *e.Pagination.FirstPage
	if e.Pagination.Style == PageNumber {
		q.Set(e.Pagination.PageParam, strconv.Itoa(page))
	}
	first.RawQuery = q.Encode()

	var all []any
	u := &first
	lastCursor := ""
	listed := map[string]bool{}
	for n := 1; ; n++ {
		body, hdr, err := a.fetch(ctx, e, u)
		if err != nil {
			return nil, err
		}
		doc, err := decode(body)
		if err != nil {
			return nil, fmt.Errorf("page %d: %w", n, err)
		}
		items, err := Items(doc, e.items)
		if err != nil {
			return nil, fmt.Errorf("page %d: %w", n, err)
		}
		if n > 1 && len(items) > 0 && allListed(items, e.id, listed) {
			// An API that ignores the page parameter answers page 1 again.
			a.log.Warn("a page repeats the items of earlier pages, pages end here", "endpoint", e.Name, "page", n)
			return all, nil
		}
		for _, it := range items {
			if id, ok := scalarString(it, e.id); ok {
				listed[id] = true
			}
		}
		all = append(all, items...)

		var next *url.URL
		switch e.Pagination.Style {
		case PageLink:
			if link := NextLink(hdr.Values("Link")); link != "" {
				if next, err = sameOrigin(e.url, u, link); err != nil {
					return nil, fmt.Errorf("page %d: %w", n, err)
				}
			}
		case PageCursor:
			if c, ok := scalarString(doc, e.nextCursor); ok && c != lastCursor {
				lastCursor = c
				nu := first
				nq := nu.Query()
				nq.Set(e.Pagination.CursorParam, c)
				nu.RawQuery = nq.Encode()
				next = &nu
			}
		case PageNumber:
			if len(items) > 0 {
				page++
				nu := first
				nq := nu.Query()
				nq.Set(e.Pagination.PageParam, strconv.Itoa(page))
				nu.RawQuery = nq.Encode()
				next = &nu
			}
		}
		if next == nil {
			return all, nil
		}
		if n >= e.Pagination.MaxPages {
			a.log.Warn("page limit reached, the rest is read next poll", "endpoint", e.Name, "max_pages", e.Pagination.MaxPages)
			return all, nil
		}
		u = next
	}
}

// allListed says whether every item's id is in listed.
func allListed(items []any, id Path, listed map[string]bool) bool {
	for _, it := range items {
		if v, ok := scalarString(it, id); !ok || !listed[v] {
			return false
		}
	}
	return true
}

// sameOrigin resolves a next link against the page it came from and
// refuses one on another origin than the endpoint's: the auth header must
// not go to a host the API names.
func sameOrigin(base, page *url.URL, link string) (*url.URL, error) {
	ref, err := url.Parse(link)
	if err != nil {
		return nil, fmt.Errorf("next link %q is not a URL: %w", clipStr(link), err)
	}
	next := page.ResolveReference(ref)
	if next.Scheme != base.Scheme || next.Host != base.Host {
		return nil, fmt.Errorf("next link goes to %s://%s, not the endpoint's %s://%s: refused (the auth header is sent to the endpoint's origin only)", next.Scheme, next.Host, base.Scheme, base.Host)
	}
	return next, nil
}

// errRetry is a page answer worth another try.
type errRetry struct {
	err   error
	after time.Duration // Retry-After, or 0
}

func (e *errRetry) Error() string { return e.err.Error() }
func (e *errRetry) Unwrap() error { return e.err }

// fetch GETs u, retrying 429 (after Retry-After), 408, 5xx and network
// errors up to e.Retry.MaxAttempts times.
func (a *Adapter) fetch(ctx context.Context, e *endpoint, u *url.URL) ([]byte, http.Header, error) {
	backoff := e.Retry.Backoff
	for attempt := 1; ; attempt++ {
		body, hdr, err := a.get(ctx, e, u)
		var retry *errRetry
		if err == nil || !errors.As(err, &retry) {
			return body, hdr, err
		}
		wait := retry.after
		if wait == 0 {
			wait = backoff
			backoff *= 2
		}
		if wait > e.Retry.MaxWait {
			a.mu.Lock()
			a.notBefore[e.Name] = a.now().Add(wait)
			a.mu.Unlock()
			return nil, nil, fmt.Errorf("%w: waiting %s is beyond retry.max_wait %s: polling this endpoint again after that", err, wait, e.Retry.MaxWait)
		}
		if attempt >= e.Retry.MaxAttempts {
			return nil, nil, fmt.Errorf("%w (tried %d times)", err, attempt)
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, nil, ctx.Err()
		case <-t.C:
		}
	}
}

// get makes one request.
func (a *Adapter) get(ctx context.Context, e *endpoint, u *url.URL) ([]byte, http.Header, error) {
	where := redact(u)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, nil, fmt.Errorf("GET %s: %w", where, err)
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "Junction-Poll/"+Version)
	if e.Auth.Header != "" {
		req.Header.Set(e.Auth.Header, e.authValue)
	}
	resp, err := a.client.Do(req)
	if err != nil {
		if errors.Is(err, egress.ErrBlocked) || ctx.Err() != nil {
			return nil, nil, fmt.Errorf("GET %s: %w", where, err)
		}
		return nil, nil, &errRetry{err: fmt.Errorf("GET %s: %w", where, err)}
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, e.MaxBodyBytes+1))
	if err != nil {
		return nil, nil, &errRetry{err: fmt.Errorf("GET %s: read answer: %w", where, err)}
	}
	code := resp.StatusCode
	switch {
	case code >= 200 && code < 300:
		if int64(len(body)) > e.MaxBodyBytes {
			return nil, nil, fmt.Errorf("GET %s: answer is larger than max_body_bytes %d", where, e.MaxBodyBytes)
		}
		return body, resp.Header, nil
	case code == http.StatusTooManyRequests || code == http.StatusRequestTimeout || code >= 500:
		after, _ := RetryAfter(resp.Header.Get("Retry-After"), a.now())
		return nil, nil, &errRetry{err: fmt.Errorf("GET %s answered %d %s", where, code, excerpt(body)), after: after}
	default:
		return nil, nil, fmt.Errorf("GET %s answered %d %s: check the endpoint's url and auth", where, code, excerpt(body))
	}
}

// RetryAfter reads a Retry-After value: seconds, or an HTTP date (a date
// in the past is 0). ok is false for an absent or unreadable value.
// Values are capped at a day.
func RetryAfter(v string, now time.Time) (d time.Duration, ok bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	const maxWait = 24 * time.Hour
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		if n < 0 {
			return 0, false
		}
		if n > int64(maxWait/time.Second) {
			return maxWait, true
		}
		return time.Duration(n) * time.Second, true
	}
	t, err := http.ParseTime(v)
	if err != nil {
		return 0, false
	}
	d = t.Sub(now)
	switch {
	case d < 0:
		return 0, true
	case d > maxWait:
		return maxWait, true
	}
	return d, true
}

// redact is u without its query, which may hold an API key.
func redact(u *url.URL) string {
	return u.Scheme + "://" + u.Host + u.EscapedPath()
}

// excerpt is the start of an answer body, for an error message.
func excerpt(b []byte) string {
	s := strings.Join(strings.Fields(string(b)), " ")
	if len(s) > 200 {
		s = s[:200] + "..."
	}
	if s == "" {
		return ""
	}
	return "(" + strconv.Quote(s) + ")"
}
