package mapping

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func TestDecode(t *testing.T) {
	for _, tt := range []struct {
		name, in string
		ok       bool
	}{
		{"object", `{"a":1}`, true},
		{"surrounding space", " [1] \n", true},
		{"big integer keeps its digits", `18446744073709551615`, true},
		{"second value", `{"a":1} {}`, false},
		{"trailing garbage", `{"a":1} xyz`, false},
		{"truncated", `{"a":`, false},
		{"empty", ``, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			v, err := Decode([]byte(tt.in))
			if (err == nil) != tt.ok {
				t.Fatalf("Decode(%q) = %v, %v; want ok %v", tt.in, v, err, tt.ok)
			}
			if n, isNum := v.(json.Number); isNum && n.String() != strings.TrimSpace(tt.in) {
				t.Errorf("number %s, want %s", n, tt.in)
			}
		})
	}
}

func TestReader(t *testing.T) {
	v, err := Decode([]byte(`{"s":"x","n":42,"f":1.5,"b":true,"o":{},"ms":1462216307945,"neg":-1,"id":"abc"}`))
	if err != nil {
		t.Fatal(err)
	}
	obj := v.(map[string]any)
	var r Reader
	if got := r.Str(obj, "", "s", true); got != "x" {
		t.Errorf("Str(s) = %q", got)
	}
	if got := r.ID(obj, "", "n", true); got != "42" {
		t.Errorf("ID(n) = %q", got)
	}
	if got := r.ID(obj, "", "id", true); got != "abc" {
		t.Errorf("ID(id) = %q", got)
	}
	if got := r.UnixMillis(obj, "", "ms", true); !got.Equal(time.UnixMilli(1462216307945)) {
		t.Errorf("UnixMillis(ms) = %v", got)
	}
	if o := r.Obj(obj, "", "o", true); o == nil {
		t.Error("Obj(o) = nil")
	}
	if len(r.Errors()) != 0 {
		t.Fatalf("errors %v after reading fields of the right types", r.Errors())
	}
	r.Str(obj, "event", "n", true)
	r.Str(obj, "event", "missing", true)
	r.Str(obj, "event", "optional", false)
	r.ID(obj, "", "f", true)
	r.ID(obj, "", "b", true)
	r.Obj(obj, "", "s", true)
	r.UnixMillis(obj, "", "neg", true)
	r.UnixMillis(obj, "", "s", true)
	var got []string
	for _, e := range r.Errors() {
		got = append(got, e.GetField()+": "+e.GetReason())
	}
	want := []string{
		"event.n: is a number, want a string",
		"event.missing: missing",
		"f: is a number, want a string or an integer",
		"b: is a boolean, want a string or an integer",
		"s: is a string, want an object",
		"neg: is a number, want Unix milliseconds",
		"s: is a string, want Unix milliseconds",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("errors\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
