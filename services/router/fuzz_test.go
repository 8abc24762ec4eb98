package router

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/junctionhq/junction/adapters/sdk/platform/topology"
	junctionv1 "github.com/junctionhq/junction/proto/junction/v1"
)

// fuzzEvent is the event every compiled route of FuzzCompile is applied to.
func fuzzEvent() *junctionv1.Event {
	return &junctionv1.Event{
		Id: "evt_1", Source: "acme", Type: "user.created",
		DataContentType: "application/json",
		Data:            []byte(`{"plan":"enterprise","user":{"email":"a@example.com"},"n":3}`),
	}
}

// FuzzCompile feeds route definitions to Compile, the check every route
// passes at save time. A route is either refused with ErrInvalidRoute or
// compiles to one whose filter is a full event subject pattern, and which
// evaluates against an event without panicking, with every delivery for
// the route's own destination.
func FuzzCompile(f *testing.F) {
	f.Add("acme.user.created", `data.plan == "enterprise"`, `{"text": data.user.email}`, "webhook")
	f.Add("acme.>", "", "", "webhook")
	f.Add("junction.events.*.user.*", `event.type.startsWith("user.")`, `data`, "crm")
	f.Add("acme..x", "true", "", "webhook")
	f.Add("acme.>.x", "1 + 1", "", "webhook")
	f.Add("a*b", "", "", "webhook")
	f.Add("acme.user.created", `[1,2,3].map(x, x * 2).size() > 0`, `{"a": [1, 2].filter(x, x > 1)}`, "Bad Dest")
	f.Add("acme.user.created", `data.n / 0 == 1`, `data.missing.field`, "webhook")
	f.Add("acme.user.created", "size(data", "", "webhook")
	f.Add(" ", "", "", "")
	f.Fuzz(func(t *testing.T, filter, condition, transform, destination string) {
		r := &junctionv1.Route{
			Name:      "routes/fuzz",
			Filter:    filter,
			Condition: condition,
			Targets:   []*junctionv1.Target{{Destination: destination, Transform: transform}},
		}
		before := proto.Clone(r)
		c, err := Compile(r)
		if !proto.Equal(before, r) {
			t.Fatalf("Compile modified its argument: before %v, after %v", before, r)
		}
		if err != nil {
			if !errors.Is(err, ErrInvalidRoute) {
				t.Fatalf("Compile(%q, %q, %q, %q) error %v does not wrap ErrInvalidRoute", filter, condition, transform, destination, err)
			}
			return
		}
		if !strings.HasPrefix(c.Filter, topology.EventsPrefix) {
			t.Fatalf("compiled filter %q does not start with %q", c.Filter, topology.EventsPrefix)
		}
		if err := topology.ValidToken(destination); err != nil {
			t.Fatalf("Compile accepted destination %q that is not a subject token: %v", destination, err)
		}
		res, err := c.Evaluate(fuzzEvent())
		if err != nil {
			t.Fatalf("Evaluate of a valid event: %v", err)
		}
		for _, d := range append(res.Deliveries, failedDeliveries(res)...) {
			if d.GetDestination() != destination || d.GetRouteId() != "fuzz" {
				t.Fatalf("delivery for %s/%s, want %s/fuzz", d.GetDestination(), d.GetRouteId(), destination)
			}
		}
		for _, d := range res.Deliveries {
			if transform != "" && strings.TrimSpace(transform) != "" && !json.Valid(d.GetPayload()) {
				t.Fatalf("transform %q produced a payload that is not JSON: %q", transform, d.GetPayload())
			}
		}
	})
}

func failedDeliveries(res Result) []*junctionv1.Delivery {
	var out []*junctionv1.Delivery
	for _, f := range res.Failures {
		out = append(out, f.Delivery)
	}
	return out
}

