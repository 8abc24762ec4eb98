// Package telemetry holds the platform's own telemetry: gauges read from
// JetStream at scrape time (dead-letter depth, consumer backlogs) and the
// gRPC and HTTP instrumentation options of the hub's edges. Tracing setup,
// /metrics and the trace-aware logger live in the SDK's telemetry package,
// shared with adapter processes.
package telemetry

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/junctionhq/junction/adapters/sdk/platform/natstrace"
	"github.com/junctionhq/junction/adapters/sdk/platform/topology"
	"github.com/junctionhq/junction/internal/destination"
)

// scrapeTimeout bounds the JetStream calls of one scrape.
const scrapeTimeout = 3 * time.Second

// RegisterJetStreamGauges registers, on the global meter provider,
// observable gauges read from js at every collection:
//
//   - junction_dead_letters{destination}: dead letters held on DLQ;
//   - junction_consumer_pending_messages{stream,consumer,destination}:
//     messages a consumer has not been handed yet, for the consumers of
//     EVENTS, DELIVERIES, RETRIES and LANES (a route's lane consumer shows
//     its parked backlog);
//   - junction_consumer_ack_pending_messages{stream,consumer,destination}:
//     messages handed out and not yet acknowledged (in flight or waiting for
//     a retry);
//   - junction_stream_bytes{stream} and junction_stream_max_bytes{stream}:
//     what each stream and bucket (KV_<bucket>) holds against its limit;
//     a stream at its limit refuses new messages or drops its oldest, as
//     docs/operations.md says;
//   - junction_destination_unserved_deliveries{destination}: deliveries
//     waiting for a destination no running adapter serves
//     (destination.RegisterGauge).
//
// The returned function unregisters them.
func RegisterJetStreamGauges(js jetstream.JetStream, log *slog.Logger) (unregister func(), err error) {
	m := otel.GetMeterProvider().Meter(natstrace.ScopeName)
	dead, err := m.Int64ObservableGauge("junction.dead_letters", metric.WithUnit("{message}"),
		metric.WithDescription("Dead letters held on the DLQ stream, by destination."))
	if err != nil {
		return nil, fmt.Errorf("dead letters gauge: %w", err)
	}
	pending, err := m.Int64ObservableGauge("junction.consumer.pending_messages", metric.WithUnit("{message}"),
		metric.WithDescription("Messages a durable consumer has not been handed yet, by stream, consumer and destination."))
	if err != nil {
		return nil, fmt.Errorf("consumer pending gauge: %w", err)
	}
	ackPending, err := m.Int64ObservableGauge("junction.consumer.ack_pending_messages", metric.WithUnit("{message}"),
		metric.WithDescription("Messages a durable consumer holds unacknowledged (in flight or waiting for a retry), by stream, consumer and destination."))
	if err != nil {
		return nil, fmt.Errorf("consumer ack pending gauge: %w", err)
	}
	streamBytes, err := m.Int64ObservableGauge("junction.stream.bytes", metric.WithUnit("By"),
		metric.WithDescription("Bytes a stream or bucket (KV_<bucket>) holds, by stream."))
	if err != nil {
		return nil, fmt.Errorf("stream bytes gauge: %w", err)
	}
	streamMax, err := m.Int64ObservableGauge("junction.stream.max_bytes", metric.WithUnit("By"),
		metric.WithDescription("The most a stream or bucket (KV_<bucket>) may hold, by stream; -1 for no limit."))
	if err != nil {
		return nil, fmt.Errorf("stream max bytes gauge: %w", err)
	}
	reg, err := m.RegisterCallback(func(ctx context.Context, o metric.Observer) error {
		ctx, cancel := context.WithTimeout(ctx, scrapeTimeout)
		defer cancel()
		if err := observeDLQ(ctx, js, o, dead); err != nil {
			log.Debug("dead letter gauge not read", "error", err)
		}
		for _, stream := range []string{topology.EventsStream, topology.DeliveriesStream, topology.RetriesStream, topology.LanesStream} {
			if err := observeConsumers(ctx, js, stream, o, pending, ackPending); err != nil {
				log.Debug("consumer gauges not read", "stream", stream, "error", err)
			}
		}
		for _, stream := range storeStreams() {
			if err := observeStream(ctx, js, stream, o, streamBytes, streamMax); err != nil {
				log.Debug("stream gauges not read", "stream", stream, "error", err)
			}
		}
		return nil
	}, dead, pending, ackPending, streamBytes, streamMax)
	if err != nil {
		return nil, fmt.Errorf("register jetstream gauges: %w", err)
	}
	unserved, err := destination.RegisterGauge(js, log)
	if err != nil {
		_ = reg.Unregister()
		return nil, err
	}
	return func() { _ = reg.Unregister(); unserved() }, nil
}

func observeDLQ(ctx context.Context, js jetstream.JetStream, o metric.Observer, g metric.Int64ObservableGauge) error {
	s, err := js.Stream(ctx, topology.DLQStream)
	if err != nil {
		return err
	}
	info, err := s.Info(ctx, jetstream.WithSubjectFilter(topology.DLQFilter("")))
	if err != nil {
		return err
	}
	byDest := map[string]int64{}
	for subject, n := range info.State.Subjects {
		dest, _, _ := topology.SplitDLQSubject(subject)
		byDest[dest] += int64(n)
	}
	for dest, n := range byDest {
		o.ObserveInt64(g, n, metric.WithAttributes(attribute.String("destination", dest)))
	}
	return nil
}

func observeConsumers(ctx context.Context, js jetstream.JetStream, stream string, o metric.Observer, pending, ackPending metric.Int64ObservableGauge) error {
	s, err := js.Stream(ctx, stream)
	if err != nil {
		return err
	}
	lister := s.ListConsumers(ctx)
	for ci := range lister.Info() {
		dest, _, _ := topology.SplitWorkSubject(ci.Config.FilterSubject)
		attrs := metric.WithAttributes(attribute.String("stream", stream), attribute.String("consumer", ci.Name), attribute.String("destination", dest))
		o.ObserveInt64(pending, int64(ci.NumPending), attrs)
		o.ObserveInt64(ackPending, int64(ci.NumAckPending), attrs)
	}
	return lister.Err()
}

// storeStreams names every stream of the hub, buckets as KV_<bucket>.
func storeStreams() []string {
	var out []string
	for _, s := range topology.Streams(topology.Options{}) {
		out = append(out, s.Name)
	}
	for _, b := range topology.Buckets(topology.Options{}) {
		out = append(out, "KV_"+b.Bucket)
	}
	return out
}

func observeStream(ctx context.Context, js jetstream.JetStream, stream string, o metric.Observer, bytes, max metric.Int64ObservableGauge) error {
	s, err := js.Stream(ctx, stream)
	if err != nil {
		return err
	}
	info := s.CachedInfo()
	attrs := metric.WithAttributes(attribute.String("stream", stream))
	o.ObserveInt64(bytes, int64(info.State.Bytes), attrs)
	o.ObserveInt64(max, info.Config.MaxBytes, attrs)
	return nil
}
