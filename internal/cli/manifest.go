package cli

import (
	"fmt"
	"regexp"
	"strings"

	junctionv1 "github.com/junctionhq/junction/proto/junction/v1"
)

const (
	// idKey is the short form of a route's name accepted in route files.
	idKey = "id"
	// routePrefix starts every route resource name.
	routePrefix = "routes/"
	// listKey holds the routes of a list document, the shape `routes list -o
	// json|yaml` prints, so that its output can be applied again.
	listKey = "routes"
)

// routeFullName is the proto name of junction.v1.Route.
var routeFullName = (&junctionv1.Route{}).ProtoReflect().Descriptor().FullName()

// routeIDPattern is the contract's route id: 1 to 63 of [a-z0-9-], starting
// with a letter.
var routeIDPattern = regexp.MustCompile(`^[a-z][a-z0-9-]{0,62}$`)

// routeDoc is one route read from a file.
type routeDoc struct {
	file  string
	where string // file, document and item, for messages
	id    string
	route *junctionv1.Route
}

// parseRoutes reads every route of every source and checks them all before
// anything is sent: a bad document, a missing or invalid id or the same id
// twice fails the whole set. With needID false a route without an id is
// accepted and named "routes/<defaultID>".
func parseRoutes(srcs []source, needID bool, defaultID string) ([]routeDoc, error) {
	var out []routeDoc
	seen := map[string]string{}
	for _, src := range srcs {
		docs, err := decodeDocuments(src.name, src.data)
		if err != nil {
			return nil, err
		}
		for _, d := range docs {
			items, many, err := routeItems(d.value)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", d.where(src.name), err)
			}
			for i, it := range items {
				where := d.where(src.name)
				if many {
					where = fmt.Sprintf("%s, item %d", where, i+1)
				}
				id, r, err := parseRoute(it, needID, defaultID)
				if err != nil {
					return nil, fmt.Errorf("%s: %w", where, err)
				}
				if prev, dup := seen[id]; dup {
					return nil, fmt.Errorf("%s: route %q is also defined at %s: keep one: %w", where, id, prev, ErrInvalidInput)
				}
				seen[id] = where
				out = append(out, routeDoc{file: src.name, where: where, id: id, route: r})
			}
		}
	}
	if len(out) == 0 {
		names := make([]string, len(srcs))
		for i, s := range srcs {
			names[i] = s.name
		}
		return nil, fmt.Errorf("no routes found in %s: %w", strings.Join(names, ", "), ErrInvalidInput)
	}
	return out, nil
}

// routeItems returns the route mappings of one document: the document
// itself, the elements of a list, or the "routes" of a list document.
func routeItems(v any) (items []map[string]any, many bool, err error) {
	switch x := v.(type) {
	case map[string]any:
		if l, ok := x[listKey].([]any); ok && isListDocument(x) {
			items, err := routeMaps(l)
			return items, true, err
		}
		return []map[string]any{x}, false, nil
	case []any:
		items, err := routeMaps(x)
		return items, true, err
	default:
		return nil, false, fmt.Errorf("want a route (a mapping with filter, targets, ...), got %s: %w", describe(v), ErrInvalidInput)
	}
}

// isListDocument reports whether m has only the fields of a list response.
func isListDocument(m map[string]any) bool {
	for k := range m {
		if k != listKey && k != "next_page_token" && k != "nextPageToken" {
			return false
		}
	}
	return true
}

// routeMaps checks that every element of a list is a mapping.
func routeMaps(l []any) ([]map[string]any, error) {
	out := make([]map[string]any, 0, len(l))
	for i, e := range l {
		m, ok := e.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("item %d: want a route (a mapping), got %s: %w", i+1, describe(e), ErrInvalidInput)
		}
		out = append(out, m)
	}
	return out, nil
}

// parseRoute turns one mapping into a route named "routes/<id>". The id
// comes from `id` or `name`; both may be given when they agree.
func parseRoute(m map[string]any, needID bool, defaultID string) (string, *junctionv1.Route, error) {
	fields := make(map[string]any, len(m))
	var id string
	for k, v := range m {
		if k != idKey {
			fields[k] = v
			continue
		}
		s, ok := v.(string)
		if !ok {
			return "", nil, fmt.Errorf("field %q: want a string, got %s: %w", idKey, describe(v), ErrInvalidInput)
		}
		id = s
	}
	r := &junctionv1.Route{}
	if err := unmarshalInto(fields, r); err != nil {
		return "", nil, err
	}
	if r.Name != "" {
		fromName, ok := strings.CutPrefix(r.Name, routePrefix)
		if !ok {
			return "", nil, fmt.Errorf("name %q: want %s<id>, e.g. %sjira-to-slack: %w", r.Name, routePrefix, routePrefix, ErrInvalidInput)
		}
		if id != "" && id != fromName {
			return "", nil, fmt.Errorf("id %q and name %q disagree: give one of them: %w", id, r.Name, ErrInvalidInput)
		}
		id = fromName
	}
	if id == "" {
		if needID {
			return "", nil, fmt.Errorf("the route has no id: add `id: my-route` (or `name: routes/my-route`): %w", ErrInvalidInput)
		}
		id = defaultID
	}
	if !routeIDPattern.MatchString(id) {
		return "", nil, fmt.Errorf("route id %q: want 1 to 63 of a-z, 0-9 and -, starting with a letter: %w", id, ErrInvalidInput)
	}
	r.Name = routePrefix + id
	// Output-only fields: a route printed by `routes get -o yaml` can be
	// applied again, so they are accepted and dropped.
	r.CreateTime, r.UpdateTime = nil, nil
	return id, r, nil
}
