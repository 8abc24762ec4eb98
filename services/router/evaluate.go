package router

import (
	"bytes"
	"crypto/sha256"
	"encoding/base32"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"mime"
	"strings"
	"time"

	"cel.dev/cel-go/cel"
	"cel.dev/cel-go/common/types"
	"cel.dev/cel-go/common/types/ref"
	"cel.dev/cel-go/common/types/traits"
	"cel.dev/cel-go/interpreter"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/junctionhq/junction/adapters/sdk/platform/topology"
	junctionv1 "github.com/junctionhq/junction/proto/junction/v1"
)

// ContentTypeJSON is the content type of a payload rendered by a transform.
const ContentTypeJSON = "application/json"

// Result is what a route does with one event.
type Result struct {
	// FilterMatched reports whether the event's subject matches the filter.
	FilterMatched bool
	// ConditionMatched reports whether the condition is true (always false
	// when the filter did not match, or when the condition failed to run).
	ConditionMatched bool
	// Deliveries holds one delivery per target whose transform succeeded,
	// when the route matched.
	Deliveries []*junctionv1.Delivery
	// Failures holds the targets whose transform failed at run time, or
	// every target when the condition failed at run time, each with its
	// delivery carrying the event's original payload, so the router can
	// dead-letter it instead of dropping it.
	Failures []TargetFailure
	// ConditionError is the condition's run-time error, if it had one; the
	// route then does not match, and every target is in Failures.
	ConditionError error
	// Reason says why the route did not match, or what failed.
	Reason string
}

// TargetFailure is a target whose transform failed for an event.
type TargetFailure struct {
	// Delivery is what would have been delivered, with the event's
	// original payload and content type instead of the transform's output.
	Delivery *junctionv1.Delivery
	// Err is the transform's error, or the condition's.
	Err error
	// Condition reports that the condition failed, not the transform.
	Condition bool
}

// ErrInvalidEvent is returned by Evaluate for an event it cannot apply a
// route to.
var ErrInvalidEvent = errors.New("invalid event")

// Evaluate applies the route to an event whose subject is
// topology.EventSubject(e.Source, e.Type): the filter, then the condition,
// then each target's transform. A failure of CEL at run time (an error, the
// cost limit) is not an error of Evaluate: the condition's makes the route
// not match (ConditionError, Reason) and puts every target in Failures, a
// transform's puts its target in Failures; so the router dead-letters
// them, visibly, rather than count the event as not matched. The error is
// non-nil only for an event without source or type (ErrInvalidEvent).
func (c *Compiled) Evaluate(e *junctionv1.Event) (Result, error) {
	if e == nil || e.GetSource() == "" || e.GetType() == "" {
		return Result{}, fmt.Errorf("%w: source and type are required", ErrInvalidEvent)
	}
	res := c.evaluate(newInput(e), time.Now())
	// The router's deliveries share the route's policy (they are only
	// encoded); the caller's each get their own copy to change.
	for _, d := range res.Deliveries {
		d.Policy = proto.CloneOf(d.GetPolicy())
	}
	for _, f := range res.Failures {
		f.Delivery.Policy = proto.CloneOf(f.Delivery.GetPolicy())
	}
	return res, nil
}

// input is an event prepared for evaluation by any number of routes, in
// one goroutine: the subject is computed once and the payload parsed at
// most once, when an expression first uses it.
type input struct {
	event   *junctionv1.Event
	subject string
	parsed  bool
	data    any // parsed JSON payload, nil when not JSON
	// parseTook is how long parsing the payload took, by the clock of
	// the route evaluation that parsed it, so the route that happened to
	// use data first is not charged for it.
	parseTook time.Duration
	// timer is the timer of the route evaluation in progress, which
	// measures parseTook when timing is set: by the router, the one
	// caller that keeps a budget.
	timer  evalTimer
	timing bool
}

func newInput(e *junctionv1.Event) *input {
	return &input{event: e, subject: topology.EventSubject(e.GetSource(), e.GetType())}
}

// ResolveName implements interpreter.Activation.
func (in *input) ResolveName(name string) (any, bool) {
	switch name {
	case "event":
		return in.event, true
	case "data":
		if !in.parsed {
			var start time.Duration
			if in.timing {
				start = in.timer.now()
			}
			in.data, in.parsed = parseData(in.event), true
			if in.timing {
				in.parseTook = in.timer.now() - start
			}
		}
		return in.data, true
	}
	return nil, false
}

// Parent implements interpreter.Activation.
func (in *input) Parent() interpreter.Activation { return nil }

func (c *Compiled) evaluate(in *input, now time.Time) Result {
	res, _ := c.evaluateCost(in, now)
	return res
}

