package router

import (
	"fmt"
	"strings"

	"cel.dev/cel-go/common/types"

	junctionv1 "github.com/junctionhq/junction/proto/junction/v1"
)

// Condition is a CEL expression over `event` and `data` that must be true,
// compiled as a route's condition is (same environment, same save-time
// cost estimate and run-time cost limit), for callers other than the
// router that select events with one: the gateway's event search, replay
// and tail. It is safe for concurrent use.
type Condition struct {
	expr     string
	compiled *Compiled
}

// CompileCondition checks and compiles expr. An empty expression is nil,
// which every event satisfies. Errors wrap ErrInvalidRoute and say what to
// fix, e.g. "invalid route: condition: ERROR: <input>:1:1: undeclared
// reference to 'foo'".
func CompileCondition(expr string) (*Condition, error) {
	if strings.TrimSpace(expr) == "" {
		return nil, nil
	}
	// The route's own compile path, so a search condition and a route
	// condition can never disagree on what compiles or what it costs.
	c, err := Compile(&junctionv1.Route{
		Filter:    ">",
		Condition: expr,
		Targets:   []*junctionv1.Target{{Destination: "none"}},
	})
	if err != nil {
		return nil, err
	}
	return &Condition{expr: expr, compiled: c}, nil
}

// String returns the expression.
func (c *Condition) String() string {
	if c == nil {
		return ""
	}
	return c.expr
}

// Match reports whether e satisfies the condition: true for a nil
// Condition; an error when the expression fails at run time (a missing
// field, the cost limit), which callers treat as no match.
func (c *Condition) Match(e *junctionv1.Event) (bool, error) {
	if c == nil {
		return true, nil
	}
	out, _, err := c.compiled.condition.Eval(newInput(e))
	if err != nil {
		return false, err
	}
	b, ok := out.(types.Bool)
	if !ok {
		return false, fmt.Errorf("evaluated to %s, not bool", out.Type().TypeName())
	}
	return bool(b), nil
}

// JSONContentType reports whether a payload of media type ct is read as
// JSON, as for `data` in expressions: a JSON type (application/json,
// text/json, any +json) or none given.
func JSONContentType(ct string) bool { return isJSONType(ct) }

// SubjectPattern checks a subject pattern written as a route's filter is
// (with or without the "junction.events." prefix, '*' and '>' whole
// tokens, '>' last) and returns it as a full event subject pattern.
// Errors wrap ErrInvalidRoute and say what to fix.
func SubjectPattern(pattern string) (string, error) {
	return compileFilter(pattern)
}
