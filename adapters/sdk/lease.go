package sdk

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// ErrLeaseHeld is returned by [CursorStore.Acquire] while another owner
// holds the cursor's lease.
var ErrLeaseHeld = errors.New("cursor lease held by another owner")

// Acquire takes or renews the lease on the cursor for owner (e.g. the
// instance name) for ttl: of several instances of a polling source, only
// the holder polls, which saves the others' calls to the app (commits
// stay compare-and-set whatever the lease says). It returns
// [ErrLeaseHeld], naming the holder and when its lease ends, while
// another owner's lease runs. Renew before ttl passes by calling Acquire
// again; a holder that stops renewing loses the lease when it expires.
// Expiry is judged by the caller's clock: keep ttl well above the clock
// skew between instances.
func (c *CursorStore) Acquire(ctx context.Context, owner string, ttl time.Duration) error {
	if owner == "" || strings.Contains(owner, "|") {
		return fmt.Errorf("acquire lease: owner %q must be non-empty, without '|'", owner)
	}
	if ttl <= 0 {
		return fmt.Errorf("acquire lease: ttl %s must be positive", ttl)
	}
	key := c.key + ".lease"
	value := []byte(owner + "|" + strconv.FormatInt(time.Now().Add(ttl).UnixNano(), 10))
	e, err := c.kv.Get(ctx, key)
	switch {
	case errors.Is(err, jetstream.ErrKeyNotFound), errors.Is(err, jetstream.ErrKeyDeleted):
		_, err = c.kv.Create(ctx, key, value)
	case err != nil:
		return fmt.Errorf("acquire lease %s: %w: %w", key, ErrUnavailable, err)
	default:
		holder, until := parseLease(e.Value())
		if holder != owner && time.Now().Before(until) {
			return fmt.Errorf("acquire lease %s: %w: %s until %s", key, ErrLeaseHeld, holder, until.UTC().Format(time.RFC3339))
		}
		_, err = c.kv.Update(ctx, key, value, e.Revision())
	}
	switch {
	case err == nil:
		return nil
	case errors.Is(err, jetstream.ErrKeyExists), errors.Is(err, jetstream.ErrKeyRevisionMismatch):
		return fmt.Errorf("acquire lease %s: %w: another owner took it first", key, ErrLeaseHeld)
	default:
		return fmt.Errorf("acquire lease %s: %w: %w", key, ErrUnavailable, err)
	}
}

// Release gives up owner's lease, if owner holds it, so another instance
// can take it at once.
func (c *CursorStore) Release(ctx context.Context, owner string) error {
	key := c.key + ".lease"
	e, err := c.kv.Get(ctx, key)
	if errors.Is(err, jetstream.ErrKeyNotFound) || errors.Is(err, jetstream.ErrKeyDeleted) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("release lease %s: %w", key, err)
	}
	if holder, _ := parseLease(e.Value()); holder != owner {
		return nil
	}
	if err := c.kv.Delete(ctx, key, jetstream.LastRevision(e.Revision())); err != nil && !errors.Is(err, jetstream.ErrKeyRevisionMismatch) {
		return fmt.Errorf("release lease %s: %w", key, err)
	}
	return nil
}

// parseLease reads "<owner>|<unix nanos>"; an unreadable value is an
// expired lease.
func parseLease(v []byte) (string, time.Time) {
	owner, ns, ok := strings.Cut(string(v), "|")
	n, err := strconv.ParseInt(ns, 10, 64)
	if !ok || err != nil {
		return "", time.Time{}
	}
	return owner, time.Unix(0, n)
}
