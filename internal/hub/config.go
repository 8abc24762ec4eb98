package hub

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/junctionhq/junction/adapters/sdk"
	"github.com/junctionhq/junction/adapters/sdk/limits"
	"github.com/junctionhq/junction/adapters/webhook"
	"github.com/junctionhq/junction/internal/apitls"
	"github.com/junctionhq/junction/internal/natsauth"
)

// Config is the configuration of `junction serve`. Zero fields take the
// defaults below; Load reads it from a YAML file and JUNCTION_* variables.
type Config struct {
	// DataDir holds the embedded NATS file store. Default ./data.
	DataDir string `yaml:"data_dir"`
	// HTTPAddr serves REST (/v1), webhooks (/webhooks/<source>), /healthz,
	// /readyz and /openapi.json. Default 127.0.0.1:8080.
	HTTPAddr string `yaml:"http_addr"`
	// GRPCAddr serves the gRPC API. Default 127.0.0.1:9090.
	GRPCAddr string `yaml:"grpc_addr"`
	// NATSAddr is where the embedded NATS listens, so users' services can
	// subscribe. Default 127.0.0.1:4222.
	NATSAddr string `yaml:"nats_addr"`
	// NATSURL, when set, runs every component against that NATS instead of
	// an embedded one.
	NATSURL string `yaml:"nats_url"`
	// Sync is the embedded JetStream's flush policy: "default" (the
	// server's two-minute interval), "always" (flush before every ack), or
	// a duration such as "1s".
	Sync string `yaml:"sync"`
	// LogLevel is debug, info, warn or error. Default info.
	LogLevel string `yaml:"log_level"`
	// Replicas of streams and buckets; 1 embedded, 3 on a NATS cluster.
	Replicas int `yaml:"replicas"`
	// Webhook configures the built-in generic webhook adapter.
	Webhook webhook.Config `yaml:"webhook"`
	// Sources are app adapters (stripe, github, ...) run inside serve,
	// each taking its app's webhooks at /webhooks/<app> (apps.go).
	Sources []SourceApp `yaml:"sources"`
	// NATSUsers are users of the embedded NATS for other processes
	// (adapters, subscribers, routers, gateways), added to the default
	// ones (webhook, router, gateway, subscriber); serve writes each one's
	// nkey seed to <data_dir>/nats/<name>.nk. See docs/security/nats.md.
	NATSUsers []natsauth.User `yaml:"nats_users"`
	// NATSAuth holds the credentials and TLS settings for an external
	// NATS (nats_url): nats_creds_file, nats_nkey_file, nats_user, ...
	NATSAuth sdk.NATSAuth `yaml:",inline"`
	// API says which browser-borne requests the REST API accepts.
	API APIConfig `yaml:"api"`
	// TLS secures the gRPC and HTTP listeners (certificate files reloaded
	// on change, optional mutual TLS, or a self-signed development CA).
	TLS apitls.Config `yaml:"tls"`
	// Auth configures API keys, OIDC tokens and rate limits (auth.go).
	Auth AuthConfig `yaml:"auth"`
	// HTTP bounds what the HTTP and gRPC listeners hold for clients:
	// read, header, write and idle timeouts, a connection cap per
	// listener, gRPC streams per connection (package limits).
	HTTP limits.Config `yaml:"http"`
	// Storage bounds every stream and bucket and the embedded store
	// (storage.go, docs/operations.md).
	Storage StorageConfig `yaml:"storage"`
}

// Defaults.
const (
	DefaultDataDir  = "./data"
	DefaultHTTPAddr = "127.0.0.1:8080"
	DefaultGRPCAddr = "127.0.0.1:9090"
	DefaultNATSAddr = "127.0.0.1:4222"
)

// SetDefaults fills zero fields.
func (c *Config) SetDefaults() {
	if c.DataDir == "" {
		c.DataDir = DefaultDataDir
	}
	if c.HTTPAddr == "" {
		c.HTTPAddr = DefaultHTTPAddr
	}
	if c.GRPCAddr == "" {
		c.GRPCAddr = DefaultGRPCAddr
	}
	if c.NATSAddr == "" {
		c.NATSAddr = DefaultNATSAddr
	}
	if c.Sync == "" {
		c.Sync = "default"
	}
	if c.LogLevel == "" {
		c.LogLevel = "info"
	}
	if c.Replicas == 0 {
		c.Replicas = 1
	}
	c.HTTP = c.HTTP.WithDefaults()
	c.Storage.setDefaults()
	if c.NATSURL == "" {
		c.Auth.setDefaults(c.DataDir)
	} else {
		c.Auth.setDefaults("")
	}
}

