package hub

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"go.yaml.in/yaml/v3"

	"github.com/junctionhq/junction/adapters/sdk/platform/storecheck"
	"github.com/junctionhq/junction/adapters/sdk/platform/topology"
)

// StorageConfig bounds the hub's store (the `storage:` section):
//
//	storage:
//	  max_store: 20GiB        # the embedded NATS's whole file store
//	  check_interval: 2s      # how often /readyz's store check runs
//	  limits:                 # per stream or bucket
//	    events: {max_bytes: 10GiB, max_age: 168h}
//	    idempotency: {max_bytes: 1GiB}
//
// Names are events, deliveries, retries, lanes, dlq, attempts, routes,
// idempotency, adapters and keys (or the stream and bucket names
// themselves). docs/operations.md says what happens when each is full.
type StorageConfig struct {
	// MaxStore caps the embedded NATS's file store (JetStreamMaxStore);
	// zero leaves the server's own default, 75% of the free disk. Every
	// stream's and bucket's max_bytes is reserved against it at start.
	MaxStore Size `yaml:"max_store"`
	// CheckInterval is how often the store is checked for /readyz;
	// default 2s.
	CheckInterval time.Duration `yaml:"check_interval"`
	// Limits override the default limit of streams and buckets.
	Limits map[string]StoreLimit `yaml:"limits"`
}

// StoreLimit bounds one stream or bucket; zero fields keep the default.
type StoreLimit struct {
	// MaxBytes is the most the stream may hold, e.g. 10GiB or 512MiB.
	MaxBytes Size `yaml:"max_bytes"`
	// MaxAge is how long a message is kept, e.g. 168h.
	MaxAge time.Duration `yaml:"max_age"`
}

// storeAliases maps the configuration's short names onto stream and
// bucket names.
var storeAliases = map[string]string{
	"events":      topology.EventsStream,
	"deliveries":  topology.DeliveriesStream,
	"retries":     topology.RetriesStream,
	"lanes":       topology.LanesStream,
	"dlq":         topology.DLQStream,
	"attempts":    topology.AttemptsStream,
	"routes":      topology.RoutesBucket,
	"idempotency": topology.IdempotencyBucket,
	"adapters":    topology.AdaptersBucket,
	"keys":        topology.KeysBucket,
}

// Topology returns the topology options of the configuration.
func (c *Config) Topology() topology.Options {
	o := topology.Options{Replicas: c.Replicas, Limits: map[string]topology.Limit{}}
	for name, l := range c.Storage.Limits {
		if full, ok := storeAliases[strings.ToLower(name)]; ok {
			name = full
		}
		o.Limits[name] = topology.Limit{MaxBytes: int64(l.MaxBytes), MaxAge: l.MaxAge}
	}
	return o
}

func (s *StorageConfig) setDefaults() {
	if s.CheckInterval <= 0 {
		s.CheckInterval = storecheck.DefaultInterval
	}
}

func (c *Config) validateStorage() error {
	o := c.Topology()
	if err := topology.ValidateLimits(o.Limits); err != nil {
		return fmt.Errorf("storage.limits: %w (short names: %s)", err, strings.Join(slices.Sorted(mapsKeys(storeAliases)), ", "))
	}
	if c.Storage.MaxStore < 0 {
		return errors.New("storage.max_store: must not be negative")
	}
	if max := int64(c.Storage.MaxStore); max > 0 && c.NATSURL == "" {
		if sum := topology.ReservedBytes(o); sum > max {
			return fmt.Errorf("storage.max_store: %s is less than the streams' and buckets' max_bytes add up to (%s): raise it or lower storage.limits", Size(max), Size(sum))
		}
	}
	return nil
}

func mapsKeys(m map[string]string) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// Size is a byte count that reads from YAML as a number of bytes or a
// string with a unit: "512MiB", "10GiB", "2GB", "64KiB".
type Size int64

