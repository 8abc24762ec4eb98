package bench

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/junctionhq/junction/adapters/sdk/platform/topology"
)

// Secrets of the webhook scenario: what senders sign with and what
// deliveries are signed with. Benchmark-only values.
const (
	InboundSecret  = "whsec_YmVuY2gtaW5ib3VuZC1zZWNyZXQtMzItYnl0ZXMhIQ=="
	OutboundSecret = "whsec_YmVuY2gtb3V0Ym91bmQtc2VjcmV0LTMyLWJ5dGVzIQ=="
	// WebhookDestination is the adapter that delivers webhooks.
	WebhookDestination = "webhook"
	// outConcurrency is how many deliveries are POSTed at once, as the
	// webhook adapter in `junction serve` does (internal/hub).
	outConcurrency = 64
)

// phase records one measured phase: when each event was due to be sent
// and when it arrived at the receiver, by seq - base.
type phase struct {
	base    int
	sched   []int64 // unix nanos
	arrived []int64 // unix nanos, 0 until it arrives
	count   atomic.Int64
	dups    atomic.Int64
	done    chan struct{}
}

func newPhase(base, n int) *phase {
	return &phase{base: base, sched: make([]int64, n), arrived: make([]int64, n), done: make(chan struct{})}
}

func (p *phase) arrive(seq int, at int64) {
	i := seq - p.base
	if i < 0 || i >= len(p.arrived) {
		return
	}
	if !atomic.CompareAndSwapInt64(&p.arrived[i], 0, at) {
		p.dups.Add(1)
		return
	}
	if p.count.Add(1) == int64(len(p.arrived)) {
		close(p.done)
	}
}

// Receiver is an HTTP server that verifies each delivery's Standard
// Webhooks signature and records when it arrived.
type Receiver struct {
	verifier *standardwebhooks.Webhook
	srv      *http.Server
	lis      net.Listener
	cur      atomic.Pointer[phase]
	// Bad counts deliveries whose signature did not verify.
	Bad atomic.Int64
}

// NewReceiver starts a receiver on a free loopback port that verifies
// deliveries signed with OutboundSecret.
func NewReceiver() (*Receiver, error) { return NewReceiverFor(OutboundSecret) }

// NewFloorReceiver starts a receiver that verifies webhooks signed with
// InboundSecret, as the Sender signs them: the sender posting straight to
// it, with no hub between, is the driver's own floor.
func NewFloorReceiver() (*Receiver, error) { return NewReceiverFor(InboundSecret) }

