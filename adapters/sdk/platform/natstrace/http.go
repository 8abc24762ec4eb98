package natstrace

import (
	"net/http"

	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"

	"github.com/junctionhq/junction/adapters/sdk/clip"
)

// HTTPHandler wraps an inbound HTTP handler in an OTel server span that
// continues a traceparent the sender sent. name is the route, e.g.
// "/webhooks/{source}"; the span is named "<method> <name>". While no
// tracer provider is installed (no trace exporter configured) no span is
// started: the request only continues the sender's trace context and is
// counted in otelhttp's HTTP server metrics (see lightHandler).
func HTTPHandler(h http.Handler, name string) http.Handler {
	return &lightHandler{
		next: h,
		traced: otelhttp.NewHandler(h, name,
			otelhttp.WithPropagators(Propagator),
			otelhttp.WithSpanNameFormatter(func(_ string, r *http.Request) string { return clip.String(r.Method) + " " + name })),
		inst: newServerInstruments(),
	}
}
