// Package bench measures how close Junction runs to raw JetStream: the same
// work done by Junction's code and by the smallest pipeline written directly
// on nats.go, on the same machine in the same run, so every figure can be
// read as a ratio. The driver is bench/cmd/junction-bench (`make bench`);
// docs/benchmarks.md explains the scenarios and records a run.
package bench

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/junctionhq/junction/adapters/sdk/platform/topology"
	"github.com/junctionhq/junction/internal/natsserver"
	junctionv1 "github.com/junctionhq/junction/proto/junction/v1"
	"github.com/junctionhq/junction/services/router"
)

// Names shared by the pipelines.
const (
	// Source is the event source of every benchmark event.
	Source = "bench"
	// EventType is the event type of every benchmark event.
	EventType = "order.created"
	// Destination is the delivery destination the hop pipelines write to.
	Destination = "sink"
	// RouteID is the id of the one route the router pipelines use.
	RouteID = "bench"
	// RouteCondition is the one route's CEL condition: it reads the parsed
	// payload, as most real conditions do, and matches every bench event.
	RouteCondition = `event.type == "order.created" && data.seq >= 0`
	// baselineConsumer is the baseline republisher's durable consumer.
	baselineConsumer = "baseline"
	// hopPull is how many messages the hop consumers ask for at once.
	hopPull = 64
	// maxAckPending matches the router's consumer.
	maxAckPending = 1000
)

// ErrIncomplete is returned when a run ends before every event arrived.
var ErrIncomplete = errors.New("not every event arrived")

// Pipeline names what carries events from the first stream to the second.
type Pipeline string

// The two hop pipelines.
const (
	// Baseline republishes each message to the second stream, on nats.go.
	Baseline Pipeline = "baseline"
	// Junction runs Junction's router with one matching CEL route.
	Junction Pipeline = "junction"
)

// HopConfig is one run of the router-hop scenario.
type HopConfig struct {
	// Pipeline is Baseline, BaselinePlus or Junction.
	Pipeline Pipeline
	// N is how many events are published.
	N int
	// PayloadSize is the JSON payload size in bytes; default 512.
	PayloadSize int
	// SyncAlways makes JetStream flush before every acknowledgement.
	SyncAlways bool
	// Dir holds the JetStream store; it should be empty.
	Dir string
	// Timeout bounds the whole run; default 10 minutes.
	Timeout time.Duration
	// RouterConcurrency is the router's Options.Concurrency; 0 keeps its
	// default.
	RouterConcurrency int
}

// HopResult is what one run measured.
type HopResult struct {
	Pipeline Pipeline `json:"pipeline"`
	N        int      `json:"n"`
	// Seconds is from the first publish to the last event drained.
	Seconds      float64 `json:"seconds"`
	EventsPerSec float64 `json:"events_per_sec"`
	// CPUMicrosPerEvent is the process's user+system CPU (server,
	// producer, pipeline and drainer alike) divided by N.
	CPUMicrosPerEvent float64 `json:"cpu_us_per_event"`
}