// NewReceiverFor starts a receiver on a free loopback port that verifies
// Standard Webhooks signatures made with secret.
func NewReceiverFor(secret string) (*Receiver, error) {
	v, err := standardwebhooks.NewWebhook(secret)
	if err != nil {
		return nil, err
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	r := &Receiver{verifier: v, lis: lis}
	r.srv = &http.Server{Handler: r, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = r.srv.Serve(lis) }()
	return r, nil
}

// URL is where deliveries go.
func (r *Receiver) URL() string { return "http://" + r.lis.Addr().String() + "/hook" }

// Close stops the receiver.
func (r *Receiver) Close() error { return r.srv.Close() }

func (r *Receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body, err := io.ReadAll(io.LimitReader(req.Body, 1<<20))
	if err != nil {
		http.Error(w, "read", http.StatusBadRequest)
		return
	}
	if err := r.verifier.Verify(body, req.Header); err != nil {
		r.Bad.Add(1)
		http.Error(w, "bad signature", http.StatusUnauthorized)
		return
	}
	now := time.Now().UnixNano()
	if seq, ok := payloadSeq(body); ok {
		if p := r.cur.Load(); p != nil {
			p.arrive(seq, now)
		}
	}
	w.WriteHeader(http.StatusNoContent)
}

// payloadSeq finds "seq":<n> in a Payload.
func payloadSeq(b []byte) (int, bool) {
	i := bytes.Index(b, []byte(`"seq":`))
	if i < 0 {
		return 0, false
	}
	b = b[i+6:]
	j := 0
	for j < len(b) && b[j] >= '0' && b[j] <= '9' {
		j++
	}
	n, err := strconv.Atoi(string(b[:j]))
	return n, err == nil
}

// Sender POSTs signed webhooks to one URL.
type Sender struct {
	url    string
	signer *standardwebhooks.Webhook
	client *http.Client
	size   int
	// Failed counts events not answered 2xx after every attempt.
	Failed atomic.Int64
	// Retries counts attempts after the first.
	Retries atomic.Int64
	// LastErr is the last failure, for reports.
	LastErr atomic.Pointer[string]
}

// NewSender returns a sender of size-byte payloads to url.
func NewSender(url string, size int) (*Sender, error) {
	s, err := standardwebhooks.NewWebhook(InboundSecret)
	if err != nil {
		return nil, err
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConns = 1024
	tr.MaxIdleConnsPerHost = 1024
	tr.MaxConnsPerHost = 512
	return &Sender{url: url, signer: s, client: &http.Client{Transport: tr, Timeout: 30 * time.Second}, size: size}, nil
}

// Close drops idle connections.
func (s *Sender) Close() { s.client.CloseIdleConnections() }

// sendAttempts is how often Send tries one event, as a provider retries.
const sendAttempts = 5

// Send POSTs event seq and returns nil on a 2xx answer. A network error
// or a 5xx or 429 answer is retried, as webhook providers do, with the
// same webhook-id, so the hub's dedupe applies.
func (s *Sender) Send(ctx context.Context, seq int) error {
	var err error
	for attempt := range sendAttempts {
		if attempt > 0 {
			s.Retries.Add(1)
			time.Sleep(time.Duration(attempt) * 50 * time.Millisecond)
		}
		var retry bool
		if retry, err = s.send(ctx, seq); err == nil || !retry || ctx.Err() != nil {
			break
		}
	}
	if err != nil {
		s.Failed.Add(1)
		msg := err.Error()
		s.LastErr.Store(&msg)
	}
	return err
}

func (s *Sender) send(ctx context.Context, seq int) (retry bool, err error) {
	body := Payload(seq, s.size)
	id := "msg_" + strconv.Itoa(seq)
	now := time.Now()
	sig, err := s.signer.Sign(id, now, body)
	if err != nil {
		return false, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.url, bytes.NewReader(body))
	if err != nil {
		return false, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(standardwebhooks.HeaderWebhookID, id)
	req.Header.Set(standardwebhooks.HeaderWebhookTimestamp, strconv.FormatInt(now.Unix(), 10))
	req.Header.Set(standardwebhooks.HeaderWebhookSignature, sig)
	resp, err := s.client.Do(req)
	if err != nil {
		return true, err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests, fmt.Errorf("webhook answered %d", resp.StatusCode)
	}
	return false, nil
}

// Latency is a latency distribution in milliseconds.
type Latency struct {
	N    int     `json:"n"`
	P50  float64 `json:"p50_ms"`
	P99  float64 `json:"p99_ms"`
	P999 float64 `json:"p999_ms"`
	Max  float64 `json:"max_ms"`
	Rate float64 `json:"rate_per_sec"`
	// IngestRate is events answered 2xx per second by the webhook
	// endpoint (max-rate phase only).
	IngestRate float64 `json:"ingest_per_sec,omitempty"`
	// Sends counts events never answered 2xx; Retries, send attempts
	// after the first (network errors, 5xx).
	Sends   int64 `json:"failed_sends"`
	Retries int64 `json:"send_retries"`
}

func percentile(sorted []float64, q float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	i := int(q*float64(len(sorted))+0.5) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

// waitPhase waits until every event of p arrived, or timeout.
func waitPhase(ctx context.Context, p *phase, timeout time.Duration) error {
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-p.done:
		return nil
	case <-ctx.Done():
	case <-t.C:
	}
	return fmt.Errorf("%w: %d of %d delivered", ErrIncomplete, p.count.Load(), len(p.arrived))
}

// FixedRate sends n events at rate per second (open loop: each is due at
// start + i/rate whether or not earlier ones were answered) and measures,
// for each, from when it was due to when the receiver verified it.
func FixedRate(ctx context.Context, s *Sender, rcv *Receiver, base, n int, rate float64) (Latency, error) {
	p := newPhase(base, n)
	rcv.cur.Store(p)
	failed0, retries0 := s.Failed.Load(), s.Retries.Load()
	sem := make(chan struct{}, 4096)
	var wg sync.WaitGroup
	start := time.Now()
	interval := time.Duration(float64(time.Second) / rate)
	for i := range n {
		due := start.Add(time.Duration(i) * interval)
		if d := time.Until(due); d > 0 {
			time.Sleep(d)
		}
		p.sched[i] = due.UnixNano()
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			_ = s.Send(ctx, base+i)
		})
	}
	wg.Wait()
	err := waitPhase(ctx, p, 60*time.Second+time.Duration(n)*2*time.Millisecond)
	lat := make([]float64, 0, n)
	var last int64
	for i, a := range p.arrived {
		if a != 0 {
			lat = append(lat, float64(a-p.sched[i])/1e6)
			last = max(last, a)
		}
	}
	slices.Sort(lat)
	res := Latency{N: len(lat), P50: percentile(lat, 0.5), P99: percentile(lat, 0.99), P999: percentile(lat, 0.999),
		Sends: s.Failed.Load() - failed0, Retries: s.Retries.Load() - retries0}
	if len(lat) > 0 {
		res.Max = lat[len(lat)-1]
		res.Rate = float64(len(lat)) / (float64(last-start.UnixNano()) / 1e9)
	}
	return res, err
}

// MaxRate sends n events from workers concurrent senders as fast as they
// are answered and returns the end-to-end rate: events delivered per
// second from the first send to the last delivery.
func MaxRate(ctx context.Context, s *Sender, rcv *Receiver, base, n, workers int) (Latency, error) {
	p := newPhase(base, n)
	rcv.cur.Store(p)
	failed0, retries0 := s.Failed.Load(), s.Retries.Load()
	var next atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for range workers {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= n || ctx.Err() != nil {
					return
				}
				p.sched[i] = time.Now().UnixNano()
				_ = s.Send(ctx, base+i)
			}
		})
	}
	wg.Wait()
	ingest := float64(n) / time.Since(start).Seconds()
	err := waitPhase(ctx, p, 60*time.Second+time.Duration(n)*2*time.Millisecond)
	var last int64
	lat := make([]float64, 0, n)
	for i, a := range p.arrived {
		if a != 0 {
			lat = append(lat, float64(a-p.sched[i])/1e6)
			last = max(last, a)
		}
	}
	slices.Sort(lat)
	res := Latency{N: len(lat), P50: percentile(lat, 0.5), P99: percentile(lat, 0.99), P999: percentile(lat, 0.999),
		Sends: s.Failed.Load() - failed0, Retries: s.Retries.Load() - retries0, IngestRate: ingest}
	if len(lat) > 0 {
		res.Max = lat[len(lat)-1]
		res.Rate = float64(len(lat)) / (float64(last-start.UnixNano()) / 1e9)
	}
	return res, err
}

