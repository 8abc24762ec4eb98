package tlsconfig

import (
	"crypto/tls"
	"fmt"
	"net/http"
	"os"
	"strings"

	"github.com/junctionhq/junction/adapters/sdk/rpcstatus"
)

// ClientFiles are a client's TLS settings.
type ClientFiles struct {
	// CAFile holds the CAs to trust for the server's certificate; empty
	// trusts the system's roots.
	CAFile string
	// CertFile and KeyFile are a client certificate and its key, for a
	// server that requires mutual TLS. Both or neither.
	CertFile string
	KeyFile  string
	// ServerName is the name expected in the server's certificate when it
	// differs from the host dialled.
	ServerName string
}

// ClientConfig reads the files and returns a client configuration with TLS
// 1.2 at least. Errors name the file that could not be used.
func ClientConfig(f ClientFiles) (*tls.Config, error) {
	c := &tls.Config{MinVersion: MinVersion, ServerName: f.ServerName}
	if f.CAFile != "" {
		b, err := os.ReadFile(f.CAFile)
		if err != nil {
			return nil, fmt.Errorf("tls CA file: %w", err)
		}
		if c.RootCAs, err = CertPool(b); err != nil {
			return nil, fmt.Errorf("tls CA file %s: %w", f.CAFile, err)
		}
	}
	if (f.CertFile == "") != (f.KeyFile == "") {
		return nil, fmt.Errorf("a client certificate needs both its certificate file and its key file: %w", ErrConfig)
	}
	if f.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(f.CertFile, f.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("tls client certificate %s with key %s: %w", f.CertFile, f.KeyFile, err)
		}
		c.Certificates = []tls.Certificate{cert}
	}
	return c, nil
}

// RequireClientCert wraps next so that a request whose connection presented
// no client certificate verified against the listener's client CAs is
// answered 403, except on the paths open lists (prefixes ending in "/" or
// exact paths). It is the API's guard on a listener configured with
// tls.VerifyClientCertIfGiven, which must also accept callers without a
// certificate (webhook senders, health probes). A certificate that does
// not verify never gets this far: the handshake refuses it.
func RequireClientCert(next http.Handler, open ...string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.TLS != nil && len(r.TLS.VerifiedChains) > 0 {
			next.ServeHTTP(w, r)
			return
		}
		for _, p := range open {
			if r.URL.Path == p || (strings.HasSuffix(p, "/") && strings.HasPrefix(r.URL.Path, p)) {
				next.ServeHTTP(w, r)
				return
			}
		}
		rpcstatus.Write(w, http.StatusForbidden, "a client certificate signed by the configured client CA is required (mutual TLS)")
	})
}
