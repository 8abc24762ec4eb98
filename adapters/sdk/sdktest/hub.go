// Package sdktest runs a real, embedded Junction hub for tests: a
// nats-server with JetStream on a random loopback port and a temporary
// store, with the hub's streams and buckets created.
//
//	hub := sdktest.NewHub(t)
//	pub, _ := sdk.NewPublisher(hub.JS)
package sdktest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/junctionhq/junction/adapters/sdk/platform/topology"
	junctionv1 "github.com/junctionhq/junction/proto/junction/v1"
)

// Hub is an embedded hub: a nats-server with JetStream and the topology
// created, and one client connection to it.
type Hub struct {
	// Server is the embedded nats-server.
	Server *server.Server
	// URL is the server's client URL, nats://127.0.0.1:<port>.
	URL string
	// NC is a connection to the server.
	NC *nats.Conn
	// JS is the JetStream API on NC.
	JS jetstream.JetStream
}

// NewHub starts a hub for t, stopped and removed by t.Cleanup.
func NewHub(t testing.TB) *Hub {
	t.Helper()
	return NewHubWith(t, HubOptions{})
}

// HubOptions change the hub NewHubWith starts.
type HubOptions struct {
	// DuplicateWindow shortens the streams' Nats-Msg-Id window (default
	// topology.DuplicateWindow, 2 minutes), so that a test can wait past
	// it and show that the idempotency bucket still dedupes a late retry.
	DuplicateWindow time.Duration
}

// NewHubWith starts a hub for t with o, stopped and removed by t.Cleanup.
func NewHubWith(t testing.TB, o HubOptions) *Hub {
	t.Helper()
	h, stop, err := start(t.TempDir(), topology.Options{DuplicateWindow: o.DuplicateWindow})
	if err != nil {
		t.Fatalf("sdktest: %v", err)
	}
	t.Cleanup(stop)
	return h
}

// Start starts a hub outside a test (an Example, a TestMain, a demo) in a
// new temporary directory. Call stop to shut it down and remove the
// directory.
func Start() (h *Hub, stop func(), err error) {
	dir, err := os.MkdirTemp("", "junction-hub-")
	if err != nil {
		return nil, nil, fmt.Errorf("sdktest: store dir: %w", err)
	}
	h, stopHub, err := start(dir, topology.Options{})
	if err != nil {
		_ = os.RemoveAll(dir)
		return nil, nil, fmt.Errorf("sdktest: %w", err)
	}
	return h, func() {
		stopHub()
		_ = os.RemoveAll(dir)
	}, nil
}

