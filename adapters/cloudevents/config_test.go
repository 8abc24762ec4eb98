package cloudevents_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	ce "github.com/junctionhq/junction/adapters/cloudevents"
)

// TestConfigValidate: every bad config is refused with a message naming
// the key to fix; the scheme is never implied.
func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name    string
		cfg     ce.Config
		wantErr string // "" valid
	}{
		{"standard webhooks", ce.Config{Signature: ce.Signature{Scheme: ce.SchemeStandardWebhooks}}, ""},
		{"hmac", ce.Config{Signature: ce.Signature{Scheme: ce.SchemeHMAC, Header: "X-Sig", Encoding: "base64", Prefix: "sha256="}}, ""},
		{"none, chosen", ce.Config{Signature: ce.Signature{Scheme: ce.SchemeNone}}, ""},
		{"no scheme", ce.Config{}, "adapter.signature.scheme is required"},
		{"unknown scheme", ce.Config{Signature: ce.Signature{Scheme: "md5"}}, `scheme "md5" is unknown`},
		{"header with standard webhooks", ce.Config{Signature: ce.Signature{Scheme: ce.SchemeStandardWebhooks, Header: "X"}}, "adapter.signature.header applies to scheme hmac only"},
		{"none with a secret", ce.Config{Signature: ce.Signature{Scheme: ce.SchemeNone, SecretEnv: "X"}}, "secret_env is set but scheme is none"},
		{"unknown encoding", ce.Config{Signature: ce.Signature{Scheme: ce.SchemeHMAC, Encoding: "base32"}}, `encoding "base32" is unknown`},
		{"env and file", ce.Config{Signature: ce.Signature{Scheme: ce.SchemeHMAC, SecretEnv: "A", SecretFile: "/b"}}, "only one of secret_env and secret_file"},
		{"negative tolerance", ce.Config{Signature: ce.Signature{Scheme: ce.SchemeHMAC, Tolerance: -1}}, "tolerance"},
		{"negative max_batch", ce.Config{Signature: ce.Signature{Scheme: ce.SchemeNone}, MaxBatch: -1}, "adapter.max_batch"},
		{"source with a star inside", ce.Config{Signature: ce.Signature{Scheme: ce.SchemeNone}, Sources: []string{"https://*.example.com/"}}, "adapter.sources[0]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.Validate()
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("Validate = %v, want nil", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Errorf("Validate = %v, want an error containing %q", err, tt.wantErr)
			}
		})
	}
}

// TestNewSecrets: New reads the secret from the environment or a file,
// says which variable is missing, and never puts the secret in an error.
func TestNewSecrets(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "secret")
	if err := os.WriteFile(file, []byte(secret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("CE_SHORT", "whsec_c2hvcnQ=")
	tests := []struct {
		name    string
		sig     ce.Signature
		wantErr string
	}{
		{"from a file", ce.Signature{Scheme: ce.SchemeStandardWebhooks, SecretFile: file}, ""},
		{"default variable unset", ce.Signature{Scheme: ce.SchemeStandardWebhooks}, "CLOUDEVENTS_WEBHOOK_SECRET is not set"},
		{"missing file", ce.Signature{Scheme: ce.SchemeHMAC, SecretFile: filepath.Join(dir, "nope")}, "read the secret file"},
		{"too short for standard webhooks", ce.Signature{Scheme: ce.SchemeStandardWebhooks, SecretEnv: "CE_SHORT"}, "at least 16"},
		{"none needs no secret", ce.Signature{Scheme: ce.SchemeNone}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ce.New(ce.Config{Signature: tt.sig})
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("New = %v, want nil", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Errorf("New = %v, want an error containing %q", err, tt.wantErr)
			}
			if err != nil && strings.Contains(err.Error(), "c2hvcnQ") {
				t.Errorf("error %q shows the secret", err)
			}
		})
	}
}
