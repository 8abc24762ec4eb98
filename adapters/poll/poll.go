package poll

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"sync"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/junctionhq/junction/adapters/sdk"
	"github.com/junctionhq/junction/adapters/sdk/platform/egress"
	junctionv1 "github.com/junctionhq/junction/proto/junction/v1"
)

// Version of the adapter.
const Version = "0.1.0"

// Spec describes the polling adapter: events of source "poll".
var Spec = sdk.Spec{
	App:         "poll",
	Version:     Version,
	Description: "Polls REST endpoints of apps without webhooks; every new item becomes an event.",
}

// Adapter polls its endpoints. It is an sdk.LeasedSource: the Runner keeps
// the endpoints' positions in the hub's cursor store, and polls on the
// instance holding the cursor's lease.
type Adapter struct {
	endpoints []*endpoint
	client    *http.Client
	log       *slog.Logger
	now       func() time.Time
	lease     time.Duration

	mu         sync.Mutex
	lastPolled map[string]time.Time // in this instance
	notBefore  map[string]time.Time // after a long Retry-After
}

// endpoint is an Endpoint with its paths parsed and its auth read.
type endpoint struct {
	Endpoint
	url        *url.URL
	items      Path
	id         Path
	time       Path
	typ        Path
	nextCursor Path
	since      time.Time // from Since, zero for none or "now"
	sinceNow   bool
	authValue  string
}

// New returns the adapter for cfg; it reads the auth values from the
// environment or their files and fails naming what is missing.
func New(cfg Config) (*Adapter, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	a := &Adapter{
		lease:      DefaultLease,
		log:        slog.Default().With("app", Spec.App),
		now:        time.Now,
		lastPolled: map[string]time.Time{},
		notBefore:  map[string]time.Time{},
	}
	if cfg.Lease != nil {
		a.lease = *cfg.Lease
	}
	for _, e := range cfg.Endpoints {
		ep := &endpoint{Endpoint: e}
		ep.url, _ = url.Parse(e.URL)
		ep.items, _ = ParsePath(e.Items)
		ep.id, _ = ParsePath(e.IDField)
		ep.time, _ = ParsePath(e.TimeField)
		ep.typ, _ = ParsePath(e.TypeField)
		ep.nextCursor, _ = ParsePath(e.Pagination.NextCursor)
		switch e.Since {
		case "":
		case "now":
			ep.sinceNow = true
		default:
			ep.since, _ = time.Parse(time.RFC3339, e.Since)
		}
		v, err := e.Auth.value()
		if err != nil {
			return nil, fmt.Errorf("%w: endpoints %s: %w", ErrConfig, e.Name, err)
		}
		ep.authValue = v
		ep.applyDefaults()
		a.endpoints = append(a.endpoints, ep)
	}
	guard, err := egress.New(egress.Policy{Allow: cfg.Outbound.Allow, Key: "outbound.allow"})
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrConfig, err)
	}
	timeout := cmp.Or(cfg.Outbound.Timeout, DefaultTimeout)
	a.client = guard.Client(sdk.TraceTransport(guard.Transport()), timeout)
	return a, nil
}

func (e *endpoint) applyDefaults() {
	p := &e.Pagination
	p.Style = cmp.Or(p.Style, PageNone)
	p.MaxPages = cmp.Or(p.MaxPages, DefaultMaxPages)
	if p.FirstPage == nil {
		first := DefaultFirstPage
		p.FirstPage = &first
	}
	e.MaxBodyBytes = cmp.Or(e.MaxBodyBytes, DefaultMaxBodyBytes)
	e.Retry.MaxAttempts = cmp.Or(e.Retry.MaxAttempts, DefaultMaxAttempts)
	e.Retry.Backoff = cmp.Or(e.Retry.Backoff, DefaultBackoff)
	e.Retry.MaxWait = cmp.Or(e.Retry.MaxWait, DefaultMaxRetryWait)
	e.SinceFormat = cmp.Or(e.SinceFormat, "rfc3339")
}

// Lease is how long an instance holds the cursor's lease (an
// sdk.LeasedSource): only the holder polls.
func (a *Adapter) Lease() time.Duration { return a.lease }

// Sources names the event source the adapter publishes as.
func (a *Adapter) Sources() []string { return []string{Spec.App} }

// cursor is the adapter's position, stored as JSON in its cursor on the
// hub: one state per endpoint name.
type cursor struct {
	Endpoints map[string]*state `json:"endpoints"`
}

// state is one endpoint's position.
type state struct {
	// Since is the latest item time taken (with time_field).
	Since time.Time `json:"since,omitzero"`
	// Seen are the ids taken at Since (with time_field), or the latest
	// ids taken, newest first (without), so a poll does not emit them
	// again.
	Seen []string `json:"seen,omitempty"`
}

// ParseCursor reads a stored cursor; "" is the empty cursor.
func ParseCursor(s string) (*cursor, error) {
	c := &cursor{}
	if s != "" {
		if err := json.Unmarshal([]byte(s), c); err != nil {
			return &cursor{Endpoints: map[string]*state{}}, fmt.Errorf("stored cursor is not the poll adapter's JSON: %w", err)
		}
	}
	if c.Endpoints == nil {
		c.Endpoints = map[string]*state{}
	}
	return c, nil
}