// StartServer starts an embedded NATS server with JetStream in dir, as
// `junction serve` does, and creates the hub topology.
func StartServer(ctx context.Context, dir string, syncAlways bool) (*server.Server, error) {
	ns, err := natsserver.Start(natsserver.Options{Addr: "127.0.0.1:0", StoreDir: dir, SyncAlways: syncAlways}, nil)
	if err != nil {
		return nil, err
	}
	nc, err := nats.Connect(ns.ClientURL())
	if err != nil {
		ns.Shutdown()
		return nil, err
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err == nil {
		err = topology.Ensure(ctx, js, topology.Options{})
	}
	if err != nil {
		ns.Shutdown()
		return nil, fmt.Errorf("topology: %w", err)
	}
	return ns, nil
}

// Payload is a JSON object of exactly size bytes (at least 64) carrying seq.
func Payload(seq, size int) []byte {
	head := `{"type":"` + EventType + `","seq":` + strconv.Itoa(seq) + `,"pad":"`
	tail := `"}`
	n := max(size-len(head)-len(tail), 0)
	b := make([]byte, 0, len(head)+n+len(tail))
	b = append(b, head...)
	for i := range n {
		b = append(b, 'a'+byte(i%26))
	}
	return append(b, tail...)
}

// EventMsg is event seq as Junction stores it on EVENTS (protobuf body and
// the headers sdk.Publisher sets), with a payload of size bytes.
func EventMsg(seq, size int, now time.Time) *nats.Msg {
	id := "evt_" + strconv.Itoa(seq)
	e := &junctionv1.Event{
		Id: id, Source: Source, Type: EventType, SpecVersion: "1.0",
		Time: timestamppb.New(now), ReceiveTime: timestamppb.New(now),
		DataContentType: "application/json", Data: Payload(seq, size),
	}
	m, _ := topology.EventMsg(e)
	return m
}

// CreateRoute stores the one route of the router pipelines: every bench
// event, RouteCondition, to destination with config.
func CreateRoute(ctx context.Context, js jetstream.JetStream, destination string, config map[string]string) error {
	st, err := router.NewStore(ctx, js)
	if err != nil {
		return err
	}
	_, err = st.Create(ctx, RouteID, &junctionv1.Route{
		Filter:    Source + ".>",
		Condition: RouteCondition,
		Targets:   []*junctionv1.Target{{Name: "out", Destination: destination, Config: config}},
	})
	return err
}

// Republish is the baseline hop: a durable pull consumer with explicit
// acks on EVENTS that publishes each message, bytes and headers, to
// junction.deliveries.<destination>.baseline and acks it once the second
// stream acknowledged. It returns when ctx is done.
func Republish(ctx context.Context, js jetstream.JetStream, destination string) error {
	return republish(ctx, js, destination, nil)
}

// republish is Republish, keeping only the messages keep accepts (every
// message when keep is nil): one it refuses is acked without a publish,
// one it fails on is terminated.
func republish(ctx context.Context, js jetstream.JetStream, destination string, keep func(jetstream.Msg) (bool, error)) error {
	cons, err := js.CreateOrUpdateConsumer(ctx, topology.EventsStream, jetstream.ConsumerConfig{
		Durable:       baselineConsumer,
		AckPolicy:     jetstream.AckExplicitPolicy,
		MaxAckPending: maxAckPending,
		DeliverPolicy: jetstream.DeliverAllPolicy,
	})
	if err != nil {
		return fmt.Errorf("baseline consumer: %w", err)
	}
	it, err := cons.Messages(jetstream.PullMaxMessages(hopPull))
	if err != nil {
		return err
	}
	go func() { <-ctx.Done(); it.Stop() }()
	type pending struct {
		m jetstream.Msg
		f jetstream.PubAckFuture
	}
	acks := make(chan pending, maxAckPending)
	var wg sync.WaitGroup
	wg.Go(func() {
		for p := range acks {
			select {
			case <-p.f.Ok():
				_ = p.m.Ack()
			case <-p.f.Err():
				_ = p.m.Nak()
			}
		}
	})
	defer wg.Wait()
	defer close(acks)
	subject := topology.DeliverySubject(destination, baselineConsumer)
	for {
		m, err := it.Next()
		if err != nil {
			if errors.Is(err, jetstream.ErrMsgIteratorClosed) {
				return nil
			}
			continue
		}
		if keep != nil {
			switch ok, err := keep(m); {
			case err != nil:
				_ = m.Term()
				continue
			case !ok:
				_ = m.Ack()
				continue
			}
		}
		out := &nats.Msg{Subject: subject, Data: m.Data(), Header: m.Headers()}
		f, err := js.PublishMsgAsync(out, jetstream.WithStallWait(time.Minute))
		if err != nil {
			_ = m.Nak()
			continue
		}
		acks <- pending{m, f}
	}
}

// drain consumes the destination's deliveries, acking each, until want
// distinct Nats-Msg-Ids arrived or ctx ends; it returns when the last
// arrived.
func drain(ctx context.Context, js jetstream.JetStream, destination string, want int, ready chan<- struct{}) (time.Time, error) {
	cons, err := js.CreateOrUpdateConsumer(ctx, topology.DeliveriesStream, jetstream.ConsumerConfig{
		Durable:       "drain-" + destination,
		FilterSubject: topology.DeliveriesFilter(destination),
		AckPolicy:     jetstream.AckExplicitPolicy,
		MaxAckPending: 10000,
	})
	if err != nil {
		return time.Time{}, err
	}
	it, err := cons.Messages(jetstream.PullMaxMessages(500))
	if err != nil {
		return time.Time{}, err
	}
	defer it.Stop()
	close(ready)
	stop := context.AfterFunc(ctx, it.Stop)
	defer stop()
	seen := make(map[string]struct{}, want)
	for len(seen) < want {
		m, err := it.Next()
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, jetstream.ErrMsgIteratorClosed) {
				return time.Time{}, fmt.Errorf("%w: %d of %d", ErrIncomplete, len(seen), want)
			}
			continue
		}
		seen[topology.MetaOf(m.Headers()).MsgID] = struct{}{}
		_ = m.Ack()
	}
	return time.Now(), nil
}