// evaluateCost is evaluate that also returns the CEL cost of the
// evaluation: the condition's and every transform's, as cel-go tracks it.
func (c *Compiled) evaluateCost(in *input, now time.Time) (Result, uint64) {
	var res Result
	var total uint64
	if !MatchSubject(c.Filter, in.subject) {
		res.Reason = fmt.Sprintf("subject %s does not match filter %s", in.subject, c.Filter)
		return res, total
	}
	res.FilterMatched = true
	if c.condition != nil {
		out, det, err := c.condition.Eval(in)
		total += actualCost(det, err)
		if err == nil {
			if b, ok := out.(types.Bool); !ok {
				err = fmt.Errorf("evaluated to %s, not bool", out.Type().TypeName())
			} else if !b {
				res.Reason = "condition is false"
				return res, total
			}
		}
		if err != nil {
			res.ConditionError = err
			res.Reason = "condition failed: " + err.Error()
			for _, t := range c.targets {
				d := c.newDelivery(in.event, t.t, now)
				d.Payload, d.ContentType = in.event.GetData(), in.event.GetDataContentType()
				res.Failures = append(res.Failures, TargetFailure{Delivery: d, Err: fmt.Errorf("condition failed: %w", err), Condition: true})
			}
			return res, total
		}
	}
	res.ConditionMatched = true
	var failed []string
	for _, t := range c.targets {
		d := c.newDelivery(in.event, t.t, now)
		if t.transform == nil {
			d.Payload, d.ContentType = in.event.GetData(), in.event.GetDataContentType()
			res.Deliveries = append(res.Deliveries, d)
			continue
		}
		payload, cost, err := runTransform(t.transform, in)
		total += cost
		if err != nil {
			d.Payload, d.ContentType = in.event.GetData(), in.event.GetDataContentType()
			res.Failures = append(res.Failures, TargetFailure{Delivery: d, Err: err})
			failed = append(failed, fmt.Sprintf("target %s: transform failed: %v", t.t.GetName(), err))
			continue
		}
		d.Payload, d.ContentType = payload, ContentTypeJSON
		res.Deliveries = append(res.Deliveries, d)
	}
	res.Reason = strings.Join(failed, "; ")
	return res, total
}

func (c *Compiled) newDelivery(e *junctionv1.Event, t *junctionv1.Target, now time.Time) *junctionv1.Delivery {
	var cfg map[string]string
	if len(t.GetConfig()) > 0 {
		cfg = make(map[string]string, len(t.GetConfig()))
		for k, v := range t.GetConfig() {
			cfg[k] = v
		}
	}
	return &junctionv1.Delivery{
		Id:            DeliveryID(e.GetSource(), e.GetId(), c.ID, t.GetName()),
		EventId:       e.GetId(),
		EventSource:   e.GetSource(),
		EventType:     e.GetType(),
		EventTime:     e.GetTime(),
		RouteId:       c.ID,
		RouteRevision: c.Route.GetRevision(),
		Target:        t.GetName(),
		Destination:   t.GetDestination(),
		Action:        t.GetAction(),
		Config:        cfg,
		CreateTime:    timestamppb.New(now),
		Policy:        c.policy, // shared, read only: Evaluate copies it for its callers
		NotBefore:     notBefore(t, now),
	}
}

func runTransform(prg cel.Program, in *input) ([]byte, uint64, error) {
	out, det, err := prg.Eval(in)
	cost := actualCost(det, err)
	if err != nil {
		return nil, cost, err
	}
	v, err := toJSON(out)
	if err != nil {
		return nil, cost, err
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, cost, fmt.Errorf("encode result as json: %w", err)
	}
	return bytes.TrimRight(buf.Bytes(), "\n"), cost, nil
}

// actualCost is the CEL cost an evaluation took: CostLimit when the limit
// cancelled it.
func actualCost(det *cel.EvalDetails, err error) uint64 {
	if err != nil && isCostLimit(err) {
		return CostLimit
	}
	if c := det.ActualCost(); c != nil {
		return *c
	}
	return 0
}

// isCostLimit reports whether err is CEL's cost limit cancelling an
// evaluation.
func isCostLimit(err error) bool {
	return strings.Contains(err.Error(), "cost limit exceeded")
}

// skipped is what a degraded route does with an event it is not evaluated
// for: every target's delivery with the event's own payload, to be
// dead-lettered.
func (c *Compiled) skipped(in *input, now time.Time) Result {
	res := Result{FilterMatched: true, Reason: "route degraded, not evaluated"}
	for _, t := range c.targets {
		d := c.newDelivery(in.event, t.t, now)
		d.Payload, d.ContentType = in.event.GetData(), in.event.GetDataContentType()
		res.Deliveries = append(res.Deliveries, d)
	}
	return res
}

