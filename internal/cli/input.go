package cli

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// manifestExts are the file name endings read from a folder.
var manifestExts = map[string]bool{".yaml": true, ".yml": true, ".json": true}

// stdinName is how standard input is named in messages.
const stdinName = "<stdin>"

// source is one input file's content.
type source struct {
	name string
	data []byte
}

// readSources reads the files named by paths: a file as is, a folder as its
// .yaml, .yml and .json files (not recursive, sorted by name), and "-" as
// standard input.
func readSources(paths []string, stdin io.Reader) ([]source, error) {
	if len(paths) == 0 {
		return nil, fmt.Errorf("no input: give -f with a file or folder of routes: %w", ErrUsage)
	}
	var out []source
	for _, p := range paths {
		if p == "-" {
			b, err := io.ReadAll(stdin)
			if err != nil {
				return nil, fmt.Errorf("read standard input: %w", err)
			}
			out = append(out, source{name: stdinName, data: b})
			continue
		}
		fi, err := os.Stat(p)
		if err != nil {
			return nil, fmt.Errorf("-f %s: %w", p, err)
		}
		if !fi.IsDir() {
			b, err := os.ReadFile(p)
			if err != nil {
				return nil, fmt.Errorf("-f %s: %w", p, err)
			}
			out = append(out, source{name: p, data: b})
			continue
		}
		entries, err := os.ReadDir(p)
		if err != nil {
			return nil, fmt.Errorf("-f %s: %w", p, err)
		}
		var names []string
		for _, e := range entries {
			if e.Type().IsRegular() && manifestExts[strings.ToLower(filepath.Ext(e.Name()))] {
				names = append(names, e.Name())
			}
		}
		if len(names) == 0 {
			return nil, fmt.Errorf("-f %s: the folder holds no .yaml, .yml or .json files: %w", p, ErrUsage)
		}
		sort.Strings(names)
		for _, n := range names {
			fp := filepath.Join(p, n)
			b, err := os.ReadFile(fp)
			if err != nil {
				return nil, fmt.Errorf("-f %s: %w", fp, err)
			}
			out = append(out, source{name: fp, data: b})
		}
	}
	return out, nil
}

// document is one YAML document (or one JSON file) turned into plain JSON
// values: map[string]any, []any, string, float64/int/uint64, bool, nil.
type document struct {
	index int // 1-based position in the file
	line  int // line the document starts at
	value any
}

// where names a document for error messages.
func (d document) where(file string) string {
	if d.line > 0 {
		return fmt.Sprintf("%s: document %d (line %d)", file, d.index, d.line)
	}
	return fmt.Sprintf("%s: document %d", file, d.index)
}

// decodeDocuments splits a YAML stream (JSON is YAML too) into documents,
// skipping empty ones.
func decodeDocuments(name string, data []byte) ([]document, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var docs []document
	for i := 1; ; i++ {
		var n yaml.Node
		err := dec.Decode(&n)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%s: document %d: not valid YAML or JSON: %s: %w", name, i, strings.TrimPrefix(err.Error(), "yaml: "), ErrInvalidInput)
		}
		if len(n.Content) == 0 || (n.Content[0].Kind == yaml.ScalarNode && n.Content[0].Tag == "!!null") {
			continue // an empty document, e.g. after a trailing ---
		}
		var v any
		if err := n.Decode(&v); err != nil {
			return nil, fmt.Errorf("%s: document %d (line %d): %s: %w", name, i, n.Line, strings.TrimPrefix(err.Error(), "yaml: "), ErrInvalidInput)
		}
		v, err = plainJSON(v)
		if err != nil {
			return nil, fmt.Errorf("%s: document %d (line %d): %w", name, i, n.Line, err)
		}
		docs = append(docs, document{index: i, line: n.Line, value: v})
	}
	return docs, nil
}

// plainJSON converts what yaml.v3 decodes into values encoding/json can
// write: keys become strings, infinities and NaN the strings protojson
// takes for them.
func plainJSON(v any) (any, error) {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			c, err := plainJSON(e)
			if err != nil {
				return nil, err
			}
			x[k] = c
		}
		return x, nil
	case map[any]any:
		m := make(map[string]any, len(x))
		for k, e := range x {
			switch k.(type) {
			case string, int, int64, uint64, float64, bool:
			default:
				return nil, fmt.Errorf("mapping key %v is not a scalar: %w", k, ErrInvalidInput)
			}
			c, err := plainJSON(e)
			if err != nil {
				return nil, err
			}
			m[fmt.Sprint(k)] = c
		}
		return m, nil
	case []any:
		for i, e := range x {
			c, err := plainJSON(e)
			if err != nil {
				return nil, err
			}
			x[i] = c
		}
		return x, nil
	case float64:
		switch {
		case math.IsInf(x, 1):
			return "Infinity", nil
		case math.IsInf(x, -1):
			return "-Infinity", nil
		case math.IsNaN(x):
			return "NaN", nil
		}
		return x, nil
	case []byte:
		return string(x), nil
	default:
		return v, nil
	}
}

// protoErrPrefix matches protojson's error prefix and its position in the
// intermediate JSON, which means nothing to someone reading a YAML file.
var protoErrPrefix = regexp.MustCompile(`^proto:[\s\x{00a0}]*(\(line \d+:\d+\):[\s\x{00a0}]*)?`)

