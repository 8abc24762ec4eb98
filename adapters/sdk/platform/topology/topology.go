// Package topology names the hub's streams, subjects and key-value buckets
// and creates them, and owns the wire format of every message the hub
// writes (wire.go): subjects, Nats-Msg-Id, headers and bodies are built
// and parsed here and nowhere else (internal/wirelint in the root module
// fails the tests when other code spells them by hand). It is the one
// place that knows the layout DESIGN.md describes, shared by the platform
// (router, gateway, `junction serve`, the CLI, the bench) and by the SDK,
// which cannot import the platform's internal packages.
//
// Subjects:
//
//	junction.events.<source>.<type...>        EVENTS stream
//	junction.deliveries.<destination>.<route> DELIVERIES stream
//	junction.dlq.<destination>.<route>        DLQ stream
//
// Buckets: routes (key = route id), idempotency (key = source + "." +
// base64url(event id), value = EVENTS sequence, TTL IdempotencyTTL),
// adapters (key = app + "." + instance, heartbeats with a short TTL),
// keys (key = API key id, the gateway's keys with hashed secrets) and
// cursors (key = app + "." + group + "." + name, polling positions).
package topology

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/junctionhq/junction/adapters/sdk/clip"
)

// Stream, subject and bucket names.
const (
	EventsStream     = "EVENTS"
	DeliveriesStream = "DELIVERIES"
	DLQStream        = "DLQ"

	EventsPrefix     = "junction.events."
	DeliveriesPrefix = "junction.deliveries."
	DLQPrefix        = "junction.dlq."

	RoutesBucket      = "junction_routes"
	IdempotencyBucket = "junction_idempotency"
	AdaptersBucket    = "junction_adapters"
	// KeysBucket holds the gateway's API keys (key = key id), each stored
	// with a keyed hash of its secret, never the secret.
	KeysBucket = "junction_keys"
	// CursorsBucket holds polling sources' positions (key = app + "." +
	// group + "." + name, see CursorKey), updated compare-and-set.
	CursorsBucket = "junction_cursors"
	// RouteStatusBucket holds the router's report on each route (key =
	// route id, value = a junction.v1.RouteStatus): degraded or healthy.
	RouteStatusBucket = "junction_route_status"

	// RouterConsumer is the durable consumer all routers share on EVENTS.
	RouterConsumer = "router"
)

// Message header names set on hub messages besides Nats-Msg-Id.
const (
	HeaderContentType = "Content-Type"
	HeaderEventID     = "Junction-Event-Id"
	HeaderEventSource = "Junction-Event-Source"
	HeaderEventType   = "Junction-Event-Type"
	HeaderDeliveryID  = "Junction-Delivery-Id"

	// ContentTypeEvent is the Content-Type of a junction.v1.Event message.
	ContentTypeEvent = "application/protobuf; proto=junction.v1.Event"
	// ContentTypeDelivery is the Content-Type of a junction.v1.Delivery message.
	ContentTypeDelivery = "application/protobuf; proto=junction.v1.Delivery"
)

// Defaults for Options fields left zero.
const (
	DefaultEventsMaxAge     = 7 * 24 * time.Hour
	DefaultDeliveriesMaxAge = 7 * 24 * time.Hour
	DefaultDLQMaxAge        = 30 * 24 * time.Hour
	// DefaultIdempotencyTTL is how long a provider event id is remembered.
	// Providers retry for up to three days (Stripe), so 72 hours is the
	// floor; it matches the EVENTS retention so GetEvent finds every event
	// still stored.
	DefaultIdempotencyTTL = 7 * 24 * time.Hour
	// DuplicateWindow is JetStream's Nats-Msg-Id window on every stream.
	DuplicateWindow = 2 * time.Minute
	// AdapterTTL is how long an adapter's heartbeat stays in the registry.
	AdapterTTL = 60 * time.Second
)

// ErrInvalidName is returned for a source, type, destination or route id
// that cannot be a subject token.
var ErrInvalidName = errors.New("invalid name")

