package hub

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/junctionhq/junction/adapters/sdk/platform/topology"
	"github.com/junctionhq/junction/internal/datadir"
)

// TestSecondServeOnDataDirRefused starts a second hub on a data directory a
// running hub owns: it fails at once, naming the holder's pid, and the
// first hub keeps every event it stored, before and after the attempt and
// across a restart.
func TestSecondServeOnDataDirRefused(t *testing.T) {
	dir := t.TempDir()
	first := startHub(t, testConfig(dir))
	const n = 20
	for i := range n {
		if resp := first.sendWebhook(t, fmt.Sprintf("msg_lock_%d", i), userCreated("free", "a@example.com")); resp.StatusCode/100 != 2 {
			t.Fatalf("webhook %d answered %d", i, resp.StatusCode)
		}
	}

	start := time.Now()
	second, err := New(context.Background(), testConfig(dir), slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err == nil {
		second.close()
		t.Fatal("a second hub started on a data directory in use")
	}
	if !errors.Is(err, datadir.ErrInUse) {
		t.Fatalf("second New = %v, want datadir.ErrInUse", err)
	}
	if want := fmt.Sprintf("pid %d", os.Getpid()); !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), dir) {
		t.Errorf("error %q should name the directory and the holder (%s)", err, want)
	}
	t.Logf("second start refused after %v: %v", time.Since(start), err)

	for i := n; i < 2*n; i++ {
		if resp := first.sendWebhook(t, fmt.Sprintf("msg_lock_%d", i), userCreated("free", "a@example.com")); resp.StatusCode/100 != 2 {
			t.Fatalf("webhook %d after the refused start answered %d", i, resp.StatusCode)
		}
	}
	if got := first.streamMsgs(t, topology.EventsStream); got != 2*n {
		t.Fatalf("EVENTS holds %d events, want %d", got, 2*n)
	}
	if err := first.stop(); err != nil {
		t.Fatalf("first hub: %v", err)
	}
	again := startHub(t, testConfig(dir))
	if got := again.streamMsgs(t, topology.EventsStream); got != 2*n {
		t.Fatalf("after restart EVENTS holds %d events, want %d", got, 2*n)
	}
}
