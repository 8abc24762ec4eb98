package topology

import (
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// Limit bounds one stream or bucket: JetStream keeps at most MaxBytes of it
// (message data, subjects and headers) and nothing older than MaxAge.
// Zero fields take the stream's or bucket's default (DefaultLimit).
type Limit struct {
	MaxBytes int64
	MaxAge   time.Duration
}

// Size units.
const (
	KiB int64 = 1 << 10
	MiB int64 = 1 << 20
	GiB int64 = 1 << 30
)

// Default byte limits, chosen so that the whole hub reserves about 7 GiB:
// the embedded NATS reserves every stream's MaxBytes against 75% of the
// free disk at start, so the defaults fit a disk with 10 GiB free.
const (
	DefaultEventsMaxBytes      = 4 * GiB
	DefaultDeliveriesMaxBytes  = 1 * GiB
	DefaultRetriesMaxBytes     = 256 * MiB
	DefaultLanesMaxBytes       = 256 * MiB
	DefaultDLQMaxBytes         = 512 * MiB
	DefaultAttemptsMaxBytes    = 512 * MiB
	DefaultIdempotencyMaxBytes = 512 * MiB
	DefaultSmallBucketMaxBytes = 32 * MiB // routes, adapters, keys, cursors, route status
)

// DefaultLimit is the limit of the stream or bucket called name when the
// Options do not set one; the zero Limit for an unknown name.
func DefaultLimit(name string) Limit {
	switch name {
	case EventsStream:
		return Limit{MaxBytes: DefaultEventsMaxBytes, MaxAge: DefaultEventsMaxAge}
	case DeliveriesStream:
		return Limit{MaxBytes: DefaultDeliveriesMaxBytes, MaxAge: DefaultDeliveriesMaxAge}
	case RetriesStream:
		return Limit{MaxBytes: DefaultRetriesMaxBytes, MaxAge: DefaultDeliveriesMaxAge}
	case LanesStream:
		return Limit{MaxBytes: DefaultLanesMaxBytes, MaxAge: DefaultDeliveriesMaxAge}
	case DLQStream:
		return Limit{MaxBytes: DefaultDLQMaxBytes, MaxAge: DefaultDLQMaxAge}
	case AttemptsStream:
		return Limit{MaxBytes: DefaultAttemptsMaxBytes, MaxAge: DefaultAttemptsMaxAge}
	case IdempotencyBucket:
		return Limit{MaxBytes: DefaultIdempotencyMaxBytes, MaxAge: DefaultIdempotencyTTL}
	case AdaptersBucket:
		return Limit{MaxBytes: DefaultSmallBucketMaxBytes, MaxAge: AdapterTTL}
	case RoutesBucket, KeysBucket, CursorsBucket, RouteStatusBucket:
		// Routes, keys and cursors are configuration and state: never
		// aged out.
		return Limit{MaxBytes: DefaultSmallBucketMaxBytes}
	}
	return Limit{}
}

// StoreNames lists every stream and bucket name a Limit may be given for,
// streams first.
func StoreNames() []string {
	return []string{
		EventsStream, DeliveriesStream, RetriesStream, LanesStream, DLQStream, AttemptsStream,
		RoutesBucket, IdempotencyBucket, AdaptersBucket, KeysBucket, CursorsBucket, RouteStatusBucket,
	}
}

// DiscardPolicy says what a full stream does with a new message. EVENTS and
// the work streams (DELIVERIES, RETRIES, LANES) and the DLQ refuse it
// (DiscardNew): the publisher gets an error and keeps what it holds, so a
// full stream pushes back instead of dropping stored work. ATTEMPTS is a
// log and drops its oldest records (DiscardOld). Buckets refuse new keys
// when full (the KeyValue default).
func DiscardPolicy(stream string) jetstream.DiscardPolicy {
	if stream == AttemptsStream {
		return jetstream.DiscardOld
	}
	return jetstream.DiscardNew
}

// limit is the Limit of name: o.Limits over the default.
func (o Options) limit(name string) Limit {
	l := DefaultLimit(name)
	if name == EventsStream && o.EventsMaxAge > 0 {
		l.MaxAge = o.EventsMaxAge
	}
	if name == IdempotencyBucket && o.IdempotencyTTL > 0 {
		l.MaxAge = o.IdempotencyTTL
	}
	if set, ok := o.Limits[name]; ok {
		if set.MaxBytes != 0 {
			l.MaxBytes = set.MaxBytes
		}
		if set.MaxAge != 0 {
			l.MaxAge = set.MaxAge
		}
	}
	return l
}

// ReservedBytes is the sum of the MaxBytes of every stream and bucket o
// describes, per replica: what the hub reserves of the NATS server's
// store.
func ReservedBytes(o Options) int64 {
	var n int64
	for _, name := range StoreNames() {
		n += o.limit(name).MaxBytes
	}
	return n
}

// ValidateLimits says which of limits name no stream or bucket or are
// negative.
func ValidateLimits(limits map[string]Limit) error {
	known := map[string]bool{}
	for _, n := range StoreNames() {
		known[n] = true
	}
	for name, l := range limits {
		if !known[name] {
			return fmt.Errorf("no stream or bucket is called %q (known: %v)", name, StoreNames())
		}
		if l.MaxBytes < 0 || l.MaxAge < 0 {
			return fmt.Errorf("%s: max_bytes and max_age must not be negative", name)
		}
	}
	return nil
}

// jsStorageResourcesExceeded is JetStream's error code for a stream whose
// MaxBytes do not fit in what the server or account may still store.
const (
	jsStorageResourcesExceeded = 10047
	jsInsufficientResources    = 10023
)

// storeHint explains an insufficient-resources error of Ensure.
func storeHint(err error, o Options) string {
	var apiErr *jetstream.APIError
	if !errors.As(err, &apiErr) || (apiErr.ErrorCode != jsStorageResourcesExceeded && apiErr.ErrorCode != jsInsufficientResources) {
		return ""
	}
	return fmt.Sprintf(" (the streams' and buckets' max_bytes add up to %d MiB per replica, more than the NATS server may store: lower the storage limits, raise the server's max store, or free disk)",
		ReservedBytes(o)/MiB)
}
