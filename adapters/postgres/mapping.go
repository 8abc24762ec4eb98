package postgres

import (
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	junctionv1 "github.com/junctionhq/junction/proto/junction/v1"
)

// mapping is a route target's config, parsed.
type mapping struct {
	schema, table string // schema "" is the search path's
	columns       []column
	key           []string
}

// column is one mapped column.
type column struct {
	name string
	typ  string // declared type, normalised; "" when the route names none
	path []string
}

// identRe is the identifiers the adapter writes: lower case, so they
// need no quoting to be found by a hand-written query.
var identRe = regexp.MustCompile(`^[a-z_][a-z0-9_]{0,62}$`)

// types are the column types a route may declare, by the names it may
// use, each with PostgreSQL's own name for it (format_type's).
var types = map[string]string{
	"text": "text", "varchar": "character varying", "character varying": "character varying",
	"bigint": "bigint", "int8": "bigint", "integer": "integer", "int": "integer", "int4": "integer",
	"smallint": "smallint", "int2": "smallint", "numeric": "numeric", "decimal": "numeric",
	"double precision": "double precision", "float8": "double precision", "real": "real", "float4": "real",
	"boolean": "boolean", "bool": "boolean", "jsonb": "jsonb", "json": "json",
	"timestamptz": "timestamp with time zone", "timestamp with time zone": "timestamp with time zone",
	"timestamp": "timestamp without time zone", "timestamp without time zone": "timestamp without time zone",
	"date": "date", "uuid": "uuid",
}

// typeNames lists the types a route may declare, for messages.
func typeNames() string {
	names := []string{"text", "varchar", "bigint", "integer", "smallint", "numeric", "double precision", "real", "boolean", "jsonb", "json", "timestamptz", "timestamp", "date", "uuid"}
	return strings.Join(names, ", ")
}

// roots are the first elements a path may start with.
var roots = []string{"payload", "event", "delivery"}

// parseMapping reads a target's table, columns and key. Its errors name
// the key and say what to fix.
func parseMapping(cfg map[string]string) (*mapping, error) {
	m := &mapping{}
	table := strings.TrimSpace(cfg["table"])
	if s, t, ok := strings.Cut(table, "."); ok {
		m.schema, table = s, t
		if !identRe.MatchString(s) {
			return nil, fmt.Errorf("table: schema %q must be a lower-case identifier (a-z, 0-9, _)", s)
		}
	}
	if !identRe.MatchString(table) {
		return nil, fmt.Errorf("table: %q must be a lower-case identifier (a-z, 0-9, _), optionally schema-qualified, e.g. analytics.payments", cfg["table"])
	}
	m.table = table
	seen := map[string]bool{}
	for _, entry := range strings.FieldsFunc(cfg["columns"], func(r rune) bool { return r == ',' || r == '\n' || r == ';' }) {
		entry = strings.TrimSpace(entry)
		if entry == "" {
			continue
		}
		left, right, ok := strings.Cut(entry, "=")
		if !ok {
			return nil, fmt.Errorf(`columns: %q has no "=": write "column [type] = path", e.g. "amount bigint = payload.amount"`, entry)
		}
		fields := strings.Fields(left)
		if len(fields) == 0 {
			return nil, fmt.Errorf("columns: %q names no column", entry)
		}
		c := column{name: fields[0]}
		if !identRe.MatchString(c.name) {
			return nil, fmt.Errorf("columns: column %q must be a lower-case identifier (a-z, 0-9, _)", c.name)
		}
		if c.name == DeliveryIDColumn {
			return nil, fmt.Errorf("columns: %s is written by the adapter: map other columns", DeliveryIDColumn)
		}
		if seen[c.name] {
			return nil, fmt.Errorf("columns: column %s is mapped twice", c.name)
		}
		seen[c.name] = true
		if len(fields) > 1 {
			declared := strings.ToLower(strings.Join(fields[1:], " "))
			if c.typ = types[declared]; c.typ == "" {
				return nil, fmt.Errorf("columns: column %s: type %q is not one the adapter writes: use one of %s", c.name, declared, typeNames())
			}
		}
		path := strings.TrimSpace(right)
		c.path = strings.Split(path, ".")
		if !slices.Contains(roots, c.path[0]) || slices.Contains(c.path, "") {
			return nil, fmt.Errorf(`columns: column %s: path %q must start with payload, event or delivery and have no empty part, e.g. payload.customer.email or event.id`, c.name, path)
		}
		m.columns = append(m.columns, c)
	}
	if len(m.columns) == 0 {
		return nil, fmt.Errorf(`columns: maps no column: write "column [type] = path" entries, e.g. "id text = payload.id, amount bigint = payload.amount"`)
	}
	for k := range strings.SplitSeq(cfg["key"], ",") {
		if k = strings.TrimSpace(k); k == "" {
			continue
		}
		if !seen[k] {
			return nil, fmt.Errorf("key: %q is not a mapped column: the key must be columns the route maps", k)
		}
		if slices.Contains(m.key, k) {
			return nil, fmt.Errorf("key: %q is named twice", k)
		}
		m.key = append(m.key, k)
	}
	return m, nil
}