// unmarshalInto checks v against m's schema, then fills m with protojson
// (unknown fields are errors). Errors say which field is wrong and what to
// write instead; the caller adds the file and document.
func unmarshalInto(v map[string]any, m proto.Message) error {
	if err := checkFields(v, m.ProtoReflect().Descriptor(), ""); err != nil {
		return err
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("cannot encode as JSON: %w", err)
	}
	if err := (protojson.UnmarshalOptions{DiscardUnknown: false}).Unmarshal(b, m); err != nil {
		return fmt.Errorf("%s: %w", protoErrPrefix.ReplaceAllString(err.Error(), ""), ErrInvalidInput)
	}
	return nil
}

// checkFields walks v against md so that a mistake is reported with its
// path (targets[1].destinaton) rather than protojson's bare field name. It
// also rewrites durations written the Go way ("5m", "24h") to the seconds
// protojson reads ("300s"). Other well-known types are left to protojson.
func checkFields(v map[string]any, md protoreflect.MessageDescriptor, path string) error {
	keys := make([]string, 0, len(v))
	for k := range v {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fd := md.Fields().ByName(protoreflect.Name(k))
		if fd == nil {
			fd = md.Fields().ByJSONName(k)
		}
		p := joinPath(path, k)
		if fd == nil {
			return fmt.Errorf("unknown field %q%s: %w", p, suggest(k, md), ErrInvalidInput)
		}
		nv, err := checkValue(v[k], fd, p)
		if err != nil {
			return err
		}
		v[k] = nv
	}
	return nil
}

// checkValue checks one field's value against its descriptor and returns
// it, rewritten where needed.
func checkValue(v any, fd protoreflect.FieldDescriptor, path string) (any, error) {
	if v == nil {
		return nil, nil // protojson treats null as unset
	}
	switch {
	case fd.IsMap():
		m, ok := v.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("field %q: want a mapping of keys to values, got %s: %w", path, describe(v), ErrInvalidInput)
		}
		for k, e := range m {
			nv, err := checkSingle(e, fd.MapValue(), path+"."+k)
			if err != nil {
				return nil, err
			}
			m[k] = nv
		}
		return m, nil
	case fd.IsList():
		l, ok := v.([]any)
		if !ok {
			return nil, fmt.Errorf("field %q: want a list, got %s: %w", path, describe(v), ErrInvalidInput)
		}
		for i, e := range l {
			nv, err := checkSingle(e, fd, fmt.Sprintf("%s[%d]", path, i))
			if err != nil {
				return nil, err
			}
			l[i] = nv
		}
		return l, nil
	default:
		return checkSingle(v, fd, path)
	}
}

// Well-known types given as strings in the JSON shape.
const (
	durationName  protoreflect.FullName = "google.protobuf.Duration"
	timestampName protoreflect.FullName = "google.protobuf.Timestamp"
)

// checkSingle checks one value of a field's element kind.
func checkSingle(v any, fd protoreflect.FieldDescriptor, path string) (any, error) {
	if v == nil {
		return nil, nil
	}
	switch fd.Kind() {
	case protoreflect.MessageKind, protoreflect.GroupKind:
		switch name := fd.Message().FullName(); {
		case name == durationName:
			s, ok := v.(string)
			d, err := time.ParseDuration(s)
			if !ok || err != nil {
				return nil, fmt.Errorf("field %q: want a duration such as 1s, 5m or 24h, got %s: %w", path, describe(v), ErrInvalidInput)
			}
			return durationJSON(d), nil
		case name == timestampName:
			s, ok := v.(string)
			if _, err := time.Parse(time.RFC3339Nano, s); !ok || err != nil {
				return nil, fmt.Errorf("field %q: want an RFC 3339 time such as 2026-01-02T15:04:05Z, got %s: %w", path, describe(v), ErrInvalidInput)
			}
			return v, nil
		case name.Parent() == "google.protobuf":
			return v, nil
		}
		m, ok := v.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("field %q: want a mapping of fields, got %s: %w", path, describe(v), ErrInvalidInput)
		}
		return m, checkFields(m, fd.Message(), path)
	case protoreflect.StringKind:
		if _, ok := v.(string); !ok {
			return nil, fmt.Errorf("field %q: want a string, got %s (put it in quotes): %w", path, describe(v), ErrInvalidInput)
		}
	case protoreflect.BoolKind:
		if _, ok := v.(bool); !ok {
			return nil, fmt.Errorf("field %q: want true or false, got %s: %w", path, describe(v), ErrInvalidInput)
		}
	}
	return v, nil
}

// durationJSON writes d the way protojson reads a Duration: seconds with
// up to nine decimals and an "s".
func durationJSON(d time.Duration) string {
	sign := ""
	if d < 0 {
		sign, d = "-", -d
	}
	secs, nanos := int64(d/time.Second), int64(d%time.Second)
	if nanos == 0 {
		return fmt.Sprintf("%s%ds", sign, secs)
	}
	return strings.TrimRight(fmt.Sprintf("%s%d.%09d", sign, secs, nanos), "0") + "s"
}

// describe shows a value in an error message.
func describe(v any) string {
	switch x := v.(type) {
	case map[string]any:
		return "a mapping"
	case []any:
		return "a list"
	case string:
		return strconv.Quote(x)
	default:
		return fmt.Sprint(x)
	}
}

// joinPath appends a field name to a dotted path.
func joinPath(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

// suggest lists the fields md has, to help fix a misspelt one.
func suggest(name string, md protoreflect.MessageDescriptor) string {
	fields := md.Fields()
	names := make([]string, 0, fields.Len()+1)
	if md.FullName() == routeFullName {
		names = append(names, idKey)
	}
	for i := range fields.Len() {
		names = append(names, string(fields.Get(i).Name()))
	}
	return " (" + string(md.Name()) + " has: " + strings.Join(names, ", ") + ")"
}
