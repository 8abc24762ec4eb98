//go:build linux

package hub

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/junctionhq/junction/adapters/sdk/platform/storecheck"
	"github.com/junctionhq/junction/adapters/sdk/platform/topology"
)

// exhaustFDs lowers the process's descriptor limit to a few above what is
// open and opens /dev/null until none is left, as the 20,000 idle
// connections did. release closes them and restores the limit; it also
// runs at cleanup.
func exhaustFDs(t *testing.T) (held int, release func()) {
	t.Helper()
	var old syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &old); err != nil {
		t.Skipf("getrlimit: %v", err)
	}
	open, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skipf("read /proc/self/fd: %v", err)
	}
	lim := old
	lim.Cur = uint64(len(open) + 32)
	if lim.Cur > old.Cur {
		t.Skipf("descriptor limit %d is already low", old.Cur)
	}
	var files []*os.File
	var once sync.Once
	release = func() {
		once.Do(func() {
			for _, f := range files {
				f.Close()
			}
			_ = syscall.Setrlimit(syscall.RLIMIT_NOFILE, &old)
		})
	}
	t.Cleanup(release)
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Skipf("setrlimit: %v", err)
	}
	for {
		f, err := os.Open(os.DevNull)
		if err != nil {
			if !errors.Is(err, syscall.EMFILE) {
				release()
				t.Fatalf("open %s: %v, want EMFILE", os.DevNull, err)
			}
			return len(files), release
		}
		files = append(files, f)
	}
}

// TestStoreWriteErrorExitsAndRestartRecovers: descriptors run out while
// EVENTS needs a new block file, so the server marks the stream with a
// (sticky) critical write error. Once descriptors are back the hub does
// not pretend to be fine: its store check sees the write error, /readyz's
// reason says write_error, and Run returns an error wrapping
// storecheck.ErrFatal, so serve exits non-zero for its supervisor to restart
// it. A restart on the same data directory has every acknowledged event
// and takes webhooks again.
func TestStoreWriteErrorExitsAndRestartRecovers(t *testing.T) {
	dir := t.TempDir()
	cfg := testConfig(dir)
	cfg.Storage.CheckInterval = 50 * time.Millisecond

	// A first run stores a few events; a stream's blocks are reopened
	// for writing only at its first write after a start.
	const viaWebhook = 5
	first := startHub(t, cfg)
	for i := range viaWebhook {
		if resp := first.sendWebhook(t, fmt.Sprintf("msg_before_%d", i), paddedEvent(i)); resp.StatusCode/100 != 2 {
			t.Fatalf("webhook answered %d", resp.StatusCode)
		}
	}
	if err := first.stop(); err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	h, err := New(ctx, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- h.Run(ctx) }()
	waitFor(t, 30*time.Second, "hub ready", h.Ready)
	nc, err := platformConn(h)
	if err != nil {
		t.Fatal(err)
	}
	js, _ := jetstream.New(nc)

	held, release := exhaustFDs(t)
	acked, failed := 0, 0
	for i := 0; i < 20 && failed == 0; i++ {
		msg := nats.NewMsg(topology.EventSubject("acme", "user.created"))
		msg.Header.Set(jetstream.MsgIDHeader, fmt.Sprintf("acme:direct_%d", i))
		pctx, pcancel := context.WithTimeout(ctx, 2*time.Second)
		_, err := js.PublishMsg(pctx, msg)
		pcancel()
		if err != nil {
			failed++
			t.Logf("publish %d with %d descriptors held: %v", i, held, err)
			continue
		}
		acked++
	}
	release()
	nc.Close()
	if failed == 0 {
		t.Fatalf("%d publishes with no descriptor left all succeeded; no write error to test", acked)
	}
	t.Logf("%d events acknowledged before the write error", viaWebhook+acked)

	select {
	case err := <-done:
		if !errors.Is(err, storecheck.ErrFatal) || !strings.Contains(err.Error(), "write error") {
			t.Fatalf("Run = %v, want an error wrapping storecheck.ErrFatal naming the write error", err)
		}
		t.Logf("Run returned: %v", err)
	case <-time.After(60 * time.Second):
		t.Fatal("Run did not end after a sticky write error")
	}
	var se *storecheck.Error
	if err := h.store.Ready(); !errors.As(err, &se) || se.Reason != storecheck.WriteError {
		t.Errorf("store check = %v, want reason %s", err, storecheck.WriteError)
	}

	third := startHub(t, cfg)
	if got := third.streamMsgs(t, topology.EventsStream); got < uint64(viaWebhook+acked) {
		t.Errorf("EVENTS holds %d after the restart, want at least the %d acknowledged", got, viaWebhook+acked)
	}
	if resp := third.sendWebhook(t, "msg_after_restart", paddedEvent(0)); resp.StatusCode/100 != 2 {
		t.Errorf("webhook after restart answered %d, want 2xx", resp.StatusCode)
	}
}
