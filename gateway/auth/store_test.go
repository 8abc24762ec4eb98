package auth

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/junctionhq/junction/adapters/sdk/sdktest"
)

func newStore(t *testing.T) *Store {
	t.Helper()
	s, err := NewStore(context.Background(), sdktest.NewHub(t).JS)
	if err != nil {
		t.Fatalf("NewStore: %v", err)
	}
	return s
}

func TestStoreVerify(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	s.now = func() time.Time { return now }

	live, liveKey, err := s.Create(ctx, NewKey{DisplayName: "ci", Scopes: []string{ScopeRoutesRead}})
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	_, expKey, err := s.Create(ctx, NewKey{Scopes: []string{ScopeRoutesRead}, ExpireTime: now.Add(time.Hour)})
	if err != nil {
		t.Fatalf("Create expiring: %v", err)
	}
	_, revKey, err := s.Create(ctx, NewKey{Scopes: []string{ScopeRoutesRead}})
	if err != nil {
		t.Fatalf("Create to revoke: %v", err)
	}
	if _, err := s.Revoke(ctx, revKey.ID); err != nil {
		t.Fatalf("Revoke: %v", err)
	}
	rotated, oldSecret, err := s.Create(ctx, NewKey{Scopes: []string{ScopeAdmin}})
	if err != nil {
		t.Fatalf("Create to rotate: %v", err)
	}
	_, newSecret, err := s.Rotate(ctx, rotated.ID)
	if err != nil {
		t.Fatalf("Rotate: %v", err)
	}
	if newSecret.Secret == oldSecret.Secret {
		t.Fatal("Rotate returned the old secret")
	}

	// The stored record never holds the secret.
	e, err := s.kv.Get(ctx, live.ID)
	if err != nil {
		t.Fatalf("kv get: %v", err)
	}
	if strings.Contains(string(e.Value()), liveKey.Secret) {
		t.Fatalf("stored record holds the secret: %s", e.Value())
	}

	wrong := liveKey
	wrong.Secret = strings.Repeat("A", secretLen)
	unknown := liveKey
	unknown.ID = "kaaaaaaaaaaaaaaaa"

	for _, tc := range []struct {
		name string
		key  APIKey
		at   time.Time
		want error
	}{
		{"live key", liveKey, now, nil},
		{"wrong secret", wrong, now, ErrInvalidKey},
		{"unknown id", unknown, now, ErrInvalidKey},
		{"before expiry", expKey, now.Add(59 * time.Minute), nil},
		{"at expiry", expKey, now.Add(time.Hour), ErrKeyExpired},
		{"after expiry", expKey, now.Add(2 * time.Hour), ErrKeyExpired},
		{"revoked", revKey, now, ErrKeyRevoked},
		{"old secret after rotate", oldSecret, now, ErrInvalidKey},
		{"new secret after rotate", newSecret, now, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s.now = func() time.Time { return tc.at }
			_, err := s.Verify(ctx, tc.key)
			if !errors.Is(err, tc.want) || (tc.want == nil) != (err == nil) {
				t.Fatalf("Verify: got %v, want %v", err, tc.want)
			}
			if err != nil && strings.Contains(err.Error(), tc.key.Secret) {
				t.Fatalf("error %q holds the secret", err)
			}
		})
	}
	s.now = func() time.Time { return now }

	if _, _, err := s.Rotate(ctx, revKey.ID); !errors.Is(err, ErrKeyRevoked) {
		t.Errorf("Rotate revoked key: got %v, want ErrKeyRevoked", err)
	}
	if _, _, err := s.Create(ctx, NewKey{Scopes: []string{"routes:everything"}}); !errors.Is(err, ErrInvalidRecord) {
		t.Errorf("Create with unknown scope: got %v, want ErrInvalidRecord", err)
	}
	if _, _, err := s.Create(ctx, NewKey{Scopes: []string{ScopeAdmin}, ExpireTime: now.Add(-time.Second)}); !errors.Is(err, ErrInvalidRecord) {
		t.Errorf("Create expired: got %v, want ErrInvalidRecord", err)
	}
	all, err := s.List(ctx)
	if err != nil || len(all) != 4 {
		t.Fatalf("List: got %d keys (%v), want 4", len(all), err)
	}
}

