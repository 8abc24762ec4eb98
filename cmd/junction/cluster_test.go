package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/junctionhq/junction/adapters/sdk/platform"
	"github.com/junctionhq/junction/adapters/sdk/platform/topology"
	"github.com/junctionhq/junction/adapters/webhook"
	"github.com/junctionhq/junction/internal/testports"
)

// cluster is three embedded nats-servers with JetStream, routed on loopback.
type cluster struct {
	t       *testing.T
	names   []string
	opts    []*server.Options
	servers []*server.Server
}

func newCluster(t *testing.T) *cluster {
	t.Helper()
	ports := testports.Free(t, 6)
	var routes []string
	for i := range 3 {
		routes = append(routes, fmt.Sprintf("nats://127.0.0.1:%d", ports[3+i]))
	}
	c := &cluster{t: t, servers: make([]*server.Server, 3)}
	for i := range 3 {
		name := fmt.Sprintf("n%d", i+1)
		c.names = append(c.names, name)
		c.opts = append(c.opts, &server.Options{
			ServerName: name, Host: "127.0.0.1", Port: ports[i], JetStream: true, StoreDir: t.TempDir(), NoSigs: true,
			Cluster: server.ClusterOpts{Name: "junction", Host: "127.0.0.1", Port: ports[3+i]},
			Routes:  server.RoutesFromStr(strings.Join(routes, ",")),
		})
	}
	for i := range 3 {
		c.start(i)
	}
	t.Cleanup(func() {
		for i := range 3 {
			c.stop(i)
		}
	})
	return c
}

func (c *cluster) start(i int) {
	c.t.Helper()
	o := *c.opts[i]
	s, err := server.NewServer(&o)
	if err != nil {
		c.t.Fatal(err)
	}
	go s.Start()
	if !s.ReadyForConnections(20 * time.Second) {
		c.t.Fatalf("server %s not ready", c.names[i])
	}
	c.servers[i] = s
}

// stop shuts server i down at once, as a crash would.
func (c *cluster) stop(i int) {
	if s := c.servers[i]; s != nil {
		s.Shutdown()
		s.WaitForShutdown()
		c.servers[i] = nil
	}
}

func (c *cluster) urls() string {
	var u []string
	for _, o := range c.opts {
		u = append(u, fmt.Sprintf("nats://127.0.0.1:%d", o.Port))
	}
	return strings.Join(u, ",")
}

func (c *cluster) index(name string) int {
	for i, n := range c.names {
		if n == name {
			return i
		}
	}
	c.t.Fatalf("no server %q", name)
	return -1
}

