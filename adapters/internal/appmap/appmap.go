// Package appmap reads a provider's JSON payload onto the canonical model
// (proto/junction/model/v1) for every app source adapter (Stripe,
// Shopify, Slack, HubSpot, GitHub, Jira), and records every field the
// mapping needs that is missing or of another type as a
// junction.v1.MappingError, so that the event is still stored, with its
// raw payload, and says what no longer maps (an app's interface drift).
//
// Numbers are read exactly (json.Number): an id above 2^53 or a price
// never passes through a float, and Money is built from minor units
// (Stripe's cents) or decimal strings (Shopify's "19.99") without one.
package appmap

import (
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/junctionhq/junction/adapters/sdk/clip"
	modelv1 "github.com/junctionhq/junction/proto/junction/model/v1"
	junctionv1 "github.com/junctionhq/junction/proto/junction/v1"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// Need says whether a field is required by the mapping: a missing or
// null required field is a mapping error; an optional one is not. A
// field of the wrong type is an error either way.
type Need bool

// Needs.
const (
	Optional Need = false
	Required Need = true
)

// Mapper collects the mapping errors of one payload. The zero value is
// ready to use.
type Mapper struct {
	errs []*junctionv1.MappingError
}

// Errors returns the mapping errors recorded, in the order found.
func (m *Mapper) Errors() []*junctionv1.MappingError { return m.errs }

// Fail records a mapping error for the field at path, once however often
// the field is read.
func (m *Mapper) Fail(path, reason string) {
	for _, e := range m.errs {
		if e.GetField() == path && e.GetReason() == reason {
			return
		}
	}
	m.errs = append(m.errs, &junctionv1.MappingError{Field: path, Reason: reason})
}

// Root returns the object v, at path ("" for the payload itself), read
// through m.
func (m *Mapper) Root(v map[string]any, path string) Object {
	return Object{m: m, path: path, v: v}
}

// Parse decodes body, one JSON object, and returns it as the root Object
// of a new Mapper, whose errors Object.Errors returns.
func Parse(body []byte) (Object, error) {
	v, err := Decode(body)
	if err != nil {
		return Object{}, err
	}
	return (&Mapper{}).Root(v, ""), nil
}

// Object is a JSON object inside a payload, with its dotted path. Every
// key read through it may be a dotted path itself ("head.ref"), read
// object by object.
//
// An absent Object comes in two kinds. One returned by Object for a
// missing, null or mistyped field still reports each required field read
// through it as missing (Stripe's data.object and data.object.id). One
// returned by At, or the zero Object, reads every field as absent and
// records nothing more: the one error said it all.
type Object struct {
	m     *Mapper
	path  string
	v     map[string]any
	quiet bool
}

// Present reports whether the object exists.
func (o Object) Present() bool { return o.v != nil }

// Errors returns the mapping errors recorded through o's Mapper.
func (o Object) Errors() []*junctionv1.MappingError {
	if o.m == nil {
		return nil
	}
	return o.m.Errors()
}

// Path returns the dotted path of key in o.
func (o Object) Path(key string) string {
	if o.path == "" {
		return key
	}
	return o.path + "." + key
}

// Fail records a mapping error for key.
func (o Object) Fail(key, reason string) {
	if o.m != nil && !o.quiet {
		o.m.Fail(o.Path(key), reason)
	}
}

// find returns the value at key, a dotted path, and whether it is there
// (null or not). When a step on the way is there but not an object, bad
// is the path of that step and badValue its value.
func (o Object) find(key string) (v any, found bool, bad string, badValue any) {
	var cur any = o.v
	walked := ""
	for part := range strings.SplitSeq(key, ".") {
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

// get returns the value at key; ok is false, after recording an error
// when need is Required, if it is absent or null.
func (o Object) get(key string, need Need) (any, bool) {
	v, found, bad, badValue := o.find(key)
	switch {
	case found && v != nil:
		return v, true
	case bad != "":
		o.wrongType(bad, badValue, "an object")
	case need == Optional:
	case found:
		o.Fail(key, "is null")
	default:
		o.Fail(key, "missing")
	}
	return nil, false
}

func (o Object) wrongType(key string, v any, want string) {
	o.Fail(key, "is "+Kind(v)+", want "+want)
}

// Raw returns the value at key, whatever its type, and whether it is
// there and not null.
func (o Object) Raw(key string) (any, bool) { return o.get(key, Optional) }

// Object returns the object at key. When it is missing, null or not an
// object the Object returned is absent but still reports the required
// fields read through it.
func (o Object) Object(key string, need Need) Object {
	sub := Object{m: o.m, path: o.Path(key), quiet: o.quiet}
	v, ok := o.get(key, need)
	if !ok {
		return sub
	}
	obj, isObj := v.(map[string]any)
	if !isObj {
		o.wrongType(key, v, "an object")
		return sub
	}
	sub.v = obj
	return sub
}

// At returns the object at key like Object, but when it is missing, null
// or not an object the Object returned reads every field as absent and
// records no more errors.
func (o Object) At(key string, need Need) Object {
	sub := o.Object(key, need)
	if !sub.Present() {
		sub.quiet = true
	}
	return sub
}

// Objects returns the objects of the array at key; an element that is
// not an object is a mapping error.
func (o Object) Objects(key string, need Need) []Object {
	arr := o.array(key, need)
	out := make([]Object, 0, len(arr))
	for i, e := range arr {
		p := key + "." + strconv.Itoa(i)
		obj, isObj := e.(map[string]any)
		if !isObj {
			o.wrongType(p, e, "an object")
			continue
		}
		out = append(out, Object{m: o.m, path: o.Path(p), v: obj, quiet: o.quiet})
	}
	return out
}

func (o Object) array(key string, need Need) []any {
	v, ok := o.get(key, need)
	if !ok {
		return nil
	}
	arr, isArr := v.([]any)
	if !isArr {
		o.wrongType(key, v, "an array")
		return nil
	}
	return arr
}

// Strings returns the array of strings at key; an element that is not a
// string is a mapping error.
func (o Object) Strings(key string, need Need) []string { return o.StringsOf(key, "", need) }

// StringsOf returns the array at key as strings: each element a string,
// or an object whose field field is a string (GitHub's labels are objects
// with a "name"). Elements of another shape are mapping errors.
func (o Object) StringsOf(key, field string, need Need) []string {
	arr := o.array(key, need)
	out := make([]string, 0, len(arr))
	for i, e := range arr {
		switch x := e.(type) {
		case string:
			out = append(out, x)
			continue
		case map[string]any:
			if s, isStr := x[field].(string); field != "" && isStr {
				out = append(out, s)
				continue
			}
		}
		want := "a string"
		if field != "" {
			want = `a string or an object with a string "` + field + `"`
		}
		o.wrongType(key+"."+strconv.Itoa(i), e, want)
	}
	return out
}

// String returns the string at key.
func (o Object) String(key string, need Need) string {
	v, ok := o.get(key, need)
	if !ok {
		return ""
	}
	s, isStr := v.(string)
	if !isStr {
		o.wrongType(key, v, "a string")
		return ""
	}
	return s
}

// ID returns the identifier at key, a non-empty string or a whole number
// (Shopify's and HubSpot's numeric ids, exact however large).
func (o Object) ID(key string, need Need) string {
	v, ok := o.get(key, need)
	if !ok {
		return ""
	}
	if id, isID := IDString(v); isID {
		return id
	}
	switch x := v.(type) {
	case json.Number:
		o.Fail(key, "is a number that is not a whole number, want an integer or string id")
	case string:
		o.Fail(key, "is an empty string, want an id")
	default:
		o.wrongType(key, x, "a string or an integer")
	}
	return ""
}

// Int returns the integer at key.
func (o Object) Int(key string, need Need) (int64, bool) {
	v, ok := o.get(key, need)
	if !ok {
		return 0, false
	}
	n, isNum := v.(json.Number)
	if !isNum {
		o.wrongType(key, v, "an integer")
		return 0, false
	}
	i, err := strconv.ParseInt(string(n), 10, 64)
	if err != nil {
		o.Fail(key, "is "+clipValue(string(n))+", want an integer")
		return 0, false
	}
	return i, true
}

// Bool returns the boolean at key.
func (o Object) Bool(key string, need Need) bool {
	v, ok := o.get(key, need)
	if !ok {
		return false
	}
	b, isBool := v.(bool)
	if !isBool {
		o.wrongType(key, v, "a boolean")
	}
	return b
}

// Unix returns the Unix time in seconds at key (Stripe's created).
func (o Object) Unix(key string, need Need) *timestamppb.Timestamp {
	n, ok := o.Int(key, need)
	if !ok {
		return nil
	}
	return timestamppb.New(time.Unix(n, 0).UTC())
}

// maxUnixMillis is the end of the year 9999 in Unix milliseconds.
const maxUnixMillis = 253402300799999

// UnixMillis returns the time at key written as Unix milliseconds
// (HubSpot's occurredAt), after 1970 and before the year 10000.
func (o Object) UnixMillis(key string, need Need) *timestamppb.Timestamp {
	v, ok := o.get(key, need)
	if !ok {
		return nil
	}
	n, isNum := v.(json.Number)
	ms, err := n.Int64()
	if !isNum || err != nil || ms <= 0 || ms > maxUnixMillis {
		o.wrongType(key, v, "Unix milliseconds")
		return nil
	}
	return timestamppb.New(time.UnixMilli(ms).UTC())
}

// Time returns the time at key, a string in one of layouts (RFC 3339
// when none are given: Shopify's created_at, GitHub's; Jira's own
// layout).
func (o Object) Time(key string, need Need, layouts ...string) *timestamppb.Timestamp {
	v, ok := o.get(key, need)
	if !ok {
		return nil
	}
	s, isStr := v.(string)
	if !isStr {
		o.wrongType(key, v, "a time")
		return nil
	}
	want := "an RFC 3339 time"
	if len(layouts) == 0 {
		layouts = []string{time.RFC3339Nano}
	} else {
		want = "a time like " + layouts[0]
	}
	for _, l := range layouts {
		if t, err := time.Parse(l, s); err == nil {
			return timestamppb.New(t)
		}
	}
	o.Fail(key, fmt.Sprintf("is %q, want %s", clipValue(s), want))
	return nil
}

// Decimal returns the decimal string at key (Shopify's "19.99") as Money
// in currency, exactly.
func (o Object) Decimal(key, currency string, need Need) *modelv1.Money {
	v, ok := o.get(key, need)
	if !ok {
		return nil
	}
	s, isStr := v.(string)
	if !isStr {
		o.wrongType(key, v, "a decimal string")
		return nil
	}
	m, err := ParseDecimal(s, currency)
	if err != nil {
		o.Fail(key, err.Error())
		return nil
	}
	return m
}

// Minor returns the integer amount in minor units at key (Stripe's
// amount in cents) as Money in currency.
func (o Object) Minor(key, currency string, need Need) *modelv1.Money {
	n, ok := o.Int(key, need)
	if !ok || currency == "" {
		return nil
	}
	return MinorUnits(n, currency)
}

// Attributes adds every scalar field of the object at key to attrs as a
// string, under prefix+name (e.g. Stripe's metadata as "metadata.<k>").
func (o Object) Attributes(key, prefix string, attrs map[string]string) {
	sub := o.Object(key, Optional)
	keys := make([]string, 0, len(sub.v))
	for k := range sub.v {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		switch x := sub.v[k].(type) {
		case string:
			attrs[prefix+k] = x
		case json.Number:
			attrs[prefix+k] = string(x)
		case bool:
			attrs[prefix+k] = strconv.FormatBool(x)
		}
	}
}

// clipValue bounds a payload value quoted in a reason.
func clipValue(s string) string { return clip.N(s, 40) }
