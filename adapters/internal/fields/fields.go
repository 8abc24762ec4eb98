// Package fields reads the fields of a provider's JSON payload by dotted
// path for an adapter's mapping onto the canonical model, and records a
// [junctionv1.MappingError] for every field the mapping needs that is
// missing, or that is there with another type than it expects. A failed
// field reads as its zero value, so the mapping goes on and the event is
// still stored with its raw payload and the list of what failed.
//
// It is shared by the GitHub and Jira adapters; it is internal to the
// adapters module.
package fields

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	sdkclip "github.com/junctionhq/junction/adapters/sdk/clip"
	junctionv1 "github.com/junctionhq/junction/proto/junction/v1"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// Need says whether a field the mapping reads must be there.
type Need bool

// Needs.
const (
	// Required: a missing or null field is a mapping error.
	Required Need = true
	// Optional: a missing or null field is fine; one of another type is
	// still a mapping error.
	Optional Need = false
)

// Reader reads one payload. Its zero value reads nothing; use [Parse].
type Reader struct {
	root   map[string]any
	errs   []*junctionv1.MappingError // on the top reader only
	parent *Reader
	prefix string // path of root from the top reader, with a trailing "."
}

// Parse decodes a JSON object. It fails when body is not one: the
// adapter answers 400 then, since there is nothing to store a mapping of.
func Parse(body []byte) (*Reader, error) {
	d := json.NewDecoder(bytes.NewReader(body))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return nil, fmt.Errorf("body is not JSON: %w", err)
	}
	if d.More() {
		return nil, fmt.Errorf("body holds more than one JSON value")
	}
	root, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("body is %s, want a JSON object", kind(v))
	}
	return &Reader{root: root}, nil
}

// At returns a reader of the object at path (the same error list), or nil
// with a mapping error recorded when it is not an object. A nil *Reader
// reads every field as missing, without recording more errors.
func (r *Reader) At(path string, need Need) *Reader {
	m := r.Object(path, need)
	if m == nil {
		return nil
	}
	return &Reader{root: m, parent: r, prefix: r.prefix + path + "."}
}

// Errors returns the mapping errors recorded, in the order the fields were
// read.
func (r *Reader) Errors() []*junctionv1.MappingError {
	if r == nil {
		return nil
	}
	return r.top().errs
}

// Fail records a mapping error for path.
func (r *Reader) Fail(path, reason string) {
	if r == nil {
		return
	}
	t := r.top()
	t.errs = append(t.errs, &junctionv1.MappingError{Field: r.prefix + path, Reason: reason})
}

// Raw returns the value at path and whether it is there and not null.
func (r *Reader) Raw(path string) (any, bool) {
	v, found, _, _ := r.find(path)
	return v, found && v != nil
}

// find returns the value at path and whether it is there (null or not).
// When a step on the way is there but not an object, bad is the path of
// that step and badValue its value.
func (r *Reader) find(path string) (v any, found bool, bad string, badValue any) {
	if r == nil {
		return nil, false, "", nil
	}
	var cur any = r.root
	walked := ""
	for part := range strings.SplitSeq(path, ".") {
		m, ok := cur.(map[string]any)
		if !ok {
			if cur == nil {
				return nil, false, "", nil
			}
			return nil, false, walked, cur
		}
		if cur, ok = m[part]; !ok {
			return nil, false, "", nil
		}
		if walked != "" {
			walked += "."
		}
		walked += part
	}
	return cur, true, "", nil
}

// lookup returns the value at path, recording "missing" when need is
// Required and it is not there.
func (r *Reader) lookup(path string, need Need) (any, bool) {
	v, found, bad, badValue := r.find(path)
	switch {
	case found && v != nil:
		return v, true
	case bad != "":
		r.wrongType(bad, badValue, "an object")
	case need == Optional:
	case found:
		r.Fail(path, "is null")
	default:
		r.Fail(path, "missing")
	}
	return nil, false
}

func (r *Reader) wrongType(path string, v any, want string) {
	r.Fail(path, "is "+kind(v)+", want "+want)
}

// Object returns the object at path, or nil.
func (r *Reader) Object(path string, need Need) map[string]any {
	v, ok := r.lookup(path, need)
	if !ok {
		return nil
	}
	m, isMap := v.(map[string]any)
	if !isMap {
		r.wrongType(path, v, "an object")
		return nil
	}
	return m
}

