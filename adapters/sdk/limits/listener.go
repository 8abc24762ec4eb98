package limits

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/junctionhq/junction/adapters/sdk/rpcstatus"
)

// Refusal503 is what a capped plain HTTP listener writes to a connection
// over its cap before closing it. TLS and gRPC listeners write nothing
// (a nil refusal): plaintext bytes would only be noise there.
// Its body is the error body of every Junction endpoint (rpcstatus).
var Refusal503 = refusal503("too many connections to this server: retry in a second")

func refusal503(message string) []byte {
	body, _ := json.Marshal(rpcstatus.New(rpcstatus.Unavailable, message))
	body = append(body, '\n')
	return fmt.Appendf(nil, "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n"+
		"Retry-After: 1\r\nConnection: close\r\nContent-Length: %d\r\n\r\n%s", len(body), body)
}

// refusing bounds the goroutines that answer refused connections; past
// it a refused connection is closed without an answer.
const refusing = 64

// refuseDeadline bounds writing the refusal and waiting for the client
// to read it.
const refuseDeadline = time.Second

// Listener is a net.Listener that holds at most a fixed number of
// accepted connections open at once. Accept never blocks on the cap: a
// connection over it is refused (answered with the refusal, then closed)
// and Accept waits for the next one, so the server's accept loop keeps
// turning and a slot is reused as soon as a connection closes.
type Listener struct {
	net.Listener
	max     int64
	refusal []byte
	log     *slog.Logger
	name    string

	open     atomic.Int64
	refused  atomic.Uint64
	answers  chan struct{} // refusal goroutines running
	lastWarn atomic.Int64  // unix nanos of the last warning
}

// Listen caps l at max open connections (max <= 0 takes
// DefaultMaxConnections). refusal is written to a connection over the cap
// before it is closed (Refusal503 for plain HTTP, nil otherwise). log,
// when not nil, gets a warning at most every 10s while connections are
// refused, naming the listener by name.
func Listen(l net.Listener, max int, refusal []byte, log *slog.Logger, name string) *Listener {
	if max <= 0 {
		max = DefaultMaxConnections
	}
	return &Listener{Listener: l, max: int64(max), refusal: refusal, log: log, name: name, answers: make(chan struct{}, refusing)}
}

// Accept returns the next connection under the cap, refusing those over it.
func (l *Listener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		if l.open.Add(1) <= l.max {
			return &conn{Conn: c, l: l}, nil
		}
		l.open.Add(-1)
		l.refuse(c)
	}
}

// Open is the number of accepted connections not yet closed.
func (l *Listener) Open() int { return int(l.open.Load()) }

// Refused is the number of connections refused over the cap so far.
func (l *Listener) Refused() uint64 { return l.refused.Load() }

func (l *Listener) refuse(c net.Conn) {
	n := l.refused.Add(1)
	if l.log != nil {
		now := time.Now().UnixNano()
		last := l.lastWarn.Load()
		if now-last > int64(10*time.Second) && l.lastWarn.CompareAndSwap(last, now) {
			l.log.Warn("connection refused: listener at its cap", "listener", l.name, "max_connections", l.max, "refused_total", n)
		}
	}
	if len(l.refusal) == 0 {
		c.Close()
		return
	}
	select {
	case l.answers <- struct{}{}:
	default:
		c.Close()
		return
	}
	go func() {
		defer func() { <-l.answers }()
		answer(c, l.refusal)
	}()
}

// answer writes the refusal, then lets the client read it before the
// close: closing a socket with unread request bytes would reset the
// connection and lose the answer.
func answer(c net.Conn, refusal []byte) {
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(refuseDeadline))
	if _, err := c.Write(refusal); err != nil {
		return
	}
	if cw, ok := c.(interface{ CloseWrite() error }); ok {
		_ = cw.CloseWrite()
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(c, 64<<10))
}

// conn gives its slot back once, when it is closed.
type conn struct {
	net.Conn
	l    *Listener
	once sync.Once
}

// CloseWrite half-closes the connection, as http.Server does before it
// closes one after an error answer.
func (c *conn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}

func (c *conn) Close() error {
	err := c.Conn.Close()
	c.once.Do(func() { c.l.open.Add(-1) })
	return err
}