func TestEnsureAdminKey(t *testing.T) {
	ctx := context.Background()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	s := newStore(t)
	path := filepath.Join(t.TempDir(), "data", "admin.key")

	created, err := s.EnsureAdminKey(ctx, path, log)
	if err != nil || !created {
		t.Fatalf("first EnsureAdminKey: got created=%v err=%v, want a new key", created, err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatalf("stat: %v", err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("admin key file mode: got %#o, want 0600", fi.Mode().Perm())
	}
	raw, _ := os.ReadFile(path)
	k, err := ParseAPIKey(strings.TrimSpace(string(raw)))
	if err != nil {
		t.Fatalf("admin key file: %v", err)
	}
	r, err := s.Verify(ctx, k)
	if err != nil || !Has(r.Scopes, ScopeKeysAdmin) {
		t.Fatalf("admin key: got %v scopes %v, want a live key with admin", err, r.Scopes)
	}

	created, err = s.EnsureAdminKey(ctx, path, log)
	if err != nil || created {
		t.Fatalf("second EnsureAdminKey: got created=%v err=%v, want nothing done", created, err)
	}
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := s.EnsureAdminKey(ctx, path, log); err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Fatalf("EnsureAdminKey with a world-readable file: got %v, want an error telling to chmod 600", err)
	}
}

func TestHas(t *testing.T) {
	for _, tc := range []struct {
		held []string
		need string
		want bool
	}{
		{[]string{ScopeRoutesRead}, ScopeRoutesRead, true},
		{[]string{ScopeRoutesRead}, ScopeRoutesWrite, false},
		{[]string{ScopeRoutesWrite}, ScopeRoutesRead, true},
		{[]string{ScopeDeadLettersAdmin}, ScopeDeadLettersRead, true},
		{[]string{ScopeDeadLettersRead}, ScopeDeadLettersAdmin, false},
		{[]string{ScopeAdmin}, ScopeKeysAdmin, true},
		{[]string{ScopeKeysAdmin}, ScopeRoutesRead, false},
		{nil, ScopeRoutesRead, false},
	} {
		if got := Has(tc.held, tc.need); got != tc.want {
			t.Errorf("Has(%v, %s): got %v, want %v", tc.held, tc.need, got, tc.want)
		}
	}
}

func TestLimiter(t *testing.T) {
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	l := NewLimiter(RateLimit{RPS: 1, Burst: 2}, 3)
	l.now = func() time.Time { return now }
	for i, want := range []bool{true, true, false} {
		ok, wait := l.Allow("key:a")
		if ok != want {
			t.Fatalf("call %d: got allowed=%v, want %v", i+1, ok, want)
		}
		if !ok && wait != time.Second {
			t.Errorf("call %d: got retry after %s, want 1s", i+1, wait)
		}
	}
	if ok, _ := l.Allow("key:b"); !ok {
		t.Error("another caller was limited by key:a's bucket")
	}
	now = now.Add(time.Second)
	if ok, _ := l.Allow("key:a"); !ok {
		t.Error("key:a still limited after its refill time")
	}
	for _, c := range []string{"c", "d", "e", "f", "g"} {
		l.Allow("key:" + c)
	}
	if n := l.Len(); n > 3 {
		t.Errorf("limiter holds %d callers, want at most its cap 3", n)
	}
	if NewLimiter(RateLimit{RPS: -1}, 0) != nil {
		t.Error("negative RPS: want no limiter")
	}
	var off *Limiter
	if ok, _ := off.Allow("x"); !ok {
		t.Error("nil limiter refused a call")
	}
}
