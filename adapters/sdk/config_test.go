package sdk_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/junctionhq/junction/adapters/sdk"
	"github.com/junctionhq/junction/adapters/sdk/limits"
)

// appConfig is an adapter's own configuration.
type appConfig struct {
	Endpoint string        `yaml:"endpoint"`
	Timeout  time.Duration `yaml:"timeout"`
}

func (c *appConfig) Validate() error {
	if c.Endpoint == "" {
		return errors.New("adapter.endpoint is required")
	}
	return nil
}

func writeConfig(t *testing.T, text string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "adapter.yaml")
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func clearEnv(t *testing.T) {
	for _, k := range []string{sdk.EnvNATSURL, sdk.EnvHTTPAddr, sdk.EnvInstance, sdk.EnvLogLevel} {
		t.Setenv(k, "")
	}
}

func TestLoadConfig(t *testing.T) {
	clearEnv(t)
	path := writeConfig(t, `
hub:
  nats_url: nats://hub:4222
  http_addr: 127.0.0.1:9999
  instance: web-1
  poll_interval: 30s
  concurrency: 4
  route_concurrency: 2
adapter:
  endpoint: https://api.example.com
  timeout: 5s
`)
	hub, app, err := sdk.LoadConfig[appConfig](path)
	if err != nil {
		t.Fatalf("LoadConfig: %v", err)
	}
	wantHub := sdk.Config{
		NATSURL: "nats://hub:4222", HTTPAddr: "127.0.0.1:9999", Instance: "web-1", LogLevel: "info",
		PollInterval: 30 * time.Second, Concurrency: 4, RouteConcurrency: 2, HeartbeatEvery: 10 * time.Second, ShutdownTimeout: 30 * time.Second,
		HTTP: limits.Config{}.WithDefaults(),
	}
	if hub != wantHub {
		t.Errorf("hub config = %+v, want %+v", hub, wantHub)
	}
	if want := (appConfig{Endpoint: "https://api.example.com", Timeout: 5 * time.Second}); app != want {
		t.Errorf("adapter config = %+v, want %+v", app, want)
	}
}

func TestLoadConfigEnvOverrides(t *testing.T) {
	clearEnv(t)
	path := writeConfig(t, "hub:\n  nats_url: nats://file:4222\n  log_level: info\nadapter:\n  endpoint: x\n")
	t.Setenv(sdk.EnvNATSURL, "nats://env:4222")
	t.Setenv(sdk.EnvHTTPAddr, ":7000")
	t.Setenv(sdk.EnvInstance, "pod-7")
	t.Setenv(sdk.EnvLogLevel, "debug")
	hub, _, err := sdk.LoadConfig[appConfig](path)
	if err != nil {
		t.Fatalf("LoadConfig: %v", err)
	}
	got := [4]string{hub.NATSURL, hub.HTTPAddr, hub.Instance, hub.LogLevel}
	want := [4]string{"nats://env:4222", ":7000", "pod-7", "debug"}
	if got != want {
		t.Errorf("overridden (url, addr, instance, level) = %q, want %q", got, want)
	}
}

func TestLoadConfigDefaults(t *testing.T) {
	clearEnv(t)
	type none struct{}
	hub, _, err := sdk.LoadConfig[none]("")
	if err != nil {
		t.Fatalf("LoadConfig without a file: %v", err)
	}
	if hub.NATSURL != sdk.DefaultNATSURL || hub.HTTPAddr != sdk.DefaultHTTPAddr || hub.Concurrency != sdk.DefaultConcurrency ||
		hub.PollInterval != sdk.DefaultPollInterval || hub.Instance == "" {
		t.Errorf("defaults = %+v", hub)
	}
	if err := hub.Validate(); err != nil {
		t.Errorf("default config does not validate: %v (instance %q)", err, hub.Instance)
	}
}

func TestLoadConfigErrors(t *testing.T) {
	clearEnv(t)
	tests := []struct {
		name string
		yaml string
		env  map[string]string
		want []string
	}{
		{"unknown adapter field", "adapter:\n  endpoint: x\n  endpont: y\n", nil, []string{"endpont", "line 3"}},
		{"unknown hub field", "hub:\n  nats_ulr: nats://x\nadapter:\n  endpoint: x\n", nil, []string{"nats_ulr"}},
		{"unknown top-level key", "hubb: {}\nadapter:\n  endpoint: x\n", nil, []string{"hubb"}},
		{"bad duration", "hub:\n  poll_interval: often\nadapter:\n  endpoint: x\n", nil, []string{"often"}},
		{"adapter validate", "adapter:\n  timeout: 1s\n", nil, []string{"adapter.endpoint is required"}},
		{"hub validate", "hub:\n  concurrency: -2\n  log_level: loud\n  heartbeat_every: 5m\nadapter:\n  endpoint: x\n", nil,
			[]string{"hub.concurrency -2", `"loud"`, "hub.heartbeat_every 5m0s"}},
		{"bad env value", "adapter:\n  endpoint: x\n", map[string]string{sdk.EnvInstance: "bad instance!"}, []string{"hub.instance", "bad instance!"}},
		{"not yaml", "hub: [\n", nil, []string{"config"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			_, _, err := sdk.LoadConfig[appConfig](writeConfig(t, tt.yaml))
			if err == nil {
				t.Fatalf("LoadConfig(%q) = nil error, want one mentioning %q", tt.yaml, tt.want)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("LoadConfig(%q) error %q does not mention %q", tt.yaml, err, w)
				}
			}
		})
	}
	if _, _, err := sdk.LoadConfig[appConfig](filepath.Join(t.TempDir(), "missing.yaml")); err == nil || !strings.Contains(err.Error(), "missing.yaml") {
		t.Errorf("LoadConfig(missing file) error = %v, want one naming the file", err)
	}
}
