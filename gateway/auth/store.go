package auth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/junctionhq/junction/adapters/sdk/platform/topology"
)

// Errors of the key store. Callers branch on them with errors.Is.
var (
	// ErrKeyNotFound: no key has that id.
	ErrKeyNotFound = errors.New("key not found")
	// ErrInvalidKey: the key is unknown or its secret does not match.
	ErrInvalidKey = errors.New("invalid API key")
	// ErrKeyRevoked: the key was revoked.
	ErrKeyRevoked = errors.New("API key revoked")
	// ErrKeyExpired: the key is past its expiry.
	ErrKeyExpired = errors.New("API key expired")
	// ErrInvalidRecord: a key to create is incomplete or wrong.
	ErrInvalidRecord = errors.New("invalid key")
)

// touchEvery is how often a key's last-used time is written at most.
const touchEvery = time.Minute

// Record is a stored API key: everything but its secret, plus the salt and
// keyed hash that check one.
type Record struct {
	ID          string     `json:"id"`
	DisplayName string     `json:"display_name,omitempty"`
	Description string     `json:"description,omitempty"`
	Scopes      []string   `json:"scopes"`
	ExpireTime  *time.Time `json:"expire_time,omitempty"`
	CreateTime  time.Time  `json:"create_time"`
	RotateTime  *time.Time `json:"rotate_time,omitempty"`
	RevokeTime  *time.Time `json:"revoke_time,omitempty"`
	LastUsed    *time.Time `json:"last_used_time,omitempty"`
	Salt        []byte     `json:"salt"`
	Hash        []byte     `json:"hash"`

	revision uint64
}

// Store keeps API keys in the topology.KeysBucket bucket (key = key id,
// value = Record as JSON). It is safe for concurrent use.
type Store struct {
	kv  jetstream.KeyValue
	now func() time.Time
}

// NewStore opens the keys bucket, which topology.Ensure creates.
func NewStore(ctx context.Context, js jetstream.JetStream) (*Store, error) {
	kv, err := js.KeyValue(ctx, topology.KeysBucket)
	if err != nil {
		return nil, fmt.Errorf("open bucket %s (created by topology.Ensure): %w", topology.KeysBucket, err)
	}
	return &Store{kv: kv, now: time.Now}, nil
}

// NewKey is what Create needs.
type NewKey struct {
	DisplayName string
	Description string
	Scopes      []string
	// ExpireTime, when not zero, must be in the future.
	ExpireTime time.Time
}

// Create stores a new key and returns it with its full key string, which
// is not kept anywhere.
func (s *Store) Create(ctx context.Context, in NewKey) (Record, APIKey, error) {
	if err := ValidateScopes(in.Scopes); err != nil {
		return Record{}, APIKey{}, fmt.Errorf("%w: scopes: %w", ErrInvalidRecord, err)
	}
	now := s.now().UTC()
	if !in.ExpireTime.IsZero() && !in.ExpireTime.After(now) {
		return Record{}, APIKey{}, fmt.Errorf("%w: expire_time %s is not in the future", ErrInvalidRecord, in.ExpireTime.UTC().Format(time.RFC3339))
	}
	id, err := newKeyID()
	if err != nil {
		return Record{}, APIKey{}, err
	}
	secret, salt, err := newSecret()
	if err != nil {
		return Record{}, APIKey{}, err
	}
	r := Record{
		ID: id, DisplayName: in.DisplayName, Description: in.Description,
		Scopes: append([]string(nil), in.Scopes...), CreateTime: now,
		Salt: salt, Hash: hashSecret(salt, secret),
	}
	if !in.ExpireTime.IsZero() {
		t := in.ExpireTime.UTC()
		r.ExpireTime = &t
	}
	b, err := json.Marshal(r)
	if err != nil {
		return Record{}, APIKey{}, fmt.Errorf("encode key %s: %w", id, err)
	}
	if r.revision, err = s.kv.Create(ctx, id, b); err != nil {
		return Record{}, APIKey{}, fmt.Errorf("store key %s: %w", id, err)
	}
	return r, APIKey{ID: id, Secret: secret}, nil
}

