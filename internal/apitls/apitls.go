// Package apitls secures the API listeners of `junction serve` and
// `junction gateway`: TLS on the gRPC listener and on the HTTP listener
// (REST, webhooks, health), certificates from files reloaded on change
// (adapters/sdk/platform/tlsconfig) or a self-signed development CA, and optional
// mutual TLS for the API.
//
// # Mutual TLS and the shared HTTP listener
//
// The HTTP listener of `serve` carries the REST API and the webhook
// endpoints. SaaS providers do not present client certificates, so that
// listener asks for one without requiring it (tls.VerifyClientCertIfGiven:
// a certificate that does not chain to the client CA still fails the
// handshake) and an HTTP guard answers 403 to every request without a
// verified certificate, except on /webhooks/ (which verify signatures),
// /healthz and /readyz (probes). The gRPC listener serves only the API and
// requires a verified client certificate in the handshake
// (tls.RequireAndVerifyClientCert).
//
// # The REST hop
//
// REST is a client of the gRPC server, so the gRPC interceptors (auth,
// logging, tracing) apply to it. It reaches the server through an
// in-memory listener (InProcess) that has no network port and needs no
// certificate; the gRPC server's transport credentials do TLS on every
// other connection and none on the in-memory ones. Mutual TLS for REST is
// the HTTP guard's job, since the REST handler is the gRPC client.
package apitls

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"google.golang.org/grpc"

	"github.com/junctionhq/junction/adapters/sdk/platform/tlsconfig"
)

// Config is the `tls:` section of the hub's configuration.
type Config struct {
	// CertFile and KeyFile are the PEM certificate chain and key of the
	// gRPC and HTTP listeners, reloaded when they change. Both or neither.
	CertFile string `yaml:"cert_file"`
	KeyFile  string `yaml:"key_file"`
	// ClientCAFile turns on mutual TLS for the API: gRPC and REST calls
	// need a client certificate that chains to these CAs.
	ClientCAFile string `yaml:"client_ca_file"`
	// SelfSigned generates a CA and a certificate for the listen hosts at
	// start (development only); the CA certificate is written to
	// <data_dir>/tls/ca.pem for clients to trust. Not with CertFile.
	SelfSigned bool `yaml:"self_signed"`
}

// Environment variables that set Config fields.
const (
	EnvCertFile     = "JUNCTION_TLS_CERT_FILE"
	EnvKeyFile      = "JUNCTION_TLS_KEY_FILE"
	EnvClientCAFile = "JUNCTION_TLS_CLIENT_CA_FILE"
	EnvSelfSigned   = "JUNCTION_TLS_SELF_SIGNED"
)

// CAFileName is where, under the data directory, the self-signed mode
// writes its CA certificate.
var CAFileName = filepath.Join("tls", "ca.pem")

// selfSignedValidity is how long a self-signed certificate lasts; a new
// one is made at every start.
const selfSignedValidity = 365 * 24 * time.Hour

// Enabled reports whether the listeners use TLS.
func (c Config) Enabled() bool { return c.CertFile != "" || c.KeyFile != "" || c.SelfSigned }

// ApplyEnv sets the fields whose JUNCTION_TLS_* variables are set.
func (c *Config) ApplyEnv(getenv func(string) string) error {
	for name, field := range map[string]*string{EnvCertFile: &c.CertFile, EnvKeyFile: &c.KeyFile, EnvClientCAFile: &c.ClientCAFile} {
		if v := getenv(name); v != "" {
			*field = v
		}
	}
	if v := getenv(EnvSelfSigned); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return fmt.Errorf("%s: %q is not true or false", EnvSelfSigned, v)
		}
		c.SelfSigned = b
	}
	return nil
}

// Validate says what is wrong with the settings, without reading files.
func (c Config) Validate() error {
	var errs []error
	if err := (tlsconfig.Files{CertFile: c.CertFile, KeyFile: c.KeyFile}).Validate("tls.cert_file", "tls.key_file"); err != nil {
		errs = append(errs, err)
	}
	if c.SelfSigned && (c.CertFile != "" || c.KeyFile != "") {
		errs = append(errs, errors.New("tls.self_signed is set with tls.cert_file/tls.key_file: use your certificate or a self-signed one, not both"))
	}
	if c.ClientCAFile != "" && !c.Enabled() {
		errs = append(errs, errors.New("tls.client_ca_file is set without TLS: give tls.cert_file and tls.key_file (or tls.self_signed) too"))
	}
	return errors.Join(errs...)
}

// API is the TLS side of one process's API listeners. A nil *API means
// plaintext; its methods then change nothing.
type API struct {
	srv *tlsconfig.Server
	// CAFile is where the self-signed mode wrote its CA certificate; empty
	// otherwise.
	CAFile string
	// CAFingerprint is the SHA-256 of that CA certificate.
	CAFingerprint string
}

