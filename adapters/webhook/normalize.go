package webhook

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

	"github.com/junctionhq/junction/adapters/sdk/platform/topology"
	modelv1 "github.com/junctionhq/junction/proto/junction/model/v1"
	junctionv1 "github.com/junctionhq/junction/proto/junction/v1"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// Default field paths tried in order when a source sets none.
var (
	defaultTypeFields = []string{"type", "event"}
	defaultTimeFields = []string{"timestamp", "time", "created_at"}
)

// parseObject decodes body as one JSON object, keeping numbers exact.
func parseObject(body []byte) (map[string]any, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("body is not valid JSON: %w", err)
	}
	if dec.More() {
		return nil, errors.New("body holds more than one JSON value; send one JSON object")
	}
	// Only the end of input may follow: a stray '}' or ']' is an error
	// from Token, not the end (the fuzzer found `{...}}` accepted).
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, errors.New("body has trailing data after the JSON object")
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("body must be a JSON object, got %s", jsonKind(v))
	}
	return obj, nil
}

func jsonKind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case []any:
		return "an array"
	case string:
		return "a string"
	case json.Number:
		return "a number"
	case bool:
		return "a boolean"
	}
	return "an object"
}

// lookup follows a dot path through nested objects.
func lookup(obj map[string]any, path string) (any, bool) {
	var cur any = obj
	for _, key := range strings.Split(path, ".") {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil, false
		}
		cur, ok = m[key]
		if !ok {
			return nil, false
		}
	}
	return cur, cur != nil
}

// scalar renders a JSON string, number or boolean as a string.
func scalar(v any) (string, bool) {
	switch x := v.(type) {
	case string:
		return x, true
	case json.Number:
		return x.String(), true
	case bool:
		return strconv.FormatBool(x), true
	}
	return "", false
}

// eventType finds the event type in obj.
func eventType(obj map[string]any, field string) (string, error) {
	fields := defaultTypeFields
	if field != "" {
		fields = []string{field}
	}
	for _, f := range fields {
		v, ok := lookup(obj, f)
		if !ok {
			continue
		}
		s, ok := v.(string)
		if !ok {
			return "", fmt.Errorf("field %q must be a string event type, e.g. \"user.created\"", f)
		}
		if err := topology.ValidType(s); err != nil {
			return "", fmt.Errorf("field %q: %w", f, err)
		}
		return s, nil
	}
	return "", fmt.Errorf("no event type: set field %s in the JSON body (or type_field in the source config)", quoteList(fields))
}

// eventTime finds the event time in obj. A configured field that is present
// but unreadable is an error; the default fields are only tried.
func eventTime(obj map[string]any, field string) (time.Time, error) {
	fields := defaultTimeFields
	if field != "" {
		fields = []string{field}
	}
	for _, f := range fields {
		v, ok := lookup(obj, f)
		if !ok {
			continue
		}
		if t, ok := parseTime(v); ok {
			return t, nil
		}
		if field != "" {
			return time.Time{}, fmt.Errorf("field %q must be an RFC 3339 time or Unix seconds", f)
		}
	}
	return time.Time{}, nil
}

func parseTime(v any) (time.Time, bool) {
	switch x := v.(type) {
	case string:
		t, err := time.Parse(time.RFC3339Nano, x)
		return t, err == nil
	case json.Number:
		sec, err := x.Int64()
		if err != nil || sec <= 0 {
			return time.Time{}, false
		}
		return time.Unix(sec, 0).UTC(), true
	}
	return time.Time{}, false
}

// fieldID finds a sender event id at a dot path.
func fieldID(obj map[string]any, field string) (string, error) {
	v, ok := lookup(obj, field)
	if !ok {
		return "", fmt.Errorf("id_field %q is missing from the JSON body", field)
	}
	s, ok := scalar(v)
	if !ok || s == "" {
		return "", fmt.Errorf("id_field %q must be a non-empty string or number", field)
	}
	return s, nil
}

func quoteList(fields []string) string {
	q := make([]string, len(fields))
	for i, f := range fields {
		q[i] = strconv.Quote(f)
	}
	return strings.Join(q, " or ")
}

// modelRule is one compiled `models:` entry.
type modelRule struct {
	pattern []string
	model   string
}

// compileModels orders the patterns most specific first: more literal
// words first; then, word by word from the left, a literal before '*'
// before '>'; then more words; then by text.
func compileModels(models map[string]string) []modelRule {
	rules := make([]modelRule, 0, len(models))
	for p, m := range models {
		rules = append(rules, modelRule{pattern: strings.Split(p, "."), model: m})
	}
	rank := func(word string) int {
		switch word {
		case "*":
			return 1
		case ">":
			return 2
		}
		return 0
	}
	literals := func(r modelRule) int {
		n := 0
		for _, w := range r.pattern {
			if rank(w) == 0 {
				n++
			}
		}
		return n
	}
	sort.Slice(rules, func(i, j int) bool {
		a, b := rules[i], rules[j]
		if la, lb := literals(a), literals(b); la != lb {
			return la > lb
		}
		for k := 0; k < len(a.pattern) && k < len(b.pattern); k++ {
			if ra, rb := rank(a.pattern[k]), rank(b.pattern[k]); ra != rb {
				return ra < rb
			}
		}
		if len(a.pattern) != len(b.pattern) {
			return len(a.pattern) > len(b.pattern)
		}
		return strings.Join(a.pattern, ".") < strings.Join(b.pattern, ".")
	})
	return rules
}

