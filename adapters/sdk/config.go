package sdk

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"regexp"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/junctionhq/junction/adapters/sdk/clip"
	"github.com/junctionhq/junction/adapters/sdk/limits"
	"github.com/junctionhq/junction/adapters/sdk/platform/tlsconfig"
	"github.com/junctionhq/junction/adapters/sdk/platform/topology"
)

// Environment variables that override the configuration file.
const (
	EnvConfig   = "JUNCTION_CONFIG"
	EnvNATSURL  = "JUNCTION_NATS_URL"
	EnvHTTPAddr = "JUNCTION_HTTP_ADDR"
	EnvInstance = "JUNCTION_INSTANCE"
	EnvLogLevel = "JUNCTION_LOG_LEVEL"
	// EnvTLSCertFile and EnvTLSKeyFile set [Config.TLSCertFile] and
	// [Config.TLSKeyFile].
	EnvTLSCertFile = "JUNCTION_TLS_CERT_FILE"
	EnvTLSKeyFile  = "JUNCTION_TLS_KEY_FILE"
)

// Defaults of [Config] fields left zero.
const (
	DefaultNATSURL         = "nats://127.0.0.1:4222"
	DefaultHTTPAddr        = "127.0.0.1:8081"
	DefaultLogLevel        = "info"
	DefaultPollInterval    = time.Minute
	DefaultConcurrency     = 16
	DefaultHeartbeatEvery  = 10 * time.Second
	DefaultShutdownTimeout = 30 * time.Second
)

// Config is the hub side of an adapter process: where the hub is, how the
// SDK runs the adapter. It is the `hub:` section of an adapter's
// configuration file; zero fields take their defaults.
type Config struct {
	// NATSURL is the hub's NATS URL, or a comma-separated list of them.
	// Default nats://127.0.0.1:4222.
	NATSURL string `yaml:"nats_url"`
	// HTTPAddr is where [Main] serves webhooks, /healthz and /readyz.
	// Default 127.0.0.1:8081.
	HTTPAddr string `yaml:"http_addr"`
	// Instance identifies this process among the app's instances. Default
	// hostname-pid.
	Instance string `yaml:"instance"`
	// LogLevel is debug, info, warn or error. Default info.
	LogLevel string `yaml:"log_level"`
	// PollInterval is the time between two polls of a PollingSource.
	// Default 1m.
	PollInterval time.Duration `yaml:"poll_interval"`
	// CursorGroup is the instance group whose instances share a
	// CursorSource's cursor: instances polling the same account share
	// one group. Default "default".
	CursorGroup string `yaml:"cursor_group"`
	// Concurrency is how many deliveries a Sink handles at once from its
	// live consumer, and again from its retry consumer. Default 16.
	Concurrency int `yaml:"concurrency"`
	// RouteConcurrency is each route's guaranteed share of those shared
	// workers: a route with that many attempts in flight takes another
	// worker only while more than RouteConcurrency are free, so a route
	// whose endpoint hangs or is slow never takes the last of them from the
	// other routes. Its further deliveries are parked in its own lane,
	// worked by RouteConcurrency workers of its own. A busy route alone
	// still uses the whole pool. Default a quarter of Concurrency, at
	// least 1.
	RouteConcurrency int `yaml:"route_concurrency"`
	// HeartbeatEvery is the time between two registration heartbeats; it
	// must be shorter than the registry's TTL. Default 10s.
	HeartbeatEvery time.Duration `yaml:"heartbeat_every"`
	// ShutdownTimeout bounds the wait for in-flight deliveries and polls on
	// shutdown. Default 30s.
	ShutdownTimeout time.Duration `yaml:"shutdown_timeout"`
	// NATSAuth holds the credentials and TLS settings of the connection
	// to the hub (nats_creds_file, nats_nkey_file, nats_user, ...), at the
	// same level as nats_url.
	NATSAuth `yaml:",inline"`
	// TLSCertFile and TLSKeyFile, when set, serve HTTPS (TLS 1.2 or
	// newer) on HTTPAddr with this PEM certificate chain and key, reloaded
	// when the files change (see package tlsconfig). Both or neither.
	TLSCertFile string `yaml:"tls_cert_file"`
	TLSKeyFile  string `yaml:"tls_key_file"`
	// HTTP bounds what the HTTP server on HTTPAddr holds for clients:
	// read, header, write and idle timeouts and a connection cap (keys
	// read_timeout, idle_timeout, max_connections, ...; package limits).
	HTTP limits.Config `yaml:"http"`
}

