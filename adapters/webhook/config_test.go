package webhook

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/junctionhq/junction/adapters/sdk"
	"github.com/junctionhq/junction/adapters/sdk/verify"
)

func TestValidate(t *testing.T) {
	tests := []struct {
		name     string
		edit     func(c *Config)
		wantMsgs []string // each must appear; none means valid
	}{
		{name: "valid", edit: func(*Config) {}},
		{name: "no sources is valid (sink only)", edit: func(c *Config) { c.Sources = nil }},
		{
			name:     "missing name",
			edit:     func(c *Config) { c.Sources[0].Name = "" },
			wantMsgs: []string{"sources[0]: name is required"},
		},
		{
			name:     "bad name",
			edit:     func(c *Config) { c.Sources[0].Name = "Acme Inc" },
			wantMsgs: []string{`sources[0] (Acme Inc): name: invalid name: "Acme Inc" must be 1 to 63 characters`},
		},
		{
			name:     "duplicate name",
			edit:     func(c *Config) { c.Sources[1].Name = "acme" },
			wantMsgs: []string{`sources[1] (acme): name "acme" is used twice`},
		},
		{
			name:     "missing scheme",
			edit:     func(c *Config) { c.Sources[0].Scheme = "" },
			wantMsgs: []string{"sources[0] (acme): scheme is required: standard-webhooks or hmac-sha256"},
		},
		{
			name:     "unknown scheme",
			edit:     func(c *Config) { c.Sources[0].Scheme = "svix" },
			wantMsgs: []string{`scheme "svix" is unknown: use standard-webhooks or hmac-sha256`},
		},
		{
			name:     "no secret",
			edit:     func(c *Config) { c.Sources[0].SecretRef = SecretRef{} },
			wantMsgs: []string{"sources[0] (acme): set one of secret, secret_env (an environment variable name) or secret_file"},
		},
		{
			name:     "two secrets",
			edit:     func(c *Config) { c.Sources[0].SecretEnv = "X" },
			wantMsgs: []string{"sources[0] (acme): set only one of secret, secret_env and secret_file"},
		},
		{
			name:     "hmac header on standard-webhooks",
			edit:     func(c *Config) { c.Sources[0].SignatureHeader = "X-Sig" },
			wantMsgs: []string{"sources[0] (acme): signature_header applies to scheme hmac-sha256 only"},
		},
		{
			name:     "id_field on standard-webhooks",
			edit:     func(c *Config) { c.Sources[0].IDField = "id" },
			wantMsgs: []string{"sources[0] (acme): id_field applies to scheme hmac-sha256 only"},
		},
		{
			name:     "negative tolerance and body size",
			edit:     func(c *Config) { c.Sources[1].Tolerance = -time.Second; c.Sources[1].MaxBodyBytes = -1 },
			wantMsgs: []string{"sources[1] (beta): tolerance -1s must be positive", "sources[1] (beta): max_body_bytes -1 must be positive"},
		},
		{
			name:     "bad field path",
			edit:     func(c *Config) { c.Sources[2].IDField = "meta..id" },
			wantMsgs: []string{`sources[2] (gamma): id_field "meta..id" must be a dot path`},
		},
		{
			name:     "bad model pattern and model",
			edit:     func(c *Config) { c.Sources[2].Models = map[string]string{"user.>.x": ModelUser, "lead.*": "crm"} },
			wantMsgs: []string{`models: pattern "user.>.x" must be dot-separated words`, `models["lead.*"]: model "crm" is unknown: use user, contact or none`},
		},
		{name: "no outbound secret is valid (deliveries fail)", edit: func(c *Config) { c.Outbound.SecretRef = SecretRef{} }},
		{name: "empty config is valid", edit: func(c *Config) { *c = Config{} }},
		{
			name:     "two outbound secrets",
			edit:     func(c *Config) { c.Outbound.SecretFile = "/x" },
			wantMsgs: []string{"outbound: set only one of secret, secret_env and secret_file"},
		},
		{
			name:     "negative outbound timeout",
			edit:     func(c *Config) { c.Outbound.Timeout = -time.Second },
			wantMsgs: []string{"outbound: timeout -1s must be positive"},
		},
		{
			name: "bad content types and rate limit",
			edit: func(c *Config) {
				c.Sources[0].ContentTypes = []string{"json", "application/json"}
				c.Sources[0].RateLimit = RateLimit{PerSecond: -1}
			},
			wantMsgs: []string{`content_types[0] "json" must be a media type`, "rate_limit: per_second -1 and burst 0 must be positive"},
		},
		{
			name:     "allow_private true is refused",
			edit:     func(c *Config) { on := true; c.Outbound.AllowPrivate = &on },
			wantMsgs: []string{"outbound: allow_private was removed", "outbound.allow"},
		},
		{name: "allow_private false is accepted (the default)", edit: func(c *Config) { off := false; c.Outbound.AllowPrivate = &off }},
		{name: "allow list of CIDRs, addresses and host:port", edit: func(c *Config) {
			c.Outbound.Allow = []string{"10.1.2.0/24", "fd12::/64", "10.9.9.9", "receiver.internal:8443", "[::1]:9999"}
		}},
		{
			name:     "bad allow entries",
			edit:     func(c *Config) { c.Outbound.Allow = []string{"receiver.internal", "10.0.0.0/33", "0.0.0.0/0", "h:0"} },
			wantMsgs: []string{`outbound.allow[0] "receiver.internal": give a CIDR`, `outbound.allow[1] "10.0.0.0/33": not a CIDR`, `outbound.allow[2] "0.0.0.0/0": allows every address`, `outbound.allow[3] "h:0": port "0"`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := testConfig()
			tt.edit(&c)
			err := c.Validate()
			if len(tt.wantMsgs) == 0 {
				if err != nil {
					t.Fatalf("Validate = %v, want nil", err)
				}
				return
			}
			if !errors.Is(err, ErrConfig) {
				t.Fatalf("Validate = %v, want an error wrapping ErrConfig", err)
			}
			for _, want := range tt.wantMsgs {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("Validate = %q\nwant it to contain %q", err, want)
				}
			}
			if _, err := New(c); !errors.Is(err, ErrConfig) {
				t.Errorf("New = %v, want the validation error", err)
			}
		})
	}
}