// Get returns the key with id; ErrKeyNotFound when there is none.
func (s *Store) Get(ctx context.Context, id string) (Record, error) {
	if !ValidKeyID(id) {
		return Record{}, fmt.Errorf("%w: %q is not a key id (\"k\" and 16 characters of a-z and 2-7)", ErrKeyNotFound, id)
	}
	e, err := s.kv.Get(ctx, id)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return Record{}, fmt.Errorf("%w: key %s does not exist", ErrKeyNotFound, id)
	}
	if err != nil {
		return Record{}, fmt.Errorf("get key %s: %w", id, err)
	}
	return decode(e)
}

func decode(e jetstream.KeyValueEntry) (Record, error) {
	var r Record
	if err := json.Unmarshal(e.Value(), &r); err != nil {
		return Record{}, fmt.Errorf("decode key %s: %w", e.Key(), err)
	}
	r.revision = e.Revision()
	return r, nil
}

// List returns every key, sorted by id.
func (s *Store) List(ctx context.Context) ([]Record, error) {
	w, err := s.kv.WatchAll(ctx, jetstream.IgnoreDeletes())
	if err != nil {
		return nil, fmt.Errorf("list keys: %w", err)
	}
	defer w.Stop()
	var out []Record
	for {
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("list keys: %w", ctx.Err())
		case e, ok := <-w.Updates():
			if !ok {
				return nil, errors.New("list keys: watcher stopped")
			}
			if e == nil {
				sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
				return out, nil
			}
			if r, err := decode(e); err == nil {
				out = append(out, r)
			}
		}
	}
}

// update applies change to the stored key with id, retrying when another
// write lands between the read and the write.
func (s *Store) update(ctx context.Context, id string, change func(*Record) error) (Record, error) {
	for range 5 {
		r, err := s.Get(ctx, id)
		if err != nil {
			return Record{}, err
		}
		if err := change(&r); err != nil {
			return Record{}, err
		}
		b, err := json.Marshal(r)
		if err != nil {
			return Record{}, fmt.Errorf("encode key %s: %w", id, err)
		}
		rev, err := s.kv.Update(ctx, id, b, r.revision)
		if errors.Is(err, jetstream.ErrKeyExists) {
			continue // changed meanwhile: read again
		}
		if err != nil {
			return Record{}, fmt.Errorf("store key %s: %w", id, err)
		}
		r.revision = rev
		return r, nil
	}
	return Record{}, fmt.Errorf("store key %s: changed concurrently five times, retry", id)
}

// Rotate gives the key a new secret; the old one stops working at once. A
// revoked key cannot be rotated.
func (s *Store) Rotate(ctx context.Context, id string) (Record, APIKey, error) {
	secret, salt, err := newSecret()
	if err != nil {
		return Record{}, APIKey{}, err
	}
	r, err := s.update(ctx, id, func(r *Record) error {
		if r.RevokeTime != nil {
			return fmt.Errorf("%w: key %s was revoked; create a new key", ErrKeyRevoked, id)
		}
		now := s.now().UTC()
		r.Salt, r.Hash, r.RotateTime = salt, hashSecret(salt, secret), &now
		return nil
	})
	if err != nil {
		return Record{}, APIKey{}, err
	}
	return r, APIKey{ID: id, Secret: secret}, nil
}

// Revoke makes the key stop working for good. Revoking a revoked key keeps
// its first revoke time.
func (s *Store) Revoke(ctx context.Context, id string) (Record, error) {
	return s.update(ctx, id, func(r *Record) error {
		if r.RevokeTime == nil {
			now := s.now().UTC()
			r.RevokeTime = &now
		}
		return nil
	})
}

