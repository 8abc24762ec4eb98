package router

import (
	"context"
	"sync"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"

	"github.com/junctionhq/junction/adapters/sdk/platform/natstrace"
	junctionv1 "github.com/junctionhq/junction/proto/junction/v1"
)

// Router outcomes, the outcome label of junction_router_events_total.
const (
	outcomeRouted    = "routed"
	outcomeUnmatched = "unmatched"
	outcomeFailed    = "failed"
)

type routerMetrics struct {
	matches metric.Int64Counter
	events  metric.Int64Counter
	errors  metric.Int64Counter
}

var (
	metricsOnce sync.Once
	rmetrics    routerMetrics

	// Attribute sets built once: metric.WithAttributes builds and sorts a
	// new set on every call, a few hundred ns and allocations per event.
	outcomeAttrs = map[string]metric.AddOption{}
	routeAttrs   sync.Map // route id -> metric.AddOption
	errorAttrs   sync.Map // route id + reason -> metric.AddOption
)

func init() {
	for _, o := range []string{outcomeRouted, outcomeUnmatched, outcomeFailed} {
		outcomeAttrs[o] = metric.WithAttributeSet(attribute.NewSet(attribute.String("outcome", o)))
	}
}

// routeAttr is the route label of junction_route_matches_total for id.
func routeAttr(id string) metric.AddOption {
	if o, ok := routeAttrs.Load(id); ok {
		return o.(metric.AddOption)
	}
	o, _ := routeAttrs.LoadOrStore(id, metric.WithAttributeSet(attribute.NewSet(attribute.String("route", id))))
	return o.(metric.AddOption)
}

// routeErrorAttr is the route and reason labels of
// junction_route_errors_total.
func routeErrorAttr(id, reason string) metric.AddOption {
	key := id + "\x00" + reason
	if o, ok := errorAttrs.Load(key); ok {
		return o.(metric.AddOption)
	}
	o, _ := errorAttrs.LoadOrStore(key, metric.WithAttributeSet(attribute.NewSet(attribute.String("route", id), attribute.String("reason", reason))))
	return o.(metric.AddOption)
}

func meters() *routerMetrics {
	metricsOnce.Do(func() {
		m := otel.GetMeterProvider().Meter(natstrace.ScopeName)
		rmetrics.matches, _ = m.Int64Counter("junction.route.matches", metric.WithUnit("{match}"),
			metric.WithDescription("Events a route matched (filter and condition), by route."))
		rmetrics.events, _ = m.Int64Counter("junction.router.events", metric.WithUnit("{event}"),
			metric.WithDescription("Events the router processed, by outcome (routed, unmatched, failed)."))
		rmetrics.errors, _ = m.Int64Counter("junction.route.errors", metric.WithUnit("{delivery}"),
			metric.WithDescription("Deliveries a route dead-lettered in the router because its CEL failed at run time, by route and reason (condition_error, transform_error)."))
	})
	return &rmetrics
}

// eventTrace is the tracing of one event through the router: a CONSUMER
// span "process junction.events.<source>.<type>" continuing the publisher's
// trace, an INTERNAL span "route <id>" per candidate route, and a PRODUCER
// span "publish junction.deliveries.<destination>.<route>" per delivery,
// whose context the delivery carries to the sink.
type eventTrace struct {
	ctx      context.Context
	span     trace.Span
	pubs     []trace.Span
	matched  int
	messages int
}

func (r *Router) traceEvent(ctx context.Context, m jetstream.Msg, e *junctionv1.Event) *eventTrace {
	ctx, span := natstrace.StartProcess(ctx, m.Subject(), r.opts.Consumer, m.Headers())
	if span.IsRecording() { // else skip building the attributes
		span.SetAttributes(
			natstrace.KeyEventID.String(e.GetId()),
			natstrace.KeyEventSource.String(e.GetSource()),
			natstrace.KeyEventType.String(e.GetType()))
		if md, err := m.Metadata(); err == nil {
			span.SetAttributes(natstrace.KeyDeliveryCount.Int64(int64(md.NumDelivered)))
		}
	}
	return &eventTrace{ctx: ctx, span: span}
}

// routeSpan is the name and start options of a route's span.
type routeSpan struct {
	id, name string
	opts     []trace.SpanStartOption
}

func newRouteSpan(id string) routeSpan {
	return routeSpan{id: id, name: "route " + id, opts: []trace.SpanStartOption{trace.WithAttributes(natstrace.KeyRouteID.String(id))}}
}

// route starts the span of evaluating one candidate route.
func (t *eventTrace) route(c *Compiled) (context.Context, trace.Span) {
	s := c.span
	if s.id != c.ID || s.name == "" {
		s = newRouteSpan(c.ID) // a Compiled whose ID was set after Compile
	}
	return natstrace.Tracer().Start(t.ctx, s.name, s.opts...)
}

// routed ends a route span with what the evaluation found.
func (t *eventTrace) routed(span trace.Span, c *Compiled, res Result) {
	if span.IsRecording() {
		span.SetAttributes(
			attribute.Bool("junction.route.matched", res.ConditionMatched),
			attribute.Int("junction.route.deliveries", len(res.Deliveries)),
			attribute.Int("junction.route.failures", len(res.Failures)))
		if res.ConditionError != nil {
			span.RecordError(res.ConditionError)
		}
	}
	if res.ConditionMatched {
		t.matched++
		meters().matches.Add(t.ctx, 1, routeAttr(c.ID))
	}
	span.End()
}

// publish starts the PRODUCER span of one delivery message in the route's
// context and makes msg carry it.
func (t *eventTrace) publish(rctx context.Context, msg *nats.Msg, d *junctionv1.Delivery) *nats.Msg {
	_, span := natstrace.StartPublish(rctx, msg.Subject, msg.Header)
	if span.IsRecording() {
		span.SetAttributes(
			natstrace.KeyMessageID.String(d.GetId()),
			natstrace.KeyDeliveryID.String(d.GetId()),
			natstrace.KeyRouteID.String(d.GetRouteId()),
			natstrace.KeyDestApp.String(d.GetDestination()),
			natstrace.KeyTarget.String(d.GetTarget()))
	}
	t.pubs = append(t.pubs, span)
	t.messages++
	return msg
}

// end ends the publish spans and the process span; err is the publish
// error, when the event is retried.
func (t *eventTrace) end(err error) {
	for _, s := range t.pubs {
		if err != nil {
			s.SetStatus(codes.Error, "publish failed")
		}
		s.End()
	}
	outcome := outcomeRouted
	switch {
	case err != nil:
		outcome = outcomeFailed
		t.span.RecordError(err)
		t.span.SetStatus(codes.Error, "publish deliveries failed")
	case t.messages == 0:
		outcome = outcomeUnmatched
	}
	if t.span.IsRecording() {
		t.span.SetAttributes(attribute.Int("junction.route.matches", t.matched), attribute.String("junction.router.outcome", outcome))
	}
	meters().events.Add(t.ctx, 1, outcomeAttrs[outcome])
	t.span.End()
}
