package cli

import (
	"bytes"
	"context"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/spf13/cobra"
)

// lockedBuffer is a bytes.Buffer safe for a command writing while the test
// reads.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// runBackground runs the CLI with args until ctx ends, writing to the
// buffers it returns; done gets its error.
func runBackground(ctx context.Context, args ...string) (stdout, stderr *lockedBuffer, done chan error) {
	stdout, stderr, done = &lockedBuffer{}, &lockedBuffer{}, make(chan error, 1)
	go func() {
		root := &cobra.Command{Use: "junction", SilenceErrors: true, SilenceUsage: true}
		root.AddCommand(Commands()...)
		root.SetOut(stdout)
		root.SetErr(stderr)
		root.SetArgs(args)
		done <- root.ExecuteContext(ctx)
	}()
	return stdout, stderr, done
}

func TestEventsListReplayTail(t *testing.T) {
	addr, sink := realGateway(t)

	// The tail runs first, so it sees every event published below.
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	tailOut, tailErr, tailDone := runBackground(ctx, "events", "tail", "acme.user.*", "--where", "data.a != 2", "--server", addr)
	eventually(t, "the tail to start", func() bool { return strings.Contains(tailErr.String(), "following acme.user.*") })

	for i, typ := range []string{"user.created", "user.created", "order.paid", "user.deleted"} {
		id := []string{"e1", "e2", "e3", "e4"}[i]
		data := []string{`{"a":1}`, `{"a":2}`, `{"a":3}`, `{"a":4}`}[i]
		if _, err := run(t, addr, "", "events", "publish", "--source", "acme", "--type", typ, "--id", id, "--data-json", data); err != nil {
			t.Fatalf("events publish %s: %v", id, err)
		}
	}

	eventually(t, "the tail to show e1 and e4", func() bool {
		out := tailOut.String()
		return strings.Contains(out, " e1 ") && strings.Contains(out, " e4 ")
	})
	cancel()
	if err := <-tailDone; err != nil {
		t.Errorf("events tail after interrupt: %v", err)
	}
	if out := tailOut.String(); strings.Contains(out, " e2 ") || strings.Contains(out, " e3 ") || !strings.Contains(out, `"a": 4`) {
		t.Errorf("events tail 'acme.user.*' --where 'data.a != 2': got\n%s\nwant e1 and e4 with their payloads, not e2 (condition) or e3 (subject)", out)
	}

	// A tail resumed after e1's sequence (its line's first column) sends
	// the stored events after it that match: e2 and e4, not e1.
	var e1Seq string
	for line := range strings.SplitSeq(tailOut.String(), "\n") {
		if strings.Contains(line, " e1 ") {
			e1Seq, _, _ = strings.Cut(line, " ")
		}
	}
	if _, err := strconv.ParseUint(e1Seq, 10, 64); err != nil {
		t.Fatalf("the tail's e1 line does not start with its sequence:\n%s", tailOut.String())
	}
	rctx, rcancel := context.WithCancel(t.Context())
	resumed, _, resumedDone := runBackground(rctx, "events", "tail", "acme.user.*", "--after", e1Seq, "--server", addr)
	eventually(t, "the resumed tail to show e2 and e4", func() bool {
		out := resumed.String()
		return strings.Contains(out, " e2 ") && strings.Contains(out, " e4 ")
	})
	rcancel()
	if err := <-resumedDone; err != nil {
		t.Errorf("events tail --after after interrupt: %v", err)
	}
	if out := resumed.String(); strings.Contains(out, " e1 ") || strings.Index(out, " e2 ") > strings.Index(out, " e4 ") {
		t.Errorf("events tail --after %s: got\n%s\nwant e2 then e4, not e1", e1Seq, out)
	}

	tests := []struct {
		name string
		args []string
		want []string // lines, in order, that must contain these
	}{
		{"newest first", []string{"events", "list"}, []string{"e4", "e3", "e2", "e1"}},
		{"by type", []string{"events", "list", "--type", "user.created"}, []string{"e2", "e1"}},
		{"by subject and condition", []string{"events", "list", "--subject", "acme.user.*", "--where", "data.a > 1"}, []string{"e4", "e2"}},
		{"limited", []string{"events", "list", "--limit", "2"}, []string{"e4", "e3", "more: --page-token"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := run(t, addr, "", tt.args...)
			if err != nil {
				t.Fatalf("%v: %v", tt.args, err)
			}
			lines := strings.Split(strings.TrimSpace(out), "\n")[1:] // after the header
			if len(lines) != len(tt.want) {
				t.Fatalf("%v: got\n%s\nwant %d lines with %v", tt.args, out, len(tt.want), tt.want)
			}
			for i, w := range tt.want {
				if !strings.Contains(lines[i], w) {
					t.Errorf("%v: line %d is %q, want it to show %s", tt.args, i+1, lines[i], w)
				}
			}
		})
	}
	if _, err := run(t, addr, "", "events", "list", "--where", "data.a >"); err == nil || !strings.Contains(err.Error(), "InvalidArgument") || !strings.Contains(err.Error(), "filter.condition") {
		t.Errorf("events list with a bad condition: got %v, want InvalidArgument naming filter.condition", err)
	}

	out, err := run(t, addr, "", "events", "replay", "--since", "1h", "--route", "r1", "--type", "user.created", "--dry-run")
	if err != nil {
		t.Fatalf("events replay --dry-run: %v", err)
	}
	if !strings.Contains(out, "dry run: would send 2 deliveries of 2 events") || !strings.Contains(out, "e1") || !strings.Contains(out, "e2") {
		t.Errorf("events replay --dry-run: got\n%s\nwant e1 and e2 listed and the dry-run summary", out)
	}
	t.Logf("dry run:\n%s", out)

	sink.mu.Lock()
	sink.failing = false
	sink.mu.Unlock()
	before := sink.delivered()
	out, err = run(t, addr, "", "events", "replay", "--since", "1h", "--shadow", "down", "--subject", "acme.user.*", "--rate", "100")
	if err != nil {
		t.Fatalf("events replay --shadow: %v", err)
	}
	if !strings.Contains(out, "replayed 3 deliveries of 3 events") {
		t.Errorf("events replay --shadow down: got\n%s\nwant 3 deliveries of 3 events", out)
	}
	t.Logf("real run:\n%s", out)
	eventually(t, "the 3 replayed deliveries at the sink", func() bool { return sink.delivered() >= before+3 })

	for _, args := range [][]string{
		{"events", "replay", "--route", "r1"},
		{"events", "replay", "--since", "1h"},
		{"events", "replay", "--since", "1h", "--route", "r1", "--all-routes"},
		{"events", "replay", "--since", "1h", "--route", "r1", "--shadow-url", "https://example.com"},
		{"events", "tail"},
	} {
		if _, err := run(t, addr, "", args...); err == nil {
			t.Errorf("%v: got no error, want a usage error", args)
		}
	}
}