// New loads the certificate (or makes a self-signed one for hosts, writing
// its CA to dataDir) and returns the listeners' TLS, or nil when c turns
// TLS off. Unreadable files are errors naming their paths.
func New(c Config, hosts []string, dataDir string, logger *slog.Logger) (*API, error) {
	if !c.Enabled() {
		return nil, nil
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	if !c.SelfSigned {
		srv, err := tlsconfig.NewServer(tlsconfig.Files{CertFile: c.CertFile, KeyFile: c.KeyFile, ClientCAFile: c.ClientCAFile}, logger)
		if err != nil {
			return nil, err
		}
		return &API{srv: srv}, nil
	}
	ca, err := tlsconfig.NewAuthority("Junction development CA (self-signed)", selfSignedValidity)
	if err != nil {
		return nil, err
	}
	cert, err := ca.Issue("junction", SelfSignedHosts(hosts), selfSignedValidity)
	if err != nil {
		return nil, err
	}
	var pool *x509.CertPool
	if c.ClientCAFile != "" {
		b, err := os.ReadFile(c.ClientCAFile)
		if err != nil {
			return nil, fmt.Errorf("tls.client_ca_file: %w", err)
		}
		if pool, err = tlsconfig.CertPool(b); err != nil {
			return nil, fmt.Errorf("tls.client_ca_file %s: %w", c.ClientCAFile, err)
		}
	}
	path := filepath.Join(dataDir, CAFileName)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("write the self-signed CA: %w", err)
	}
	if err := writeFileAtomic(path, ca.CertPEM()); err != nil {
		return nil, fmt.Errorf("write the self-signed CA: %w", err)
	}
	return &API{srv: tlsconfig.NewStaticServer(cert, pool), CAFile: path, CAFingerprint: tlsconfig.Fingerprint(ca.Cert)}, nil
}

// SelfSignedHosts are the names a self-signed certificate covers: the
// listen hosts, the loopback names, and the machine's host name when a
// listener binds every interface.
func SelfSignedHosts(listen []string) []string {
	hosts := []string{"localhost", "127.0.0.1", "::1"}
	seen := map[string]bool{}
	add := func(h string) {
		if h != "" && !seen[h] {
			seen[h] = true
			hosts = append(hosts, h)
		}
	}
	for _, h := range hosts {
		seen[h] = true
	}
	for _, addr := range listen {
		h, _, err := net.SplitHostPort(addr)
		if err != nil {
			h = addr
		}
		if ip := net.ParseIP(h); h == "" || (ip != nil && ip.IsUnspecified()) {
			if name, err := os.Hostname(); err == nil {
				add(name)
			}
			continue
		}
		add(h)
	}
	return hosts
}

// writeFileAtomic replaces path with b (mode 0644: a CA certificate is
// public), so a client never reads half a file.
func writeFileAtomic(path string, b []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".ca-*.pem")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// Scheme is "https" with TLS, "http" without.
func (a *API) Scheme() string {
	if a == nil {
		return "http"
	}
	return "https"
}

// MutualTLS reports whether API calls need a client certificate.
func (a *API) MutualTLS() bool { return a != nil && a.srv.MutualTLS() }

// Fingerprint is the SHA-256 of the certificate being served.
func (a *API) Fingerprint() string {
	if a == nil {
		return ""
	}
	return tlsconfig.Fingerprint(a.srv.Leaf())
}

// CAFileOrEmpty is CAFile, "" for a nil API.
func (a *API) CAFileOrEmpty() string {
	if a == nil {
		return ""
	}
	return a.CAFile
}

// Server is the reloading certificate source (nil without TLS).
func (a *API) Server() *tlsconfig.Server {
	if a == nil {
		return nil
	}
	return a.srv
}

// HTTPConfig is the HTTP listener's TLS configuration, nil without TLS.
// With mutual TLS it verifies a client certificate when one is given;
// Guard refuses API requests without one.
func (a *API) HTTPConfig() *tls.Config {
	if a == nil {
		return nil
	}
	return a.srv.Config(tls.VerifyClientCertIfGiven)
}

// NATSConfig is the embedded NATS listener's TLS configuration, nil
// without TLS: the API's certificate, no client certificate asked (NATS
// clients authenticate with their nkeys).
func (a *API) NATSConfig() *tls.Config {
	if a == nil {
		return nil
	}
	return a.srv.Config(tls.NoClientCert)
}

// OpenPaths are the paths of the shared HTTP listener that need no client
// certificate under mutual TLS: webhooks (signed by their senders) and the
// probes.
var OpenPaths = []string{"/webhooks/", "/healthz", "/readyz"}

// Guard wraps the HTTP listener's handler: with mutual TLS, every request
// but those to OpenPaths needs a verified client certificate (403
// otherwise); without, it returns h.
func (a *API) Guard(h http.Handler) http.Handler {
	if !a.MutualTLS() {
		return h
	}
	return tlsconfig.RequireClientCert(h, OpenPaths...)
}

// ServeHTTP serves srv on lis, with TLS when a is not nil.
func (a *API) ServeHTTP(srv *http.Server, lis net.Listener) error {
	if a == nil {
		return srv.Serve(lis)
	}
	srv.TLSConfig = a.HTTPConfig()
	return srv.ServeTLS(lis, "", "")
}

// GRPCServerOptions are the gRPC server's transport credentials: TLS
// (requiring a verified client certificate under mutual TLS) on network
// connections, none on the in-memory listener of InProcess. Without TLS
// there are none.
func (a *API) GRPCServerOptions() []grpc.ServerOption {
	if a == nil {
		return nil
	}
	return []grpc.ServerOption{grpc.Creds(newListenerCreds(a.srv.Config(tls.RequireAndVerifyClientCert)))}
}
