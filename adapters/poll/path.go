package poll

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Path is a parsed dot path into a JSON document: "data.items", "meta.next",
// "results.0.id". A segment of digits indexes an array; any other segment
// is an object key. The empty path is the document itself.
type Path []string

// ParsePath parses a dot path: segments separated by '.', none empty,
// at most 32 of them.
func ParsePath(s string) (Path, error) {
	if s == "" {
		return nil, nil
	}
	segs := strings.Split(s, ".")
	if len(segs) > 32 {
		return nil, fmt.Errorf("path %q has %d segments, at most 32 are allowed", s, len(segs))
	}
	for _, seg := range segs {
		if seg == "" {
			return nil, fmt.Errorf("path %q has an empty segment: write keys joined by single dots, e.g. data.items", s)
		}
	}
	return Path(segs), nil
}

// Lookup returns the value at p in v (a document decoded with UseNumber),
// and whether it is there.
func (p Path) Lookup(v any) (any, bool) {
	for _, seg := range p {
		switch node := v.(type) {
		case map[string]any:
			next, ok := node[seg]
			if !ok {
				return nil, false
			}
			v = next
		case []any:
			i, err := strconv.Atoi(seg)
			if err != nil || i < 0 || i >= len(node) {
				return nil, false
			}
			v = node[i]
		default:
			return nil, false
		}
	}
	return v, true
}

// decode parses a JSON document, keeping numbers exact.
func decode(body []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("answer is not JSON: %w", err)
	}
	if dec.More() {
		return nil, errors.New("answer is not JSON: data after the document")
	}
	return v, nil
}

// Items returns the array of items at path in the decoded answer doc. A
// null or absent array is no items; anything else that is not an array
// is an error naming the path.
func Items(doc any, path Path) ([]any, error) {
	v, ok := path.Lookup(doc)
	if !ok || v == nil {
		return nil, nil
	}
	arr, isArr := v.([]any)
	if !isArr {
		where := strings.Join(path, ".")
		if where == "" {
			where = "the answer"
		}
		return nil, fmt.Errorf("items: %s is a JSON %s, not an array: set items to the dot path of the array", where, kind(v))
	}
	return arr, nil
}

// scalarString returns a string or number at path in item as a string.
func scalarString(item any, path Path) (string, bool) {
	v, ok := path.Lookup(item)
	if !ok {
		return "", false
	}
	switch x := v.(type) {
	case string:
		return x, x != ""
	case json.Number:
		return x.String(), true
	}
	return "", false
}

// itemTime reads a time at path: an RFC 3339 string, or a Unix time in
// seconds (or milliseconds, above 1e11) as a number or a string of digits.
func itemTime(item any, path Path) (time.Time, error) {
	v, ok := path.Lookup(item)
	if !ok || v == nil {
		return time.Time{}, fmt.Errorf("no time at %s", strings.Join(path, "."))
	}
	var num string
	switch x := v.(type) {
	case string:
		if t, err := time.Parse(time.RFC3339Nano, x); err == nil {
			return t.UTC(), nil
		}
		num = x
	case json.Number:
		num = x.String()
	default:
		return time.Time{}, fmt.Errorf("time at %s is a JSON %s: want RFC 3339 or Unix seconds", strings.Join(path, "."), kind(v))
	}
	f, err := strconv.ParseFloat(num, 64)
	if err != nil || f < 0 || f > 1e15 {
		return time.Time{}, fmt.Errorf("time %q at %s: want RFC 3339 or Unix seconds", clipStr(num), strings.Join(path, "."))
	}
	if f > 1e11 {
		return time.UnixMilli(int64(f)).UTC(), nil
	}
	sec := int64(f)
	return time.Unix(sec, int64((f-float64(sec))*1e9)).UTC(), nil
}

func kind(v any) string {
	switch v.(type) {
	case map[string]any:
		return "object"
	case []any:
		return "array"
	case string:
		return "string"
	case json.Number:
		return "number"
	case bool:
		return "boolean"
	case nil:
		return "null"
	}
	return fmt.Sprintf("%T", v)
}

func clipStr(s string) string {
	if len(s) > 64 {
		return s[:64] + "..."
	}
	return s
}
