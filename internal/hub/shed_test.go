package hub

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/junctionhq/junction/adapters/sdk/limits"
	"github.com/junctionhq/junction/adapters/sdk/platform/topology"
)

// slowKind is one way a client holds a connection without finishing a
// request.
type slowKind struct {
	name string
	// cut is the first answer line of a connection the server cut by its
	// timeout ("" for none); over the cap every kind gets a 503 instead.
	cut string
	// hold writes what the client sends; it returns when it is done or
	// the connection fails.
	hold func(c net.Conn, stop <-chan struct{})
}

var slowKinds = []slowKind{
	{"half a header", "", func(c net.Conn, _ <-chan struct{}) {
		_, _ = io.WriteString(c, "POST /webhooks/acme HTTP/1.1\r\nHost: hub\r\nContent-Type: application/json\r\n")
	}},
	{"trickled body", "HTTP/1.1 408", func(c net.Conn, stop <-chan struct{}) {
		if _, err := io.WriteString(c, "POST /webhooks/acme HTTP/1.1\r\nHost: hub\r\nContent-Type: application/json\r\n"+
			"webhook-id: slow\r\nwebhook-timestamp: 1\r\nwebhook-signature: v1,AAAA\r\nContent-Length: 100000\r\n\r\n{"); err != nil {
			return
		}
		t := time.NewTicker(50 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
			}
			if _, err := io.WriteString(c, " "); err != nil {
				return
			}
		}
	}},
	{"idle keep-alive", "HTTP/1.1 200", func(c net.Conn, _ <-chan struct{}) {
		_, _ = io.WriteString(c, "GET /healthz HTTP/1.1\r\nHost: hub\r\n\r\n")
	}},
}

// slowConn is one held connection and how it ended.
type slowConn struct {
	kind   string
	status string // the first line the server answered, if any
	err    error  // how the read ended: io.EOF or a reset is the server's close
}

// holdSlow opens a connection of kind and reads until the server closes
// it; stuck reports a connection still open when the test's own 60s hang
// guard ran out.
func holdSlow(addr string, kind slowKind) slowConn {
	res := slowConn{kind: kind.name}
	c, err := net.Dial("tcp", addr)
	if err != nil {
		res.err = err
		return res
	}
	defer c.Close()
	stop := make(chan struct{})
	defer close(stop)
	go kind.hold(c, stop)
	_ = c.SetReadDeadline(time.Now().Add(60 * time.Second)) // hang guard only
	br := bufio.NewReader(c)
	line, err := br.ReadString('\n')
	if err == nil {
		res.status = line[:min(len(line), 12)]
		_, err = io.Copy(io.Discard, br)
		if err == nil {
			err = io.EOF
		}
	}
	res.err = err
	return res
}

// closedByServer says whether a slow connection ended by the server
// closing it (EOF or a reset), not by the hang guard.
func (s slowConn) closedByServer() bool {
	var ne net.Error
	if errors.As(s.err, &ne) && ne.Timeout() {
		return false
	}
	return s.err != nil
}