func start(storeDir string, topo topology.Options) (*Hub, func(), error) {
	ns, err := server.NewServer(&server.Options{
		Host:      "127.0.0.1",
		Port:      server.RANDOM_PORT,
		JetStream: true,
		StoreDir:  storeDir,
		NoSigs:    true,
	})
	if err != nil {
		return nil, nil, fmt.Errorf("new server: %w", err)
	}
	go ns.Start()
	if !ns.ReadyForConnections(10 * time.Second) {
		ns.Shutdown()
		return nil, nil, errors.New("nats-server not ready within 10s")
	}
	stopServer := func() {
		ns.Shutdown()
		ns.WaitForShutdown()
	}
	nc, err := nats.Connect(ns.ClientURL(), nats.Name("sdktest"))
	if err != nil {
		stopServer()
		return nil, nil, fmt.Errorf("connect: %w", err)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		nc.Close()
		stopServer()
		return nil, nil, fmt.Errorf("jetstream: %w", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := topology.Ensure(ctx, js, topo); err != nil {
		nc.Close()
		stopServer()
		return nil, nil, err
	}
	h := &Hub{Server: ns, URL: ns.ClientURL(), NC: nc, JS: js}
	return h, func() {
		nc.Close()
		stopServer()
	}, nil
}

// Connect returns another connection to the hub, closed at t's cleanup;
// opts are added to the connection's options (credentials built by
// sdk.NATSAuth.Options, for a test against a hub that asks for them).
func (h *Hub) Connect(t testing.TB, opts ...nats.Option) *nats.Conn {
	t.Helper()
	nc, err := nats.Connect(h.URL, append([]nats.Option{nats.Name("sdktest-" + t.Name())}, opts...)...)
	if err != nil {
		t.Fatalf("sdktest: connect to %s: %v", h.URL, err)
	}
	t.Cleanup(nc.Close)
	return nc
}

// PublishDelivery stores d on the DELIVERIES stream under
// junction.deliveries.<destination>.<route_id>, as the router would, and
// waits for the ack.
func (h *Hub) PublishDelivery(t testing.TB, d *junctionv1.Delivery) {
	t.Helper()
	msg, err := topology.DeliveryMsg(d)
	if err != nil {
		t.Fatalf("sdktest: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := h.JS.PublishMsg(ctx, msg, jetstream.WithExpectStream(topology.DeliveriesStream)); err != nil {
		t.Fatalf("sdktest: publish delivery to %s: %v", msg.Subject, err)
	}
}

// WaitEvents waits until the EVENTS stream holds at least n events and
// returns all of them, in stream order, read from sequence 1 with an
// ordered consumer. It fails the test if fewer than n are stored within
// timeout.
func (h *Hub) WaitEvents(t testing.TB, n int, timeout time.Duration) []*junctionv1.Event {
	t.Helper()
	msgs := h.waitMsgs(t, topology.EventsStream, n, timeout)
	events := make([]*junctionv1.Event, 0, len(msgs))
	for _, m := range msgs {
		e, err := topology.ParseEvent(m.Subject(), m.Headers(), m.Data())
		if err != nil {
			t.Fatalf("sdktest: %v", err)
		}
		events = append(events, e)
	}
	return events
}

// WaitMsgs waits until stream holds at least n messages and returns all of
// them, in stream order. It fails the test if fewer than n are stored within
// timeout.
func (h *Hub) WaitMsgs(t testing.TB, stream string, n int, timeout time.Duration) []jetstream.Msg {
	t.Helper()
	return h.waitMsgs(t, stream, n, timeout)
}

func (h *Hub) waitMsgs(t testing.TB, stream string, n int, timeout time.Duration) []jetstream.Msg {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var have uint64
	for {
		have = h.StreamMsgs(t, stream)
		if have >= uint64(n) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("sdktest: stream %s holds %d messages after %v, want at least %d", stream, have, timeout, n)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if have == 0 {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cons, err := h.JS.OrderedConsumer(ctx, stream, jetstream.OrderedConsumerConfig{DeliverPolicy: jetstream.DeliverAllPolicy})
	if err != nil {
		t.Fatalf("sdktest: ordered consumer on %s: %v", stream, err)
	}
	out := make([]jetstream.Msg, 0, have)
	for uint64(len(out)) < have {
		m, err := cons.Next(jetstream.FetchMaxWait(5 * time.Second))
		if err != nil {
			t.Fatalf("sdktest: read %s after %d of %d messages: %v", stream, len(out), have, err)
		}
		out = append(out, m)
	}
	return out
}

// StreamMsgs returns the number of messages stream holds.
func (h *Hub) StreamMsgs(t testing.TB, stream string) uint64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := h.JS.Stream(ctx, stream)
	if err != nil {
		t.Fatalf("sdktest: stream %s: %v", stream, err)
	}
	info, err := s.Info(ctx)
	if err != nil {
		t.Fatalf("sdktest: stream %s info: %v", stream, err)
	}
	return info.State.Msgs
}

// Idle reports whether consumer on stream has acknowledged (or terminated)
// every message its filter takes that is stored now, with none waiting for
// an ack, and why not. NumPending alone is not enough: the server updates
// it asynchronously, so right after a publish it can still read 0.
func (h *Hub) Idle(ctx context.Context, stream, consumer string) error {
	s, err := h.JS.Stream(ctx, stream)
	if err != nil {
		return err
	}
	c, err := s.Consumer(ctx, consumer)
	if err != nil {
		return err
	}
	info, err := c.Info(ctx)
	if err != nil {
		return err
	}
	filters := info.Config.FilterSubjects
	if info.Config.FilterSubject != "" {
		filters = append(filters, info.Config.FilterSubject)
	}
	if len(filters) == 0 {
		filters = []string{">"}
	}
	var last uint64
	for _, f := range filters {
		m, err := s.GetLastMsgForSubject(ctx, f)
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			continue
		}
		if err != nil {
			return err
		}
		last = max(last, m.Sequence)
	}
	if info.AckFloor.Stream < last || info.NumPending != 0 || info.NumAckPending != 0 {
		return fmt.Errorf("%s/%s: acknowledged to %d of %d, %d pending, %d awaiting ack",
			stream, consumer, info.AckFloor.Stream, last, info.NumPending, info.NumAckPending)
	}
	return nil
}

// WaitIdle waits until Idle holds for consumer on stream, failing the test
// after timeout.
func (h *Hub) WaitIdle(t testing.TB, stream, consumer string, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var err error
	for time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		err = h.Idle(ctx, stream, consumer)
		cancel()
		if err == nil {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("sdktest: consumer not idle after %s: %v", timeout, err)
}