// cpuTime is this process's user plus system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// RunHop runs the router-hop scenario once: a fresh server, N events
// published asynchronously to EVENTS, carried by the pipeline to
// DELIVERIES and drained there. Producer, pipeline and drainer each have
// their own connection. It fails with ErrIncomplete unless every event
// arrived.
func RunHop(ctx context.Context, cfg HopConfig) (HopResult, error) {
	if cfg.PayloadSize == 0 {
		cfg.PayloadSize = 512
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = 10 * time.Minute
	}
	if cfg.N <= 0 {
		return HopResult{}, errors.New("hop: n must be positive")
	}
	ctx, cancel := context.WithTimeout(ctx, cfg.Timeout)
	defer cancel()
	ns, err := StartServer(ctx, cfg.Dir, cfg.SyncAlways)
	if err != nil {
		return HopResult{}, err
	}
	defer func() { ns.Shutdown(); ns.WaitForShutdown() }()

	conns := make([]*nats.Conn, 3)
	jss := make([]jetstream.JetStream, 3)
	for i := range conns {
		if conns[i], err = nats.Connect(ns.ClientURL()); err != nil {
			return HopResult{}, err
		}
		defer conns[i].Close()
		if jss[i], err = jetstream.New(conns[i]); err != nil {
			return HopResult{}, err
		}
	}
	prod, mid, sink := jss[0], jss[1], jss[2]

	pipeCtx, stopPipe := context.WithCancel(ctx)
	var pipe sync.WaitGroup
	defer pipe.Wait()
	defer stopPipe()
	var pipeErr atomic.Pointer[error]
	switch cfg.Pipeline {
	case Baseline:
		pipe.Go(func() {
			if err := Republish(pipeCtx, mid, Destination); err != nil {
				pipeErr.Store(&err)
			}
		})
	case Junction:
		if err := CreateRoute(ctx, mid, Destination, nil); err != nil {
			return HopResult{}, fmt.Errorf("route: %w", err)
		}
		r, err := router.New(mid, router.Options{Concurrency: cfg.RouterConcurrency, Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			return HopResult{}, err
		}
		pipe.Go(func() {
			if err := r.Run(pipeCtx); err != nil {
				pipeErr.Store(&err)
			}
		})
		for r.Ready() != nil {
			if ctx.Err() != nil {
				return HopResult{}, fmt.Errorf("router not ready: %w", ctx.Err())
			}
			time.Sleep(5 * time.Millisecond)
		}
	case BaselinePlus:
		rt, err := newRoute()
		if err != nil {
			return HopResult{}, fmt.Errorf("route: %w", err)
		}
		pipe.Go(func() {
			if err := republish(pipeCtx, mid, Destination, hopFilter(rt)); err != nil {
				pipeErr.Store(&err)
			}
		})
	default:
		return HopResult{}, fmt.Errorf("hop: unknown pipeline %q", cfg.Pipeline)
	}

	ready := make(chan struct{})
	type drained struct {
		at  time.Time
		err error
	}
	done := make(chan drained, 1)
	go func() {
		at, err := drain(ctx, sink, Destination, cfg.N, ready)
		done <- drained{at, err}
	}()
	select {
	case <-ready:
	case d := <-done:
		return HopResult{}, d.err
	}

	msgs := make([]*nats.Msg, cfg.N)
	now := time.Now()
	for i := range msgs {
		msgs[i] = EventMsg(i, cfg.PayloadSize, now)
	}
	cpu0 := cpuTime()
	start := time.Now()
	for _, m := range msgs {
		if _, err := prod.PublishMsgAsync(m, jetstream.WithStallWait(time.Minute)); err != nil {
			return HopResult{}, fmt.Errorf("publish: %w", err)
		}
	}
	select {
	case <-prod.PublishAsyncComplete():
	case <-ctx.Done():
		return HopResult{}, fmt.Errorf("publish: %w", ctx.Err())
	}
	d := <-done
	cpu := cpuTime() - cpu0
	if d.err != nil {
		if p := pipeErr.Load(); p != nil {
			return HopResult{}, fmt.Errorf("%w (pipeline: %w)", d.err, *p)
		}
		return HopResult{}, d.err
	}
	secs := d.at.Sub(start).Seconds()
	return HopResult{
		Pipeline:          cfg.Pipeline,
		N:                 cfg.N,
		Seconds:           secs,
		EventsPerSec:      float64(cfg.N) / secs,
		CPUMicrosPerEvent: float64(cpu.Microseconds()) / float64(cfg.N),
	}, nil
}

// TempDir makes a directory for one run's store under base (os.TempDir
// when empty).
func TempDir(base, pattern string) (string, error) {
	return os.MkdirTemp(base, pattern)
}
