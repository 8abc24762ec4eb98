package sdk

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
)

// testCert issues a certificate for names signed by parent (self-signed
// when parent is nil) and writes it and its key as PEM under dir.
func testCert(t *testing.T, dir, name string, parent *x509.Certificate, parentKey *ecdsa.PrivateKey, isCA bool, dns ...string) (*x509.Certificate, *ecdsa.PrivateKey, string, string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: name},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		DNSNames:     dns,
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		IsCA:         isCA, BasicConstraintsValid: true,
	}
	if parent == nil {
		parent, parentKey = tmpl, key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, parentKey)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	keyDER, _ := x509.MarshalECPrivateKey(key)
	certFile, keyFile := filepath.Join(dir, name+".pem"), filepath.Join(dir, name+"-key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	return cert, key, certFile, keyFile
}

// TestNATSAuthTLS connects to a NATS that requires TLS and client
// certificates: with the CA, a client certificate and the server's name it
// connects; without any of them it is refused.
func TestNATSAuthTLS(t *testing.T) {
	dir := t.TempDir()
	ca, caKey, caFile, _ := testCert(t, dir, "ca", nil, nil, true)
	_, _, srvCert, srvKey := testCert(t, dir, "server", ca, caKey, false, "hub.internal")
	_, _, cliCert, cliKey := testCert(t, dir, "client", ca, caKey, false)
	_, _, otherCA, _ := testCert(t, dir, "other-ca", nil, nil, true)

	pair, err := tls.LoadX509KeyPair(srvCert, srvKey)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(ca)
	ns, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: server.RANDOM_PORT, NoSigs: true,
		TLS: true, TLSVerify: true, TLSTimeout: 5,
		TLSConfig: &tls.Config{Certificates: []tls.Certificate{pair}, ClientCAs: pool, ClientAuth: tls.RequireAndVerifyClientCert, MinVersion: tls.VersionTLS12},
	})
	if err != nil {
		t.Fatal(err)
	}
	go ns.Start()
	if !ns.ReadyForConnections(10 * time.Second) {
		t.Fatal("server not ready")
	}
	t.Cleanup(ns.Shutdown)

	full := NATSAuth{CAFile: caFile, CertFile: cliCert, KeyFile: cliKey, TLSServerName: "hub.internal"}
	tests := []struct {
		name string
		auth NATSAuth
		ok   bool
	}{
		{"CA, client certificate and server name", full, true},
		{"no TLS settings", NATSAuth{}, false},
		{"another CA", NATSAuth{CAFile: otherCA, CertFile: cliCert, KeyFile: cliKey, TLSServerName: "hub.internal"}, false},
		{"no client certificate", NATSAuth{CAFile: caFile, TLSServerName: "hub.internal"}, false},
		{"wrong server name", NATSAuth{CAFile: caFile, CertFile: cliCert, KeyFile: cliKey, TLSServerName: "evil.internal"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts, err := tt.auth.Options(nil)
			if err != nil {
				t.Fatalf("Options: %v", err)
			}
			nc, err := nats.Connect(ns.ClientURL(), append(opts, nats.NoReconnect(), nats.Timeout(5*time.Second))...)
			if err == nil {
				defer nc.Close()
				if !nc.TLSRequired() {
					t.Error("connected without TLS")
				}
			}
			if (err == nil) != tt.ok {
				t.Errorf("connect with %s: %v, want ok %v", tt.name, err, tt.ok)
			}
		})
	}
}