// FuzzEvaluateData applies routes that read the payload to events whose
// payload and content type come from the fuzzer, as an adapter would store
// them from a webhook body. Evaluation never panics; a transform that
// succeeds yields JSON.
func FuzzEvaluateData(f *testing.F) {
	f.Add([]byte(`{"plan":"enterprise","user":{"email":"a@example.com"}}`), "application/json")
	f.Add([]byte(`{"plan":1e400}`), "application/json")
	f.Add([]byte(`[1,2,3]`), "application/json; charset=utf-8")
	f.Add([]byte(`{"a":{"a":{"a":{"a":{"a":{}}}}}}`), "application/cloudevents+json")
	f.Add([]byte("\xff\xfe"), "application/json")
	f.Add([]byte(`plan=enterprise`), "application/x-www-form-urlencoded")
	f.Add([]byte(`{"plan":"enterprise","n":9007199254740993}`), "")
	var routes []*Compiled
	for _, r := range []*junctionv1.Route{
		{Name: "routes/cond", Filter: "acme.>", Condition: `has(data.plan) && data.plan == "enterprise"`,
			Targets: []*junctionv1.Target{{Destination: "webhook", Transform: `{"plan": data.plan, "all": data}`}}},
		{Name: "routes/dyn", Filter: "acme.>", Condition: `type(data) == map && data.size() > 0`,
			Targets: []*junctionv1.Target{{Destination: "webhook", Transform: `data`}}},
		{Name: "routes/pass", Filter: "acme.>",
			Targets: []*junctionv1.Target{{Destination: "webhook"}}},
	} {
		c, err := Compile(r)
		if err != nil {
			f.Fatalf("compile %s: %v", r.GetName(), err)
		}
		routes = append(routes, c)
	}
	f.Fuzz(func(t *testing.T, data []byte, contentType string) {
		e := &junctionv1.Event{Id: "evt_1", Source: "acme", Type: "user.created", DataContentType: contentType, Data: data}
		for _, c := range routes {
			res, err := c.Evaluate(e)
			if err != nil {
				t.Fatalf("route %s: Evaluate: %v", c.ID, err)
			}
			for _, d := range res.Deliveries {
				if c.targets[0].transform != nil && !json.Valid(d.GetPayload()) {
					t.Fatalf("route %s: transform output is not JSON: %q", c.ID, d.GetPayload())
				}
				if c.targets[0].transform == nil && string(d.GetPayload()) != string(data) {
					t.Fatalf("route %s: pass-through payload changed: got %q, want %q", c.ID, d.GetPayload(), data)
				}
			}
		}
	})
}

// FuzzMatchSubject checks the router's subject index against the plain
// pattern match it stands in for: for any filter and event subject, the
// index finds a route exactly when MatchSubject says its filter matches.
func FuzzMatchSubject(f *testing.F) {
	f.Add("acme.user.created", "acme.user.created")
	f.Add("acme.*.created", "acme.user.created")
	f.Add("acme.>", "acme.user.created")
	f.Add(">", "acme.user")
	f.Add("*.*", "acme.user.created")
	f.Add("acme.user", "acme.user.created")
	f.Add("acme.user.created.>", "acme.user.created")
	f.Fuzz(func(t *testing.T, filter, subjectTail string) {
		c, err := Compile(&junctionv1.Route{Name: "routes/m", Filter: filter, Targets: []*junctionv1.Target{{Destination: "webhook"}}})
		if err != nil {
			return // not a filter a route can have
		}
		subject := topology.EventsPrefix + subjectTail
		if strings.ContainsAny(subjectTail, "*> \t\r\n") || strings.Contains(subject, "..") || strings.HasSuffix(subject, ".") {
			return // not a subject an event can have
		}
		ix := buildIndex(map[string]*Compiled{"m": c})
		got := len(ix.match(subject, nil)) == 1
		want := MatchSubject(c.Filter, subject)
		if got != want {
			t.Fatalf("filter %q (full %q), subject %q: index match %v, MatchSubject %v", filter, c.Filter, subject, got, want)
		}
		if !strings.ContainsAny(c.Filter, "*>") && !MatchSubject(c.Filter, c.Filter) {
			t.Fatalf("literal filter %q does not match itself", c.Filter)
		}
	})
}