// parseData parses the event's payload as JSON when its content type is
// JSON or not given. Integers become int64 (uint64 or float64 when they do
// not fit), other numbers float64. Anything else yields nil (CEL null).
func parseData(e *junctionv1.Event) any {
	data := e.GetData()
	if len(data) == 0 || !isJSONType(e.GetDataContentType()) {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil
	}
	if _, err := dec.Token(); err == nil {
		return nil // trailing data: not one JSON value
	}
	return convertNumbers(v)
}

func isJSONType(ct string) bool {
	if ct == "" || ct == "application/json" {
		return true // the common cases, without parsing (parameters allocate)
	}
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		return false
	}
	return mt == "application/json" || mt == "text/json" || strings.HasSuffix(mt, "+json")
}

func convertNumbers(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			x[k] = convertNumbers(e)
		}
		return x
	case []any:
		for i, e := range x {
			x[i] = convertNumbers(e)
		}
		return x
	case json.Number:
		s := x.String()
		if !strings.ContainsAny(s, ".eE") {
			if i, err := x.Int64(); err == nil {
				return i
			}
			var u uint64
			if _, err := fmt.Sscan(s, &u); err == nil {
				return u
			}
		}
		f, _ := x.Float64()
		return f
	}
	return v
}

// toJSON converts a CEL value to a Go value encoding/json encodes as the
// value's JSON form.
func toJSON(v ref.Val) (any, error) {
	switch x := v.(type) {
	case types.Null:
		return nil, nil
	case types.Bool:
		return bool(x), nil
	case types.Int:
		return int64(x), nil
	case types.Uint:
		return uint64(x), nil
	case types.Double:
		f := float64(x)
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return nil, fmt.Errorf("result %v cannot be encoded as json", f)
		}
		return f, nil
	case types.String:
		return string(x), nil
	case types.Bytes:
		return base64.StdEncoding.EncodeToString(x), nil
	case types.Timestamp:
		return x.Time.UTC().Format(time.RFC3339Nano), nil
	case types.Duration:
		b, err := protojson.Marshal(durationpb.New(x.Duration))
		if err != nil {
			return nil, err
		}
		return json.RawMessage(b), nil
	case *types.Optional:
		if !x.HasValue() {
			return nil, nil
		}
		return toJSON(x.GetValue())
	case *types.Err:
		return nil, x
	case traits.Mapper:
		out := make(map[string]any)
		for it := x.Iterator(); it.HasNext() == types.True; {
			k := it.Next()
			var key string
			switch kk := k.(type) {
			case types.String:
				key = string(kk)
			case types.Int, types.Uint, types.Bool:
				key = fmt.Sprint(kk.Value())
			default:
				return nil, fmt.Errorf("map key of type %s cannot be a json object key", k.Type().TypeName())
			}
			ev, err := toJSON(x.Get(k))
			if err != nil {
				return nil, fmt.Errorf("%s: %w", key, err)
			}
			out[key] = ev
		}
		return out, nil
	case traits.Lister:
		out := make([]any, 0)
		for it := x.Iterator(); it.HasNext() == types.True; {
			ev, err := toJSON(it.Next())
			if err != nil {
				return nil, fmt.Errorf("[%d]: %w", len(out), err)
			}
			out = append(out, ev)
		}
		return out, nil
	}
	if m, ok := v.Value().(proto.Message); ok {
		b, err := protojson.Marshal(m)
		if err != nil {
			return nil, fmt.Errorf("encode %s as json: %w", m.ProtoReflect().Descriptor().FullName(), err)
		}
		return json.RawMessage(b), nil
	}
	return nil, fmt.Errorf("result of type %s cannot be encoded as json", v.Type().TypeName())
}

var idEncoding = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// DeliveryID is the stable id of the delivery of one event by one target
// of one route: "dlv_" and 32 base32 characters of a SHA-256 over the four
// parts. It is the delivery's Nats-Msg-Id and the id receivers dedupe on.
func DeliveryID(eventSource, eventID, routeID, target string) string {
	h := sha256.New()
	var n [8]byte
	for _, s := range []string{eventSource, eventID, routeID, target} {
		binary.BigEndian.PutUint64(n[:], uint64(len(s)))
		h.Write(n[:])
		h.Write([]byte(s))
	}
	return "dlv_" + idEncoding.EncodeToString(h.Sum(nil)[:20])
}

// MatchSubject reports whether subject matches pattern with NATS wildcard
// semantics: "*" matches exactly one token, ">" (last token only) one or
// more tokens.
func MatchSubject(pattern, subject string) bool {
	for {
		var p, s string
		p, pattern, _ = strings.Cut(pattern, ".")
		if p == ">" {
			return subject != ""
		}
		if subject == "" {
			return false
		}
		var more bool
		s, subject, more = strings.Cut(subject, ".")
		if p != "*" && p != s {
			return false
		}
		if pattern == "" {
			return !more
		}
		if !more {
			return false
		}
	}
}
