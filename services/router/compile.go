// Package router matches events against routes and fans them out as
// deliveries.
//
// A route (junction.v1.Route) takes the events whose subject matches its
// filter and for which its CEL condition is true, and sends each of them to
// every one of its targets, rendered by the target's CEL transform. This
// package has three parts:
//
//   - Compile and Compiled.Evaluate: check a route once, when it is saved or
//     loaded, and apply it to an event. The gateway's dry run uses them too.
//   - Store: routes in the topology.RoutesBucket key-value bucket, with the
//     KV revision as the route's revision for optimistic concurrency. Every
//     write compiles the route first and stores nothing when it is invalid.
//   - Router: consumes EVENTS with one durable pull consumer shared by every
//     replica, picks candidate routes from a subject index, and publishes one
//     delivery per matching target on DELIVERIES before it acks the event.
//
// # CEL
//
// Conditions and transforms see two variables: `event`, the junction.v1.Event
// message (event.type, event.source, event.user.email, ...), and `data`, the
// event's JSON payload parsed (null when the payload is not JSON). JSON
// numbers that are integers become CEL ints, others doubles; comparisons
// across numeric types are allowed, so `data.amount > 10` works for both.
// The cel-go extensions strings, encoders, math, lists and sets and optional
// types (`data.?customer.email.orValue("")`) are available. Every program
// has a cost limit (CostLimit) so a route cannot stall the router.
//
// A condition must type-check to bool; an expression of dynamic type, such
// as `data.active`, is accepted and must yield a bool when it runs. A
// transform may have any type; its value is encoded as JSON (timestamps as
// RFC 3339, durations as "1.5s", bytes as base64, messages as protojson).
// A transform that fails at run time (a missing field, the cost limit) does
// not drop the delivery: the router dead-letters it on
// junction.dlq.<destination>.<route> with Junction-Dlq-Reason
// "transform_error", the error, and the event's original payload.
//
// # Delivery guarantees
//
// An event is acked only after every one of its deliveries (and dead
// letters) was stored by JetStream. When a publish fails the event is
// nak'ed with a delay (250ms doubling to 10s) and processed again. The
// consumer has no MaxDeliver: while the hub is unavailable (timeouts, no
// stream leader, a full store) an event is retried until the hub takes its
// deliveries, never dropped. A delivery the hub refuses for another reason
// (a stream's limit on message size, say) is dead-lettered with reason
// publish_error once the event was processed Options.MaxPublishAttempts
// times, and the event acked; should the dead letter be refused too, the
// event is terminated with an error log. So no event cycles forever.
//
// One route cannot take the router's time from the others: each route
// has a per-event budget (Budget: CEL cost and CPU time), and a route
// that keeps going over it is degraded for a while, its targets
// dead-lettered with reason route_degraded, and reported in
// topology.RouteStatusBucket, which the API shows as Route.status.
// Reprocessing is harmless: a delivery's
// Nats-Msg-Id is its id, DeliveryID(source, event id, route, target), so
// JetStream stores it once within the duplicate window
// (topology.DuplicateWindow), and receivers dedupe on the same id beyond
// it. The result is at-least-once delivery per target, exactly-once stored
// in the common case.
//
// The consumer is created with DeliverAll, so a new consumer starts at the
// beginning of EVENTS' retention, and with MaxAckPending of at least 1000
// (4 x Concurrency when larger). Every replica creates or updates the same
// durable consumer; give them the same Options so they agree on it.
//
// Route changes reach a running router through a watch on the bucket and
// replace its route index atomically; an event is evaluated against one
// consistent set of routes. The router waits for the whole stored set
// before it takes its first event. A stored route that no longer decodes
// or compiles (for example written by an older version) is logged and
// skipped.
package router

