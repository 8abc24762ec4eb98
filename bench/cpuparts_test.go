package bench

import (
	"math"
	"os"
	"path/filepath"
	"runtime/pprof"
	"testing"
	"time"
)

func TestCPUPart(t *testing.T) {
	tests := []struct {
		name  string
		stack []string // leaf first
		want  string
	}{
		{"junction publish round trip", []string{"github.com/nats-io/nats%2ego.(*Conn).RequestMsgWithContext", "github.com/junctionhq/junction/adapters/sdk.(*Publisher).Publish", "github.com/junctionhq/junction/adapters/webhook.(*inbound).ServeHTTP", "net/http.(*conn).serve"}, PartHTTPStore},
		{"junction event encoding", []string{"google.golang.org/protobuf/proto.Marshal", "github.com/junctionhq/junction/adapters/sdk.(*Publisher).Publish", "net/http.(*conn).serve"}, PartHTTPStore},
		{"baseline publish", []string{"github.com/nats-io/nats.go/jetstream.(*jetStream).PublishMsg", "github.com/junctionhq/junction/bench.storeWebhook", "net/http.(*conn).serve"}, PartHTTPStore},
		{"baseline body read", []string{"io.ReadAll", "github.com/junctionhq/junction/bench.storeWebhook", "net/http.(*conn).serve"}, PartHTTPRest},
		{"baseline signature", []string{"crypto/hmac.New", "github.com/standard-webhooks/standard-webhooks/libraries/go.(*Webhook).Verify", "github.com/junctionhq/junction/bench.storeWebhook", "net/http.(*conn).serve"}, PartHTTPVerify},
		{"junction JSON parse", []string{"encoding/json.(*Decoder).Decode", "github.com/junctionhq/junction/adapters/webhook.parseObject", "net/http.(*conn).serve"}, PartHTTPVerify},
		{"response write", []string{"syscall.write", "net/http.(*response).finishRequest", "net/http.(*conn).serve"}, PartHTTPRest},
		{"router", []string{"cel.dev/cel-go/cel.(*prog).Eval", "github.com/junctionhq/junction/services/router.(*Router).handle"}, PartRouting},
		{"republisher", []string{"github.com/nats-io/nats.go/jetstream.(*jetStream).PublishMsgAsync", "github.com/junctionhq/junction/bench.republish", "github.com/junctionhq/junction/bench.StartBaseline.func3"}, PartRouting},
		{"plus: route's condition", []string{"cel.dev/cel-go/cel.(*prog).Eval", "github.com/junctionhq/junction/bench.(*route).matches", "github.com/junctionhq/junction/bench.rawFilter.func1", "github.com/junctionhq/junction/bench.republish"}, PartRouting},
		{"plus: id lookup", []string{"github.com/nats-io/nats.go/jetstream.(*kv).Get", "github.com/junctionhq/junction/bench.storeWebhookPlus", "net/http.(*conn).serve"}, PartHTTPStore},
		{"plus: type parse", []string{"encoding/json.Unmarshal", "github.com/junctionhq/junction/bench.storeWebhookPlus", "net/http.(*conn).serve"}, PartHTTPVerify},
		{"plus: attempt record", []string{"github.com/nats-io/nats.go/jetstream.(*jetStream).Publish", "github.com/junctionhq/junction/bench.recordAttempt", "github.com/junctionhq/junction/bench.deliverWorker"}, PartDeliverLog},
		{"junction POST", []string{"net/http.(*Client).Do", "github.com/junctionhq/junction/adapters/webhook.(*outbound).deliver", "github.com/junctionhq/junction/adapters/sdk.(*sink).handle", "github.com/junctionhq/junction/adapters/sdk.(*consumeLoop).run.func2"}, PartDeliverPOST},
		{"baseline POST", []string{"net/http.(*Client).Do", "github.com/junctionhq/junction/bench.postSigned", "github.com/junctionhq/junction/bench.deliverWorker"}, PartDeliverPOST},
		{"attempt record", []string{"github.com/junctionhq/junction/adapters/sdk.publishSync", "github.com/junctionhq/junction/adapters/sdk.(*sink).confirmAttempt", "github.com/junctionhq/junction/adapters/sdk.(*consumeLoop).run.func2"}, PartDeliverLog},
		{"lane ack", []string{"github.com/nats-io/nats.go/jetstream.(*jetStreamMsg).DoubleAck", "github.com/junctionhq/junction/adapters/sdk.(*lanes).park"}, PartDeliverRest},
		{"connection loop", []string{"syscall.write", "net/http.(*persistConn).writeLoop"}, PartConnLoops},
		{"stream store", []string{"github.com/nats-io/nats-server/v2/server.(*fileStore).StoreMsg", "github.com/nats-io/nats-server/v2/server.(*stream).internalLoop"}, PartNATSServer},
		{"client read loop", []string{"github.com/nats-io/nats%2ego.(*Conn).readLoop"}, PartNATSClient},
		{"gc", []string{"runtime.scanobject", "runtime.gcBgMarkWorker"}, PartGC},
		{"scheduler", []string{"runtime.findRunnable", "runtime.schedule", "runtime.mcall"}, PartOther},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := cpuPart(tt.stack); got != tt.want {
				t.Errorf("cpuPart(%v) = %q, want %q", tt.stack, got, tt.want)
			}
		})
	}
}

// TestCPUSharesReadsAProfile: a CPU profile of this test spinning is read
// into shares that sum to 1, all of it charged to the part no webhook
// path owns.
func TestCPUSharesReadsAProfile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cpu.pprof")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		t.Skipf("CPU profiling unavailable: %v", err)
	}
	n := 0
	for deadline := time.Now().Add(300 * time.Millisecond); time.Now().Before(deadline); {
		for i := range 100_000 {
			n += i % 7
		}
	}
	pprof.StopCPUProfile()
	f.Close()
	shares, err := CPUShares(path)
	if err != nil {
		t.Skipf("no samples in 300ms of spinning (n=%d): %v", n, err)
	}
	var sum float64
	for _, s := range shares {
		sum += s
	}
	if math.Abs(sum-1) > 1e-9 {
		t.Errorf("shares %v sum to %v, want 1", shares, sum)
	}
	if shares[PartOther] < 0.5 {
		t.Errorf("shares %v: want most of a spinning test in %q", shares, PartOther)
	}
	if _, err := CPUShares(filepath.Join(t.TempDir(), "missing")); err == nil {
		t.Error("a missing profile read without an error")
	}
}