func TestNewResolvesSecrets(t *testing.T) {
	dir := t.TempDir()
	secretFile := filepath.Join(dir, "beta.secret")
	if err := os.WriteFile(secretFile, []byte(betaSecret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	emptyFile := filepath.Join(dir, "empty")
	if err := os.WriteFile(emptyFile, []byte("\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("TEST_ACME_SECRET", acmeSecret)
	t.Setenv("TEST_SHORT_SECRET", "whsec_c2hvcnQ=")
	t.Setenv("TEST_EMPTY_SECRET", "")

	tests := []struct {
		name    string
		edit    func(c *Config)
		wantErr string
	}{
		{name: "secret_env and secret_file", edit: func(c *Config) {
			c.Sources[0].SecretRef = SecretRef{SecretEnv: "TEST_ACME_SECRET"}
			c.Sources[1].SecretRef = SecretRef{SecretFile: secretFile}
		}},
		{name: "env unset", edit: func(c *Config) { c.Sources[0].SecretRef = SecretRef{SecretEnv: "TEST_NOT_SET_ANYWHERE"} },
			wantErr: "sources (acme): environment variable TEST_NOT_SET_ANYWHERE (secret_env) is not set or empty"},
		{name: "env empty", edit: func(c *Config) { c.Outbound.SecretRef = SecretRef{SecretEnv: "TEST_EMPTY_SECRET"} },
			wantErr: "outbound: environment variable TEST_EMPTY_SECRET (secret_env) is not set or empty"},
		{name: "file missing", edit: func(c *Config) { c.Sources[1].SecretRef = SecretRef{SecretFile: filepath.Join(dir, "nope")} },
			wantErr: "sources (beta): read secret_file: open"},
		{name: "file empty", edit: func(c *Config) { c.Sources[1].SecretRef = SecretRef{SecretFile: emptyFile} },
			wantErr: "is empty"},
		{name: "standard secret not base64", edit: func(c *Config) { c.Sources[0].Secret = "whsec_not base64!" },
			wantErr: "sources (acme): secret must be whsec_ followed by standard base64"},
		{name: "standard secret too short", edit: func(c *Config) { c.Outbound.SecretRef = SecretRef{SecretEnv: "TEST_SHORT_SECRET"} },
			wantErr: "outbound: secret decodes to 5 bytes; use at least 16"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := testConfig()
			tt.edit(&c)
			a, err := New(c)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("New = %v, want nil", err)
				}
				if got := a.sources["beta"].verifier.(*verify.HMAC).Secrets[0]; got != betaSecret {
					t.Errorf("beta key = %q, want the file's contents trimmed", got)
				}
				return
			}
			if err == nil || !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("New = %v, want an ErrConfig containing %q", err, tt.wantErr)
			}
			for _, s := range []string{acmeSecret, betaSecret, outboundSecret} {
				if strings.Contains(err.Error(), s) {
					t.Errorf("error %q reveals a secret", err)
				}
			}
		})
	}
}

// exampleYAML is the configuration shown in doc.go.
const exampleYAML = `
sources:
  - name: acme
    scheme: standard-webhooks
    secret_env: ACME_WEBHOOK_SECRET
    models:
      "user.*": user
  - name: legacy
    scheme: hmac-sha256
    secret_file: /run/secrets/legacy
    signature_header: X-Signature
    timestamp_header: X-Timestamp
    id_header: X-Event-Id
    type_field: event
    time_field: timestamp
    tolerance: 5m
    max_body_bytes: 1048576
outbound:
  secret_env: JUNCTION_WEBHOOK_SIGNING_SECRET
  allow: ["10.1.2.0/24", "receiver.internal:8443"]
  timeout: 30s
`