import (
	"errors"
	"fmt"
	"maps"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"

	"cel.dev/cel-go/cel"
	"cel.dev/cel-go/common/cost"
	"cel.dev/cel-go/ext"
	"google.golang.org/protobuf/proto"

	"github.com/junctionhq/junction/adapters/sdk/platform/deliverypolicy"
	"github.com/junctionhq/junction/adapters/sdk/platform/topology"
	junctionv1 "github.com/junctionhq/junction/proto/junction/v1"
)

// Errors callers branch on.
var (
	// ErrInvalidRoute is returned for a route that does not compile; the
	// message names the field and what to fix.
	ErrInvalidRoute = errors.New("invalid route")
	// ErrNotFound is returned when a route does not exist.
	ErrNotFound = errors.New("route not found")
	// ErrAlreadyExists is returned when creating a route whose id is taken.
	ErrAlreadyExists = errors.New("route already exists")
	// ErrRevisionMismatch is returned when a write names a revision that is
	// not the stored one.
	ErrRevisionMismatch = errors.New("route revision mismatch")
)

// CostLimit is the most a condition or transform may cost in one
// evaluation, in cel-go cost units (roughly one per operation, more for
// work proportional to string or list size).
const CostLimit = 1_000_000

// MaxEstimatedCost is the most a condition or transform may cost in the
// worst case as cel-go estimates it when the route is saved, under the
// assumption that every list, map and string in the event holds at most
// AssumedSize elements. A route above it is refused with ErrInvalidRoute
// (InvalidArgument at the API), so an expression that would cost every
// event seconds of CPU (a nested loop over a payload's lists, a
// lists.range of a million) never reaches the router. Payloads larger than
// the assumption are still stopped by CostLimit at run time.
const MaxEstimatedCost = CostLimit

// AssumedSize is the size of every list, map and string of an event (its
// payload, extensions and attributes) that the save-time cost estimate
// assumes; see MaxEstimatedCost.
const AssumedSize = 256

// routeNamePrefix is the collection part of a route's resource name.
const routeNamePrefix = "routes/"

