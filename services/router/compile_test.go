package router

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	junctionv1 "github.com/junctionhq/junction/proto/junction/v1"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"
)

func webhookTarget() *junctionv1.Target {
	return &junctionv1.Target{Destination: "webhook", Config: map[string]string{"url": "https://example.com/hook"}}
}

func TestRouteID(t *testing.T) {
	tests := []struct {
		in, want string
		ok       bool
	}{
		{"routes/new-users", "new-users", true},
		{"new-users", "new-users", true},
		{"a", "a", true},
		{"routes/" + strings.Repeat("a", 63), strings.Repeat("a", 63), true},
		{"routes/" + strings.Repeat("a", 64), "", false},
		{"", "", false},
		{"routes/", "", false},
		{"1abc", "", false},
		{"-abc", "", false},
		{"New", "", false},
		{"a_b", "", false},
		{"a.b", "", false},
		{"routes/a/b", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := RouteID(tt.in)
			if tt.ok {
				if err != nil || got != tt.want {
					t.Fatalf("RouteID(%q) = %q, %v; want %q, nil", tt.in, got, err, tt.want)
				}
				return
			}
			if !errors.Is(err, ErrInvalidRoute) {
				t.Fatalf("RouteID(%q) = %q, %v; want an error wrapping ErrInvalidRoute", tt.in, got, err)
			}
		})
	}
}

