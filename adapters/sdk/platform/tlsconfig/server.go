// Package tlsconfig builds the TLS configurations of Junction's listeners
// and clients: a server certificate and key read from PEM files and
// reloaded when the files change (no restart to rotate a certificate), an
// optional client CA for mutual TLS, client configurations for the CLI and
// for services that call the hub, and a self-signed certificate authority
// for development.
//
// Every configuration has a minimum of TLS 1.2. The package uses only the
// standard library, so the SDK, the platform and the CLI share it.
//
// # Reload
//
// A [Server] checks its files during a handshake, at most once per check
// interval (one second by default), so a certificate swapped on disk is
// served to the next handshake after it without a goroutine or a restart.
// A check reads the files and compares their contents with what was last
// loaded; only a change is parsed. A replacement that does not parse (a
// half-written file, a key that does not match the certificate) is logged
// once and the previous certificate stays in service; the next good
// contents replace it. Write a new certificate and key the way Kubernetes
// updates a mounted Secret (a new directory and a symlink swap) or write
// the key first: a check between the two writes sees a mismatched pair and
// keeps the old one until both are in place.
package tlsconfig

import (
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"
)

// MinVersion is the oldest TLS version any configuration here accepts.
const MinVersion = tls.VersionTLS12

// DefaultCheckInterval is how often, at most, a [Server] looks at its
// files again.
const DefaultCheckInterval = time.Second

// ErrConfig is wrapped by the errors of incomplete or unreadable settings.
var ErrConfig = errors.New("invalid tls config")

// Files names the PEM files of a server's TLS settings.
type Files struct {
	// CertFile holds the certificate chain, leaf first. Required.
	CertFile string
	// KeyFile holds the certificate's private key. Required.
	KeyFile string
	// ClientCAFile, when set, holds the CAs a client certificate must chain
	// to (mutual TLS). Optional.
	ClientCAFile string
}

// Validate reports settings that cannot work, naming the keys given as
// certKey, keyKey (for example "tls.cert_file" and "tls.key_file").
func (f Files) Validate(certKey, keyKey string) error {
	switch {
	case f.CertFile != "" && f.KeyFile == "":
		return fmt.Errorf("%s is set but %s is not: give both the certificate and its key: %w", certKey, keyKey, ErrConfig)
	case f.CertFile == "" && f.KeyFile != "":
		return fmt.Errorf("%s is set but %s is not: give both the certificate and its key: %w", keyKey, certKey, ErrConfig)
	}
	return nil
}

// Server serves a certificate from files, reloaded when they change. Its
// methods are safe for concurrent use.
type Server struct {
	files    Files
	log      *slog.Logger
	interval time.Duration
	now      func() time.Time

	mu      sync.Mutex
	cur     *state
	checked time.Time
	badSum  [sha256.Size]byte // contents last refused
	failed  error             // why they were refused, logged once
}

// state is one loaded set of files.
type state struct {
	sum  [sha256.Size]byte
	cert tls.Certificate
	pool *x509.CertPool // client CAs; nil without mutual TLS
}

// NewServer loads files at once and returns a Server that reloads them on
// change. An unreadable or invalid file is an error naming its path; key
// contents never appear in errors or logs. logger receives reload events
// (slog.Default() when nil).
func NewServer(files Files, logger *slog.Logger) (*Server, error) {
	if files.CertFile == "" || files.KeyFile == "" {
		return nil, fmt.Errorf("a server certificate needs both a certificate file and a key file: %w", ErrConfig)
	}
	if logger == nil {
		logger = slog.Default()
	}
	s := &Server{files: files, log: logger, interval: DefaultCheckInterval, now: time.Now}
	raw, sum, err := s.read()
	if err != nil {
		return nil, err
	}
	st, err := s.parse(raw, sum)
	if err != nil {
		return nil, err
	}
	s.cur = st
	s.checked = s.now()
	return s, nil
}

// NewStaticServer serves cert, never reloaded, with clientCAs (nil for no
// mutual TLS). The self-signed development mode uses it.
func NewStaticServer(cert tls.Certificate, clientCAs *x509.CertPool) *Server {
	if cert.Leaf == nil && len(cert.Certificate) > 0 {
		cert.Leaf, _ = x509.ParseCertificate(cert.Certificate[0])
	}
	return &Server{cur: &state{cert: cert, pool: clientCAs}, now: time.Now, log: slog.Default()}
}

// SetCheckInterval changes how often, at most, the files are looked at
// again; 0 checks on every handshake (tests).
func (s *Server) SetCheckInterval(d time.Duration) {
	s.mu.Lock()
	s.interval = d
	s.mu.Unlock()
}

// MutualTLS reports whether a client CA is configured.
func (s *Server) MutualTLS() bool {
	return s.current().pool != nil
}

// Leaf returns the certificate being served.
func (s *Server) Leaf() *x509.Certificate {
	return s.current().cert.Leaf
}

