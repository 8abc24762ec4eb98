package fields_test

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/testing/protocmp"

	"github.com/junctionhq/junction/adapters/internal/fields"
	junctionv1 "github.com/junctionhq/junction/proto/junction/v1"
)

func TestReader(t *testing.T) {
	body := []byte(`{"s":"x","n":42,"f":1.5,"b":true,"null":null,"o":{"s":"y","deep":{"n":"7"}},"a":["p",{"name":"q"},3],"t":"2026-12-07T00:15:00Z","ms":1796598900123,"str":"s"}`)
	for _, tt := range []struct {
		name     string
		read     func(r *fields.Reader) any
		want     any
		wantErrs []*junctionv1.MappingError
	}{
		{"string", func(r *fields.Reader) any { return r.String("s", fields.Required) }, "x", nil},
		{"nested string", func(r *fields.Reader) any { return r.String("o.s", fields.Required) }, "y", nil},
		{"string through a child reader", func(r *fields.Reader) any { return r.At("o", fields.Required).String("s", fields.Required) }, "y", nil},
		{"missing required", func(r *fields.Reader) any { return r.String("nope", fields.Required) }, "", []*junctionv1.MappingError{{Field: "nope", Reason: "missing"}}},
		{"missing optional", func(r *fields.Reader) any { return r.String("nope", fields.Optional) }, "", nil},
		{"null required", func(r *fields.Reader) any { return r.String("null", fields.Required) }, "", []*junctionv1.MappingError{{Field: "null", Reason: "is null"}}},
		{"null optional", func(r *fields.Reader) any { return r.At("null", fields.Optional).String("x", fields.Required) }, "", nil},
		{"wrong type", func(r *fields.Reader) any { return r.String("n", fields.Optional) }, "", []*junctionv1.MappingError{{Field: "n", Reason: "is a number, want a string"}}},
		{"a step not an object", func(r *fields.Reader) any { return r.String("s.x", fields.Optional) }, "", []*junctionv1.MappingError{{Field: "s", Reason: "is a string, want an object"}}},
		{"child reader prefixes paths", func(r *fields.Reader) any {
			return r.At("o", fields.Required).At("deep", fields.Required).Int("n", fields.Required)
		}, int64(0),
			[]*junctionv1.MappingError{{Field: "o.deep.n", Reason: "is a string, want a number"}}},
		{"int", func(r *fields.Reader) any { return r.Int("n", fields.Required) }, int64(42), nil},
		{"int not integral", func(r *fields.Reader) any { return r.Int("f", fields.Required) }, int64(0), []*junctionv1.MappingError{{Field: "f", Reason: "is 1.5, want an integer"}}},
		{"id from a number", func(r *fields.Reader) any { return r.ID("n", fields.Required) }, "42", nil},
		{"id from a string", func(r *fields.Reader) any { return r.ID("s", fields.Required) }, "x", nil},
		{"id from a boolean", func(r *fields.Reader) any { return r.ID("b", fields.Required) }, "", []*junctionv1.MappingError{{Field: "b", Reason: "is a boolean, want a string or a number"}}},
		{"bool", func(r *fields.Reader) any { return r.Bool("b", fields.Required) }, true, nil},
		{"strings by key", func(r *fields.Reader) any { return r.Strings("a", "name", fields.Required) }, []string{"p", "q"},
			[]*junctionv1.MappingError{{Field: "a.2", Reason: `is a number, want a string or an object with a string "name"`}}},
		{"time RFC 3339", func(r *fields.Reader) any { return r.Time("t", fields.Required).AsTime() }, time.Date(2026, 12, 7, 0, 15, 0, 0, time.UTC), nil},
		{"time millis", func(r *fields.Reader) any { return r.Time("ms", fields.Required).AsTime() }, time.UnixMilli(1796598900123).UTC(), nil},
		{"time unreadable", func(r *fields.Reader) any { return r.Time("str", fields.Required) == nil }, true, []*junctionv1.MappingError{{Field: "str", Reason: `is "s", want a time like 2006-01-02T15:04:05.999999999Z07:00`}}},
		{"nil reader reads nothing, records nothing", func(r *fields.Reader) any { return r.At("nope", fields.Optional).String("x", fields.Required) }, "", nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r, err := fields.Parse(body)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, tt.read(r)); diff != "" {
				t.Errorf("value (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantErrs, r.Errors(), protocmp.Transform()); diff != "" {
				t.Errorf("mapping errors (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParse(t *testing.T) {
	for _, tt := range []struct {
		body   string
		wantOK bool
	}{
		{`{}`, true}, {`{"a":1}`, true}, {`[]`, false}, {`"s"`, false}, {`{"a":`, false}, {`{} {}`, false}, {``, false}, {`null`, false},
	} {
		if _, err := fields.Parse([]byte(tt.body)); (err == nil) != tt.wantOK {
			t.Errorf("Parse(%q) error %v, want ok %v", tt.body, err, tt.wantOK)
		}
	}
}
