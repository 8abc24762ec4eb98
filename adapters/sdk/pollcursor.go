package sdk

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"
)

// PollCursorName is the name of the cursor the Runner keeps for a
// [CursorSource].
const PollCursorName = "poll"

// LeasedSource is optionally implemented by a [CursorSource] whose polls
// should run on one instance of its cursor group at a time (to spare the
// app's rate limits): before each poll the Runner takes or renews the
// cursor's lease for Lease() as its Config.Instance, and skips the poll
// while another instance holds it. A holder that stops renewing loses it
// when it expires, and another instance polls. Commits stay
// compare-and-set: the lease is an economy, not the safety. A Lease of 0
// takes none.
type LeasedSource interface {
	CursorSource
	Lease() time.Duration
}

// cursorPoller runs a CursorSource as a PollingSource: read the cursor,
// poll from it, commit what the poll returns.
type cursorPoller struct {
	src      CursorSource
	store    *CursorStore
	log      *slog.Logger
	instance string // the lease owner, for a LeasedSource
}

func (p cursorPoller) Poll(ctx context.Context, emit EmitFunc) error {
	if ls, ok := p.src.(LeasedSource); ok && ls.Lease() > 0 {
		if err := p.store.Acquire(ctx, p.instance, ls.Lease()); err != nil {
			if errors.Is(err, ErrLeaseHeld) {
				p.log.Debug("cursor lease held by another instance, poll skipped", "err", err)
				return nil
			}
			return fmt.Errorf("poll: %w", err)
		}
	}
	cursor, rev, err := p.store.Get(ctx)
	if err != nil {
		return err
	}
	next, err := p.src.PollFrom(ctx, cursor, emit)
	if err != nil {
		return err
	}
	if next == cursor {
		return nil
	}
	if _, err := p.store.Commit(ctx, next, rev); err != nil {
		if errors.Is(err, ErrCursorConflict) {
			p.log.Info("cursor moved by another instance, polling from its cursor next", "revision", rev)
			return nil
		}
		return fmt.Errorf("poll: %w", err)
	}
	return nil
}

// release gives up the lease of a LeasedSource on shutdown, so that
// another instance polls at once instead of when the lease expires.
func (p cursorPoller) release(ctx context.Context) {
	if ls, ok := p.src.(LeasedSource); !ok || ls.Lease() <= 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := p.store.Release(ctx, p.instance); err != nil {
		p.log.Warn("cursor lease release failed, it expires on its own", "err", err)
	}
}