func TestCompile(t *testing.T) {
	good := func(mod func(r *junctionv1.Route)) *junctionv1.Route {
		r := &junctionv1.Route{
			Name:    "routes/r1",
			Filter:  "acme.user.created",
			Targets: []*junctionv1.Target{webhookTarget()},
		}
		if mod != nil {
			mod(r)
		}
		return r
	}
	tests := []struct {
		name    string
		route   *junctionv1.Route
		wantErr string // empty: compiles
	}{
		{"minimal", good(nil), ""},
		{"unnamed (dry run)", good(func(r *junctionv1.Route) { r.Name = "" }), ""},
		{"bare id", good(func(r *junctionv1.Route) { r.Name = "r1" }), ""},
		{"full prefix filter", good(func(r *junctionv1.Route) { r.Filter = "junction.events.acme.>" }), ""},
		{"wildcards", good(func(r *junctionv1.Route) { r.Filter = "*.user.*" }), ""},
		{"condition on type", good(func(r *junctionv1.Route) { r.Condition = `event.type == "user.created"` }), ""},
		{"condition on data", good(func(r *junctionv1.Route) { r.Condition = `data.plan == "pro" && data.seats > 10` }), ""},
		{"condition dyn", good(func(r *junctionv1.Route) { r.Condition = `data.active` }), ""},
		{"condition on model", good(func(r *junctionv1.Route) { r.Condition = `event.user.email.endsWith("@acme.com")` }), ""},
		{"transform map", good(func(r *junctionv1.Route) {
			r.Targets[0].Transform = `{"text": "new user " + event.user.email, "n": 1, "up": data.name.upperAscii()}`
		}), ""},
		{"transform string ext", good(func(r *junctionv1.Route) { r.Targets[0].Transform = `base64.encode(bytes(event.id))` }), ""},
		{"two targets default names", good(func(r *junctionv1.Route) { r.Targets = append(r.Targets, webhookTarget()) }), ""},
		{"policy", good(func(r *junctionv1.Route) {
			r.Policy = &junctionv1.DeliveryPolicy{MaxAttempts: 3, Multiplier: 1.5, Jitter: 1, InitialBackoff: durationpb.New(1e9), MaxBackoff: durationpb.New(10e9)}
		}), ""},

		{"nil route", nil, "route is required"},
		{"bad name", good(func(r *junctionv1.Route) { r.Name = "routes/Bad_Name" }), "name: "},
		{"no filter", good(func(r *junctionv1.Route) { r.Filter = " " }), "filter: required"},
		{"filter empty token", good(func(r *junctionv1.Route) { r.Filter = "acme..created" }), "filter: "},
		{"filter > not last", good(func(r *junctionv1.Route) { r.Filter = "acme.>.created" }), "'>' before the last token"},
		{"filter partial wildcard", good(func(r *junctionv1.Route) { r.Filter = "acme.user*" }), "wildcard inside the token"},
		{"filter space", good(func(r *junctionv1.Route) { r.Filter = "acme.us er" }), "white space"},
		{"cel syntax", good(func(r *junctionv1.Route) { r.Condition = `event.type ==` }), "condition: ERROR: <input>:1:"},
		{"undeclared var", good(func(r *junctionv1.Route) { r.Condition = `foo == 1` }), "condition: ERROR: <input>:1:1: undeclared reference to 'foo'"},
		{"unknown event field", good(func(r *junctionv1.Route) { r.Condition = `event.nope == "x"` }), "undefined field 'nope'"},
		// Routes written against the canonical model are type-checked
		// against it when saved.
		{"model field", good(func(r *junctionv1.Route) {
			r.Condition = `event.ticket.priority == "high" && event.order.total.units >= 100 && event.payment.amount.currency_code == "EUR"`
		}), ""},
		{"model field misspelt", good(func(r *junctionv1.Route) { r.Condition = `event.ticket.priorty == "high"` }), "undefined field 'priorty'"},
		{"model field of another type", good(func(r *junctionv1.Route) { r.Condition = `event.order.total.units == "100"` }), "no matching overload"},
		{"model message not in the oneof", good(func(r *junctionv1.Route) { r.Condition = `event.invoice.id == "x"` }), "undefined field 'invoice'"},
		{"condition not bool", good(func(r *junctionv1.Route) { r.Condition = `event.type` }), "condition: must evaluate to bool, not string"},
		{"no targets", good(func(r *junctionv1.Route) { r.Targets = nil }), "targets: at least one target is required"},
		{"nil target", good(func(r *junctionv1.Route) { r.Targets = []*junctionv1.Target{nil} }), "targets[0].destination: required"},
		{"dup target names", good(func(r *junctionv1.Route) {
			a, b := webhookTarget(), webhookTarget()
			a.Name, b.Name = "hook", "hook"
			r.Targets = []*junctionv1.Target{a, b}
		}), `targets[1].name: "hook" is also the name of targets[0]`},
		{"dup with default name", good(func(r *junctionv1.Route) {
			a, b := webhookTarget(), webhookTarget()
			a.Name = "1"
			r.Targets = []*junctionv1.Target{a, b}
		}), `targets[1].name: "1" is also the name of targets[0]`},
		{"bad target name", good(func(r *junctionv1.Route) { r.Targets[0].Name = "A B" }), "targets[0].name"},
		{"no destination", good(func(r *junctionv1.Route) { r.Targets[0].Destination = "" }), "targets[0].destination: required"},
		{"bad destination", good(func(r *junctionv1.Route) { r.Targets[0].Destination = "web.hook" }), "targets[0].destination: invalid name"},
		{"bad transform", good(func(r *junctionv1.Route) { r.Targets[0].Transform = `{"a": nope}` }), "targets[0].transform: ERROR: <input>:1:7: undeclared reference to 'nope'"},
		{"negative attempts", good(func(r *junctionv1.Route) { r.Policy = &junctionv1.DeliveryPolicy{MaxAttempts: -1} }), "policy.max_attempts"},
		{"small multiplier", good(func(r *junctionv1.Route) { r.Policy = &junctionv1.DeliveryPolicy{Multiplier: 0.5} }), "policy.multiplier"},
		{"jitter above 1", good(func(r *junctionv1.Route) { r.Policy = &junctionv1.DeliveryPolicy{Jitter: 1.5} }), "policy.jitter"},
		{"negative duration", good(func(r *junctionv1.Route) { r.Policy = &junctionv1.DeliveryPolicy{MaxAge: durationpb.New(-1e9)} }), "policy.max_age: must not be negative"},
		{"backoff order", good(func(r *junctionv1.Route) {
			r.Policy = &junctionv1.DeliveryPolicy{InitialBackoff: durationpb.New(10e9), MaxBackoff: durationpb.New(1e9)}
		}), "policy.initial_backoff"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var before *junctionv1.Route
			if tt.route != nil {
				before = proto.Clone(tt.route).(*junctionv1.Route)
			}
			c, err := Compile(tt.route)
			if tt.route != nil && !proto.Equal(before, tt.route) {
				t.Errorf("Compile modified its input: got %v, want %v", tt.route, before)
			}
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("Compile: %v, want nil", err)
				}
				if c.Filter == "" || !strings.HasPrefix(c.Filter, "junction.events.") {
					t.Errorf("Filter = %q, want a junction.events. pattern", c.Filter)
				}
				if !c.Enabled() {
					t.Errorf("Enabled() = false, want true by default")
				}
				for i, tg := range c.Route.GetTargets() {
					if tg.GetName() == "" {
						t.Errorf("targets[%d].name empty, want default", i)
					}
				}
				return
			}
			if !errors.Is(err, ErrInvalidRoute) {
				t.Fatalf("Compile error = %v, want one wrapping ErrInvalidRoute", err)
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Compile error = %q, want it to contain %q", err, tt.wantErr)
			}
		})
	}
}

