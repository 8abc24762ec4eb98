package tlsconfig

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// pki is a CA and a directory of files issued by it.
type pki struct {
	ca  *Authority
	dir string
}

func newPKI(t *testing.T) *pki {
	t.Helper()
	ca, err := NewAuthority("test CA", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return &pki{ca: ca, dir: t.TempDir()}
}

// issue writes a new certificate and key for 127.0.0.1 to name.crt and
// name.key and returns the leaf.
func (p *pki) issue(t *testing.T, name string) *x509.Certificate {
	t.Helper()
	c, err := p.ca.Issue(name, []string{"127.0.0.1", "localhost"}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	certPEM, keyPEM, err := EncodePEM(c)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(p.dir, name+".key"), keyPEM)
	writeFile(t, filepath.Join(p.dir, name+".crt"), certPEM)
	return c.Leaf
}

func (p *pki) path(name string) string { return filepath.Join(p.dir, name) }

func writeFile(t *testing.T, path string, b []byte) {
	t.Helper()
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// serve runs a TLS listener with cfg that completes handshakes, until the
// test ends.
func serve(t *testing.T, cfg *tls.Config) string {
	t.Helper()
	ln, err := tls.Listen("tcp", "127.0.0.1:0", cfg)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	t.Cleanup(func() { ln.Close(); <-done })
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			_ = c.(*tls.Conn).Handshake()
			c.Close()
		}
	}()
	return ln.Addr().String()
}

// servedLeaf handshakes with addr trusting roots and returns the leaf.
func servedLeaf(t *testing.T, addr string, roots *x509.CertPool) *x509.Certificate {
	t.Helper()
	c, err := tls.Dial("tcp", addr, &tls.Config{RootCAs: roots, ServerName: "127.0.0.1"})
	if err != nil {
		t.Fatalf("handshake with %s: %v", addr, err)
	}
	defer c.Close()
	return c.ConnectionState().PeerCertificates[0]
}

func TestServerReloadsChangedFiles(t *testing.T) {
	p := newPKI(t)
	first := p.issue(t, "server")
	var logs bytes.Buffer
	s, err := NewServer(Files{CertFile: p.path("server.crt"), KeyFile: p.path("server.key")}, slog.New(slog.NewTextHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	s.SetCheckInterval(0)
	roots := x509.NewCertPool()
	roots.AddCert(p.ca.Cert)
	addr := serve(t, s.Config(tls.NoClientCert))

	if got := servedLeaf(t, addr, roots); got.SerialNumber.Cmp(first.SerialNumber) != 0 {
		t.Fatalf("served serial %s, want the first certificate's %s", got.SerialNumber, first.SerialNumber)
	}

	second := p.issue(t, "server")
	if got := servedLeaf(t, addr, roots); got.SerialNumber.Cmp(second.SerialNumber) != 0 {
		t.Fatalf("after the swap: served serial %s, want the new certificate's %s (first was %s)", got.SerialNumber, second.SerialNumber, first.SerialNumber)
	}

	// Each bad replacement keeps the last good certificate.
	good, _ := os.ReadFile(p.path("server.crt"))
	goodKey, _ := os.ReadFile(p.path("server.key"))
	other := newPKI(t)
	other.issue(t, "x")
	otherKey, _ := os.ReadFile(other.path("x.key"))
	for _, tc := range []struct {
		name      string
		cert, key []byte
		missing   bool
	}{
		{name: "corrupt certificate", cert: []byte("-----BEGIN CERTIFICATE-----\nnot base64\n"), key: goodKey},
		{name: "truncated certificate", cert: good[:len(good)/2], key: goodKey},
		{name: "key of another certificate", cert: good, key: otherKey},
		{name: "empty key", cert: good, key: nil},
		{name: "files removed", missing: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.missing {
				os.Remove(p.path("server.crt"))
				os.Remove(p.path("server.key"))
			} else {
				writeFile(t, p.path("server.crt"), tc.cert)
				writeFile(t, p.path("server.key"), tc.key)
			}
			if err := s.Reload(); err == nil {
				t.Error("Reload of a bad replacement: err = nil, want an error")
			}
			if got := servedLeaf(t, addr, roots); got.SerialNumber.Cmp(second.SerialNumber) != 0 {
				t.Errorf("served serial %s, want the last good one %s", got.SerialNumber, second.SerialNumber)
			}
		})
	}
	if strings.Contains(logs.String(), "PRIVATE KEY") || strings.Contains(logs.String(), string(goodKey[40:80])) {
		t.Errorf("the log holds key material:\n%s", logs.String())
	}
	if !strings.Contains(logs.String(), "tls certificate reload failed") {
		t.Errorf("no reload failure logged:\n%s", logs.String())
	}

	third := p.issue(t, "server")
	if got := servedLeaf(t, addr, roots); got.SerialNumber.Cmp(third.SerialNumber) != 0 {
		t.Errorf("after a good replacement: served serial %s, want %s", got.SerialNumber, third.SerialNumber)
	}
}

func TestServerChecksAtMostOncePerInterval(t *testing.T) {
	p := newPKI(t)
	first := p.issue(t, "server")
	s, err := NewServer(Files{CertFile: p.path("server.crt"), KeyFile: p.path("server.key")}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Unix(1000, 0)
	s.now = func() time.Time { return now }
	s.checked = now
	p.issue(t, "server")
	if got := s.Leaf(); !got.Equal(first) {
		t.Errorf("within the interval: serving %s, want the first %s still", got.SerialNumber, first.SerialNumber)
	}
	now = now.Add(DefaultCheckInterval)
	if got := s.Leaf(); got.Equal(first) {
		t.Error("after the interval: still serving the first certificate, want the new one")
	}
}

func TestNewServerErrors(t *testing.T) {
	p := newPKI(t)
	p.issue(t, "server")
	writeFile(t, p.path("bad.pem"), []byte("nothing here"))
	for _, tc := range []struct {
		name  string
		files Files
		want  string
	}{
		{name: "no key", files: Files{CertFile: p.path("server.crt")}, want: "both"},
		{name: "missing certificate", files: Files{CertFile: p.path("nope.crt"), KeyFile: p.path("server.key")}, want: p.path("nope.crt")},
		{name: "missing key", files: Files{CertFile: p.path("server.crt"), KeyFile: p.path("nope.key")}, want: p.path("nope.key")},
		{name: "not a certificate", files: Files{CertFile: p.path("bad.pem"), KeyFile: p.path("server.key")}, want: p.path("bad.pem")},
		{name: "missing client CA", files: Files{CertFile: p.path("server.crt"), KeyFile: p.path("server.key"), ClientCAFile: p.path("ca.pem")}, want: p.path("ca.pem")},
		{name: "client CA without certificates", files: Files{CertFile: p.path("server.crt"), KeyFile: p.path("server.key"), ClientCAFile: p.path("bad.pem")}, want: p.path("bad.pem")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NewServer(tc.files, nil)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want one containing %q", err, tc.want)
			}
		})
	}
}

