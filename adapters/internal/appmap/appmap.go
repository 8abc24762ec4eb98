// Package appmap reads a provider's JSON payload onto the canonical model
// (proto/junction/model/v1) and records every field the mapping needs
// that is missing or of another type as a MappingError, so that the event
// is still stored and says what no longer maps. Numbers are read exactly
// (json.Number): a Shopify id above 2^53 or a price never passes through
// a float.
package appmap

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"time"

	modelv1 "github.com/junctionhq/junction/proto/junction/model/v1"
	junctionv1 "github.com/junctionhq/junction/proto/junction/v1"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// Decode parses body, which must be one JSON object, keeping numbers as
// json.Number.
func Decode(body []byte) (map[string]any, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("body is not JSON: %w", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, errors.New("body holds more than one JSON value: send one JSON object")
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("body is %s, want a JSON object", kind(v))
	}
	return obj, nil
}

// Need says whether a field is required by the mapping: a missing or
// null required field is a mapping error; an optional one is not. A
// field of the wrong type is an error either way.
type Need bool

// Needs.
const (
	Optional Need = false
	Required Need = true
)

// Mapper collects the mapping errors of one payload.
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

// Object is a JSON object inside a payload, with its dotted path. The
// zero Object (an absent or null object) reads every field as absent.
type Object struct {
	m    *Mapper
	path string
	v    map[string]any
}

// Present reports whether the object exists.
func (o Object) Present() bool { return o.v != nil }

// Path returns the dotted path of key in o.
func (o Object) Path(key string) string {
	if o.path == "" {
		return key
	}
	return o.path + "." + key
}

// Fail records a mapping error for key.
func (o Object) Fail(key, reason string) {
	if o.m != nil {
		o.m.Fail(o.Path(key), reason)
	}
}

// get returns the value at key; ok is false, after recording an error
// when need is Required, if it is absent or null.
func (o Object) get(key string, need Need) (any, bool) {
	v, found := o.v[key]
	if !found || v == nil {
		if need == Required {
			if !found {
				o.Fail(key, "missing")
			} else {
				o.Fail(key, "is null")
			}
		}
		return nil, false
	}
	return v, true
}

func (o Object) wrongType(key string, v any, want string) {
	o.Fail(key, "is "+kind(v)+", want "+want)
}

// Raw returns the value at key, whatever its type.
func (o Object) Raw(key string) (any, bool) { return o.get(key, Optional) }

// Object returns the object at key.
func (o Object) Object(key string, need Need) Object {
	v, ok := o.get(key, need)
	if !ok {
		return Object{m: o.m, path: o.Path(key)}
	}
	obj, isObj := v.(map[string]any)
	if !isObj {
		o.wrongType(key, v, "an object")
		return Object{m: o.m, path: o.Path(key)}
	}
	return Object{m: o.m, path: o.Path(key), v: obj}
}

// Objects returns the objects of the array at key; an element that is
// not an object is a mapping error.
func (o Object) Objects(key string, need Need) []Object {
	v, ok := o.get(key, need)
	if !ok {
		return nil
	}
	arr, isArr := v.([]any)
	if !isArr {
		o.wrongType(key, v, "an array")
		return nil
	}
	out := make([]Object, 0, len(arr))
	for i, e := range arr {
		p := o.Path(key) + "." + strconv.Itoa(i)
		obj, isObj := e.(map[string]any)
		if !isObj {
			o.m.Fail(p, "is "+kind(e)+", want an object")
			continue
		}
		out = append(out, Object{m: o.m, path: p, v: obj})
	}
	return out
}

