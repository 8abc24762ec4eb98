package sdk

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
)

// PollCursorName is the name of the cursor the Runner keeps for a
// [CursorSource].
const PollCursorName = "poll"

// cursorPoller runs a CursorSource as a PollingSource: read the cursor,
// poll from it, commit what the poll returns.
type cursorPoller struct {
	src   CursorSource
	store *CursorStore
	log   *slog.Logger
}

func (p cursorPoller) Poll(ctx context.Context, emit EmitFunc) error {
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
