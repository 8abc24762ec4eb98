package hub

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLoad(t *testing.T) {
	write := func(t *testing.T, body string) string {
		p := filepath.Join(t.TempDir(), "junction.yaml")
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	tests := []struct {
		name    string
		file    string
		env     map[string]string
		wantErr string
		check   func(t *testing.T, c Config)
	}{
		{
			name: "empty file takes defaults",
			file: "",
			check: func(t *testing.T, c Config) {
				c.SetDefaults()
				if c.HTTPAddr != DefaultHTTPAddr || c.GRPCAddr != DefaultGRPCAddr || c.NATSAddr != DefaultNATSAddr || c.DataDir != DefaultDataDir || c.Replicas != 1 {
					t.Errorf("defaults = %+v", c)
				}
			},
		},
		{
			name: "file fields, env wins",
			file: "http_addr: 127.0.0.1:18080\nsync: always\nwebhook:\n  sources:\n    - name: acme\n      scheme: hmac-sha256\n      secret: s\n",
			env:  map[string]string{"JUNCTION_HTTP_ADDR": "127.0.0.1:28080", "JUNCTION_REPLICAS": "3"},
			check: func(t *testing.T, c Config) {
				if c.HTTPAddr != "127.0.0.1:28080" {
					t.Errorf("http_addr = %q, want the env value", c.HTTPAddr)
				}
				if c.Sync != "always" || c.Replicas != 3 {
					t.Errorf("sync = %q replicas = %d, want always and 3", c.Sync, c.Replicas)
				}
				if len(c.Webhook.Sources) != 1 || c.Webhook.Sources[0].Name != "acme" {
					t.Errorf("webhook sources = %+v, want acme", c.Webhook.Sources)
				}
			},
		},
		{
			name: "api section, env wins",
			file: "api:\n  allowed_hosts: [junction.internal]\n  cors_allowed_origins: [\"https://console.example.com\"]\nwebhook:\n  outbound:\n    allow: [\"127.0.0.1/32\"]\n",
			env:  map[string]string{"JUNCTION_API_ALLOWED_HOSTS": "a.example, b.example:8443,"},
			check: func(t *testing.T, c Config) {
				if got := c.API.AllowedHosts; len(got) != 2 || got[0] != "a.example" || got[1] != "b.example:8443" {
					t.Errorf("allowed_hosts = %q, want the env list", got)
				}
				if got := c.API.CORSAllowedOrigins; len(got) != 1 || got[0] != "https://console.example.com" {
					t.Errorf("cors_allowed_origins = %q, want the file's", got)
				}
				if !c.LoopbackDeliveries() {
					t.Error("LoopbackDeliveries = false, want true for allow 127.0.0.1/32")
				}
			},
		},
		{name: "unknown field named", file: "http_adr: x\n", wantErr: "http_adr"},
		{name: "unknown nested field named", file: "webhook:\n  sorces: []\n", wantErr: "sorces"},
		{name: "replicas env not a number", env: map[string]string{"JUNCTION_REPLICAS": "three"}, wantErr: "JUNCTION_REPLICAS"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := ""
			if tt.file != "" || tt.name == "empty file takes defaults" {
				path = write(t, tt.file)
			}
			c, err := Load(path, func(k string) string { return tt.env[k] })
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Load error = %v, want one naming %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			tt.check(t, c)
		})
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name    string
		mutate  func(c *Config)
		wantErr []string
	}{
		{name: "defaults are valid", mutate: func(*Config) {}},
		{name: "sync interval", mutate: func(c *Config) { c.Sync = "250ms" }},
		{name: "bad address", mutate: func(c *Config) { c.HTTPAddr = "8080" }, wantErr: []string{"http_addr", "host:port"}},
		{name: "bad sync", mutate: func(c *Config) { c.Sync = "sometimes" }, wantErr: []string{"sync", "always"}},
		{name: "bad level", mutate: func(c *Config) { c.LogLevel = "loud" }, wantErr: []string{"log_level"}},
		{name: "bad replicas", mutate: func(c *Config) { c.Replicas = 2 }, wantErr: []string{"replicas"}},
		{name: "all at once", mutate: func(c *Config) { c.Sync = "x"; c.Replicas = 4 }, wantErr: []string{"sync", "replicas"}},
		{name: "bad cors origin", mutate: func(c *Config) { c.API.CORSAllowedOrigins = []string{"console.example.com"} }, wantErr: []string{"api.cors_allowed_origins[0]", "scheme://host"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var c Config
			c.SetDefaults()
			tt.mutate(&c)
			err := c.Validate()
			if len(tt.wantErr) == 0 {
				if err != nil {
					t.Fatalf("Validate = %v, want nil", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Validate = nil, want an error naming %v", tt.wantErr)
			}
			for _, w := range tt.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Validate = %q, want it to mention %q", err, w)
				}
			}
		})
	}
}
