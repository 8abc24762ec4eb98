package destination

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/junctionhq/junction/adapters/sdk/platform/natstrace"
	"github.com/junctionhq/junction/adapters/sdk/platform/topology"
	"github.com/junctionhq/junction/services/router"
)

// scrapeTimeout bounds the JetStream calls of one collection.
const scrapeTimeout = 3 * time.Second

// RegisterGauge registers, on the global meter provider, the observable
// gauge junction_destination_unserved_deliveries{destination}: for each
// destination a stored route names, the deliveries waiting on the hub
// while no running adapter serves it (Waiting), and 0 while one does. The
// label takes only destinations routes name, so a stray subject cannot
// add series. The returned function unregisters it.
func RegisterGauge(js jetstream.JetStream, log *slog.Logger) (unregister func(), err error) {
	m := otel.GetMeterProvider().Meter(natstrace.ScopeName)
	g, err := m.Int64ObservableGauge("junction.destination.unserved_deliveries", metric.WithUnit("{delivery}"),
		metric.WithDescription("Deliveries waiting on the hub for a destination that no running adapter serves, by destination (0 while one does); only destinations that routes name."))
	if err != nil {
		return nil, fmt.Errorf("unserved deliveries gauge: %w", err)
	}
	reg, err := m.RegisterCallback(func(ctx context.Context, o metric.Observer) error {
		ctx, cancel := context.WithTimeout(ctx, scrapeTimeout)
		defer cancel()
		counts, err := Unserved(ctx, js, time.Now())
		if err != nil {
			log.Debug("unserved deliveries gauge not read", "error", err)
			return nil
		}
		for dest, n := range counts {
			o.ObserveInt64(g, n, metric.WithAttributes(attribute.String("destination", dest)))
		}
		return nil
	}, g)
	if err != nil {
		return nil, fmt.Errorf("register unserved deliveries gauge: %w", err)
	}
	return func() { _ = reg.Unregister() }, nil
}

// Unserved returns, for every destination the stored routes name, how
// many deliveries wait for it when no running adapter serves it (see
// Waiting), and 0 when one does.
func Unserved(ctx context.Context, js jetstream.JetStream, now time.Time) (map[string]int64, error) {
	store, err := router.NewStore(ctx, js)
	if err != nil {
		return nil, err
	}
	routes, err := store.List(ctx)
	if err != nil {
		return nil, err
	}
	adapters, err := js.KeyValue(ctx, topology.AdaptersBucket)
	if err != nil {
		return nil, fmt.Errorf("open bucket %s: %w", topology.AdaptersBucket, err)
	}
	cat, err := Read(ctx, adapters, now)
	if err != nil {
		return nil, err
	}
	out := map[string]int64{}
	var unserved []string
	for _, r := range routes {
		for _, t := range r.GetTargets() {
			d := t.GetDestination()
			if topology.ValidToken(d) != nil {
				continue
			}
			if _, seen := out[d]; !seen {
				out[d] = 0
				if !cat.Served(d) {
					unserved = append(unserved, d)
				}
			}
		}
	}
	if len(unserved) == 0 {
		return out, nil
	}
	waiting, err := Waiting(ctx, js, unserved...)
	if err != nil {
		return nil, err
	}
	for d, n := range waiting {
		out[d] = n
	}
	return out, nil
}

// Waiting returns how many deliveries for each of dests wait on the hub:
// what the destination's consumers on DELIVERIES, RETRIES and LANES have
// not yet handed out or have not had acknowledged, and, for a destination
// that never had a DELIVERIES consumer (no adapter for it ever ran), every
// delivery for it that DELIVERIES holds (the sink's consumer starts from
// the first one). Deliveries parked on a lane whose consumer the server
// already removed (unused for an hour) are not counted.
func Waiting(ctx context.Context, js jetstream.JetStream, dests ...string) (map[string]int64, error) {
	out := make(map[string]int64, len(dests))
	hasConsumer := map[string]bool{}
	for _, d := range dests {
		out[d] = 0
	}
	for _, stream := range []string{topology.DeliveriesStream, topology.RetriesStream, topology.LanesStream} {
		s, err := js.Stream(ctx, stream)
		if err != nil {
			return nil, fmt.Errorf("stream %s: %w", stream, err)
		}
		lister := s.ListConsumers(ctx)
		for ci := range lister.Info() {
			// A sink's filter is "<prefix><dest>.>", a lane's names the route.
			d, _, _ := topology.SplitWorkSubject(ci.Config.FilterSubject)
			if !slices.Contains(dests, d) {
				continue
			}
			out[d] += int64(ci.NumPending) + int64(ci.NumAckPending)
			if stream == topology.DeliveriesStream && ci.Name == topology.DeliveryConsumer(d) {
				hasConsumer[d] = true
			}
		}
		if err := lister.Err(); err != nil {
			return nil, fmt.Errorf("consumers of %s: %w", stream, err)
		}
	}
	deliveries, err := js.Stream(ctx, topology.DeliveriesStream)
	if err != nil {
		return nil, fmt.Errorf("stream %s: %w", topology.DeliveriesStream, err)
	}
	for _, d := range dests {
		if hasConsumer[d] {
			continue
		}
		info, err := deliveries.Info(ctx, jetstream.WithSubjectFilter(topology.DeliveriesFilter(d)))
		if err != nil {
			return nil, fmt.Errorf("stream %s: %w", topology.DeliveriesStream, err)
		}
		for _, n := range info.State.Subjects {
			out[d] += int64(n)
		}
	}
	return out, nil
}
