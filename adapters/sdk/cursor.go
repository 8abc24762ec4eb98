package sdk

import (
	"context"
	"errors"
	"fmt"
	"regexp"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/junctionhq/junction/adapters/sdk/platform/topology"
)

// ErrCursorConflict is returned by [CursorStore.Commit] when the cursor
// was committed by someone else (another instance of the adapter) since
// it was read: nothing was written; read it again with Get and poll from
// there.
var ErrCursorConflict = errors.New("cursor was moved by another instance")

// DefaultCursorGroup is the instance group of a cursor store when none is
// given: every instance of the app shares its cursors.
const DefaultCursorGroup = "default"

var cursorNameRe = regexp.MustCompile(`^[A-Za-z0-9_-]{1,128}$`)

// CursorStore keeps a polling source's position (an opaque string: a
// page token, a timestamp, an id) in the hub's key-value store, so that it
// survives restarts and is shared by the app's instances. Commit is a
// compare-and-set on the revision Get returned: of two instances that read
// the same cursor and both try to advance it, exactly one wins, and the
// other gets [ErrCursorConflict]. Poll, emit, then commit: the events of a
// poll whose commit lost are emitted twice at most, and their ids make the
// hub store them once.
//
// Safe for concurrent use.
type CursorStore struct {
	kv  jetstream.KeyValue
	key string
}

// NewCursorStore opens the cursor named name of app's instance group
// group (DefaultCursorGroup when ""): app and group are lowercase tokens
// (topology.ValidToken), name 1 to 128 letters, digits, '_' or '-'.
func NewCursorStore(ctx context.Context, js jetstream.JetStream, app, group, name string) (*CursorStore, error) {
	if group == "" {
		group = DefaultCursorGroup
	}
	if err := topology.ValidToken(app); err != nil {
		return nil, fmt.Errorf("cursor store: app: %w", err)
	}
	if err := topology.ValidToken(group); err != nil {
		return nil, fmt.Errorf("cursor store: group: %w", err)
	}
	if !cursorNameRe.MatchString(name) {
		return nil, fmt.Errorf("cursor store: name %q must be 1 to 128 letters, digits, '_' or '-'", name)
	}
	kv, err := js.KeyValue(ctx, topology.CursorsBucket)
	if err != nil {
		return nil, fmt.Errorf("cursor store: open bucket %s (is the hub topology current?): %w", topology.CursorsBucket, err)
	}
	return &CursorStore{kv: kv, key: topology.CursorKey(app, group, name)}, nil
}

// Get returns the stored cursor and its revision, or "" and revision 0
// when none was committed yet.
func (c *CursorStore) Get(ctx context.Context) (cursor string, revision uint64, err error) {
	e, err := c.kv.Get(ctx, c.key)
	switch {
	case errors.Is(err, jetstream.ErrKeyNotFound), errors.Is(err, jetstream.ErrKeyDeleted):
		return "", 0, nil
	case err != nil:
		return "", 0, fmt.Errorf("get cursor %s: %w: %w", c.key, ErrUnavailable, err)
	}
	return string(e.Value()), e.Revision(), nil
}

// Commit stores cursor if the stored cursor is still at revision (0: none
// stored yet) and returns the new revision. It returns [ErrCursorConflict]
// when another instance committed in between, and an error wrapping
// [ErrUnavailable] when the hub cannot store it.
func (c *CursorStore) Commit(ctx context.Context, cursor string, revision uint64) (uint64, error) {
	var rev uint64
	var err error
	if revision == 0 {
		rev, err = c.kv.Create(ctx, c.key, []byte(cursor))
	} else {
		rev, err = c.kv.Update(ctx, c.key, []byte(cursor), revision)
	}
	switch {
	case err == nil:
		return rev, nil
	case errors.Is(err, jetstream.ErrKeyExists), errors.Is(err, jetstream.ErrKeyRevisionMismatch):
		return 0, fmt.Errorf("commit cursor %s at revision %d: %w", c.key, revision, ErrCursorConflict)
	default:
		return 0, fmt.Errorf("commit cursor %s: %w: %w", c.key, ErrUnavailable, err)
	}
}

// Reset deletes the cursor, so that the next Get returns "" and 0: the
// source polls from its beginning.
func (c *CursorStore) Reset(ctx context.Context) error {
	if err := c.kv.Delete(ctx, c.key); err != nil {
		return fmt.Errorf("reset cursor %s: %w", c.key, err)
	}
	return nil
}