var (
	routeIDRe    = regexp.MustCompile(`^[a-z][a-z0-9-]{0,62}$`)
	targetNameRe = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,62}$`)
)

// RouteID returns the id of a route named "routes/{id}", or of a bare id.
// An id is 1 to 63 characters of [a-z0-9-] starting with a letter, which
// also makes it a valid subject token (topology.ValidToken). Errors wrap
// ErrInvalidRoute.
func RouteID(name string) (string, error) {
	id := strings.TrimPrefix(name, routeNamePrefix)
	if !routeIDRe.MatchString(id) {
		return "", fmt.Errorf("%w: route id %q must be 1 to 63 characters of a-z, 0-9 and '-', starting with a letter (name \"routes/{id}\")", ErrInvalidRoute, id)
	}
	if err := topology.ValidToken(id); err != nil {
		return "", fmt.Errorf("%w: route id: %w", ErrInvalidRoute, err)
	}
	return id, nil
}

// RouteName returns the resource name of the route with id, "routes/{id}".
func RouteName(id string) string { return routeNamePrefix + id }

// Compiled is a checked route with its CEL programs, ready to evaluate. It
// is immutable, but for the router's budget state, and safe for concurrent
// use. Compile once per save or load.
type Compiled struct {
	// Route is a copy of the route given to Compile with defaults filled
	// in: target names ("0", "1", ...) and enabled (true). Do not modify it.
	Route *junctionv1.Route
	// ID is the route id from Route.Name; empty for a route not yet named,
	// such as one given inline to a dry run.
	ID string
	// Filter is the route's filter as a full event subject pattern.
	Filter string

	condition cel.Program // nil: every event the filter takes
	targets   []compiledTarget
	policy    *junctionv1.DeliveryPolicy
	// health is the router's budget state of this revision (see Budget).
	health health
	// span is the name and start options of the route's span, built once
	// for ID (see eventTrace.route).
	span routeSpan
}

type compiledTarget struct {
	t         *junctionv1.Target
	transform cel.Program // nil: pass the payload through
}

// runsCEL reports whether evaluating the route runs a CEL program: a
// condition or a transform.
func (c *Compiled) runsCEL() bool {
	if c.condition != nil {
		return true
	}
	for _, t := range c.targets {
		if t.transform != nil {
			return true
		}
	}
	return false
}

// Enabled reports whether the route is applied.
func (c *Compiled) Enabled() bool { return c.Route.GetEnabled() }

var celEnv = sync.OnceValues(func() (*cel.Env, error) {
	return cel.NewEnv(
		cel.Types(&junctionv1.Event{}),
		cel.Variable("event", cel.ObjectType(string((&junctionv1.Event{}).ProtoReflect().Descriptor().FullName()))),
		cel.Variable("data", cel.DynType),
		cel.CrossTypeNumericComparisons(true),
		cel.OptionalTypes(),
		cel.ParserExpressionSizeLimit(100_000),
		ext.Strings(),
		ext.Encoders(),
		ext.Math(),
		ext.Lists(),
		ext.Sets(),
	)
})

// Compile checks every part of a route and compiles its CEL programs:
//
//   - name: "routes/{id}" or a bare id (see RouteID); may be empty for a
//     route that is not stored (a dry run)
//   - filter: required, a NATS subject pattern with or without the
//     "junction.events." prefix (topology.NormalizeFilter)
//   - condition: CEL that type-checks to bool; empty takes every event
//   - targets: at least one; each with a destination (topology.ValidToken),
//     a name unique in the route (default its position), a CEL transform of
//     any type (empty passes the payload through), a delay of none or
//     MinDelay to MaxDelay
//   - policy: max_attempts >= 0, multiplier 0 or >= 1, jitter 0 to 1,
//     durations non-negative, initial_backoff <= max_backoff
//
// Errors wrap ErrInvalidRoute and say which field is wrong and why, e.g.
// "invalid route: condition: ERROR: <input>:1:1: undeclared reference to 'foo'".
// Compile does not modify r.
func Compile(r *junctionv1.Route) (*Compiled, error) {
	if r == nil {
		return nil, fmt.Errorf("%w: route is required", ErrInvalidRoute)
	}
	env, err := celEnv()
	if err != nil {
		return nil, fmt.Errorf("cel environment: %w", err)
	}
	route := proto.Clone(r).(*junctionv1.Route)
	c := &Compiled{Route: route}

	if route.GetName() != "" {
		id, err := RouteID(route.GetName())
		if err != nil {
			return nil, fmt.Errorf("name: %w", err)
		}
		c.ID = id
		route.Name = RouteName(id)
		c.span = newRouteSpan(id)
	}

	if c.Filter, err = compileFilter(route.GetFilter()); err != nil {
		return nil, err
	}

	if strings.TrimSpace(route.GetCondition()) != "" {
		prg, err := compileCEL(env, route.GetCondition(), true)
		if err != nil {
			return nil, fmt.Errorf("%w: condition: %s", ErrInvalidRoute, err)
		}
		c.condition = prg
	}

	if len(route.GetTargets()) == 0 {
		return nil, fmt.Errorf("%w: targets: at least one target is required, e.g. {destination: \"webhook\", config: {url: \"https://example.com/hook\"}}", ErrInvalidRoute)
	}
	seen := make(map[string]int, len(route.GetTargets()))
	for i, t := range route.GetTargets() {
		field := fmt.Sprintf("targets[%d]", i)
		if t.Name == "" {
			t.Name = fmt.Sprint(i)
		}
		if !targetNameRe.MatchString(t.Name) {
			return nil, fmt.Errorf("%w: %s.name: %q must be 1 to 63 characters of a-z, 0-9 and '-'", ErrInvalidRoute, field, t.Name)
		}
		if j, dup := seen[t.Name]; dup {
			return nil, fmt.Errorf("%w: %s.name: %q is also the name of targets[%d]; target names must be unique (unnamed targets are named by position)", ErrInvalidRoute, field, t.Name, j)
		}
		seen[t.Name] = i
		if t.Destination == "" {
			return nil, fmt.Errorf("%w: %s.destination: required, the destination adapter, e.g. \"webhook\"", ErrInvalidRoute, field)
		}
		if err := topology.ValidToken(t.Destination); err != nil {
			return nil, fmt.Errorf("%w: %s.destination: %w", ErrInvalidRoute, field, err)
		}
		if err := checkTargetConfig(t.GetConfig()); err != nil {
			return nil, fmt.Errorf("%w: %s.config: %w", ErrInvalidRoute, field, err)
		}
		if err := checkDelay(field, t); err != nil {
			return nil, err
		}
		ct := compiledTarget{t: t}
		if strings.TrimSpace(t.Transform) != "" {
			prg, err := compileCEL(env, t.Transform, false)
			if err != nil {
				return nil, fmt.Errorf("%w: %s.transform: %s", ErrInvalidRoute, field, err)
			}
			ct.transform = prg
		}
		c.targets = append(c.targets, ct)
	}

	if err := checkPolicy(route.GetPolicy()); err != nil {
		return nil, err
	}
	c.policy = deliverypolicy.WithDefaults(route.GetPolicy())

	if route.Enabled == nil {
		route.Enabled = proto.Bool(true)
	}
	return c, nil
}

// compileFilter checks a route filter and returns it as a full event
// subject pattern.
func compileFilter(filter string) (string, error) {
	if strings.TrimSpace(filter) == "" {
		return "", fmt.Errorf("%w: filter: required, a subject pattern such as \"acme.user.created\", \"shopify.order.*\" or \"jira.>\"", ErrInvalidRoute)
	}
	full := topology.NormalizeFilter(filter)
	tokens := strings.Split(full, ".")
	for i, tok := range tokens {
		switch {
		case tok == "":
			return "", fmt.Errorf("%w: filter: %q has an empty token; tokens are separated by single dots", ErrInvalidRoute, filter)
		case strings.ContainsAny(tok, " \t\r\n"):
			return "", fmt.Errorf("%w: filter: %q contains white space", ErrInvalidRoute, filter)
		case tok == ">" && i != len(tokens)-1:
			return "", fmt.Errorf("%w: filter: %q has '>' before the last token; '>' matches the rest of the subject and must come last", ErrInvalidRoute, filter)
		case tok != "*" && tok != ">" && strings.ContainsAny(tok, "*>"):
			return "", fmt.Errorf("%w: filter: %q has a wildcard inside the token %q; '*' and '>' must be whole tokens", ErrInvalidRoute, filter, tok)
		}
	}
	return full, nil
}

// compileCEL parses, checks and plans one expression. wantBool requires
// the expression's type to be assignable to bool.
func compileCEL(env *cel.Env, expr string, wantBool bool) (cel.Program, error) {
	ast, iss := env.Compile(expr)
	if iss != nil && iss.Err() != nil {
		return nil, iss.Err()
	}
	if out := ast.OutputType(); wantBool && !out.IsExactType(cel.BoolType) && !out.IsExactType(cel.DynType) {
		return nil, fmt.Errorf("must evaluate to bool, not %s", ast.OutputType())
	}
	est, err := env.EstimateCost(ast, eventSizes{})
	if err != nil {
		return nil, fmt.Errorf("estimate cost: %w", err)
	}
	if est.Max > MaxEstimatedCost {
		return nil, fmt.Errorf("estimated cost up to %d exceeds the limit of %d (each list, map and string in the event is assumed to hold at most %d elements): avoid nested loops over lists and large ranges", est.Max, MaxEstimatedCost, AssumedSize)
	}
	prg, err := env.Program(ast, cel.CostLimit(CostLimit), cel.InterruptCheckFrequency(100))
	if err != nil {
		return nil, err
	}
	return prg, nil
}

// checkTargetConfig refuses credentials written into a target's config: a
// URL with a user name or password (https://user:pass@host/...) would be
// stored in the routes bucket and shown by every read of the route. Such
// secrets belong in the destination adapter's configuration, from env or a
// file. The key is named, the value never.
func checkTargetConfig(cfg map[string]string) error {
	for _, k := range slices.Sorted(maps.Keys(cfg)) {
		v := cfg[k]
		if !strings.Contains(v, "://") {
			continue
		}
		if u, err := url.Parse(v); err == nil && u.User != nil {
			return fmt.Errorf("%q is a URL with credentials (user:password@); routes are stored and read back in clear, so give the destination its credentials from env or a file instead", k)
		}
	}
	return nil
}

// eventSizes gives cel-go's cost estimate the size of what comes from the
// event: AssumedSize for every value reached from `event` or `data`, and
// cel-go's own estimate for the rest (literals, results of functions).
type eventSizes struct{}

// EstimateSize implements cost.Estimator.
func (eventSizes) EstimateSize(n cost.AstNode) *cost.SizeEstimate {
	if p := n.Path(); len(p) > 0 && (p[0] == "event" || p[0] == "data") {
		s := cost.RangedSizeEstimate(0, AssumedSize)
		return &s
	}
	return nil
}

// EstimateCallCost implements cost.Estimator: cel-go's standard costs.
func (eventSizes) EstimateCallCost(string, string, *cost.AstNode, []cost.AstNode) *cost.CallEstimate {
	return nil
}

// checkPolicy reports the first out-of-range policy value.
func checkPolicy(p *junctionv1.DeliveryPolicy) error {
	if p == nil {
		return nil
	}
	if p.MaxAttempts < 0 {
		return fmt.Errorf("%w: policy.max_attempts: %d is negative; use 0 for the default (185) or a positive count", ErrInvalidRoute, p.MaxAttempts)
	}
	if p.Multiplier != 0 && !(p.Multiplier >= 1) || p.Multiplier > 1000 {
		return fmt.Errorf("%w: policy.multiplier: %v must be 0 (default 2) or between 1 and 1000", ErrInvalidRoute, p.Multiplier)
	}
	if !(p.Jitter >= 0 && p.Jitter <= 1) {
		return fmt.Errorf("%w: policy.jitter: %v must be between 0 and 1", ErrInvalidRoute, p.Jitter)
	}
	durations := []struct {
		field string
		d     interface {
			CheckValid() error
			GetSeconds() int64
			GetNanos() int32
		}
		set bool
	}{
		{"initial_backoff", p.InitialBackoff, p.InitialBackoff != nil},
		{"max_backoff", p.MaxBackoff, p.MaxBackoff != nil},
		{"max_age", p.MaxAge, p.MaxAge != nil},
		{"attempt_timeout", p.AttemptTimeout, p.AttemptTimeout != nil},
	}
	for _, d := range durations {
		if !d.set {
			continue
		}
		if err := d.d.CheckValid(); err != nil {
			return fmt.Errorf("%w: policy.%s: %w", ErrInvalidRoute, d.field, err)
		}
		if d.d.GetSeconds() < 0 || d.d.GetNanos() < 0 {
			return fmt.Errorf("%w: policy.%s: must not be negative", ErrInvalidRoute, d.field)
		}
	}
	if p.InitialBackoff != nil && p.MaxBackoff != nil && p.MaxBackoff.AsDuration() > 0 &&
		p.InitialBackoff.AsDuration() > p.MaxBackoff.AsDuration() {
		return fmt.Errorf("%w: policy.initial_backoff: %s is longer than max_backoff %s", ErrInvalidRoute, p.InitialBackoff.AsDuration(), p.MaxBackoff.AsDuration())
	}
	return nil
}