// PollFrom polls every endpoint that is due, emits the items newer than
// its state in cursor, and returns the new cursor. An endpoint that fails
// keeps its state (its items are fetched again next time, and the hub
// stores each id once); the others advance. PollFrom fails when every
// endpoint it polled failed.
func (a *Adapter) PollFrom(ctx context.Context, stored string, emit sdk.EmitFunc) (string, error) {
	cur, err := ParseCursor(stored)
	if err != nil {
		a.log.Warn("unreadable cursor, polling from the configured start", "err", err)
	}
	now := a.now()
	var errs []error
	polled := 0
	for _, e := range a.endpoints {
		if !a.due(e, now) {
			continue
		}
		polled++
		st := cur.Endpoints[e.Name]
		if st == nil {
			st = &state{}
		}
		next, err := a.pollEndpoint(ctx, e, st, now, emit)
		if err != nil {
			if ctx.Err() != nil {
				return "", ctx.Err()
			}
			errs = append(errs, fmt.Errorf("endpoint %s: %w", e.Name, err))
			continue
		}
		a.mu.Lock()
		a.lastPolled[e.Name] = now
		a.mu.Unlock()
		cur.Endpoints[e.Name] = next
	}
	if len(errs) > 0 && len(errs) == polled {
		return "", errors.Join(errs...)
	}
	for _, err := range errs {
		a.log.Warn("endpoint poll failed, will poll it again", "err", err)
	}
	b, err := json.Marshal(cur)
	if err != nil {
		return "", fmt.Errorf("encode cursor: %w", err)
	}
	return string(b), nil
}

// due says whether e is to be polled at now.
func (a *Adapter) due(e *endpoint, now time.Time) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	if nb, ok := a.notBefore[e.Name]; ok && now.Before(nb) {
		return false
	}
	last, ok := a.lastPolled[e.Name]
	return !ok || e.Interval == 0 || !now.Before(last.Add(e.Interval))
}

// candidate is an item to emit.
type candidate struct {
	id   string
	at   time.Time
	typ  string
	data []byte
}

// pollEndpoint reads e's pages and emits the items newer than st.
func (a *Adapter) pollEndpoint(ctx context.Context, e *endpoint, st *state, now time.Time, emit sdk.EmitFunc) (*state, error) {
	bound := st.Since
	if bound.IsZero() {
		bound = e.since
		if e.sinceNow {
			bound = now.UTC()
		}
	}
	items, err := a.fetchAll(ctx, e, bound)
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	for _, id := range st.Seen {
		seen[id] = true
	}
	var cands []candidate
	skipped := 0
	inPage := map[string]bool{}
	for _, item := range items {
		id, ok := scalarString(item, e.id)
		if !ok {
			skipped++
			continue
		}
		var at time.Time
		if e.time != nil {
			if at, err = itemTime(item, e.time); err != nil {
				skipped++
				continue
			}
			if at.Before(bound) || at.Equal(st.Since) && seen[id] {
				continue
			}
		} else if seen[id] {
			continue
		}
		if inPage[id] {
			continue // listed on two pages while the list moved
		}
		inPage[id] = true
		typ := e.Type
		if e.typ != nil {
			if t, ok := scalarString(item, e.typ); ok {
				typ = t
			}
		}
		data, err := json.Marshal(item)
		if err != nil {
			skipped++
			continue
		}
		cands = append(cands, candidate{id: id, at: at, typ: typ, data: data})
	}
	if skipped > 0 {
		a.log.Warn("items without a readable id or time skipped", "endpoint", e.Name, "skipped", skipped)
	}
	if e.time != nil {
		slices.SortStableFunc(cands, func(x, y candidate) int { return x.at.Compare(y.at) })
	}
	for _, c := range cands {
		ev := &junctionv1.Event{
			Id:              e.Name + "." + c.id,
			Source:          Spec.App,
			Type:            c.typ,
			DataContentType: "application/json",
			Data:            c.data,
		}
		if !c.at.IsZero() {
			ev.Time = timestamppb.New(c.at)
		}
		if _, err := emit(ctx, ev); err != nil {
			if errors.Is(err, sdk.ErrInvalidEvent) {
				a.log.Warn("item is no valid event, skipped", "endpoint", e.Name, "item_id", c.id, "err", err)
				continue
			}
			return nil, err
		}
	}
	return nextState(e, st, bound, cands), nil
}

// nextState is st after cands were emitted.
func nextState(e *endpoint, st *state, bound time.Time, cands []candidate) *state {
	if e.time == nil {
		seen := make([]string, 0, len(cands)+len(st.Seen))
		for i := len(cands) - 1; i >= 0; i-- {
			seen = append(seen, cands[i].id)
		}
		seen = append(seen, st.Seen...)
		if len(seen) > maxSeen {
			seen = seen[:maxSeen]
		}
		return &state{Seen: seen}
	}
	next := &state{Since: bound}
	if !st.Since.IsZero() && st.Since.Equal(bound) {
		next.Seen = append(next.Seen, st.Seen...)
	}
	for _, c := range cands {
		switch {
		case c.at.After(next.Since):
			next.Since = c.at
			next.Seen = []string{c.id}
		case c.at.Equal(next.Since):
			next.Seen = append(next.Seen, c.id)
		}
	}
	if len(next.Seen) > maxSeen {
		next.Seen = next.Seen[len(next.Seen)-maxSeen:]
	}
	return next
}