var instanceRe = regexp.MustCompile(`^[A-Za-z0-9_-]{1,128}$`)

// WithDefaults returns c with every zero field set to its default.
func (c Config) WithDefaults() Config {
	if c.NATSURL == "" {
		c.NATSURL = DefaultNATSURL
	}
	if c.HTTPAddr == "" {
		c.HTTPAddr = DefaultHTTPAddr
	}
	if c.Instance == "" {
		c.Instance = defaultInstance()
	}
	if c.LogLevel == "" {
		c.LogLevel = DefaultLogLevel
	}
	if c.PollInterval == 0 {
		c.PollInterval = DefaultPollInterval
	}
	if c.Concurrency == 0 {
		c.Concurrency = DefaultConcurrency
	}
	if c.RouteConcurrency == 0 {
		c.RouteConcurrency = max(c.Concurrency/4, 1)
	}
	if c.HeartbeatEvery == 0 {
		c.HeartbeatEvery = DefaultHeartbeatEvery
	}
	if c.ShutdownTimeout == 0 {
		c.ShutdownTimeout = DefaultShutdownTimeout
	}
	c.HTTP = c.HTTP.WithDefaults()
	return c
}

// Validate reports every field that is wrong and how to fix it. Zero fields
// are valid: they take their defaults.
func (c *Config) Validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if c.NATSURL != "" {
		for u := range strings.SplitSeq(c.NATSURL, ",") {
			u = strings.TrimSpace(u)
			if u == "" || strings.ContainsAny(u, " \t") {
				bad("hub.nats_url %q: give one or more comma-separated URLs such as nats://127.0.0.1:4222", c.NATSURL)
				break
			}
		}
	}
	if c.HTTPAddr != "" && !strings.Contains(c.HTTPAddr, ":") {
		bad("hub.http_addr %q: give host:port, e.g. 127.0.0.1:8081 or :8081", c.HTTPAddr)
	}
	if c.Instance != "" && !instanceRe.MatchString(c.Instance) {
		bad("hub.instance %q: use 1 to 128 letters, digits, '_' or '-'", c.Instance)
	}
	if c.CursorGroup != "" {
		if err := topology.ValidToken(c.CursorGroup); err != nil {
			bad("hub.cursor_group: %v", err)
		}
	}
	if c.LogLevel != "" {
		if _, err := parseLevel(c.LogLevel); err != nil {
			bad("hub.log_level: %w", err)
		}
	}
	if c.PollInterval < 0 || (c.PollInterval > 0 && c.PollInterval < 100*time.Millisecond) {
		bad("hub.poll_interval %v: use at least 100ms", c.PollInterval)
	}
	if c.Concurrency < 0 || c.Concurrency > 1000 {
		bad("hub.concurrency %d: use 1 to 1000", c.Concurrency)
	}
	if c.RouteConcurrency < 0 || c.RouteConcurrency > 1000 {
		bad("hub.route_concurrency %d: use 1 to 1000", c.RouteConcurrency)
	}
	if c.HeartbeatEvery < 0 || c.HeartbeatEvery > topology.AdapterTTL/2 {
		bad("hub.heartbeat_every %v: use a positive duration of at most %v, half the registry TTL", c.HeartbeatEvery, topology.AdapterTTL/2)
	}
	if c.ShutdownTimeout < 0 {
		bad("hub.shutdown_timeout %v: use a positive duration", c.ShutdownTimeout)
	}
	if err := c.NATSAuth.Validate(); err != nil {
		bad("hub.%w", err)
	}
	if err := c.HTTP.Validate("hub.http"); err != nil {
		errs = append(errs, err)
	}
	if err := (tlsconfig.Files{CertFile: c.TLSCertFile, KeyFile: c.TLSKeyFile}).Validate("hub.tls_cert_file", "hub.tls_key_file"); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

