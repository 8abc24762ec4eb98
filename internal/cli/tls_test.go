package cli

import (
	"crypto/tls"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/junctionhq/junction/adapters/sdk/platform/tlsconfig"
	junctionv1 "github.com/junctionhq/junction/proto/junction/v1"
)

// writePair writes a certificate and key issued by ca into dir.
func writePair(t *testing.T, ca *tlsconfig.Authority, dir, name string, hosts ...string) (certFile, keyFile string) {
	t.Helper()
	c, err := ca.Issue(name, hosts, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	certPEM, keyPEM, err := tlsconfig.EncodePEM(c)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, name+".crt"), filepath.Join(dir, name+".key")
	for p, b := range map[string][]byte{certFile: certPEM, keyFile: keyPEM} {
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return certFile, keyFile
}

// TestMutualTLSGateway runs the CLI against a gateway that requires a
// client certificate from its CA.
func TestMutualTLSGateway(t *testing.T) {
	for _, k := range []string{TLSEnv, TLSCAEnv, TLSCertEnv, TLSKeyEnv, TLSServerNameEnv, ServerEnv} {
		t.Setenv(k, "")
	}
	t.Setenv(DataDirEnv, t.TempDir())
	dir := t.TempDir()
	ca, err := tlsconfig.NewAuthority("cli test CA", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	other, err := tlsconfig.NewAuthority("another CA", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	caFile, otherCAFile := filepath.Join(dir, "ca.pem"), filepath.Join(dir, "other.pem")
	os.WriteFile(caFile, ca.CertPEM(), 0o600)
	os.WriteFile(otherCAFile, other.CertPEM(), 0o600)
	srvCert, srvKey := writePair(t, ca, dir, "gateway", "127.0.0.1", "gateway.internal")
	cliCert, cliKey := writePair(t, ca, dir, "cli")
	strangerCert, strangerKey := writePair(t, other, dir, "stranger")

	certs, err := tlsconfig.NewServer(tlsconfig.Files{CertFile: srvCert, KeyFile: srvKey, ClientCAFile: caFile}, nil)
	if err != nil {
		t.Fatal(err)
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f := serveFakeGateway(t, tls.NewListener(lis, certs.Config(tls.RequireAndVerifyClientCert)))
	f.put("orders", &junctionv1.Route{Filter: "a.b", Targets: []*junctionv1.Target{{Destination: "slack"}}})
	addr := lis.Addr().String()

	tests := []struct {
		name    string
		args    []string
		env     map[string]string
		wantErr string // "" for success
	}{
		{name: "CA and client certificate", args: []string{"--tls-ca", caFile, "--tls-cert", cliCert, "--tls-key", cliKey}},
		{name: "from the environment", env: map[string]string{TLSCAEnv: caFile, TLSCertEnv: cliCert, TLSKeyEnv: cliKey}},
		{name: "server name override", args: []string{"--tls-ca", caFile, "--tls-cert", cliCert, "--tls-key", cliKey, "--tls-server-name", "gateway.internal"}},
		{name: "no client certificate", args: []string{"--tls-ca", caFile}, wantErr: "Unavailable"},
		{name: "client certificate from another CA", args: []string{"--tls-ca", caFile, "--tls-cert", strangerCert, "--tls-key", strangerKey}, wantErr: "Unavailable"},
		{name: "server certificate from an untrusted CA", args: []string{"--tls-ca", otherCAFile, "--tls-cert", cliCert, "--tls-key", cliKey}, wantErr: "Unavailable"},
		{name: "wrong server name", args: []string{"--tls-ca", caFile, "--tls-cert", cliCert, "--tls-key", cliKey, "--tls-server-name", "elsewhere"}, wantErr: "Unavailable"},
		{name: "plaintext", wantErr: "Unavailable"},
		{name: "certificate without key", args: []string{"--tls-cert", cliCert}, wantErr: "--tls-cert and --tls-key go together"},
		{name: "missing CA file", args: []string{"--tls-ca", filepath.Join(dir, "nope.pem")}, wantErr: filepath.Join(dir, "nope.pem")},
		{name: "bad JUNCTION_TLS", env: map[string]string{TLSEnv: "sure"}, wantErr: TLSEnv},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			args := append([]string{"routes", "list", "--timeout", "20s"}, tt.args...)
			out, err := run(t, addr, "", args...)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("routes list %v: %v", tt.args, err)
				}
				if !strings.Contains(out, "orders") {
					t.Errorf("output lacks the route:\n%s", out)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("routes list %v: err %v, want one containing %q", tt.args, err, tt.wantErr)
			}
			if strings.Contains(tt.wantErr, "--tls") && !errors.Is(err, ErrUsage) {
				t.Errorf("err %v does not wrap ErrUsage", err)
			}
		})
	}
}
