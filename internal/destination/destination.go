// Package destination is what the hub knows of the destinations routes
// name: the schema of each one's target config (sdk.TargetSchema, from the
// registrations of running adapters, and the built-in webhook
// destination's from the start), which ones a running adapter serves, and
// how many deliveries wait for one that none serves.
//
// The gateway checks every route it saves or tests against a Catalog
// (Catalog.Check: one place for the schema check) and reports the
// destinations no adapter serves (Catalog.Unserved); RegisterGauge counts
// the deliveries waiting for them.
package destination

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/junctionhq/junction/adapters/sdk"
	"github.com/junctionhq/junction/adapters/webhook"
	junctionv1 "github.com/junctionhq/junction/proto/junction/v1"
	"github.com/junctionhq/junction/services/router"
)

// StaleAfter is how long after its last heartbeat an adapter no longer
// counts as running: three missed heartbeats at the SDK's default
// interval.
const StaleAfter = 30 * time.Second

// builtin are the schemas the hub knows before any adapter registered:
// the built-in webhook destination's.
var builtin = map[string]*sdk.TargetSchema{webhook.Spec.App: webhook.Spec.Targets}

// builtinChecks check what a schema cannot say, for the built-in
// destinations: the webhook target's header lines and credential name.
var builtinChecks = map[string]func(map[string]string) error{webhook.Spec.App: webhook.CheckTarget}

// registrationJSON reads registrations written by any SDK version.
var registrationJSON = protojson.UnmarshalOptions{DiscardUnknown: true}

// Catalog is the hub's knowledge of destinations at one moment. The zero
// Catalog knows only the built-in schemas and that nothing is served.
type Catalog struct {
	served  map[string]bool
	schemas map[string][]*junctionv1.TargetSchema
}

// Read builds a Catalog from the adapters bucket (topology.AdaptersBucket):
// a destination is served when an adapter of that app with the sink role
// sent a heartbeat within StaleAfter of now; its schemas are those its
// sink instances registered (distinct ones, should a rollout run two
// versions), whether or not they are stale.
func Read(ctx context.Context, adapters jetstream.KeyValue, now time.Time) (*Catalog, error) {
	w, err := adapters.WatchAll(ctx, jetstream.IgnoreDeletes())
	if err != nil {
		return nil, fmt.Errorf("read adapter registrations: %w", err)
	}
	defer func() { _ = w.Stop() }()
	c := &Catalog{served: map[string]bool{}, schemas: map[string][]*junctionv1.TargetSchema{}}
	for {
		var e jetstream.KeyValueEntry
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("read adapter registrations: %w", ctx.Err())
		case e = <-w.Updates():
		}
		if e == nil { // every current value seen
			return c, nil
		}
		a := &junctionv1.Adapter{}
		if registrationJSON.Unmarshal(e.Value(), a) != nil {
			continue // the gateway's ListAdapters logs unreadable ones
		}
		c.add(a, now)
	}
}

// add takes one registration into c.
func (c *Catalog) add(a *junctionv1.Adapter, now time.Time) {
	if a.GetApp() == "" || !slices.Contains(a.GetRoles(), sdk.RoleSink) {
		return
	}
	if seen := a.GetLastSeenTime(); seen != nil && now.Sub(seen.AsTime()) <= StaleAfter {
		c.served[a.GetApp()] = true
	}
	if s := a.GetTargetSchema(); s != nil && !slices.ContainsFunc(c.schemas[a.GetApp()], func(o *junctionv1.TargetSchema) bool { return proto.Equal(o, s) }) {
		c.schemas[a.GetApp()] = append(c.schemas[a.GetApp()], s)
	}
}

// Served reports whether a running adapter serves dest.
func (c *Catalog) Served(dest string) bool { return c != nil && c.served[dest] }

// Unserved returns the destinations of r's targets that no running adapter
// serves, sorted, each once; nil when every one is served.
func (c *Catalog) Unserved(r *junctionv1.Route) []string {
	var out []string
	for _, t := range r.GetTargets() {
		if d := t.GetDestination(); d != "" && !c.Served(d) && !slices.Contains(out, d) {
			out = append(out, d)
		}
	}
	slices.Sort(out)
	return out
}

// Check checks the config of each of r's targets against its
// destination's schemas: every schema its running (or recently running)
// sinks registered, or the built-in one when none registered one. A
// destination with neither is not checked. The error wraps
// router.ErrInvalidRoute and names the target and key, e.g.
// `invalid route: targets[0].config.url: scheme "ftp" is not allowed: give
// an absolute https:// or http:// URL (the webhook destination's target
// config)`.
func (c *Catalog) Check(r *junctionv1.Route) error {
	for i, t := range r.GetTargets() {
		for _, s := range c.schemasOf(t.GetDestination()) {
			if err := s.Check(t.GetConfig()); err != nil {
				return fmt.Errorf("%w: targets[%d].config.%w (the %s destination's target config)", router.ErrInvalidRoute, i, err, t.GetDestination())
			}
		}
		if check := builtinChecks[t.GetDestination()]; check != nil {
			if err := check(t.GetConfig()); err != nil {
				return fmt.Errorf("%w: targets[%d].config.%w (the %s destination's target config)", router.ErrInvalidRoute, i, err, t.GetDestination())
			}
		}
	}
	return nil
}

// schemasOf returns the schemas dest's config must meet.
func (c *Catalog) schemasOf(dest string) []*sdk.TargetSchema {
	var reg []*junctionv1.TargetSchema
	if c != nil {
		reg = c.schemas[dest]
	}
	if len(reg) == 0 {
		if s, ok := builtin[dest]; ok && s != nil {
			return []*sdk.TargetSchema{s}
		}
		return nil
	}
	out := make([]*sdk.TargetSchema, len(reg))
	for i, s := range reg {
		out[i] = fromProto(s)
	}
	return out
}

// keyTypes maps the wire form of a key's type to the SDK's.
var keyTypes = map[junctionv1.TargetKey_Type]sdk.KeyType{
	junctionv1.TargetKey_TYPE_UNSPECIFIED: sdk.KeyString,
	junctionv1.TargetKey_TYPE_STRING:      sdk.KeyString,
	junctionv1.TargetKey_TYPE_URL:         sdk.KeyURL,
	junctionv1.TargetKey_TYPE_INTEGER:     sdk.KeyInt,
	junctionv1.TargetKey_TYPE_BOOLEAN:     sdk.KeyBool,
}

// fromProto is a registered schema as the SDK checks it. A key of a type
// this hub does not know (from a newer SDK) is checked as a string.
func fromProto(p *junctionv1.TargetSchema) *sdk.TargetSchema {
	if p == nil {
		return nil
	}
	s := &sdk.TargetSchema{AllowOtherKeys: p.GetAllowOtherKeys()}
	for _, k := range p.GetKeys() {
		key := sdk.TargetKey{
			Name:        k.GetName(),
			Description: k.GetDescription(),
			Required:    k.GetRequired(),
			Type:        keyTypes[k.GetType()],
		}
		switch key.Type {
		case sdk.KeyURL:
			key.Schemes = lower(k.GetUrlSchemes())
		case sdk.KeyString:
			key.Values = slices.Clone(k.GetValues())
		}
		s.Keys = append(s.Keys, key)
	}
	return s
}

func lower(ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = strings.ToLower(s)
	}
	return out
}
