package sdk_test

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/junctionhq/junction/adapters/sdk"
	"github.com/junctionhq/junction/adapters/sdk/platform/topology"
	"github.com/junctionhq/junction/adapters/sdk/sdktest"
	junctionv1 "github.com/junctionhq/junction/proto/junction/v1"
)

func openCursor(t *testing.T, js jetstream.JetStream, app, group string) *sdk.CursorStore {
	t.Helper()
	c, err := sdk.NewCursorStore(t.Context(), js, app, group, "poll")
	if err != nil {
		t.Fatalf("NewCursorStore: %v", err)
	}
	return c
}

func TestCursorStoreCommit(t *testing.T) {
	hub := sdktest.NewHub(t)
	c := openCursor(t, hub.JS, "crm", "")
	ctx := t.Context()
	cur, rev, err := c.Get(ctx)
	if err != nil || cur != "" || rev != 0 {
		t.Fatalf("Get on a new store = %q, %d, %v; want \"\", 0, nil", cur, rev, err)
	}
	rev1, err := c.Commit(ctx, "page-2", 0)
	if err != nil {
		t.Fatalf("Commit(page-2, 0): %v", err)
	}
	if _, err := c.Commit(ctx, "page-x", 0); !errors.Is(err, sdk.ErrCursorConflict) {
		t.Errorf("second Commit from revision 0 = %v, want ErrCursorConflict", err)
	}
	rev2, err := c.Commit(ctx, "page-3", rev1)
	if err != nil {
		t.Fatalf("Commit(page-3, %d): %v", rev1, err)
	}
	if _, err := c.Commit(ctx, "page-y", rev1); !errors.Is(err, sdk.ErrCursorConflict) {
		t.Errorf("Commit from the stale revision %d = %v, want ErrCursorConflict", rev1, err)
	}
	if cur, rev, _ := c.Get(ctx); cur != "page-3" || rev != rev2 {
		t.Errorf("Get = %q, %d; want page-3, %d", cur, rev, rev2)
	}
	// Groups and apps are apart.
	if cur, _, _ := openCursor(t, hub.JS, "crm", "eu").Get(ctx); cur != "" {
		t.Errorf("group eu reads %q, want its own empty cursor", cur)
	}
	if cur, _, _ := openCursor(t, hub.JS, "erp", "").Get(ctx); cur != "" {
		t.Errorf("app erp reads %q, want its own empty cursor", cur)
	}
	if err := c.Reset(ctx); err != nil {
		t.Fatal(err)
	}
	if cur, rev, _ := c.Get(ctx); cur != "" || rev != 0 {
		t.Errorf("Get after Reset = %q, %d; want \"\", 0", cur, rev)
	}
	if _, err := c.Commit(ctx, "page-1", 0); err != nil {
		t.Errorf("Commit from 0 after Reset: %v", err)
	}
}

func TestNewCursorStoreInvalid(t *testing.T) {
	hub := sdktest.NewHub(t)
	for _, tt := range []struct{ name, app, group, cursor, want string }{
		{"bad app", "CRM", "", "poll", "app"},
		{"bad group", "crm", "a.b", "poll", "group"},
		{"bad name", "crm", "", "a.b", "name"},
		{"empty name", "crm", "", "", "name"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := sdk.NewCursorStore(t.Context(), hub.JS, tt.app, tt.group, tt.cursor); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("NewCursorStore(%q, %q, %q) = %v, want an error about %s", tt.app, tt.group, tt.cursor, err, tt.want)
			}
		})
	}
}

// TestCursorStoreRace has instances on their own connections advance the
// same cursor from the same revision at once, round after round: exactly
// one commit per revision wins, every other gets ErrCursorConflict.
func TestCursorStoreRace(t *testing.T) {
	hub := sdktest.NewHub(t)
	const instances, rounds = 4, 20
	stores := make([]*sdk.CursorStore, instances)
	for i := range stores {
		js, err := jetstream.New(hub.Connect(t))
		if err != nil {
			t.Fatal(err)
		}
		stores[i] = openCursor(t, js, "crm", "")
	}
	ctx := t.Context()
	for round := range rounds {
		_, rev, err := stores[0].Get(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var wins, conflicts atomic.Int32
		var winner atomic.Value
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i, s := range stores {
			wg.Go(func() {
				<-start
				cursor := fmt.Sprintf("r%d-i%d", round, i)
				_, err := s.Commit(ctx, cursor, rev)
				switch {
				case err == nil:
					wins.Add(1)
					winner.Store(cursor)
				case errors.Is(err, sdk.ErrCursorConflict):
					conflicts.Add(1)
				default:
					t.Errorf("round %d instance %d: Commit = %v", round, i, err)
				}
			})
		}
		close(start)
		wg.Wait()
		if wins.Load() != 1 || conflicts.Load() != instances-1 {
			t.Fatalf("round %d from revision %d: %d wins, %d conflicts; want 1 and %d", round, rev, wins.Load(), conflicts.Load(), instances-1)
		}
		if cur, _, _ := stores[instances-1].Get(ctx); cur != winner.Load() {
			t.Fatalf("round %d: stored %q, want the winner's %q", round, cur, winner.Load())
		}
	}
}

// startServer starts a nats-server with JetStream on dir and the hub
// topology, returning a connection and a stop func.
func startServer(t *testing.T, dir string) (jetstream.JetStream, func()) {
	t.Helper()
	ns, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: server.RANDOM_PORT, JetStream: true, StoreDir: dir, NoSigs: true})
	if err != nil {
		t.Fatal(err)
	}
	go ns.Start()
	if !ns.ReadyForConnections(10 * time.Second) {
		t.Fatal("nats-server not ready")
	}
	nc, err := nats.Connect(ns.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	if err := topology.Ensure(t.Context(), js, topology.Options{}); err != nil {
		t.Fatal(err)
	}
	return js, func() { nc.Close(); ns.Shutdown(); ns.WaitForShutdown() }
}

