package gateway

import (
	"context"
	"slices"
	"strings"

	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/encoding/protojson"

	junctionv1 "github.com/junctionhq/junction/proto/junction/v1"
)

// adapterPrefix starts every adapter's resource name.
const adapterPrefix = "adapters/"

// adapterJSON reads heartbeats written by any SDK version.
var adapterJSON = protojson.UnmarshalOptions{DiscardUnknown: true}

// ListAdapters returns every adapter instance in the adapters bucket, ordered
// by name. An instance whose last heartbeat is older than StaleAfter is
// reported with health STALE whatever it said.
func (s *Server) ListAdapters(ctx context.Context, req *junctionv1.ListAdaptersRequest) (*junctionv1.ListAdaptersResponse, error) {
	app := req.GetApp()
	w, err := s.adapters.WatchAll(ctx, jetstream.IgnoreDeletes())
	if err != nil {
		return nil, s.toStatus(ctx, "list adapters", err)
	}
	defer func() { _ = w.Stop() }()

	now := s.now()
	resp := &junctionv1.ListAdaptersResponse{}
	for {
		var entry jetstream.KeyValueEntry
		select {
		case <-ctx.Done():
			return nil, s.toStatus(ctx, "list adapters", ctx.Err())
		case entry = <-w.Updates():
		}
		if entry == nil { // every current value seen
			break
		}
		a := &junctionv1.Adapter{}
		if err := adapterJSON.Unmarshal(entry.Value(), a); err != nil {
			s.log.WarnContext(ctx, "adapter heartbeat unreadable", "key", entry.Key(), "error", err)
			continue
		}
		if a.Name == "" {
			a.Name = adapterPrefix + entry.Key()
		}
		if a.App == "" {
			a.App, _, _ = strings.Cut(entry.Key(), ".")
		}
		if app != "" && a.App != app {
			continue
		}
		if seen := a.GetLastSeenTime(); seen == nil || now.Sub(seen.AsTime()) > StaleAfter {
			a.Health = junctionv1.Adapter_HEALTH_STALE
		}
		resp.Adapters = append(resp.Adapters, a)
	}
	slices.SortFunc(resp.Adapters, func(a, b *junctionv1.Adapter) int { return strings.Compare(a.Name, b.Name) })
	return resp, nil
}