func TestCompileDefaults(t *testing.T) {
	c, err := Compile(&junctionv1.Route{
		Name:    "routes/r",
		Filter:  "junction.events.acme.>",
		Targets: []*junctionv1.Target{webhookTarget(), {Name: "audit", Destination: "log"}, webhookTarget()},
		Enabled: proto.Bool(false),
	})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, tg := range c.Route.GetTargets() {
		names = append(names, tg.GetName())
	}
	if got, want := strings.Join(names, ","), "0,audit,2"; got != want {
		t.Errorf("target names = %s, want %s", got, want)
	}
	if c.Enabled() {
		t.Errorf("Enabled() = true, want false as set")
	}
	if got, want := c.Filter, "junction.events.acme.>"; got != want {
		t.Errorf("Filter = %q, want %q", got, want)
	}
	if c.ID != "r" {
		t.Errorf("ID = %q, want r", c.ID)
	}
}

// TestCompileRefusesCostlyCEL checks the save-time cost estimate: an
// expression whose worst case exceeds MaxEstimatedCost is refused with a
// message naming the limit, while everyday expressions over the payload,
// including one loop over a list, pass.
func TestCompileRefusesCostlyCEL(t *testing.T) {
	tests := []struct {
		name      string
		condition string
		transform string
		refused   bool
	}{
		{"field compare", `data.plan == "enterprise"`, "", false},
		{"one loop over a list", `data.items.exists(i, i.sku == "X")`, `data.items.map(i, {"sku": i.sku, "qty": i.qty * 2})`, false},
		{"map and join", "", `data.tags.map(t, t + "!").join(",")`, false},
		{"small literal nested loop", `[1,2,3].all(a, [1,2,3].all(b, a + b > 0))`, "", false},
		{"a million iterations", `lists.range(1000000).all(x, x >= 0)`, "", true},
		{"nested loops over ranges", `lists.range(1000).all(x, lists.range(1000).all(y, y >= 0))`, "", true},
		{"nested loops over the payload", `data.items.all(a, data.items.all(b, a == b))`, "", true},
		{"costly transform", "", `lists.range(1000000).map(x, x * 2)`, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &junctionv1.Route{Name: "routes/c", Filter: "acme.>", Condition: tt.condition,
				Targets: []*junctionv1.Target{{Destination: "webhook", Transform: tt.transform}}}
			_, err := Compile(r)
			if !tt.refused {
				if err != nil {
					t.Fatalf("Compile(%q, %q): %v, want accepted", tt.condition, tt.transform, err)
				}
				return
			}
			if err == nil || !errors.Is(err, ErrInvalidRoute) {
				t.Fatalf("Compile(%q, %q) = %v, want ErrInvalidRoute", tt.condition, tt.transform, err)
			}
			for _, want := range []string{"estimated cost", fmt.Sprintf("limit of %d", MaxEstimatedCost)} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not say %q", err, want)
				}
			}
		})
	}
}

// TestCompileRefusesCredentialsInTargetURL: a target URL carrying a user
// name or password would be stored and returned in clear, so the route is
// refused naming the key and never echoing the secret.
func TestCompileRefusesCredentialsInTargetURL(t *testing.T) {
	for _, tt := range []struct {
		url     string
		refused bool
	}{
		{"https://user:s3cret-pass@example.com/hook", true},
		{"https://token@example.com/hook", true},
		{"https://example.com/hook?x=1", false},
		{"https://example.com/hook", false},
	} {
		r := &junctionv1.Route{Filter: "acme.>", Targets: []*junctionv1.Target{{Destination: "webhook", Config: map[string]string{"url": tt.url}}}}
		_, err := Compile(r)
		if !tt.refused {
			if err != nil {
				t.Errorf("url %s: %v, want accepted", tt.url, err)
			}
			continue
		}
		if err == nil || !errors.Is(err, ErrInvalidRoute) || !strings.Contains(err.Error(), `"url"`) {
			t.Errorf("url %s: err %v, want ErrInvalidRoute naming the key", tt.url, err)
		}
		if err != nil && (strings.Contains(err.Error(), "s3cret") || strings.Contains(err.Error(), "token@")) {
			t.Errorf("error %q echoes the credentials", err)
		}
	}
}

// TestRunsCEL: only a route with a condition or a transform has CEL to run
// (and so evaluation time to budget).
func TestRunsCEL(t *testing.T) {
	tests := []struct {
		name  string
		route *junctionv1.Route
		want  bool
	}{
		{"filter only", &junctionv1.Route{Filter: "acme.>", Targets: []*junctionv1.Target{{Destination: "webhook"}}}, false},
		{"condition", &junctionv1.Route{Filter: "acme.>", Condition: `event.type == "x"`, Targets: []*junctionv1.Target{{Destination: "webhook"}}}, true},
		{"transform of the second target", &junctionv1.Route{Filter: "acme.>", Targets: []*junctionv1.Target{{Destination: "webhook"}, {Destination: "slack", Transform: `{"text": event.type}`}}}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Compile(tc.route)
			if err != nil {
				t.Fatal(err)
			}
			if got := c.runsCEL(); got != tc.want {
				t.Errorf("runsCEL() = %v, want %v", got, tc.want)
			}
		})
	}
}
