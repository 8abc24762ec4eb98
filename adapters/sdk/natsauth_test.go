package sdk

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
)

func TestNATSAuthValidate(t *testing.T) {
	tests := []struct {
		name    string
		auth    NATSAuth
		wantErr string
	}{
		{"none", NATSAuth{}, ""},
		{"nkey", NATSAuth{NkeyFile: "a.nk"}, ""},
		{"user with password file", NATSAuth{User: "u", PasswordFile: "pw"}, ""},
		{"two ways", NATSAuth{NkeyFile: "a.nk", CredsFile: "a.creds"}, "only one"},
		{"user without password", NATSAuth{User: "u"}, "password"},
		{"password without user", NATSAuth{PasswordEnv: "PW"}, "nats_user"},
		{"cert without key", NATSAuth{CertFile: "c.pem"}, "both"},
		{"wildcard inbox", NATSAuth{InboxPrefix: "_INBOX.>"}, "wildcards"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.auth.Validate()
			if tt.wantErr == "" && err != nil {
				t.Fatalf("Validate() = %v, want nil", err)
			}
			if tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Fatalf("Validate() = %v, want an error mentioning %q", err, tt.wantErr)
			}
		})
	}
}

// TestNATSAuthConnects authenticates against a real server with a user and
// password from a file and from the environment, and with a token; a
// wrong secret is refused and never appears in an error.
func TestNATSAuthConnects(t *testing.T) {
	const password, token = "pw-canary-7731", "tok-canary-9152"
	ns, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: server.RANDOM_PORT, NoSigs: true,
		Users: []*server.User{{Username: "svc", Password: password}}})
	if err != nil {
		t.Fatal(err)
	}
	go ns.Start()
	if !ns.ReadyForConnections(10e9) {
		t.Fatal("server not ready")
	}
	t.Cleanup(ns.Shutdown)
	dir := t.TempDir()
	pwFile := filepath.Join(dir, "pw")
	if err := os.WriteFile(pwFile, []byte(password+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	wrongFile := filepath.Join(dir, "wrong")
	if err := os.WriteFile(wrongFile, []byte("wrong-canary-4410\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"SVC_PW": password}
	tests := []struct {
		name string
		auth NATSAuth
		ok   bool
	}{
		{"password file", NATSAuth{User: "svc", PasswordFile: pwFile}, true},
		{"password env", NATSAuth{User: "svc", PasswordEnv: "SVC_PW"}, true},
		{"wrong password", NATSAuth{User: "svc", PasswordFile: wrongFile}, false},
		{"anonymous", NATSAuth{}, false},
		{"token", NATSAuth{TokenEnv: "NOPE"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts, err := tt.auth.Options(func(k string) string { return env[k] })
			if err == nil {
				var nc *nats.Conn
				nc, err = nats.Connect(ns.ClientURL(), append(opts, nats.NoReconnect())...)
				if err == nil {
					nc.Close()
				}
			}
			if (err == nil) != tt.ok {
				t.Fatalf("connect with %s: err = %v, want ok %v", tt.name, err, tt.ok)
			}
			if err != nil {
				for _, s := range []string{password, token, "wrong-canary-4410"} {
					if strings.Contains(err.Error(), s) {
						t.Errorf("error %q holds a secret", err)
					}
				}
			}
		})
	}
}

// TestLoadConfigNATSAuth: the hub: section takes the credential keys and
// the JUNCTION_NATS_* variables override them.
func TestLoadConfigNATSAuth(t *testing.T) {
	path := filepath.Join(t.TempDir(), "adapter.yaml")
	if err := os.WriteFile(path, []byte("hub:\n  nats_url: nats://127.0.0.1:4222\n  nats_nkey_file: /etc/junction/acme.nk\n  nats_ca_file: /etc/junction/ca.pem\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv(EnvNATSCA, "/run/ca.pem")
	cfg, _, err := LoadConfig[struct{}](path)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.NkeyFile != "/etc/junction/acme.nk" || cfg.CAFile != "/run/ca.pem" || !cfg.TLS() || !cfg.HasCredentials() {
		t.Errorf("NATSAuth = %+v, want the file's nkey and the environment's CA", cfg.NATSAuth)
	}
}