// TestSlowClientsShed holds more half-open connections than the HTTP
// listener's cap (half-sent headers, trickled bodies, idle keep-alives),
// reopening each one the server cuts, while valid signed webhooks are
// sent; then stops and sends more. Every webhook gets 2xx (during the
// attack after retrying the fast 503s of a full listener, as a provider
// does; after it at the first try), every held connection is closed by the
// server (by its timeout, or at once with a 503 when over the cap) and
// none is left open.
func TestSlowClientsShed(t *testing.T) {
	const (
		maxConns = 12
		held     = maxConns + 12 // held at once by the slow clients
		webhooks = 20            // sent during, and again after
	)
	cfg := testConfig(t.TempDir())
	cfg.HTTP = limits.Config{
		ReadHeaderTimeout: 500 * time.Millisecond,
		ReadTimeout:       time.Second,
		IdleTimeout:       500 * time.Millisecond,
		MaxConnections:    maxConns,
	}
	r := startHub(t, cfg)
	lis := r.httpLis.(*limits.Listener)
	addr := r.Addrs().HTTP

	// The slow clients: held connections, each reopened once the server
	// cut it, until stopAttack.
	var (
		mu        sync.Mutex
		ended     []slowConn
		attackers sync.WaitGroup
		opened    atomic.Int64
	)
	stopAttack := make(chan struct{})
	for i := range held {
		kind := slowKinds[i%len(slowKinds)]
		attackers.Add(1)
		go func() {
			defer attackers.Done()
			for {
				opened.Add(1)
				res := holdSlow(addr, kind)
				mu.Lock()
				ended = append(ended, res)
				mu.Unlock()
				select {
				case <-stopAttack:
					return
				case <-time.After(20 * time.Millisecond):
				}
			}
		}()
	}
	waitFor(t, 30*time.Second, "the listener at its cap", func() error {
		if lis.Refused() == 0 {
			return fmt.Errorf("%d open, none refused yet", lis.Open())
		}
		return nil
	})

	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	send := func(id string) (status, tries int) {
		for tries = 1; tries <= 500; tries++ {
			status = r.postWebhook(t, client, id)
			if status != http.StatusServiceUnavailable && status != 0 {
				return status, tries
			}
			time.Sleep(10 * time.Millisecond)
		}
		return status, tries
	}
	var duringTries int
	for i := range webhooks {
		status, tries := send(fmt.Sprintf("during-%d", i))
		duringTries += tries
		if status != http.StatusAccepted {
			t.Fatalf("webhook %d during the attack: status %d after %d tries, want 202", i, status, tries)
		}
	}
	refusedDuring := lis.Refused()
	close(stopAttack)
	attackers.Wait() // each returns once the server closed its connection

	for i := range webhooks {
		if status := r.postWebhook(t, client, fmt.Sprintf("after-%d", i)); status != http.StatusAccepted {
			t.Fatalf("webhook %d after the attack: status %d, want 202 at the first try", i, status)
		}
	}
	waitFor(t, 30*time.Second, "every connection closed", func() error {
		if n := lis.Open(); n != 0 {
			return fmt.Errorf("%d connections still open", n)
		}
		return nil
	})

	byKind := map[string]map[string]int{}
	for _, s := range ended {
		if !s.closedByServer() {
			t.Errorf("%s connection: ended by %v (status %q), want closed by the server", s.kind, s.err, s.status)
		}
		if byKind[s.kind] == nil {
			byKind[s.kind] = map[string]int{}
		}
		byKind[s.kind][s.status]++
	}
	for _, k := range slowKinds {
		if byKind[k.name][k.cut] == 0 {
			t.Errorf("no %s connection was cut by its timeout (answer %q); answers: %v", k.name, k.cut, byKind[k.name])
		}
		for status, n := range byKind[k.name] {
			if status != k.cut && status != "HTTP/1.1 503" {
				t.Errorf("%d %s connections answered %q, want %q when cut or \"HTTP/1.1 503\" over the cap", n, k.name, status, k.cut)
			}
		}
	}
	if got := r.streamMsgs(t, topology.EventsStream); got != 2*webhooks {
		t.Errorf("EVENTS holds %d messages, want %d", got, 2*webhooks)
	}
	t.Logf("cap %d, %d held at once, %d slow connections opened and all closed by the server (answers by kind: %v); "+
		"%d refused over the cap; %d webhooks 2xx during (%d tries), %d 2xx after at the first try",
		maxConns, held, opened.Load(), byKind, refusedDuring, webhooks, duringTries, webhooks)
}

// postWebhook sends one signed webhook with client and returns its
// status, 0 when the connection failed (refused over the cap).
func (r *running) postWebhook(t *testing.T, client *http.Client, id string) int {
	t.Helper()
	req := r.signedWebhook(t, id, userCreated("pro", id+"@example.com"))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	resp, err := client.Do(req.WithContext(ctx))
	if err != nil {
		return 0
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode
}

// signedWebhook is a request of body to the acme source, signed now.
func (r *running) signedWebhook(t *testing.T, id string, body []byte) *http.Request {
	t.Helper()
	wh, err := standardwebhooks.NewWebhook(inboundSecret)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	sig, err := wh.Sign(id, now, body)
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodPost, "http://"+r.Addrs().HTTP+"/webhooks/acme", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("webhook-id", id)
	req.Header.Set("webhook-timestamp", fmt.Sprint(now.Unix()))
	req.Header.Set("webhook-signature", sig)
	return req
}