// String returns the string at path, or "".
func (r *Reader) String(path string, need Need) string {
	v, ok := r.lookup(path, need)
	if !ok {
		return ""
	}
	s, isString := v.(string)
	if !isString {
		r.wrongType(path, v, "a string")
		return ""
	}
	return s
}

// ID returns the identifier at path as a string: providers send ids as
// strings or as numbers, and both are accepted.
func (r *Reader) ID(path string, need Need) string {
	v, ok := r.lookup(path, need)
	if !ok {
		return ""
	}
	switch x := v.(type) {
	case string:
		return x
	case json.Number:
		return x.String()
	}
	r.wrongType(path, v, "a string or a number")
	return ""
}

// Int returns the integer at path, or 0.
func (r *Reader) Int(path string, need Need) int64 {
	v, ok := r.lookup(path, need)
	if !ok {
		return 0
	}
	n, isNumber := v.(json.Number)
	if !isNumber {
		r.wrongType(path, v, "a number")
		return 0
	}
	i, err := strconv.ParseInt(n.String(), 10, 64)
	if err != nil {
		r.Fail(path, "is "+n.String()+", want an integer")
		return 0
	}
	return i
}

// Bool returns the boolean at path, or false.
func (r *Reader) Bool(path string, need Need) bool {
	v, ok := r.lookup(path, need)
	if !ok {
		return false
	}
	b, isBool := v.(bool)
	if !isBool {
		r.wrongType(path, v, "a boolean")
		return false
	}
	return b
}

// Strings returns the array at path as strings: each element a string, or
// an object whose field key is a string (GitHub's labels are objects with
// a "name"). Elements of another shape are mapping errors.
func (r *Reader) Strings(path, key string, need Need) []string {
	v, ok := r.lookup(path, need)
	if !ok {
		return nil
	}
	a, isArray := v.([]any)
	if !isArray {
		r.wrongType(path, v, "an array")
		return nil
	}
	out := make([]string, 0, len(a))
	for i, e := range a {
		switch x := e.(type) {
		case string:
			out = append(out, x)
			continue
		case map[string]any:
			if s, isString := x[key].(string); key != "" && isString {
				out = append(out, s)
				continue
			}
		}
		want := "a string"
		if key != "" {
			want = `a string or an object with a string "` + key + `"`
		}
		r.Fail(fmt.Sprintf("%s.%d", path, i), "is "+kind(e)+", want "+want)
	}
	return out
}

// Time returns the time at path, written in one of layouts (RFC 3339 when
// none are given) or, with millis, as Unix milliseconds; nil when it is
// not there or not readable.
func (r *Reader) Time(path string, need Need, layouts ...string) *timestamppb.Timestamp {
	v, ok := r.lookup(path, need)
	if !ok {
		return nil
	}
	switch x := v.(type) {
	case string:
		if len(layouts) == 0 {
			layouts = []string{time.RFC3339Nano}
		}
		for _, l := range layouts {
			if t, err := time.Parse(l, x); err == nil {
				return timestamppb.New(t)
			}
		}
		r.Fail(path, fmt.Sprintf("is %q, want a time like %s", clip(x), layouts[0]))
		return nil
	case json.Number:
		n, err := strconv.ParseInt(x.String(), 10, 64)
		if err != nil || n < 0 || n > 253402300799999 { // up to the end of year 9999
			r.Fail(path, "is "+clip(x.String())+", want Unix milliseconds")
			return nil
		}
		return timestamppb.New(time.UnixMilli(n))
	}
	r.wrongType(path, v, "a time")
	return nil
}

// top returns the reader the errors are collected on.
func (r *Reader) top() *Reader {
	for r.parent != nil {
		r = r.parent
	}
	return r
}

// kind names the JSON type of v for error reasons.
func kind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "a string"
	case json.Number, float64:
		return "a number"
	case bool:
		return "a boolean"
	case []any:
		return "an array"
	case map[string]any:
		return "an object"
	}
	return fmt.Sprintf("%T", v)
}

// clip shortens a payload value quoted in a reason.
func clip(s string) string { return sdkclip.N(s, 40) }
