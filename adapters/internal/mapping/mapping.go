// Package mapping reads the fields a source adapter maps onto the
// canonical model out of a decoded JSON payload, and records every field
// that is missing or of another type than the mapping needs as a
// junction.v1.MappingError, so that the event is still stored and says
// what failed (an app's interface drift).
package mapping

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"time"

	junctionv1 "github.com/junctionhq/junction/proto/junction/v1"
)

// Object is a decoded JSON object; numbers are json.Number.
type Object = map[string]any

// Decode decodes one JSON value, keeping numbers as json.Number so that
// large ids keep every digit. Trailing data is an error.
func Decode(b []byte) (any, error) {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return nil, err
	}
	if _, err := d.Token(); err != io.EOF {
		return nil, fmt.Errorf("data after the JSON value at offset %d", d.InputOffset())
	}
	return v, nil
}

// Kind names the JSON type of v for messages: "a string", "a number",
// "an object", "an array", "a boolean", "null".
func Kind(v any) string {
	switch v.(type) {
	case string:
		return "a string"
	case json.Number, float64:
		return "a number"
	case map[string]any:
		return "an object"
	case []any:
		return "an array"
	case bool:
		return "a boolean"
	case nil:
		return "null"
	}
	return "of an unknown type"
}

// Reader collects mapping errors while fields are read. The zero value
// is ready to use.
type Reader struct {
	errs []*junctionv1.MappingError
}

// Errors returns the mapping errors recorded so far.
func (r *Reader) Errors() []*junctionv1.MappingError { return r.errs }

// Fail records field (a dotted path) as not mapped, for reason.
func (r *Reader) Fail(field, reason string) {
	r.errs = append(r.errs, &junctionv1.MappingError{Field: field, Reason: reason})
}

func join(base, key string) string {
	if base == "" {
		return key
	}
	return base + "." + key
}

// Str returns obj[key] when it is a string. A missing key is recorded
// when required; another type always.
func (r *Reader) Str(obj Object, base, key string, required bool) string {
	v, ok := obj[key]
	if !ok || v == nil {
		if required {
			r.Fail(join(base, key), "missing")
		}
		return ""
	}
	s, ok := v.(string)
	if !ok {
		r.Fail(join(base, key), "is "+Kind(v)+", want a string")
	}
	return s
}

// ID returns obj[key] as a string when it is a string or an integer
// number (ids travel both ways). A missing key is recorded when
// required; another type always.
func (r *Reader) ID(obj Object, base, key string, required bool) string {
	v, ok := obj[key]
	if !ok || v == nil {
		if required {
			r.Fail(join(base, key), "missing")
		}
		return ""
	}
	s, ok := IDString(v)
	if !ok {
		r.Fail(join(base, key), "is "+Kind(v)+", want a string or an integer")
	}
	return s
}

// IDString returns v as an id: a non-empty string as is, an integer
// number in decimal.
func IDString(v any) (string, bool) {
	switch x := v.(type) {
	case string:
		return x, x != ""
	case json.Number:
		if _, err := strconv.ParseInt(string(x), 10, 64); err == nil {
			return string(x), true
		}
		if _, err := strconv.ParseUint(string(x), 10, 64); err == nil {
			return string(x), true
		}
	}
	return "", false
}

// Obj returns obj[key] when it is an object. A missing key is recorded
// when required; another type always.
func (r *Reader) Obj(obj Object, base, key string, required bool) Object {
	v, ok := obj[key]
	if !ok || v == nil {
		if required {
			r.Fail(join(base, key), "missing")
		}
		return nil
	}
	o, ok := v.(map[string]any)
	if !ok {
		r.Fail(join(base, key), "is "+Kind(v)+", want an object")
	}
	return o
}

// UnixMillis returns obj[key], a number of Unix milliseconds, as a time
// (zero when it is not there). A missing key is recorded when required;
// another type always.
func (r *Reader) UnixMillis(obj Object, base, key string, required bool) time.Time {
	v, ok := obj[key]
	if !ok || v == nil {
		if required {
			r.Fail(join(base, key), "missing")
		}
		return time.Time{}
	}
	n, ok := v.(json.Number)
	ms, err := n.Int64()
	if !ok || err != nil || ms <= 0 {
		r.Fail(join(base, key), "is "+Kind(v)+", want Unix milliseconds")
		return time.Time{}
	}
	return time.UnixMilli(ms).UTC()
}