func TestFilesValidate(t *testing.T) {
	for _, tc := range []struct {
		name  string
		files Files
		ok    bool
	}{
		{name: "none", ok: true},
		{name: "both", files: Files{CertFile: "a", KeyFile: "b"}, ok: true},
		{name: "certificate only", files: Files{CertFile: "a"}},
		{name: "key only", files: Files{KeyFile: "b"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.files.Validate("tls.cert_file", "tls.key_file")
			if tc.ok != (err == nil) {
				t.Fatalf("err = %v, want ok=%v", err, tc.ok)
			}
			if err != nil && (!strings.Contains(err.Error(), "tls.cert_file") || !strings.Contains(err.Error(), "tls.key_file") || !errors.Is(err, ErrConfig)) {
				t.Errorf("err = %v, want one naming tls.cert_file and tls.key_file, wrapping ErrConfig", err)
			}
		})
	}
}

func TestMutualTLS(t *testing.T) {
	p := newPKI(t)
	p.issue(t, "server")
	writeFile(t, p.path("ca.pem"), p.ca.CertPEM())
	s, err := NewServer(Files{CertFile: p.path("server.crt"), KeyFile: p.path("server.key"), ClientCAFile: p.path("ca.pem")}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	if !s.MutualTLS() {
		t.Fatal("MutualTLS() = false with a client CA")
	}
	strict := serve(t, s.Config(tls.RequireAndVerifyClientCert))
	lenient := serve(t, s.Config(tls.VerifyClientCertIfGiven))

	good, err := p.ca.Issue("client", nil, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	stranger := newPKI(t)
	bad, err := stranger.ca.Issue("client", nil, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(p.ca.Cert)
	for _, tc := range []struct {
		name   string
		addr   string
		certs  []tls.Certificate
		wantOK bool
	}{
		{name: "required, none", addr: strict, wantOK: false},
		{name: "required, from the CA", addr: strict, certs: []tls.Certificate{good}, wantOK: true},
		{name: "required, from another CA", addr: strict, certs: []tls.Certificate{bad}, wantOK: false},
		{name: "if given, none", addr: lenient, wantOK: true},
		{name: "if given, from the CA", addr: lenient, certs: []tls.Certificate{good}, wantOK: true},
		{name: "if given, from another CA", addr: lenient, certs: []tls.Certificate{bad}, wantOK: false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := tls.Dial("tcp", tc.addr, &tls.Config{RootCAs: roots, ServerName: "127.0.0.1", Certificates: tc.certs})
			if err == nil {
				// TLS 1.3 reports a refused client certificate on the
				// first read, after the client's side of the handshake.
				c.SetReadDeadline(time.Now().Add(10 * time.Second))
				_, err = c.Read(make([]byte, 1))
				c.Close()
				if errors.Is(err, net.ErrClosed) || strings.Contains(errString(err), "EOF") {
					err = nil // the server closed after a good handshake
				}
			}
			if tc.wantOK != (err == nil) {
				t.Errorf("handshake err = %v, want ok=%v", err, tc.wantOK)
			}
		})
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
