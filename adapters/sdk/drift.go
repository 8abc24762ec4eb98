package sdk

import (
	"context"
	"sync"
	"unicode/utf8"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/junctionhq/junction/adapters/sdk/clip"
	junctionv1 "github.com/junctionhq/junction/proto/junction/v1"
)

// Bounds of the labels of junction_source_mapping_failures_total. A
// label value past its bound is folded into "other", so a provider
// that sends ever new types or version strings cannot grow the series
// without end: at most driftMaxSources x driftMaxTypes x
// driftMaxVersions series, and in practice a handful per source.
const (
	// driftMaxSources is how many distinct sources are counted apart.
	driftMaxSources = 50
	// driftMaxTypes is how many distinct event types are counted apart
	// per source.
	driftMaxTypes = 50
	// driftMaxVersions is how many distinct provider versions are
	// counted apart per source.
	driftMaxVersions = 10
	// driftMaxLabelLen is the longest type or version label value, in
	// bytes; longer ones are cut (package clip).
	driftMaxLabelLen = 64
)

// Label values of junction_source_mapping_failures_total that are not
// the event's own.
const (
	// driftOther stands for the values past a label's bound, seen after
	// the first ones filled it.
	driftOther = "other"
	// driftUnknownVersion is the provider_version of an event whose
	// provider did not say which version it wrote.
	driftUnknownVersion = "unknown"
)

// driftLabels hands out the label values of the mapping failure metric,
// keeping the first values seen of each label up to its bound.
type driftLabels struct {
	mu      sync.Mutex
	sources map[string]*driftSource
}

type driftSource struct {
	types, versions map[string]bool
}

var drift = driftLabels{sources: map[string]*driftSource{}}

// bounded returns v if it is one of the first max values of seen (adding
// it when there is room), else driftOther.
func bounded(seen map[string]bool, v string, max int) string {
	if seen[v] {
		return v
	}
	if len(seen) >= max {
		return driftOther
	}
	seen[v] = true
	return v
}

// labels returns the bounded source, type and provider_version values
// for an event of source and typ written in version.
func (d *driftLabels) labels(source, typ, version string) (string, string, string) {
	typ = clip.Cut(typ, driftMaxLabelLen)
	switch {
	case version == "":
		version = driftUnknownVersion
	case !utf8.ValidString(version) || hasControl(version):
		version = "invalid"
	default:
		version = clip.Cut(version, driftMaxLabelLen)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	s, ok := d.sources[source]
	if !ok {
		if len(d.sources) >= driftMaxSources {
			return driftOther, driftOther, driftOther
		}
		s = &driftSource{types: map[string]bool{}, versions: map[string]bool{}}
		d.sources[source] = s
	}
	return source, bounded(s.types, typ, driftMaxTypes), bounded(s.versions, version, driftMaxVersions)
}

// recordMappingFailure counts ev, stored with mapping errors, in
// junction_source_mapping_failures_total: an app's payloads no longer
// map onto the canonical model as the adapter expects (interface drift).
// The event's source and type are valid (it was stored).
func recordMappingFailure(ctx context.Context, ev *junctionv1.Event) {
	if len(ev.GetMappingErrors()) == 0 {
		return
	}
	source, typ, version := drift.labels(ev.GetSource(), ev.GetType(), ev.GetProviderVersion())
	meters().mappingFailures.Add(ctx, 1, metric.WithAttributes(
		attribute.String("source", source), attribute.String("type", typ), attribute.String("provider_version", version)))
}