// BaselineConfig configures the baseline with HTTP in and out.
type BaselineConfig struct {
	// Dir holds the JetStream store.
	Dir string
	// SyncAlways makes JetStream flush before every acknowledgement.
	SyncAlways bool
	// HTTPAddr is where webhooks are received, host:port.
	HTTPAddr string
	// ReceiverURL is where every event is POSTed.
	ReceiverURL string
	// Plus runs the baseline plus (plus.go): idempotency, routing and the
	// delivery log added the shortest way.
	Plus bool
}

// BaselineServer is the router-hop baseline extended with the same HTTP in
// and out as the webhook adapter: a handler that verifies the Standard
// Webhooks signature and publishes the body to EVENTS (answering 202 once
// stored), Republish to DELIVERIES, and workers that POST each message to
// the receiver signed with Standard Webhooks and ack it on a 2xx answer.
type BaselineServer struct {
	ns     interface{ Shutdown() }
	nc     *nats.Conn
	lis    net.Listener
	srv    *http.Server
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// StartBaseline starts the baseline server and returns once it accepts
// webhooks.
func StartBaseline(ctx context.Context, cfg BaselineConfig) (*BaselineServer, error) {
	ns, err := StartServer(ctx, cfg.Dir, cfg.SyncAlways)
	if err != nil {
		return nil, err
	}
	b := &BaselineServer{ns: ns}
	fail := func(err error) (*BaselineServer, error) {
		b.Close()
		return nil, err
	}
	if b.nc, err = nats.Connect(ns.ClientURL()); err != nil {
		return fail(err)
	}
	js, err := jetstream.New(b.nc)
	if err != nil {
		return fail(err)
	}
	verifier, err := standardwebhooks.NewWebhook(InboundSecret)
	if err != nil {
		return fail(err)
	}
	signer, err := standardwebhooks.NewWebhook(OutboundSecret)
	if err != nil {
		return fail(err)
	}
	if b.lis, err = net.Listen("tcp", cfg.HTTPAddr); err != nil {
		return fail(err)
	}
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	b.cancel = cancel
	var keep func(jetstream.Msg) (bool, error)
	var ids jetstream.KeyValue
	if cfg.Plus {
		rt, err := newRoute()
		if err != nil {
			return fail(err)
		}
		keep = rawFilter(rt)
		if ids, err = js.KeyValue(ctx, topology.IdempotencyBucket); err != nil {
			return fail(err)
		}
	}
	b.wg.Go(func() { _ = republish(runCtx, js, WebhookDestination, keep) })
	cons, err := js.CreateOrUpdateConsumer(ctx, topology.DeliveriesStream, jetstream.ConsumerConfig{
		Durable:       "baseline-out",
		FilterSubject: topology.DeliveriesFilter(WebhookDestination),
		AckPolicy:     jetstream.AckExplicitPolicy,
		MaxAckPending: maxAckPending,
	})
	if err != nil {
		return fail(err)
	}
	it, err := cons.Messages(jetstream.PullMaxMessages(outConcurrency))
	if err != nil {
		return fail(err)
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = outConcurrency
	client := &http.Client{Transport: tr, Timeout: 30 * time.Second}
	work := make(chan jetstream.Msg)
	var log jetstream.JetStream // nil: no delivery log
	if cfg.Plus {
		log = js
	}
	for range outConcurrency {
		b.wg.Go(func() { deliverWorker(runCtx, client, signer, cfg.ReceiverURL, work, log) })
	}
	b.wg.Go(func() {
		<-runCtx.Done()
		it.Stop()
	})
	b.wg.Go(func() {
		defer close(work)
		for {
			m, err := it.Next()
			if err != nil {
				if errors.Is(err, jetstream.ErrMsgIteratorClosed) {
					return
				}
				continue
			}
			work <- m
		}
	})

	mux := http.NewServeMux()
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) })
	store := func(w http.ResponseWriter, r *http.Request) { storeWebhook(w, r, js, verifier) }
	if cfg.Plus {
		store = func(w http.ResponseWriter, r *http.Request) { storeWebhookPlus(w, r, js, ids, verifier) }
	}
	mux.HandleFunc("POST /webhooks/"+Source, store)
	b.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	b.wg.Go(func() { _ = b.srv.Serve(b.lis) })
	return b, nil
}