var (
	tokenRe = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,62}$`)
	typeRe  = regexp.MustCompile(`^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$`)
)

// ValidToken reports whether s can be a source, destination or route id: 1 to
// 63 characters of [a-z0-9_-], starting with a letter or digit.
func ValidToken(s string) error {
	if !tokenRe.MatchString(s) {
		return fmt.Errorf("%w: %q must be 1 to 63 characters of a-z, 0-9, '_' and '-', starting with a letter or digit", ErrInvalidName, clip.String(s))
	}
	return nil
}

// ValidType reports whether s can be an event type: dot-separated words of
// [A-Za-z0-9_-], e.g. "user.created".
func ValidType(s string) error {
	if len(s) > 200 || !typeRe.MatchString(s) {
		return fmt.Errorf("%w: event type %q must be dot-separated words of letters, digits, '_' and '-', e.g. \"user.created\"", ErrInvalidName, clip.String(s))
	}
	return nil
}

// EventSubject is the subject an event of source and type is stored under.
func EventSubject(source, typ string) string {
	return EventsPrefix + source + "." + typ
}

// DeliverySubject is the subject of a delivery for destination from route.
func DeliverySubject(destination, routeID string) string {
	return DeliveriesPrefix + destination + "." + routeID
}

// DLQSubject is the subject of a dead letter for destination from route.
func DLQSubject(destination, routeID string) string {
	return DLQPrefix + destination + "." + routeID
}

// DeliveryConsumer is the durable consumer name of a destination's sink.
func DeliveryConsumer(destination string) string {
	return "deliver-" + destination
}

// EventMsgID is the Nats-Msg-Id of an event on EVENTS.
func EventMsgID(source, id string) string {
	return source + ":" + id
}

// IdempotencyKey is the idempotency bucket key of an event.
func IdempotencyKey(source, id string) string {
	return source + "." + base64.RawURLEncoding.EncodeToString([]byte(id))
}

// IdempotencyStream is the stream that holds IdempotencyBucket.
const IdempotencyStream = "KV_" + IdempotencyBucket

// IdempotencySubject is the subject of key in IdempotencyStream: a put of
// the key is a publish to it, the key's value the last message on it. The
// publisher reads and writes keys through it instead of the key-value API,
// which checks every key against a regular expression (1.6% of serve's CPU
// per webhook); keys made by IdempotencyKey are valid by construction.
func IdempotencySubject(key string) string {
	return "$KV." + IdempotencyBucket + "." + key
}

// KVRemoved reports whether a message of a bucket's stream with header h
// removes its key (a delete or purge, or the server's marker of a key
// removed by age) rather than holding a value.
func KVRemoved(h nats.Header) bool {
	if len(h) == 0 {
		return false
	}
	switch h.Get("KV-Operation") {
	case "DEL", "PURGE":
		return true
	}
	return h.Get(jetstream.MarkerReasonHeader) != ""
}

// IdempotencyKeysByID is a key filter that finds an event id in any source.
func IdempotencyKeysByID(id string) string {
	return "*." + base64.RawURLEncoding.EncodeToString([]byte(id))
}

// CursorKey is the key of a polling source's cursor in CursorsBucket:
// app, instance group and cursor name joined with dots. An adapter may
// read and write only the keys under its own app.
func CursorKey(app, group, name string) string { return app + "." + group + "." + name }

// AdapterKey is the adapters bucket key of an adapter instance.
func AdapterKey(app, instance string) string {
	return app + "." + instance
}

// InboxPrefix is the reply-subject prefix of the hub NATS user name: the
// embedded NATS lets a user subscribe to replies only under its own
// prefix, so no client reads another's inbox. Clients set it with
// nats.CustomInboxPrefix.
func InboxPrefix(name string) string {
	return "_INBOX_junction." + name
}

// NormalizeFilter turns a route filter into a full event subject pattern,
// accepting it with or without the "junction.events." prefix.
func NormalizeFilter(filter string) string {
	filter = strings.TrimSpace(filter)
	if strings.HasPrefix(filter, EventsPrefix) {
		return filter
	}
	return EventsPrefix + filter
}

// Options sizes the topology. The zero value is a single-node hub with the
// default retention.
type Options struct {
	// Replicas of every stream and bucket: 1 on a single node, 3 on a cluster.
	Replicas int
	// Storage of streams and buckets; file unless told otherwise.
	Storage jetstream.StorageType
	// EventsMaxAge is the EVENTS replay window.
	EventsMaxAge time.Duration
	// IdempotencyTTL is how long provider event ids are remembered.
	IdempotencyTTL time.Duration
	// Limits bounds streams and buckets by name (EventsStream,
	// IdempotencyBucket, ...); a name left out, or a zero field, takes
	// DefaultLimit. A Limit here wins over EventsMaxAge and IdempotencyTTL.
	Limits map[string]Limit
	// DuplicateWindow is the Nats-Msg-Id window of every stream; default
	// (zero) DuplicateWindow. Tests shorten it to show that a provider's
	// late retry is caught by the idempotency bucket, not the window.
	DuplicateWindow time.Duration
}

func (o Options) withDefaults() Options {
	if o.Replicas <= 0 {
		o.Replicas = 1
	}
	if o.EventsMaxAge <= 0 {
		o.EventsMaxAge = DefaultEventsMaxAge
	}
	if o.IdempotencyTTL <= 0 {
		o.IdempotencyTTL = DefaultIdempotencyTTL
	}
	if o.DuplicateWindow <= 0 {
		o.DuplicateWindow = DuplicateWindow
	}
	return o
}

// Streams returns the stream configurations of the hub.
func Streams(o Options) []jetstream.StreamConfig {
	o = o.withDefaults()
	return []jetstream.StreamConfig{
		{
			Name:        EventsStream,
			Description: "Every normalized event, by source and type.",
			Subjects:    []string{EventsPrefix + ">"},
			Retention:   jetstream.LimitsPolicy,
			MaxAge:      o.limit(EventsStream).MaxAge,
			MaxBytes:    o.limit(EventsStream).MaxBytes,
			Storage:     o.Storage,
			Replicas:    o.Replicas,
			Duplicates:  o.DuplicateWindow,
			Discard:     DiscardPolicy(EventsStream),
		},
		{
			Name:        DeliveriesStream,
			Description: "Work for each destination, one subject per destination and route.",
			Subjects:    []string{DeliveriesPrefix + ">"},
			Retention:   jetstream.LimitsPolicy,
			MaxAge:      o.limit(DeliveriesStream).MaxAge,
			MaxBytes:    o.limit(DeliveriesStream).MaxBytes,
			Storage:     o.Storage,
			Replicas:    o.Replicas,
			Duplicates:  o.DuplicateWindow,
			Discard:     DiscardPolicy(DeliveriesStream),
		},
		{
			Name:        DLQStream,
			Description: "Deliveries that exhausted their policy, redrivable.",
			Subjects:    []string{DLQPrefix + ">"},
			Retention:   jetstream.LimitsPolicy,
			MaxAge:      o.limit(DLQStream).MaxAge,
			MaxBytes:    o.limit(DLQStream).MaxBytes,
			Storage:     o.Storage,
			Replicas:    o.Replicas,
			Duplicates:  o.DuplicateWindow,
			Discard:     DiscardPolicy(DLQStream),
		},
		attemptsStream(o),
		retriesStream(o),
		lanesStream(o),
	}
}

// Buckets returns the key-value bucket configurations of the hub.
func Buckets(o Options) []jetstream.KeyValueConfig {
	o = o.withDefaults()
	return []jetstream.KeyValueConfig{
		{Bucket: RoutesBucket, Description: "Route definitions, key = route id.", History: 5, TTL: o.limit(RoutesBucket).MaxAge, MaxBytes: o.limit(RoutesBucket).MaxBytes, Storage: o.Storage, Replicas: o.Replicas},
		{Bucket: IdempotencyBucket, Description: "Provider event ids seen, value = EVENTS sequence.", TTL: o.limit(IdempotencyBucket).MaxAge, MaxBytes: o.limit(IdempotencyBucket).MaxBytes, Storage: o.Storage, Replicas: o.Replicas},
		{Bucket: AdaptersBucket, Description: "Adapter heartbeats.", TTL: o.limit(AdaptersBucket).MaxAge, MaxBytes: o.limit(AdaptersBucket).MaxBytes, Storage: o.Storage, Replicas: o.Replicas},
		{Bucket: KeysBucket, Description: "Gateway API keys, key = key id; secrets only as keyed hashes.", History: 1, TTL: o.limit(KeysBucket).MaxAge, MaxBytes: o.limit(KeysBucket).MaxBytes, Storage: o.Storage, Replicas: o.Replicas},
		{Bucket: CursorsBucket, Description: "Polling sources' cursors, key = app.group.name, updated compare-and-set.", History: 5, TTL: o.limit(CursorsBucket).MaxAge, MaxBytes: o.limit(CursorsBucket).MaxBytes, Storage: o.Storage, Replicas: o.Replicas},
		{Bucket: RouteStatusBucket, Description: "The router's report on each route, key = route id.", History: 1, TTL: o.limit(RouteStatusBucket).MaxAge, MaxBytes: o.limit(RouteStatusBucket).MaxBytes, Storage: o.Storage, Replicas: o.Replicas},
	}
}

// Ensure creates every stream and bucket of the hub, or updates them to the
// configuration o gives. It is idempotent and safe to run from several
// processes at once.
func Ensure(ctx context.Context, js jetstream.JetStream, o Options) error {
	for _, cfg := range Streams(o) {
		if _, err := js.CreateOrUpdateStream(ctx, cfg); err != nil {
			return fmt.Errorf("ensure stream %s: %w%s", cfg.Name, err, storeHint(err, o))
		}
	}
	for _, cfg := range Buckets(o) {
		if _, err := js.CreateOrUpdateKeyValue(ctx, cfg); err != nil {
			return fmt.Errorf("ensure bucket %s: %w%s", cfg.Bucket, err, storeHint(err, o))
		}
	}
	return nil
}