// TestClusterLeaderLoss runs the inbound webhook adapter against a
// three-node cluster with R3 streams and, under load, kills the EVENTS
// stream leader; then a second node, so nothing can be stored; then brings
// both back. No webhook answered 2xx is lost; with two nodes down every
// answer is a 503, never a 2xx; intake recovers by itself.
func TestClusterLeaderLoss(t *testing.T) {
	c := newCluster(t)
	nc, err := nats.Connect(c.urls(), nats.MaxReconnects(-1), nats.ReconnectWait(50*time.Millisecond), nats.Name("cluster-test"))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, "topology created with 3 replicas", func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		return topology.Ensure(ctx, js, topology.Options{Replicas: 3}) == nil
	})

	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	a, err := webhook.NewWithOptions(webhook.Config{Sources: []webhook.SourceConfig{{Name: "acme", Scheme: webhook.SchemeHMACSHA256, SecretRef: webhook.SecretRef{Secret: inboundSecret}, IDField: "id", RateLimit: webhook.RateLimit{PerSecond: 1e6, Burst: 1e6}}}}, webhook.WithLogger(quiet))
	if err != nil {
		t.Fatal(err)
	}
	run, err := platform.NewRunner(webhook.Spec, a, nc, platform.RunnerOptions{Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = run.Run(ctx) }()
	defer func() { cancel(); <-done }()
	srv := httptest.NewServer(run.Handler())
	defer srv.Close()

	snd := newSender(strings.TrimPrefix(srv.URL, "http://"), 8)
	stopped := false
	defer func() {
		if !stopped {
			snd.halt()
		}
	}()
	eventually(t, "webhooks accepted", func() bool { return snd.acceptedCount() >= 500 })

	events, err := js.Stream(context.Background(), topology.EventsStream)
	if err != nil {
		t.Fatal(err)
	}
	info, err := events.Info(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	leader := c.index(info.Cluster.Leader)
	snd.mu.Lock()
	snd.gap = 0
	snd.mu.Unlock()
	c.stop(leader)
	killed := time.Now()
	before := snd.acceptedCount()
	eventually(t, "intake to resume after the leader loss", func() bool { return snd.acceptedCount() >= before+500 })
	snd.mu.Lock()
	leaderGap := snd.gap
	snd.mu.Unlock()
	resumed := time.Since(killed)

	// A second node down: no quorum, nothing can be stored.
	second := (leader + 1) % 3
	c.stop(second)
	quorumLost := time.Now()
	snd.mu.Lock()
	okAt := len(snd.accepted)
	n503 := snd.answers[http.StatusServiceUnavailable]
	snd.mu.Unlock()
	eventually(t, "503 answers without quorum", func() bool {
		snd.mu.Lock()
		defer snd.mu.Unlock()
		return snd.answers[http.StatusServiceUnavailable] >= n503+20
	})
	// From now until the nodes return, every answer must be a 503.
	snd.mu.Lock()
	okBefore := len(snd.accepted)
	snd.mu.Unlock()
	time.Sleep(2 * time.Second)
	snd.mu.Lock()
	okDuring := len(snd.accepted) - okBefore
	unavailable := snd.answers[http.StatusServiceUnavailable] - n503
	snd.mu.Unlock()
	if okDuring != 0 {
		t.Errorf("%d webhooks answered 2xx while two of three nodes were down, want 0 (503)", okDuring)
	}

	c.start(leader)
	c.start(second)
	restarted := time.Now()
	eventually(t, "intake to recover by itself", func() bool { return snd.acceptedCount() >= okBefore+500 })
	recovered := time.Since(restarted)
	snd.halt()
	stopped = true

	// Every webhook answered 2xx is on EVENTS.
	stored := map[string]bool{}
	// Read back message by message: each read is retried on its own, so
	// a cluster still settling after the restarts costs a retry, not the
	// whole pass.
	var last uint64
	eventually(t, "EVENTS info", func() bool {
		cctx, ccancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer ccancel()
		info, err := events.Info(cctx)
		if err == nil {
			last = info.State.LastSeq
		}
		return err == nil
	})
	for seq := uint64(1); seq <= last; seq++ {
		eventually(t, fmt.Sprintf("EVENTS message %d readable", seq), func() bool {
			cctx, ccancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer ccancel()
			m, err := events.GetMsg(cctx, seq)
			if errors.Is(err, jetstream.ErrMsgNotFound) {
				return true
			}
			if err != nil {
				return false
			}
			stored[m.Header.Get(topology.HeaderEventID)] = true
			return true
		})
	}
	snd.mu.Lock()
	defer snd.mu.Unlock()
	lost := 0
	for id := range snd.accepted {
		if !stored[id] {
			lost++
		}
	}
	t.Logf("cluster: webhooks sent %d, answered 2xx %d, lost 0 of them: %d; answers by status %v; leader %s killed: longest ingest gap %v, intake resumed +500 in %v; second node down: %d 503s and %d 2xx in 2s (2xx before: %d); recovered +500 %v after restart, quorum lost for %v",
		snd.next.Load(), len(snd.accepted), lost, snd.answers, c.names[leader], leaderGap.Round(time.Millisecond), resumed.Round(time.Millisecond),
		unavailable, okDuring, okAt, recovered.Round(time.Millisecond), restarted.Sub(quorumLost).Round(time.Millisecond))
	if lost > 0 {
		t.Fatalf("%d webhooks answered 2xx are not on EVENTS", lost)
	}
}