// TestCursorStoreSurvivesRestart commits a cursor, stops the hub's
// server, starts a new one on the same store and reads the cursor back.
func TestCursorStoreSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	js, stop := startServer(t, dir)
	rev, err := openCursor(t, js, "crm", "").Commit(t.Context(), "2026-12-06T22:00:00Z", 0)
	if err != nil {
		t.Fatal(err)
	}
	stop()
	js, stop = startServer(t, dir)
	defer stop()
	cur, got, err := openCursor(t, js, "crm", "").Get(t.Context())
	if err != nil || cur != "2026-12-06T22:00:00Z" || got != rev {
		t.Fatalf("Get after restart = %q, %d, %v; want the committed cursor at revision %d", cur, got, err, rev)
	}
}

// pagePoller is a CursorSource over a fake app holding pages of events:
// cursor "" is page 0, "page-N" page N.
type pagePoller struct {
	mu   sync.Mutex
	seen []string // the cursors PollFrom was called with
}

func (p *pagePoller) PollFrom(ctx context.Context, cursor string, emit sdk.EmitFunc) (string, error) {
	p.mu.Lock()
	p.seen = append(p.seen, cursor)
	p.mu.Unlock()
	page := 0
	if cursor != "" {
		n, err := strconv.Atoi(cursor[len("page-"):])
		if err != nil {
			return "", err
		}
		page = n
	}
	if page >= 3 {
		return cursor, nil // caught up
	}
	if _, err := emit(ctx, &junctionv1.Event{Id: fmt.Sprintf("item-%d", page), Source: "pages", Type: "item.created"}); err != nil {
		return "", err
	}
	return fmt.Sprintf("page-%d", page+1), nil
}

func (p *pagePoller) cursors() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.seen...)
}

// TestCursorSourceRunner runs a CursorSource: it polls from the committed
// cursor page by page, and a new runner (a restart) starts where the last
// one stopped.
func TestCursorSourceRunner(t *testing.T) {
	hub := sdktest.NewHub(t)
	cfg := sdk.Config{PollInterval: 100 * time.Millisecond}
	p := &pagePoller{}
	stop := startRunner(t, newRunner(t, hub, "pages", p, cfg))
	waitFor(t, "the poller to catch up", func() bool {
		c := p.cursors()
		return len(c) > 0 && c[len(c)-1] == "page-3"
	})
	stop()
	if got := p.cursors()[:4]; fmt.Sprint(got) != fmt.Sprint([]string{"", "page-1", "page-2", "page-3"}) {
		t.Errorf("cursors polled from = %q, want \"\", page-1, page-2, page-3", got)
	}
	events := hub.WaitEvents(t, 3, 10*time.Second)
	if len(events) != 3 {
		t.Errorf("stored %d events, want 3 (one per page)", len(events))
	}

	again := &pagePoller{}
	stop = startRunner(t, newRunner(t, hub, "pages", again, cfg))
	waitFor(t, "the restarted poller to poll", func() bool { return len(again.cursors()) > 0 })
	stop()
	if got := again.cursors()[0]; got != "page-3" {
		t.Errorf("after a restart the first poll is from %q, want page-3", got)
	}
	if r := sdk.Roles(again); len(r) != 1 || r[0] != sdk.RolePollingSource {
		t.Errorf("Roles(CursorSource) = %v, want [%s]", r, sdk.RolePollingSource)
	}
}

// TestCursorLease: one owner holds the lease; another is refused until it
// is released or expires; the holder renews.
func TestCursorLease(t *testing.T) {
	hub := sdktest.NewHub(t)
	ctx := t.Context()
	a := openCursor(t, hub.JS, "crm", "")
	b := openCursor(t, hub.JS, "crm", "")
	if err := a.Acquire(ctx, "inst-a", time.Hour); err != nil {
		t.Fatalf("a Acquire: %v", err)
	}
	if err := a.Acquire(ctx, "inst-a", time.Hour); err != nil {
		t.Errorf("a renews: %v", err)
	}
	if err := b.Acquire(ctx, "inst-b", time.Hour); !errors.Is(err, sdk.ErrLeaseHeld) || !strings.Contains(err.Error(), "inst-a") {
		t.Errorf("b Acquire while a holds it = %v, want ErrLeaseHeld naming inst-a", err)
	}
	if err := b.Release(ctx, "inst-b"); err != nil {
		t.Errorf("b Release of a lease it does not hold: %v", err)
	}
	if err := b.Acquire(ctx, "inst-b", time.Hour); !errors.Is(err, sdk.ErrLeaseHeld) {
		t.Errorf("b Acquire after b's no-op release = %v, want ErrLeaseHeld", err)
	}
	if err := a.Release(ctx, "inst-a"); err != nil {
		t.Fatal(err)
	}
	if err := b.Acquire(ctx, "inst-b", time.Nanosecond); err != nil {
		t.Fatalf("b Acquire after a released: %v", err)
	}
	// b's lease of 1ns has run out: a takes it back without a release.
	if err := a.Acquire(ctx, "inst-a", time.Hour); err != nil {
		t.Errorf("a Acquire after b's lease expired: %v", err)
	}
	// The lease lives beside the cursor and does not disturb it.
	if _, err := a.Commit(ctx, "page-1", 0); err != nil {
		t.Errorf("Commit with a lease taken: %v", err)
	}
}