// modelFor returns the model of the first rule matching typ, or "".
func modelFor(rules []modelRule, typ string) string {
	words := strings.Split(typ, ".")
	for _, r := range rules {
		if matchPattern(r.pattern, words) {
			if r.model == ModelNone {
				return ""
			}
			return r.model
		}
	}
	return ""
}

// matchPattern matches NATS-style: "*" is one word, a final ">" one or more.
func matchPattern(pattern, words []string) bool {
	for i, p := range pattern {
		if p == ">" {
			return i == len(pattern)-1 && len(words) > i
		}
		if i >= len(words) || (p != "*" && p != words[i]) {
			return false
		}
	}
	return len(words) == len(pattern)
}

func validPattern(p string) bool {
	parts := strings.Split(p, ".")
	for i, part := range parts {
		switch {
		case part == ">":
			if i != len(parts)-1 {
				return false
			}
		case part == "*":
		case part == "" || strings.ContainsAny(part, "*> \t"):
			return false
		}
	}
	return true
}

// modelSource picks the object a model is read from: "data" when it is an
// object, else the top level.
func modelSource(obj map[string]any) (src map[string]any, topLevel bool) {
	if d, ok := obj["data"].(map[string]any); ok {
		return d, false
	}
	return obj, true
}

// picker reads well-known fields and remembers which it used, so that the
// rest can become attributes.
type picker struct {
	obj  map[string]any
	used map[string]bool
}

func (p *picker) str(keys ...string) string {
	for _, k := range keys {
		v, ok := p.obj[k]
		if !ok {
			continue
		}
		if s, ok := scalar(v); ok && s != "" {
			p.used[k] = true
			return s
		}
		// A company given as an object: take its name.
		if m, ok := v.(map[string]any); ok {
			if s, ok := scalar(m["name"]); ok && s != "" {
				p.used[k] = true
				return s
			}
		}
	}
	return ""
}

func (p *picker) time(keys ...string) *timestamppb.Timestamp {
	for _, k := range keys {
		if t, ok := parseTime(p.obj[k]); ok {
			p.used[k] = true
			return timestamppb.New(t)
		}
	}
	return nil
}

// attributes returns every unused scalar field as a string.
func (p *picker) attributes() map[string]string {
	var attrs map[string]string
	for k, v := range p.obj {
		if p.used[k] {
			continue
		}
		if s, ok := scalar(v); ok {
			if attrs == nil {
				attrs = map[string]string{}
			}
			attrs[k] = s
		}
	}
	return attrs
}

// setModel maps obj onto the canonical model named by model and sets it on
// e. It also sets e.Subject to the model's id when the event has none.
func setModel(e *junctionv1.Event, model string, obj map[string]any) {
	src, topLevel := modelSource(obj)
	p := &picker{obj: src, used: map[string]bool{}}
	if topLevel {
		// Mapping from the top level: the envelope's type and time are
		// the event's, not the model's attributes.
		for _, k := range []string{"type", "event", "timestamp", "time"} {
			p.used[k] = true
		}
	}
	var id string
	switch model {
	case ModelUser:
		u := &modelv1.User{
			Id:          p.str("id", "user_id", "userId"),
			Email:       p.str("email", "email_address"),
			FirstName:   p.str("first_name", "firstName", "given_name"),
			LastName:    p.str("last_name", "lastName", "family_name"),
			DisplayName: p.str("name", "display_name", "displayName", "full_name"),
			Company:     p.str("company", "company_name", "organization"),
			Plan:        p.str("plan", "tier"),
			CreateTime:  p.time("created_at", "createdAt", "create_time"),
		}
		u.Attributes = p.attributes()
		e.Model = &junctionv1.Event_User{User: u}
		id = u.Id
	case ModelContact:
		c := &modelv1.Contact{
			Id:         p.str("id", "contact_id", "contactId"),
			Email:      p.str("email", "email_address"),
			FirstName:  p.str("first_name", "firstName", "given_name"),
			LastName:   p.str("last_name", "lastName", "family_name"),
			Phone:      p.str("phone", "phone_number", "mobile"),
			Company:    p.str("company", "company_name", "organization"),
			Title:      p.str("title", "job_title"),
			LeadSource: p.str("lead_source", "leadSource"),
			CreateTime: p.time("created_at", "createdAt", "create_time"),
		}
		c.Attributes = p.attributes()
		e.Model = &junctionv1.Event_Contact{Contact: c}
		id = c.Id
	default:
		return
	}
	if e.Subject == "" {
		e.Subject = id
	}
}
