// Package natsserver runs the embedded NATS server with JetStream that
// `junction serve` uses when no external NATS is named.
//
// Durability: JetStream acknowledges a publish once it is written to the
// operating system, and flushes to disk every SyncInterval (two minutes by
// default). A killed process loses nothing acknowledged, since the kernel
// still holds the writes; an OS crash or power loss can lose up to
// SyncInterval of acknowledged messages. SyncAlways flushes before every
// acknowledgement, which survives power loss at a large cost in throughput.
package natsserver

import (
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// Options configure the embedded server.
type Options struct {
	// Addr is the client listen address, host:port; port 0 picks a free one.
	Addr string
	// StoreDir holds the JetStream file store.
	StoreDir string
	// SyncAlways flushes to disk before every acknowledgement.
	SyncAlways bool
	// SyncInterval is how often the store is flushed when SyncAlways is off;
	// zero keeps the server's default (two minutes).
	SyncInterval time.Duration
	// ServerName names the server in logs and cluster metadata.
	ServerName string
	// ReadyTimeout bounds the wait for the server to accept clients.
	ReadyTimeout time.Duration
	// MaxStore caps the JetStream file store, in bytes; zero or less
	// leaves the server's default (75% of the free disk).
	MaxStore int64
	// Users are the clients the server accepts, each with its
	// permissions (internal/natsauth). With none it accepts anonymous
	// clients, which only tests should do.
	Users []*server.NkeyUser
	// TLS, when set, makes every network client connect over TLS (the
	// server's certificate, reloaded as the config's GetCertificate
	// does). In-process clients need none.
	TLS *tls.Config
}

// ErrNotReady is returned when the server did not come up in time.
var ErrNotReady = errors.New("embedded nats server not ready")

// Start starts the server and returns once it accepts client connections.
// The caller owns it and stops it with Shutdown then WaitForShutdown.
func Start(o Options, logger *slog.Logger) (*server.Server, error) {
	if o.StoreDir == "" {
		return nil, errors.New("embedded nats: a store dir is required")
	}
	host, portStr, err := net.SplitHostPort(o.Addr)
	if err != nil {
		return nil, fmt.Errorf("embedded nats: address %q is not host:port: %w", o.Addr, err)
	}
	port, err := strconv.Atoi(portStr)
	if err != nil || port < 0 || port > 65535 {
		return nil, fmt.Errorf("embedded nats: port %q is not a number from 0 to 65535", portStr)
	}
	if port == 0 {
		port = server.RANDOM_PORT
	}
	if o.ServerName == "" {
		o.ServerName = "junction"
	}
	if o.ReadyTimeout <= 0 {
		o.ReadyTimeout = 30 * time.Second
	}
	opts := &server.Options{
		ServerName:         o.ServerName,
		Host:               host,
		Port:               port,
		JetStream:          true,
		StoreDir:           o.StoreDir,
		SyncAlways:         o.SyncAlways,
		SyncInterval:       o.SyncInterval,
		NoSigs:             true,
		MaxPayload:         8 << 20,
		JetStreamMaxMemory: -1,
		JetStreamMaxStore:  maxStore(o.MaxStore),
		Nkeys:              o.Users,
	}
	if o.TLS != nil {
		opts.TLS, opts.TLSConfig, opts.TLSTimeout = true, o.TLS, 5
	}
	ns, err := server.NewServer(opts)
	if err != nil {
		return nil, fmt.Errorf("embedded nats: %w", err)
	}
	if logger != nil {
		ns.SetLoggerV2(&slogAdapter{l: logger.With("component", "nats")}, false, false, false)
	}
	go ns.Start()
	if !ns.ReadyForConnections(o.ReadyTimeout) {
		ns.Shutdown()
		return nil, fmt.Errorf("%w after %s (is %s already in use?)", ErrNotReady, o.ReadyTimeout, o.Addr)
	}
	return ns, nil
}

// maxStore is the server's JetStreamMaxStore for a configured cap: -1 (the
// server's default) when there is none.
func maxStore(n int64) int64 {
	if n <= 0 {
		return -1
	}
	return n
}

// slogAdapter turns the server's printf-style logger into slog records.
type slogAdapter struct{ l *slog.Logger }

// Noticef carries the server's start-up banner and routine notices: debug,
// so the hub's own lines stand out at the default level.
func (a *slogAdapter) Noticef(format string, v ...any) { a.l.Debug(fmt.Sprintf(format, v...)) }
func (a *slogAdapter) Warnf(format string, v ...any)   { a.l.Warn(fmt.Sprintf(format, v...)) }
func (a *slogAdapter) Fatalf(format string, v ...any)  { a.l.Error(fmt.Sprintf(format, v...)) }
func (a *slogAdapter) Errorf(format string, v ...any)  { a.l.Error(fmt.Sprintf(format, v...)) }
func (a *slogAdapter) Debugf(format string, v ...any)  { a.l.Debug(fmt.Sprintf(format, v...)) }
func (a *slogAdapter) Tracef(format string, v ...any)  { a.l.Debug(fmt.Sprintf(format, v...)) }