// Config returns a server configuration that serves the current
// certificate, with TLS 1.2 at least and ALPN for HTTP/2 and HTTP/1.1.
// clientAuth applies only when a client CA is configured (else no client
// certificate is asked for): tls.RequireAndVerifyClientCert for a listener
// that serves only the API, tls.VerifyClientCertIfGiven for one shared
// with callers that have no certificate (webhooks), whose handler must then
// check r.TLS.VerifiedChains itself (see RequireClientCert).
func (s *Server) Config(clientAuth tls.ClientAuthType) *tls.Config {
	return &tls.Config{
		MinVersion: MinVersion,
		NextProtos: []string{"h2", "http/1.1"},
		GetConfigForClient: func(*tls.ClientHelloInfo) (*tls.Config, error) {
			st := s.current()
			c := &tls.Config{
				MinVersion:   MinVersion,
				NextProtos:   []string{"h2", "http/1.1"},
				Certificates: []tls.Certificate{st.cert},
			}
			if st.pool != nil {
				c.ClientCAs = st.pool
				c.ClientAuth = clientAuth
			}
			return c, nil
		},
	}
}

// Reload checks the files now, whatever the interval. It returns the error
// that kept the current certificate in service, or nil when the files were
// unchanged or loaded.
func (s *Server) Reload() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.reloadLocked()
}

// current returns the state to serve, checking the files first when the
// interval has passed.
func (s *Server) current() *state {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.files.CertFile != "" && s.now().Sub(s.checked) >= s.interval {
		_ = s.reloadLocked() // logged; the old certificate stays
	}
	return s.cur
}

func (s *Server) reloadLocked() error {
	if s.files.CertFile == "" {
		return nil
	}
	s.checked = s.now()
	r, sum, err := s.read()
	if err == nil {
		if sum == s.cur.sum {
			s.failed = nil
			return nil
		}
		if s.failed != nil && sum == s.badSum {
			return s.failed // refused already, and logged
		}
		var st *state
		if st, err = s.parse(r, sum); err == nil {
			s.cur, s.failed = st, nil
			s.log.Info("tls certificate reloaded", "cert_file", s.files.CertFile,
				"fingerprint", Fingerprint(st.cert.Leaf), "serial", st.cert.Leaf.SerialNumber.String(),
				"not_after", st.cert.Leaf.NotAfter, "client_ca", s.files.ClientCAFile != "")
			return nil
		}
		s.badSum = sum
	} else {
		s.badSum = [sha256.Size]byte{}
	}
	if s.failed == nil || s.failed.Error() != err.Error() {
		s.log.Error("tls certificate reload failed, still serving the previous certificate",
			"cert_file", s.files.CertFile, "key_file", s.files.KeyFile, "error", err,
			"serving_fingerprint", Fingerprint(s.cur.cert.Leaf))
	}
	s.failed = err
	return err
}

// raw is the contents of the files.
type raw struct{ cert, key, ca []byte }

// read reads every file and hashes their contents together.
func (s *Server) read() (raw, [sha256.Size]byte, error) {
	var r raw
	var sum [sha256.Size]byte
	var err error
	if r.cert, err = os.ReadFile(s.files.CertFile); err != nil {
		return r, sum, fmt.Errorf("tls certificate file: %w", err)
	}
	if r.key, err = os.ReadFile(s.files.KeyFile); err != nil {
		return r, sum, fmt.Errorf("tls key file: %w", err)
	}
	if s.files.ClientCAFile != "" {
		if r.ca, err = os.ReadFile(s.files.ClientCAFile); err != nil {
			return r, sum, fmt.Errorf("tls client CA file: %w", err)
		}
	}
	h := sha256.New()
	for _, b := range [][]byte{r.cert, r.key, r.ca} {
		fmt.Fprintf(h, "%d:", len(b))
		h.Write(b)
	}
	copy(sum[:], h.Sum(nil))
	return r, sum, nil
}

// parse turns file contents into a state. Errors name the files, never
// the key's contents.
func (s *Server) parse(r raw, sum [sha256.Size]byte) (*state, error) {
	cert, err := tls.X509KeyPair(r.cert, r.key)
	if err != nil {
		// crypto/tls names what is wrong (no PEM block, a key that does
		// not match), never the key itself.
		return nil, fmt.Errorf("tls certificate %s with key %s: %w", s.files.CertFile, s.files.KeyFile, err)
	}
	if cert.Leaf == nil {
		if cert.Leaf, err = x509.ParseCertificate(cert.Certificate[0]); err != nil {
			return nil, fmt.Errorf("tls certificate %s: %w", s.files.CertFile, err)
		}
	}
	st := &state{sum: sum, cert: cert}
	if s.files.ClientCAFile != "" {
		if st.pool, err = CertPool(r.ca); err != nil {
			return nil, fmt.Errorf("tls client CA file %s: %w", s.files.ClientCAFile, err)
		}
	}
	return st, nil
}

// CertPool parses a PEM bundle of CA certificates. It is an error when the
// bundle holds no certificate.
func CertPool(pemBytes []byte) (*x509.CertPool, error) {
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pemBytes) {
		return nil, errors.New("no PEM certificate found")
	}
	return pool, nil
}

// Fingerprint is the SHA-256 of a certificate's DER bytes, as colon-less
// lowercase hex ("" for nil): what `openssl x509 -fingerprint -sha256`
// prints, without the colons.
func Fingerprint(c *x509.Certificate) string {
	if c == nil {
		return ""
	}
	sum := sha256.Sum256(c.Raw)
	return hex.EncodeToString(sum[:])
}
