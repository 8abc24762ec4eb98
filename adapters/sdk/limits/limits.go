// Package limits keeps slow, idle and too many clients from exhausting a
// Junction process: the timeouts of every HTTP server, a cap on the
// connections each listener holds at once, the gRPC server's keepalive
// enforcement and stream cap, and the file-descriptor limit. The platform
// (junction serve, gateway, router) and every adapter built on the SDK
// take them from here, configured by the same keys.
//
// A client over a cap is refused at once, never queued: a plain HTTP
// listener answers 503 with Retry-After and closes the connection, a TLS
// or gRPC listener closes it. Webhook senders retry either, and a slot
// frees as soon as a slow connection is cut by its timeout.
package limits

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"
)

// Defaults of [Config] fields left zero.
const (
	DefaultReadHeaderTimeout    = 10 * time.Second
	DefaultReadTimeout          = 30 * time.Second
	DefaultWriteTimeout         = 60 * time.Second
	DefaultIdleTimeout          = 120 * time.Second
	DefaultMaxConnections       = 4096
	DefaultMaxConcurrentStreams = 256
)

// Config bounds what one server holds for its clients. It is the `http:`
// section of serve's configuration and of an adapter's `hub:` section;
// zero fields take the defaults above.
type Config struct {
	// ReadHeaderTimeout is how long a client may take to send a request's
	// headers. Default 10s, or ReadTimeout when that is shorter.
	ReadHeaderTimeout time.Duration `yaml:"read_header_timeout"`
	// ReadTimeout is how long a client may take to send a whole request,
	// headers and body: a webhook body trickled slowly is cut here.
	// Default 30s.
	ReadTimeout time.Duration `yaml:"read_timeout"`
	// WriteTimeout is how long writing a response may take (a client
	// that reads it slowly is cut). Default 60s.
	WriteTimeout time.Duration `yaml:"write_timeout"`
	// IdleTimeout is how long a kept-alive connection may wait for its
	// next request, and a gRPC connection may stay without a call
	// (MaxConnectionIdle). Default 120s.
	IdleTimeout time.Duration `yaml:"idle_timeout"`
	// MaxConnections caps the connections one listener holds at once;
	// over it a new connection is refused at once. Default 4096.
	MaxConnections int `yaml:"max_connections"`
	// MaxConcurrentStreams caps the calls one gRPC (or HTTP/2) connection
	// runs at once. Default 256.
	MaxConcurrentStreams uint32 `yaml:"max_concurrent_streams"`
}

// WithDefaults returns c with every zero field set to its default.
func (c Config) WithDefaults() Config {
	if c.ReadTimeout == 0 {
		c.ReadTimeout = DefaultReadTimeout
	}
	if c.ReadHeaderTimeout == 0 {
		// Never past the read timeout, which covers the headers too.
		c.ReadHeaderTimeout = min(DefaultReadHeaderTimeout, c.ReadTimeout)
	}
	if c.WriteTimeout == 0 {
		c.WriteTimeout = DefaultWriteTimeout
	}
	if c.IdleTimeout == 0 {
		c.IdleTimeout = DefaultIdleTimeout
	}
	if c.MaxConnections == 0 {
		c.MaxConnections = DefaultMaxConnections
	}
	if c.MaxConcurrentStreams == 0 {
		c.MaxConcurrentStreams = DefaultMaxConcurrentStreams
	}
	return c
}

// Validate reports every field that is wrong, named under prefix (e.g.
// "http" or "hub.http"). Zero fields are valid: they take the defaults.
func (c Config) Validate(prefix string) error {
	var errs []error
	for _, d := range []struct {
		key string
		v   time.Duration
	}{
		{"read_header_timeout", c.ReadHeaderTimeout},
		{"read_timeout", c.ReadTimeout},
		{"write_timeout", c.WriteTimeout},
		{"idle_timeout", c.IdleTimeout},
	} {
		if d.v < 0 {
			errs = append(errs, fmt.Errorf("%s.%s %v: use a positive duration such as 30s (0 takes the default)", prefix, d.key, d.v))
		}
	}
	if c.ReadHeaderTimeout > 0 && c.ReadTimeout > 0 && c.ReadHeaderTimeout > c.ReadTimeout {
		errs = append(errs, fmt.Errorf("%s.read_header_timeout %v is longer than read_timeout %v, which covers the headers too: shorten it", prefix, c.ReadHeaderTimeout, c.ReadTimeout))
	}
	if c.MaxConnections < 0 {
		errs = append(errs, fmt.Errorf("%s.max_connections %d: use a positive number (0 takes the default %d)", prefix, c.MaxConnections, DefaultMaxConnections))
	}
	return errors.Join(errs...)
}

// NewHTTPServer returns a server for h with c's timeouts (c's zero fields
// take the defaults). errorLog, when not nil, receives the server's own
// errors (TLS handshakes, hijack failures) at warn level. Requests whose
// path is not canonical are refused before h (CanonicalPaths).
func NewHTTPServer(c Config, h http.Handler, errorLog *slog.Logger) *http.Server {
	c = c.WithDefaults()
	srv := &http.Server{
		Handler:           CanonicalPaths(h),
		ReadHeaderTimeout: c.ReadHeaderTimeout,
		ReadTimeout:       c.ReadTimeout,
		WriteTimeout:      c.WriteTimeout,
		IdleTimeout:       c.IdleTimeout,
		HTTP2:             &http.HTTP2Config{MaxConcurrentStreams: int(c.MaxConcurrentStreams)},
	}
	if errorLog != nil {
		srv.ErrorLog = slog.NewLogLogger(errorLog.Handler(), slog.LevelWarn)
	}
	return srv
}
