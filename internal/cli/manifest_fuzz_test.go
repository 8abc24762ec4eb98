package cli

import (
	"errors"
	"os"
	"strings"
	"testing"
)

// FuzzParseRoutes feeds route files (YAML or JSON, one or more documents)
// to the parser `junction routes apply -f` runs before anything is sent.
// A file is refused with ErrInvalidInput, or every route it yields has a
// valid id and the name "routes/<id>", and no id twice.
func FuzzParseRoutes(f *testing.F) {
	if b, err := os.ReadFile("../../examples/routes/new-enterprise-user.yaml"); err == nil {
		f.Add(b)
	}
	f.Add([]byte("id: a\nfilter: acme.>\ntargets: [{destination: webhook}]\n"))
	f.Add([]byte("---\nid: a\n---\nid: a\n"))
	f.Add([]byte(`{"routes":[{"id":"x","filter":"a.>"},{"name":"routes/y"}]}`))
	f.Add([]byte("- id: a\n- id: b\n  policy: {max_attempts: 3, initial_backoff: 1s}\n"))
	f.Add([]byte("id: 1bad\n"))
	f.Add([]byte("id: [1]\n"))
	f.Add([]byte("&a [*a]\n"))
	f.Add([]byte("id: a\nunknown_field: 1\n"))
	f.Add([]byte("id: a\nname: routes/b\n"))
	f.Add([]byte("id: a\ntargets: [{config: {url: 1}}]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		docs, err := parseRoutes([]source{{name: "fuzz.yaml", data: data}}, true, "")
		if err != nil {
			if !errors.Is(err, ErrInvalidInput) && !errors.Is(err, ErrUsage) {
				t.Fatalf("error %v wraps neither ErrInvalidInput nor ErrUsage", err)
			}
			return
		}
		seen := map[string]bool{}
		for _, d := range docs {
			if !routeIDPattern.MatchString(d.id) {
				t.Fatalf("accepted route id %q", d.id)
			}
			if d.route.GetName() != routePrefix+d.id {
				t.Fatalf("route %q has name %q", d.id, d.route.GetName())
			}
			if seen[d.id] {
				t.Fatalf("id %q accepted twice", d.id)
			}
			seen[d.id] = true
			if strings.TrimSpace(d.where) == "" {
				t.Fatalf("route %q has no location for messages", d.id)
			}
		}
	})
}