// loadYAML loads an adapter file with the SDK's loader: `hub:` and
// `adapter:` sections, unknown fields are errors.
func loadYAML(t *testing.T, adapter string) (Config, error) {
	t.Helper()
	indented := "  " + strings.ReplaceAll(strings.TrimSpace(adapter), "\n", "\n  ")
	path := filepath.Join(t.TempDir(), "webhook.yaml")
	doc := "hub:\n  nats_url: nats://127.0.0.1:4222\nadapter:\n" + indented + "\n"
	if err := os.WriteFile(path, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	_, c, err := sdk.LoadConfig[Config](path)
	return c, err
}

func TestConfigYAML(t *testing.T) {
	c, err := loadYAML(t, exampleYAML)
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	legacy := c.Sources[1]
	if legacy.Tolerance != 5*time.Minute || legacy.MaxBodyBytes != 1<<20 || legacy.SecretFile != "/run/secrets/legacy" || legacy.IDHeader != "X-Event-Id" {
		t.Errorf("legacy = %+v, want the YAML's values", legacy)
	}
	if c.Sources[0].SecretEnv != "ACME_WEBHOOK_SECRET" || c.Sources[0].Models["user.*"] != ModelUser {
		t.Errorf("acme = %+v, want the YAML's values", c.Sources[0])
	}
	if len(c.Outbound.Allow) != 2 || c.Outbound.Allow[1] != "receiver.internal:8443" || c.Outbound.Timeout != 30*time.Second {
		t.Errorf("outbound = %+v, want the allow list and timeout 30s", c.Outbound)
	}

	c, err = loadYAML(t, "sources:\n  - name: inline\n    scheme: hmac-sha256\n    secret: s3cret\noutbound:\n  secret: "+outboundSecret)
	if err != nil {
		t.Fatalf("load inline secrets: %v", err)
	}
	if c.Sources[0].Secret != "s3cret" || c.Outbound.Secret != outboundSecret {
		t.Errorf("inline secrets not decoded: %q, %q", string(c.Sources[0].Secret), string(c.Outbound.Secret))
	}

	tests := []struct{ name, doc, want string }{
		{"misspelt field", "sources:\n  - name: acme\n    sceme: hmac-sha256", "sceme"},
		{"invalid", "sources:\n  - name: acme\n    scheme: hmac-sha256\n    secret: x\n    id_field: a..b", `id_field "a..b" must be a dot path`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := loadYAML(t, tt.doc)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("load = %v, want an error containing %q", err, tt.want)
			}
		})
	}
}

func TestSecretsNeverPrinted(t *testing.T) {
	c := testConfig()
	var logs bytes.Buffer
	slog.New(slog.NewJSONHandler(&logs, nil)).Info("config", "config", c, "secret", c.Sources[0].Secret)
	js, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	ym, err := yaml.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	for name, out := range map[string]string{
		"fmt %v":  fmt.Sprintf("%v", c),
		"fmt %+v": fmt.Sprintf("%+v", c),
		"slog":    logs.String(),
		"json":    string(js),
		"yaml":    string(ym),
	} {
		for _, s := range []string{acmeSecret, betaSecret, outboundSecret} {
			if strings.Contains(out, s) {
				t.Errorf("%s output reveals secret %q:\n%s", name, s, out)
			}
		}
		if !strings.Contains(out, "REDACTED") {
			t.Errorf("%s output = %s, want REDACTED in place of secrets", name, out)
		}
	}
}

func TestModelPatterns(t *testing.T) {
	rules := compileModels(map[string]string{
		"user.>":         ModelContact,
		"user.*":         ModelUser,
		"user.deleted":   ModelNone,
		"*.created":      ModelContact,
		"crm.contact.>":  ModelContact,
		"crm.*.archived": ModelNone,
	})
	tests := []struct{ typ, want string }{
		{"user.created", ModelUser}, // "user.*" beats "user.>" and "*.created": same literal count, literal leftmost, '*' before '>'
		{"user.deleted", ""},
		{"user.profile.updated", ModelContact},
		{"order.created", ModelContact},
		{"order.paid", ""},
		{"crm.contact.archived", ModelContact}, // two literals beat one
		{"crm.deal.archived", ""},
		{"user", ""},
	}
	for _, tt := range tests {
		t.Run(tt.typ, func(t *testing.T) {
			if got := modelFor(rules, tt.typ); got != tt.want {
				t.Errorf("modelFor(%q) = %q, want %q", tt.typ, got, tt.want)
			}
		})
	}
}

func TestSources(t *testing.T) {
	a := newTestAdapter(t, testConfig())
	got := strings.Join(a.Sources(), ",")
	if want := "acme,beta,gamma,slow"; got != want {
		t.Errorf("Sources() = %s, want %s", got, want)
	}
}

func TestGenerateSecret(t *testing.T) {
	s, err := GenerateSecret()
	if err != nil {
		t.Fatal(err)
	}
	key, err := verify.DecodeStandardSecret(s)
	if err != nil || len(key) != 32 || !strings.HasPrefix(s, "whsec_") {
		t.Errorf("GenerateSecret = %q (%d bytes, %v), want whsec_ and 32 bytes", s, len(key), err)
	}
}
