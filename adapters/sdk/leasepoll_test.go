package sdk_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/junctionhq/junction/adapters/sdk"
	"github.com/junctionhq/junction/adapters/sdk/platform/topology"
	"github.com/junctionhq/junction/adapters/sdk/sdktest"
)

// leasedPoller is a LeasedSource counting its polls.
type leasedPoller struct {
	lease time.Duration
	polls atomic.Int64
}

func (p *leasedPoller) PollFrom(context.Context, string, sdk.EmitFunc) (string, error) {
	p.polls.Add(1)
	return "", nil
}

func (p *leasedPoller) Lease() time.Duration { return p.lease }

// TestLeasedSourcePollsOnOneInstance: of two Runners of a LeasedSource,
// only the lease holder polls; when it stops, the other takes over once
// the lease expired.
func TestLeasedSourcePollsOnOneInstance(t *testing.T) {
	hub := sdktest.NewHub(t)
	a, b := &leasedPoller{lease: 5 * time.Second}, &leasedPoller{lease: 5 * time.Second}
	stopA := startRunner(t, newRunner(t, hub, "leased", a, sdk.Config{Instance: "a", PollInterval: 100 * time.Millisecond}))
	waitLong(t, "instance a to poll", func() bool { return a.polls.Load() > 0 })
	startRunner(t, newRunner(t, hub, "leased", b, sdk.Config{Instance: "b", PollInterval: 100 * time.Millisecond}))
	from := a.polls.Load()
	waitLong(t, "instance a to poll ten more times", func() bool { return a.polls.Load() >= from+10 })
	if n := b.polls.Load(); n != 0 {
		t.Errorf("instance b polled %d times while a held the lease, want 0", n)
	}
	stopA() // releases the lease: b takes over at once, not after 5s
	kv, err := hub.JS.KeyValue(t.Context(), topology.CursorsBucket)
	if err != nil {
		t.Fatal(err)
	}
	if e, err := kv.Get(t.Context(), topology.CursorKey("leased", sdk.DefaultCursorGroup, sdk.PollCursorName)+".lease"); err == nil && string(e.Value()) != "" && string(e.Value())[:2] == "a|" {
		t.Errorf("after a stopped its lease is still %q, want it released", e.Value())
	}
	waitLong(t, "instance b to take the lease over", func() bool { return b.polls.Load() > 0 })

	// A holder that stops renewing (a crash) loses the lease when it
	// expires.
	e := &leasedPoller{lease: 2 * time.Second}
	store, err := sdk.NewCursorStore(t.Context(), hub.JS, "crashed", "", sdk.PollCursorName)
	if err != nil {
		t.Fatal(err)
	}
	if err := store.Acquire(t.Context(), "gone", 2*time.Second); err != nil {
		t.Fatal(err)
	}
	startRunner(t, newRunner(t, hub, "crashed", e, sdk.Config{Instance: "e", PollInterval: 100 * time.Millisecond}))
	waitLong(t, "instance e to poll once the dead holder's lease expired", func() bool { return e.polls.Load() > 0 })

	// A lease of 0 takes none: both poll.
	c, d := &leasedPoller{}, &leasedPoller{}
	startRunner(t, newRunner(t, hub, "unleased", c, sdk.Config{Instance: "c", PollInterval: 100 * time.Millisecond}))
	startRunner(t, newRunner(t, hub, "unleased", d, sdk.Config{Instance: "d", PollInterval: 100 * time.Millisecond}))
	waitLong(t, "both unleased instances to poll", func() bool { return c.polls.Load() > 0 && d.polls.Load() > 0 })
}

// waitLong is waitFor with a deadline that outlasts a lease on a busy
// machine.
func waitLong(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