// storeWebhook is the baseline's webhook handler: it verifies the Standard
// Webhooks signature and answers 202 once the body is stored on EVENTS.
// (Named, as deliverWorker and postSigned are, so a CPU profile's parts
// can be told apart: CPUShares.)
func storeWebhook(w http.ResponseWriter, r *http.Request, js jetstream.JetStream, verifier *standardwebhooks.Webhook) {
	body, ok := verifiedBody(w, r, verifier)
	if !ok {
		return
	}
	m := topology.RawEventMsg(Source, EventType, r.Header.Get(standardwebhooks.HeaderWebhookID), body)
	if _, err := js.PublishMsg(r.Context(), m); err != nil {
		http.Error(w, "store", http.StatusServiceUnavailable)
		return
	}
	w.WriteHeader(http.StatusAccepted)
}

// verifiedBody reads r's body and checks its Standard Webhooks signature;
// on a failure it answers w and returns false.
func verifiedBody(w http.ResponseWriter, r *http.Request, verifier *standardwebhooks.Webhook) ([]byte, bool) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		http.Error(w, "read body", http.StatusBadRequest)
		return nil, false
	}
	if err := verifier.Verify(body, r.Header); err != nil {
		http.Error(w, "bad signature", http.StatusUnauthorized)
		return nil, false
	}
	return body, true
}

// deliverWorker POSTs each delivery from work to url, acking it on a 2xx;
// with log (the baseline plus), it then records the attempt there.
func deliverWorker(ctx context.Context, client *http.Client, signer *standardwebhooks.Webhook, url string, work <-chan jetstream.Msg, log jetstream.JetStream) {
	for m := range work {
		start := time.Now()
		status, err := postSigned(ctx, client, signer, url, m)
		if err != nil {
			_ = m.NakWithDelay(time.Second)
			continue
		}
		_ = m.Ack()
		if log != nil {
			_ = recordAttempt(ctx, log, m, status, time.Since(start))
		}
	}
}

// postSigned POSTs m's body to url signed with Standard Webhooks, with its
// Nats-Msg-Id as webhook-id.
func postSigned(ctx context.Context, c *http.Client, signer *standardwebhooks.Webhook, url string, m jetstream.Msg) (int, error) {
	id := topology.MetaOf(m.Headers()).MsgID
	now := time.Now()
	sig, err := signer.Sign(id, now, m.Data())
	if err != nil {
		return 0, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(m.Data()))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(standardwebhooks.HeaderWebhookID, id)
	req.Header.Set(standardwebhooks.HeaderWebhookTimestamp, strconv.FormatInt(now.Unix(), 10))
	req.Header.Set(standardwebhooks.HeaderWebhookSignature, sig)
	resp, err := c.Do(req)
	if err != nil {
		return 0, err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return resp.StatusCode, fmt.Errorf("receiver answered %d", resp.StatusCode)
	}
	return resp.StatusCode, nil
}

// URL is where webhooks are posted.
func (b *BaselineServer) URL() string {
	return "http://" + b.lis.Addr().String() + "/webhooks/" + Source
}

// Close stops the server.
func (b *BaselineServer) Close() {
	if b.srv != nil {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_ = b.srv.Shutdown(sctx)
		cancel()
	} else if b.lis != nil {
		b.lis.Close()
	}
	if b.cancel != nil {
		b.cancel()
	}
	b.wg.Wait()
	if b.nc != nil {
		b.nc.Close()
	}
	if s, ok := b.ns.(interface{ WaitForShutdown() }); ok {
		b.ns.Shutdown()
		s.WaitForShutdown()
	}
}