// Strings returns the array of strings at key.
func (o Object) Strings(key string, need Need) []string {
	v, ok := o.get(key, need)
	if !ok {
		return nil
	}
	arr, isArr := v.([]any)
	if !isArr {
		o.wrongType(key, v, "an array of strings")
		return nil
	}
	out := make([]string, 0, len(arr))
	for i, e := range arr {
		s, isStr := e.(string)
		if !isStr {
			o.m.Fail(o.Path(key)+"."+strconv.Itoa(i), "is "+kind(e)+", want a string")
			continue
		}
		out = append(out, s)
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

// ID returns the identifier at key, a string or an integer (Shopify's
// numeric ids, exact however large).
func (o Object) ID(key string, need Need) string {
	v, ok := o.get(key, need)
	if !ok {
		return ""
	}
	switch x := v.(type) {
	case string:
		return x
	case json.Number:
		if _, err := strconv.ParseInt(string(x), 10, 64); err != nil {
			if _, err := strconv.ParseUint(string(x), 10, 64); err != nil {
				o.Fail(key, "is a number that is not a whole number, want an integer or string id")
				return ""
			}
		}
		return string(x)
	}
	o.wrongType(key, v, "a string or integer id")
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
		o.Fail(key, "is "+clipNum(string(n))+", want an integer")
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

// Time returns the RFC 3339 time at key (Shopify's created_at).
func (o Object) Time(key string, need Need) *timestamppb.Timestamp {
	s := o.String(key, need)
	if s == "" {
		return nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		o.Fail(key, fmt.Sprintf("is %q, want an RFC 3339 time", clipNum(s)))
		return nil
	}
	return timestamppb.New(t)
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

// kind names a decoded JSON value's type for an error message.
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
	case map[string]any:
		return "an object"
	case []any:
		return "an array"
	}
	return fmt.Sprintf("a %T", v)
}

// clipNum bounds a payload value quoted in a reason.
func clipNum(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}

// zeroDecimal are the currencies Stripe counts in whole units
// (https://docs.stripe.com/currencies#zero-decimal).
var zeroDecimal = map[string]bool{
	"BIF": true, "CLP": true, "DJF": true, "GNF": true, "JPY": true, "KMF": true, "KRW": true, "MGA": true,
	"PYG": true, "RWF": true, "UGX": true, "VND": true, "VUV": true, "XAF": true, "XOF": true, "XPF": true,
}

// threeDecimal are the currencies Stripe counts in thousandths.
var threeDecimal = map[string]bool{"BHD": true, "JOD": true, "KWD": true, "OMR": true, "TND": true}

// MinorExponent returns how many decimal places Stripe's minor unit of
// currency has: 0, 2 or 3.
func MinorExponent(currency string) int {
	c := strings.ToUpper(currency)
	switch {
	case zeroDecimal[c]:
		return 0
	case threeDecimal[c]:
		return 3
	}
	return 2
}

// MinorUnits returns amount, counted in currency's minor unit (cents for
// USD, yen for JPY, fils for KWD), as Money.
func MinorUnits(amount int64, currency string) *modelv1.Money {
	div := int64(1)
	for range MinorExponent(currency) {
		div *= 10
	}
	units, rest := amount/div, amount%div
	return &modelv1.Money{CurrencyCode: strings.ToUpper(currency), Units: units, Nanos: int32(rest * (1_000_000_000 / div))}
}

// ParseDecimal parses a decimal string such as "19.99", "-0.5" or "100"
// into Money in currency, exactly: at most 9 decimal places (trailing
// zeros beyond them are accepted) and a whole part that fits an int64.
func ParseDecimal(s, currency string) (*modelv1.Money, error) {
	bad := func(why string) error {
		return fmt.Errorf("is %q, want a decimal string such as \"19.99\" (%s)", clipNum(s), why)
	}
	neg := false
	rest := s
	if r, ok := strings.CutPrefix(rest, "-"); ok {
		neg, rest = true, r
	} else if r, ok := strings.CutPrefix(rest, "+"); ok {
		rest = r
	}
	whole, frac, hasDot := strings.Cut(rest, ".")
	if whole == "" || (hasDot && frac == "") {
		return nil, bad("digits needed on both sides of the point")
	}
	if !digits(whole) || !digits(frac) {
		return nil, bad("only digits and one point")
	}
	frac = strings.TrimRight(frac, "0")
	if len(frac) > 9 {
		return nil, bad("more than 9 decimal places")
	}
	units, err := strconv.ParseInt(whole, 10, 64)
	if err != nil {
		return nil, bad("whole part out of range")
	}
	nanos := int64(0)
	if frac != "" {
		nanos, _ = strconv.ParseInt(frac+strings.Repeat("0", 9-len(frac)), 10, 64)
	}
	if neg {
		units, nanos = -units, -nanos
	}
	return &modelv1.Money{CurrencyCode: strings.ToUpper(currency), Units: units, Nanos: int32(nanos)}, nil
}

func digits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// SplitName splits a full name at its first space into given and family
// name, for apps that send one name field ("Jenny Rosen" -> "Jenny",
// "Rosen"); a single word is the given name.
func SplitName(full string) (first, last string) {
	first, last, _ = strings.Cut(strings.TrimSpace(full), " ")
	return first, strings.TrimSpace(last)
}