// Verify checks a presented key: known id, matching secret (compared in
// constant time), not revoked, not expired. It returns ErrInvalidKey,
// ErrKeyRevoked or ErrKeyExpired; revoked and expired are only told to a
// caller that holds the right secret.
func (s *Store) Verify(ctx context.Context, k APIKey) (Record, error) {
	r, err := s.Get(ctx, k.ID)
	if errors.Is(err, ErrKeyNotFound) {
		return Record{}, fmt.Errorf("%w: key %s", ErrInvalidKey, k.ID)
	}
	if err != nil {
		return Record{}, err
	}
	if !secretMatches(r.Salt, r.Hash, k.Secret) {
		return Record{}, fmt.Errorf("%w: key %s", ErrInvalidKey, k.ID)
	}
	if r.RevokeTime != nil {
		return Record{}, fmt.Errorf("%w: key %s was revoked at %s", ErrKeyRevoked, k.ID, r.RevokeTime.Format(time.RFC3339))
	}
	if r.ExpireTime != nil && !s.now().Before(*r.ExpireTime) {
		return Record{}, fmt.Errorf("%w: key %s expired at %s", ErrKeyExpired, k.ID, r.ExpireTime.Format(time.RFC3339))
	}
	return r, nil
}

// Touch records that r was used now, at most once a minute per key. It is
// best effort: a concurrent change wins and the next use writes again.
func (s *Store) Touch(ctx context.Context, r Record) {
	now := s.now().UTC()
	if r.LastUsed != nil && now.Sub(*r.LastUsed) < touchEvery {
		return
	}
	r.LastUsed = &now
	b, err := json.Marshal(r)
	if err != nil {
		return
	}
	_, _ = s.kv.Update(ctx, r.ID, b, r.revision)
}

// Empty reports whether no key has ever been stored.
func (s *Store) Empty(ctx context.Context) (bool, error) {
	keys, err := s.List(ctx)
	if err != nil {
		return false, err
	}
	return len(keys) == 0, nil
}

// EnsureAdminKey creates a key with scope admin when the store holds no key
// at all, and writes it to path with mode 0600 (the directory is created
// 0700 when missing). It returns whether it created one. With keys already
// stored it creates nothing; if path exists and others can read it, it
// fails: fix the mode (chmod 600) or remove the file.
func (s *Store) EnsureAdminKey(ctx context.Context, path string, log *slog.Logger) (bool, error) {
	if fi, err := os.Stat(path); err == nil {
		if fi.Mode().Perm()&0o077 != 0 {
			return false, fmt.Errorf("admin key file %s has mode %#o, readable by others: run `chmod 600 %s` or remove it", path, fi.Mode().Perm(), path)
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return false, fmt.Errorf("admin key file: %w", err)
	}
	empty, err := s.Empty(ctx)
	if err != nil || !empty {
		return false, err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return false, fmt.Errorf("admin key file directory: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".admin.key-*")
	if err != nil {
		return false, fmt.Errorf("admin key file: %w", err)
	}
	defer os.Remove(tmp.Name())
	r, key, err := s.Create(ctx, NewKey{DisplayName: "admin", Description: "created by the first start of the hub", Scopes: []string{ScopeAdmin}})
	if err != nil {
		tmp.Close()
		return false, err
	}
	werr := tmp.Chmod(0o600)
	if werr == nil {
		_, werr = tmp.WriteString(key.String() + "\n")
	}
	if cerr := tmp.Close(); werr == nil {
		werr = cerr
	}
	if werr == nil {
		werr = os.Rename(tmp.Name(), path)
	}
	if werr != nil {
		// Nobody holds the key: remove it, so the next start tries again.
		_ = s.kv.Delete(ctx, r.ID)
		return false, fmt.Errorf("write admin key file %s: %w", path, werr)
	}
	log.Info("admin API key created", slog.String("key_id", r.ID), slog.String("file", path))
	return true, nil
}