// ident is the mapping's table as SQL.
func (m *mapping) ident() string {
	if m.schema != "" {
		return quote(m.schema) + "." + quote(m.table)
	}
	return quote(m.table)
}

// name is the table as the messages write it.
func (m *mapping) name() string {
	if m.schema != "" {
		return m.schema + "." + m.table
	}
	return m.table
}

// quote quotes an identifier already checked against identRe.
func quote(s string) string { return `"` + s + `"` }

// source is what paths read: the payload decoded, the event and the
// delivery.
type source struct {
	payload  any
	event    map[string]any
	delivery map[string]any
}

func newSource(d *junctionv1.Delivery) (*source, error) {
	s := &source{
		event:    map[string]any{"id": d.GetEventId(), "source": d.GetEventSource(), "type": d.GetEventType()},
		delivery: map[string]any{"id": d.GetId(), "route": d.GetRouteId(), "target": d.GetTarget()},
	}
	if t := d.GetEventTime(); t != nil {
		s.event["time"] = t.AsTime().UTC().Format(time.RFC3339Nano)
	}
	if t := d.GetCreateTime(); t != nil {
		s.delivery["created"] = t.AsTime().UTC().Format(time.RFC3339Nano)
	}
	if len(d.GetPayload()) > 0 {
		dec := json.NewDecoder(strings.NewReader(string(d.GetPayload())))
		dec.UseNumber()
		if err := dec.Decode(&s.payload); err != nil {
			return nil, fmt.Errorf("payload is not JSON (%w): the postgres destination maps columns from a JSON payload", err)
		}
	}
	return s, nil
}

// lookup follows path; nil when a part is missing.
func (s *source) lookup(path []string) any {
	var v any
	switch path[0] {
	case "payload":
		v = s.payload
	case "event":
		v = s.event
	case "delivery":
		v = s.delivery
	}
	for _, p := range path[1:] {
		switch x := v.(type) {
		case map[string]any:
			v = x[p]
		case []any:
			i, err := strconv.Atoi(p)
			if err != nil || i < 0 || i >= len(x) {
				return nil
			}
			v = x[i]
		default:
			return nil
		}
	}
	return v
}

// text is v as the text a column of type typ is given (and cast from on
// the server); nil for SQL NULL. JSON columns get v's JSON; others a
// string as is, a number as written, an object or array as JSON.
func text(v any, typ string) (*string, error) {
	if v == nil {
		return nil, nil
	}
	var s string
	switch x := v.(type) {
	case string:
		if typ != "json" && typ != "jsonb" {
			s = x
			break
		}
		b, _ := json.Marshal(x)
		s = string(b)
	case json.Number:
		s = x.String()
	case bool:
		s = strconv.FormatBool(x)
	default:
		b, err := json.Marshal(x)
		if err != nil {
			return nil, err
		}
		s = string(b)
	}
	return &s, nil
}
