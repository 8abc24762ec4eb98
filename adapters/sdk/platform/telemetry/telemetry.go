// Package telemetry sets up a Junction process's OpenTelemetry: traces
// exported over OTLP as the standard OTEL_* variables say (nothing exported,
// at next to no cost, when none is set), Prometheus metrics for /metrics
// through the OTel Prometheus exporter, and slog handlers that put the
// current trace_id and span_id on every log line written inside a span.
//
// `junction serve`, the component commands and [sdk.Main] call it; a user's
// service that embeds the SDK may call it too.
package telemetry

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/otlptranslator"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/exemplar"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.40.0"

	"github.com/junctionhq/junction/adapters/sdk/clip"
	"github.com/junctionhq/junction/adapters/sdk/platform/natstrace"
	"github.com/junctionhq/junction/adapters/sdk/rpcstatus"
)

// ErrConfig wraps an invalid OTEL_* setting.
var ErrConfig = errors.New("telemetry configuration")

// Enabled reports whether the OTEL_* variables in getenv ask for traces to
// be exported: an OTLP endpoint is set, or OTEL_TRACES_EXPORTER is "otlp";
// never when OTEL_SDK_DISABLED is true or OTEL_TRACES_EXPORTER is "none".
func Enabled(getenv func(string) string) bool {
	if strings.EqualFold(getenv("OTEL_SDK_DISABLED"), "true") {
		return false
	}
	switch strings.ToLower(strings.TrimSpace(getenv("OTEL_TRACES_EXPORTER"))) {
	case "none":
		return false
	case "otlp":
		return true
	}
	return getenv("OTEL_EXPORTER_OTLP_ENDPOINT") != "" || getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") != ""
}

// SetupTracing installs the W3C trace context and baggage propagator and,
// when [Enabled], a tracer provider exporting over OTLP: gRPC or HTTP as
// OTEL_EXPORTER_OTLP_TRACES_PROTOCOL or OTEL_EXPORTER_OTLP_PROTOCOL say
// ("grpc", "http/protobuf"; default http/protobuf), to the endpoint, with the
// headers and timeouts of the other OTEL_EXPORTER_OTLP_* variables, sampled
// per OTEL_TRACES_SAMPLER. The exporter is linked in by importing package
// telemetry/otlp ([RegisterOTLPExporter]); without it SetupTracing fails
// when tracing is asked for. service is the service.name unless
// OTEL_SERVICE_NAME is set. The returned shutdown flushes pending spans;
// when tracing is off it does nothing.
func SetupTracing(ctx context.Context, service string) (shutdown func(context.Context) error, err error) {
	otel.SetTextMapPropagator(natstrace.Propagator)
	noop := func(context.Context) error { return nil }
	if !Enabled(os.Getenv) {
		return noop, nil
	}
	protocol := os.Getenv("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL")
	if protocol == "" {
		protocol = os.Getenv("OTEL_EXPORTER_OTLP_PROTOCOL")
	}
	switch protocol {
	case "":
		protocol = "http/protobuf"
	case "grpc", "http/protobuf":
	default:
		return noop, fmt.Errorf("%w: OTEL_EXPORTER_OTLP_PROTOCOL %q: use grpc or http/protobuf", ErrConfig, protocol)
	}
	newExporter := otlpExporter()
	if newExporter == nil {
		return noop, fmt.Errorf("%w: the OTEL_* variables ask for traces, but this binary has no OTLP exporter: its main package must import _ %q", ErrConfig, "github.com/junctionhq/junction/adapters/sdk/telemetry/otlp")
	}
	exp, err := newExporter(ctx, protocol)
	if err != nil {
		return noop, fmt.Errorf("otlp trace exporter: %w", err)
	}
	res, err := resource.Merge(resource.Default(), resource.NewSchemaless(semconv.ServiceName(service)))
	if err != nil {
		return noop, fmt.Errorf("trace resource: %w", err)
	}
	// OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES override the default.
	if env, eerr := resource.New(ctx, resource.WithFromEnv()); eerr == nil {
		if merged, merr := resource.Merge(res, env); merr == nil {
			res = merged
		}
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp), sdktrace.WithResource(res), sdktrace.WithRawSpanLimits(SpanLimits()))
	otel.SetTracerProvider(tp)
	return tp.Shutdown, nil
}

// SpanLimits are the tracer provider's limits: those the OTEL_SPAN_* and
// OTEL_ATTRIBUTE_* variables set, with every string attribute value (of a
// span or of its events) cut to clip.MaxAttr bytes unless
// OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT says otherwise: url.path,
// user_agent.original and other request values stay bounded.
func SpanLimits() sdktrace.SpanLimits {
	l := sdktrace.NewSpanLimits()
	if l.AttributeValueLengthLimit < 0 {
		l.AttributeValueLengthLimit = clip.MaxAttr
	}
	return l
}

// requestLabels drops the HTTP server metrics' server.address and
// server.port, which otelhttp takes from the request's Host header: a
// client could otherwise mint a new Prometheus series per request.
var requestLabels = sdkmetric.NewView(
	sdkmetric.Instrument{Name: "http.server.*"},
	sdkmetric.Stream{AttributeFilter: attribute.NewDenyKeysFilter(natstrace.ServerHostKeys...)},
)

var (
	metricsOnce    sync.Once
	metricsHandler http.Handler
	metricsErr     error
)

// MetricsHandler returns the process's /metrics handler: Prometheus text
// exposition of every OTel instrument (the OTel Prometheus exporter, names
// with Prometheus units and _total suffixes) plus the Go runtime and
// process collectors. The first call installs the global meter provider;
// every later call returns the same handler.
func MetricsHandler() http.Handler {
	metricsOnce.Do(func() {
		reg := prometheus.NewRegistry()
		reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
		exp, err := otelprom.New(
			otelprom.WithRegisterer(reg),
			otelprom.WithTranslationStrategy(otlptranslator.UnderscoreEscapingWithSuffixes),
			otelprom.WithoutScopeInfo(),
		)
		if err != nil {
			metricsErr = fmt.Errorf("prometheus exporter: %w", err)
			return
		}
		// No exemplars: /metrics is served as Prometheus text, which has
		// none, and an exemplar would carry the attributes requestLabels
		// drops (a client's Host header) into the exporter.
		otel.SetMeterProvider(sdkmetric.NewMeterProvider(sdkmetric.WithReader(exp), sdkmetric.WithView(requestLabels),
			sdkmetric.WithExemplarFilter(exemplar.AlwaysOffFilter)))
		metricsHandler = promhttp.HandlerFor(reg, promhttp.HandlerOpts{})
	})
	if metricsErr != nil {
		err := metricsErr
		return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			rpcstatus.Write(w, http.StatusInternalServerError, "metrics are unavailable: "+err.Error())
		})
	}
	return metricsHandler
}