var sizeRe = regexp.MustCompile(`^\s*([0-9]+)\s*([KMGT]I?B?|B)?\s*$`)

// ParseSize reads a Size.
func ParseSize(s string) (Size, error) {
	m := sizeRe.FindStringSubmatch(strings.ToUpper(s))
	if m == nil {
		return 0, fmt.Errorf("size %q must be a number of bytes or one with a unit, e.g. 512MiB or 10GiB", s)
	}
	n, err := strconv.ParseInt(m[1], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("size %q: %w", s, err)
	}
	unit := strings.TrimSuffix(m[2], "B")
	mult := map[string]int64{"": 1, "K": 1e3, "M": 1e6, "G": 1e9, "T": 1e12,
		"KI": 1 << 10, "MI": 1 << 20, "GI": 1 << 30, "TI": 1 << 40}[unit]
	if n > (1<<62)/mult {
		return 0, fmt.Errorf("size %q is too large", s)
	}
	return Size(n * mult), nil
}

// UnmarshalYAML reads a number or a string with a unit.
func (z *Size) UnmarshalYAML(n *yaml.Node) error {
	v, err := ParseSize(n.Value)
	if err != nil {
		return err
	}
	*z = v
	return nil
}

// String writes the size in the largest binary unit that divides it.
func (z Size) String() string {
	for _, u := range []struct {
		n    int64
		name string
	}{{1 << 40, "TiB"}, {1 << 30, "GiB"}, {1 << 20, "MiB"}, {1 << 10, "KiB"}} {
		if z != 0 && int64(z)%u.n == 0 {
			return strconv.FormatInt(int64(z)/u.n, 10) + u.name
		}
	}
	return strconv.FormatInt(int64(z), 10) + "B"
}

// serverStoreHealth asks the embedded NATS for its JetStream health,
// which includes every stream's sticky write error. A write error or a
// JetStream that turned itself off is fatal ([storecheck.ErrFatal]): the
// server reopens a stream only at start, so the hub exits and its
// supervisor restarts it.
func serverStoreHealth(ns *server.Server) func(context.Context) error {
	return func(context.Context) error {
		hs := ns.Healthz(&server.HealthzOptions{Details: true})
		if hs == nil || len(hs.Errors) == 0 && hs.Error == "" {
			return nil
		}
		var msgs []string
		stream, jsDown := "", !ns.JetStreamEnabled()
		for _, e := range hs.Errors {
			msgs = append(msgs, e.Error)
			if stream == "" && e.Stream != "" {
				stream = e.Stream
			}
		}
		if hs.Error != "" {
			msgs = append(msgs, hs.Error)
		}
		err := errors.New(strings.Join(msgs, "; "))
		if jsDown {
			return &storecheck.Error{Reason: storecheck.Unavailable, Err: fmt.Errorf("%w: jetstream is off: %w", storecheck.ErrFatal, err)}
		}
		if strings.Contains(err.Error(), "write error") {
			return &storecheck.Error{Reason: storecheck.WriteError, Stream: stream, Err: fmt.Errorf("%w: %w", storecheck.ErrFatal, err)}
		}
		return &storecheck.Error{Reason: storecheck.Unavailable, Stream: stream, Err: err}
	}
}

// storeStreams are the streams whose being full makes the hub unready:
// intake's. Full work streams push back on the router and sinks and show
// in junction_stream_bytes, but do not stop intake.
func storeStreams() []string { return storecheck.SourceStreams() }

// newStoreCheck is the hub's store check: intake's streams, and with the
// embedded NATS the server's own health.
func newStoreCheck(h *Hub, cfg Config, logger *slog.Logger) *storecheck.Monitor {
	o := storecheck.Options{Component: "serve", Interval: cfg.Storage.CheckInterval, Streams: storeStreams(), Logger: logger.With("component", "store")}
	if h.ns != nil {
		o.Server = serverStoreHealth(h.ns)
	}
	return storecheck.New(h.js, o)
}
