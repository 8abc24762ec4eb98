package telemetry

import (
	"context"
	"io"
	"log/slog"
	"os"

	"go.opentelemetry.io/otel/trace"

	"github.com/junctionhq/junction/adapters/sdk/clip"
)

// TraceHandler is a slog.Handler that adds trace_id and span_id to every
// record logged with a context holding a span, then hands it on.
type TraceHandler struct {
	next slog.Handler
}

// NewTraceHandler wraps next.
func NewTraceHandler(next slog.Handler) *TraceHandler { return &TraceHandler{next: next} }

// Enabled reports whether next handles level.
func (h *TraceHandler) Enabled(ctx context.Context, level slog.Level) bool {
	return h.next.Enabled(ctx, level)
}

// Handle adds the span's ids, when ctx has a valid span context.
func (h *TraceHandler) Handle(ctx context.Context, r slog.Record) error {
	if sc := trace.SpanContextFromContext(ctx); sc.IsValid() {
		r = r.Clone()
		r.AddAttrs(slog.String("trace_id", sc.TraceID().String()), slog.String("span_id", sc.SpanID().String()))
	}
	return h.next.Handle(ctx, r)
}

// WithAttrs returns a TraceHandler over next.WithAttrs.
func (h *TraceHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return &TraceHandler{next: h.next.WithAttrs(attrs)}
}

// WithGroup returns a TraceHandler over next.WithGroup.
func (h *TraceHandler) WithGroup(name string) slog.Handler {
	return &TraceHandler{next: h.next.WithGroup(name)}
}

// NewLogger returns a logger writing to w at level: JSON, or text when w is
// a terminal, with trace_id and span_id on every line logged inside a span
// and every attribute cut to clip.MaxAttr bytes (clip.ReplaceAttr).
func NewLogger(w io.Writer, level slog.Leveler) *slog.Logger {
	// Every attribute is cut to clip.MaxAttr bytes: no value a client
	// sent can make a line unbounded.
	opts := &slog.HandlerOptions{Level: level, ReplaceAttr: clip.ReplaceAttr}
	var h slog.Handler = slog.NewJSONHandler(w, opts)
	if f, ok := w.(*os.File); ok {
		if fi, err := f.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
			h = slog.NewTextHandler(w, opts)
		}
	}
	return slog.New(NewTraceHandler(h))
}