func parseLevel(s string) (slog.Level, error) {
	switch strings.ToLower(s) {
	case "debug":
		return slog.LevelDebug, nil
	case "info", "":
		return slog.LevelInfo, nil
	case "warn", "warning":
		return slog.LevelWarn, nil
	case "error":
		return slog.LevelError, nil
	}
	return 0, fmt.Errorf("level %q is not one of debug, info, warn, error", s)
}

func defaultInstance() string {
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "adapter"
	}
	host, _, _ = strings.Cut(host, ".")
	clean := []byte(host)
	for i, b := range clean {
		if !(b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b >= '0' && b <= '9' || b == '-' || b == '_') {
			clean[i] = '-'
		}
	}
	return clip.Cut(string(clean), 100) + "-" + fmt.Sprint(os.Getpid())
}

// configFile is the layout of an adapter's configuration file.
type configFile[C any] struct {
	Hub     Config `yaml:"hub"`
	Adapter C      `yaml:"adapter"`
}

// LoadConfig reads an adapter's configuration: the YAML file at path (none
// when path is empty) with the top-level keys `hub:` ([Config]) and
// `adapter:` (C), decoded strictly so that an unknown or misspelt field is an
// error naming it; then the JUNCTION_NATS_URL, JUNCTION_HTTP_ADDR,
// JUNCTION_INSTANCE and JUNCTION_LOG_LEVEL environment variables, and the
// JUNCTION_NATS_* credential and TLS variables ([NATSAuth.ApplyEnv]),
// override the file. The hub config is returned with defaults filled in and validated;
// the adapter config is validated when *C has a Validate() error method.
func LoadConfig[C any](path string) (Config, C, error) {
	var f configFile[C]
	if path != "" {
		data, err := os.ReadFile(path)
		if err != nil {
			return Config{}, f.Adapter, fmt.Errorf("read config: %w", err)
		}
		if err := decodeStrict(bytes.NewReader(data), &f); err != nil {
			return Config{}, f.Adapter, fmt.Errorf("config %s: %w", path, err)
		}
	}
	for env, field := range map[string]*string{
		EnvNATSURL:  &f.Hub.NATSURL,
		EnvHTTPAddr: &f.Hub.HTTPAddr,
		EnvInstance: &f.Hub.Instance,
		EnvLogLevel: &f.Hub.LogLevel,

		EnvTLSCertFile: &f.Hub.TLSCertFile,
		EnvTLSKeyFile:  &f.Hub.TLSKeyFile,
	} {
		if v, ok := os.LookupEnv(env); ok && v != "" {
			*field = v
		}
	}
	f.Hub.NATSAuth.ApplyEnv(os.Getenv)
	if err := f.Hub.Validate(); err != nil {
		return Config{}, f.Adapter, fmt.Errorf("invalid config: %w", err)
	}
	if v, ok := any(&f.Adapter).(interface{ Validate() error }); ok {
		if err := v.Validate(); err != nil {
			return Config{}, f.Adapter, fmt.Errorf("invalid adapter config: %w", err)
		}
	}
	return f.Hub.WithDefaults(), f.Adapter, nil
}

func decodeStrict(r io.Reader, out any) error {
	dec := yaml.NewDecoder(r)
	dec.KnownFields(true)
	if err := dec.Decode(out); err != nil {
		if errors.Is(err, io.EOF) {
			return nil // an empty file: all defaults
		}
		return err
	}
	return nil
}