// Validate says what is wrong with the configuration, all of it at once.
func (c *Config) Validate() error {
	var errs []error
	for name, addr := range map[string]string{"http_addr": c.HTTPAddr, "grpc_addr": c.GRPCAddr, "nats_addr": c.NATSAddr} {
		if _, _, err := net.SplitHostPort(addr); err != nil {
			errs = append(errs, fmt.Errorf("%s: %q is not host:port (e.g. 127.0.0.1:8080)", name, addr))
		}
	}
	if _, _, err := c.syncPolicy(); err != nil {
		errs = append(errs, err)
	}
	if _, err := ParseLevel(c.LogLevel); err != nil {
		errs = append(errs, err)
	}
	if c.Replicas != 1 && c.Replicas != 3 && c.Replicas != 5 {
		errs = append(errs, fmt.Errorf("replicas: %d must be 1, 3 or 5", c.Replicas))
	}
	if err := c.NATSAuth.Validate(); err != nil {
		errs = append(errs, err)
	}
	for _, u := range c.NATSUsers {
		if err := u.Validate(); err != nil {
			errs = append(errs, err)
		}
	}
	if err := c.API.Browser().Validate("api"); err != nil {
		errs = append(errs, err)
	}
	if err := c.TLS.Validate(); err != nil {
		errs = append(errs, err)
	}
	if c.NATSURL == "" && c.DataDir == "" {
		errs = append(errs, errors.New("data_dir: required for the embedded NATS"))
	}
	if err := c.Auth.validate(); err != nil {
		errs = append(errs, err)
	}
	if err := c.HTTP.Validate("http"); err != nil {
		errs = append(errs, err)
	}
	if err := c.validateStorage(); err != nil {
		errs = append(errs, err)
	}
	errs = append(errs, c.validateSources()...)
	return errors.Join(errs...)
}

// syncPolicy maps Sync onto the server's SyncAlways and SyncInterval.
func (c *Config) syncPolicy() (always bool, interval time.Duration, err error) {
	switch strings.ToLower(c.Sync) {
	case "", "default":
		return false, 0, nil
	case "always":
		return true, 0, nil
	}
	d, err := time.ParseDuration(c.Sync)
	if err != nil || d <= 0 {
		return false, 0, fmt.Errorf("sync: %q must be \"default\", \"always\" or a positive duration such as \"1s\"", c.Sync)
	}
	return false, d, nil
}

// envVars maps each JUNCTION_* variable to the field it sets.
func (c *Config) envVars() map[string]*string {
	return map[string]*string{
		"JUNCTION_DATA_DIR":  &c.DataDir,
		"JUNCTION_HTTP_ADDR": &c.HTTPAddr,
		"JUNCTION_GRPC_ADDR": &c.GRPCAddr,
		"JUNCTION_NATS_ADDR": &c.NATSAddr,
		"JUNCTION_NATS_URL":  &c.NATSURL,
		"JUNCTION_SYNC":      &c.Sync,
		"JUNCTION_LOG_LEVEL": &c.LogLevel,

		"JUNCTION_ADMIN_KEY_FILE": &c.Auth.AdminKeyFile,
	}
}

// Load reads the YAML file at path (none when empty), rejecting unknown
// fields, then applies JUNCTION_* environment variables. Flags are applied
// by the caller after Load; SetDefaults and Validate come last.
func Load(path string, getenv func(string) string) (Config, error) {
	var c Config
	if path != "" {
		b, err := os.ReadFile(path)
		if err != nil {
			return c, fmt.Errorf("read config: %w", err)
		}
		dec := yaml.NewDecoder(bytes.NewReader(b))
		dec.KnownFields(true)
		if err := dec.Decode(&c); err != nil && !errors.Is(err, io.EOF) {
			return c, fmt.Errorf("config %s: %w", path, err)
		}
	}
	if getenv == nil {
		getenv = os.Getenv
	}
	for name, field := range c.envVars() {
		if v := getenv(name); v != "" {
			*field = v
		}
	}
	c.NATSAuth.ApplyEnv(getenv)
	c.API.apiEnv(getenv)
	if err := c.TLS.ApplyEnv(getenv); err != nil {
		return c, err
	}
	if v := getenv("JUNCTION_REPLICAS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			return c, fmt.Errorf("JUNCTION_REPLICAS: %q is not a number (1, 3 or 5)", v)
		}
		c.Replicas = n
	}
	return c, nil
}
