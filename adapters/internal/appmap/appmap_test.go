package appmap

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/testing/protocmp"

	modelv1 "github.com/junctionhq/junction/proto/junction/model/v1"
	junctionv1 "github.com/junctionhq/junction/proto/junction/v1"
)

func TestParseDecimal(t *testing.T) {
	for _, tt := range []struct {
		in      string
		units   int64
		nanos   int32
		wantErr string
	}{
		{in: "19.99", units: 19, nanos: 990_000_000},
		{in: "0.01", nanos: 10_000_000},
		{in: "100", units: 100},
		{in: "-0.5", nanos: -500_000_000},
		{in: "-12.345", units: -12, nanos: -345_000_000},
		{in: "+3.10", units: 3, nanos: 100_000_000},
		{in: "0.123456789", nanos: 123_456_789},
		{in: "1.1234567890000", units: 1, nanos: 123_456_789},
		{in: "9223372036854775807.999999999", units: 9223372036854775807, nanos: 999_999_999},
		{in: "0.1234567891", wantErr: "more than 9 decimal places"},
		{in: "9223372036854775808", wantErr: "whole part out of range"},
		{in: "1,99", wantErr: "only digits and one point"},
		{in: "1e3", wantErr: "only digits and one point"},
		{in: ".5", wantErr: "digits needed on both sides"},
		{in: "5.", wantErr: "digits needed on both sides"},
		{in: "", wantErr: "digits needed"},
		{in: "1.2.3", wantErr: "only digits and one point"},
	} {
		t.Run(tt.in, func(t *testing.T) {
			m, err := ParseDecimal(tt.in, "eur")
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ParseDecimal(%q) = %v, %v; want an error containing %q", tt.in, m, err, tt.wantErr)
				}
				return
			}
			want := &modelv1.Money{CurrencyCode: "EUR", Units: tt.units, Nanos: tt.nanos}
			if err != nil || !cmp.Equal(m, want, protocmp.Transform()) {
				t.Errorf("ParseDecimal(%q) = %v, %v; want %v", tt.in, m, err, want)
			}
		})
	}
}

func TestMinorUnits(t *testing.T) {
	for _, tt := range []struct {
		amount   int64
		currency string
		units    int64
		nanos    int32
	}{
		{1999, "usd", 19, 990_000_000},
		{500, "jpy", 500, 0},
		{1234, "kwd", 1, 234_000_000},
		{-250, "eur", -2, -500_000_000},
		{5, "USD", 0, 50_000_000},
	} {
		t.Run(fmt.Sprint(tt.amount, tt.currency), func(t *testing.T) {
			got := MinorUnits(tt.amount, tt.currency)
			want := &modelv1.Money{CurrencyCode: strings.ToUpper(tt.currency), Units: tt.units, Nanos: tt.nanos}
			if !cmp.Equal(got, want, protocmp.Transform()) {
				t.Errorf("MinorUnits(%d, %s) = %v, want %v", tt.amount, tt.currency, got, want)
			}
		})
	}
}

func TestObjectErrors(t *testing.T) {
	obj, err := Decode([]byte(`{"a":{"n":"x","big":18446744073709551615,"f":1.5,"nul":null},"arr":[{"id":1},2]}`))
	if err != nil {
		t.Fatal(err)
	}
	m := &Mapper{}
	root := m.Root(obj, "")
	a := root.Object("a", Required)
	a.Int("n", Required)
	if got := a.ID("big", Required); got != "18446744073709551615" {
		t.Errorf("ID(big) = %q, want the number exactly", got)
	}
	a.ID("f", Required)
	a.String("nul", Required)
	a.String("nul", Optional)
	a.String("gone", Required)
	a.String("gone", Required) // read twice, recorded once
	if n := len(root.Objects("arr", Required)); n != 1 {
		t.Errorf("Objects(arr) = %d objects, want 1", n)
	}
	root.Object("none", Optional).String("x", Required)
	want := []*junctionv1.MappingError{
		{Field: "a.n", Reason: "is a string, want an integer"},
		{Field: "a.f", Reason: "is a number that is not a whole number, want an integer or string id"},
		{Field: "a.nul", Reason: "is null"},
		{Field: "a.gone", Reason: "missing"},
		{Field: "arr.1", Reason: "is a number, want an object"},
		{Field: "none.x", Reason: "missing"},
	}
	if diff := cmp.Diff(want, m.Errors(), protocmp.Transform()); diff != "" {
		t.Errorf("errors (-want +got):\n%s", diff)
	}
}

// TestDecode: one JSON object (Decode) or any one JSON value
// (DecodeValue), numbers exact, nothing after it.
func TestDecode(t *testing.T) {
	for _, tt := range []struct {
		name, in         string
		wantObj, wantAny bool
	}{
		{"object", `{"a":1}`, true, true},
		{"object and white space", "{\"a\":1}\n  ", true, true},
		{"array", " [1] \n", false, true},
		{"string", `"x"`, false, true},
		{"big integer keeps its digits", `18446744073709551615`, false, true},
		{"second value", `{"a":1} {"b":2}`, false, false},
		{"extra brace", `{"a":1}}`, false, false},
		{"trailing garbage", `{"a":1} x`, false, false},
		{"truncated", `{"a":`, false, false},
		{"open brace", `{`, false, false},
		{"empty", ``, false, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := Decode([]byte(tt.in)); (err == nil) != tt.wantObj {
				t.Errorf("Decode(%q) error %v, want ok %v", tt.in, err, tt.wantObj)
			}
			v, err := DecodeValue([]byte(tt.in))
			if (err == nil) != tt.wantAny {
				t.Fatalf("DecodeValue(%q) = %v, %v; want ok %v", tt.in, v, err, tt.wantAny)
			}
			if n, isNum := v.(json.Number); isNum && n.String() != strings.TrimSpace(tt.in) {
				t.Errorf("number %s, want %s", n, tt.in)
			}
		})
	}
}

// TestReader: each reader's value and the mapping errors it records,
// through dotted paths, child objects and absent ones.
func TestReader(t *testing.T) {
	body := []byte(`{"s":"x","n":42,"f":1.5,"b":true,"null":null,"empty":"","o":{"s":"y","deep":{"n":"7"}},"a":["p",{"name":"q"},3],` +
		`"t":"2026-12-07T00:15:00Z","jt":"2026-12-07T00:15:00.000+0000","ms":1796598900123,"neg":-1,"str":"s","big":18446744073709551616}`)
	const jiraTime = "2006-01-02T15:04:05.000-0700"
	for _, tt := range []struct {
		name     string
		read     func(r Object) any
		want     any
		wantErrs []*junctionv1.MappingError
	}{
		{"string", func(r Object) any { return r.String("s", Required) }, "x", nil},
		{"nested string", func(r Object) any { return r.String("o.s", Required) }, "y", nil},
		{"string through a child object", func(r Object) any { return r.At("o", Required).String("s", Required) }, "y", nil},
		{"missing required", func(r Object) any { return r.String("nope", Required) }, "", []*junctionv1.MappingError{{Field: "nope", Reason: "missing"}}},
		{"missing nested required", func(r Object) any { return r.String("o.nope", Required) }, "", []*junctionv1.MappingError{{Field: "o.nope", Reason: "missing"}}},
		{"missing optional", func(r Object) any { return r.String("nope", Optional) }, "", nil},
		{"null required", func(r Object) any { return r.String("null", Required) }, "", []*junctionv1.MappingError{{Field: "null", Reason: "is null"}}},
		{"null optional, read through At", func(r Object) any { return r.At("null", Optional).String("x", Required) }, "", nil},
		{"wrong type", func(r Object) any { return r.String("n", Optional) }, "", []*junctionv1.MappingError{{Field: "n", Reason: "is a number, want a string"}}},
		{"a step not an object", func(r Object) any { return r.String("s.x", Optional) }, "", []*junctionv1.MappingError{{Field: "s", Reason: "is a string, want an object"}}},
		{"child objects prefix paths", func(r Object) any {
			n, _ := r.At("o", Required).At("deep", Required).Int("n", Required)
			return n
		}, int64(0), []*junctionv1.MappingError{{Field: "o.deep.n", Reason: "is a string, want an integer"}}},
		{"int", func(r Object) any { n, _ := r.Int("n", Required); return n }, int64(42), nil},
		{"int not integral", func(r Object) any { n, _ := r.Int("f", Required); return n }, int64(0), []*junctionv1.MappingError{{Field: "f", Reason: "is 1.5, want an integer"}}},
		{"id from a number", func(r Object) any { return r.ID("n", Required) }, "42", nil},
		{"id above 2^64 refused", func(r Object) any { return r.ID("big", Required) }, "", []*junctionv1.MappingError{{Field: "big", Reason: "is a number that is not a whole number, want an integer or string id"}}},
		{"id from a string", func(r Object) any { return r.ID("s", Required) }, "x", nil},
		{"id from an empty string", func(r Object) any { return r.ID("empty", Required) }, "", []*junctionv1.MappingError{{Field: "empty", Reason: "is an empty string, want an id"}}},
		{"id from a boolean", func(r Object) any { return r.ID("b", Required) }, "", []*junctionv1.MappingError{{Field: "b", Reason: "is a boolean, want a string or an integer"}}},
		{"bool", func(r Object) any { return r.Bool("b", Required) }, true, nil},
		{"strings", func(r Object) any { return r.Strings("a", Required) }, []string{"p"}, []*junctionv1.MappingError{
			{Field: "a.1", Reason: "is an object, want a string"}, {Field: "a.2", Reason: "is a number, want a string"}}},
		{"strings by field", func(r Object) any { return r.StringsOf("a", "name", Required) }, []string{"p", "q"},
			[]*junctionv1.MappingError{{Field: "a.2", Reason: `is a number, want a string or an object with a string "name"`}}},
		{"strings not an array", func(r Object) any { return r.Strings("s", Required) }, []string{}, []*junctionv1.MappingError{{Field: "s", Reason: "is a string, want an array"}}},
		{"time RFC 3339", func(r Object) any { return r.Time("t", Required).AsTime() }, time.Date(2026, 12, 7, 0, 15, 0, 0, time.UTC), nil},
		{"time in a layout", func(r Object) any { return r.Time("jt", Required, jiraTime).AsTime() }, time.Date(2026, 12, 7, 0, 15, 0, 0, time.UTC), nil},
		{"time unreadable", func(r Object) any { return r.Time("str", Required) == nil }, true, []*junctionv1.MappingError{{Field: "str", Reason: `is "s", want an RFC 3339 time`}}},
		{"time unreadable in a layout", func(r Object) any { return r.Time("t", Required, jiraTime) == nil }, true,
			[]*junctionv1.MappingError{{Field: "t", Reason: `is "2026-12-07T00:15:00Z", want a time like 2006-01-02T15:04:05.000-0700`}}},
		{"unix millis", func(r Object) any { return r.UnixMillis("ms", Required).AsTime() }, time.UnixMilli(1796598900123).UTC(), nil},
		{"unix millis negative", func(r Object) any { return r.UnixMillis("neg", Required) == nil }, true, []*junctionv1.MappingError{{Field: "neg", Reason: "is a number, want Unix milliseconds"}}},
		{"unix millis from a string", func(r Object) any { return r.UnixMillis("s", Required) == nil }, true, []*junctionv1.MappingError{{Field: "s", Reason: "is a string, want Unix milliseconds"}}},
		{"absent object from At reads nothing, records nothing", func(r Object) any { return r.At("nope", Optional).String("x", Required) }, "", nil},
		{"absent object from Object still reports", func(r Object) any { return r.Object("nope", Optional).String("x", Required) }, "", []*junctionv1.MappingError{{Field: "nope.x", Reason: "missing"}}},
		{"object not an object", func(r Object) any { return r.At("s", Required).Present() }, false, []*junctionv1.MappingError{{Field: "s", Reason: "is a string, want an object"}}},
		{"the zero object records nothing", func(Object) any { return Object{}.String("x", Required) }, "", nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r, err := Parse(body)
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

// TestRootAtPath: a Root given a path (Slack's "event") names its fields
// under it, and IDString keeps every digit.
func TestRootAtPath(t *testing.T) {
	v, err := Decode([]byte(`{"n":42,"id":"abc","big":18446744073709551615}`))
	if err != nil {
		t.Fatal(err)
	}
	var m Mapper
	ev := m.Root(v, "event")
	ev.String("n", Required)
	ev.String("missing", Required)
	ev.String("optional", Optional)
	ev.Object("message", Required).String("ts", Required)
	want := []*junctionv1.MappingError{
		{Field: "event.n", Reason: "is a number, want a string"},
		{Field: "event.missing", Reason: "missing"},
		{Field: "event.message", Reason: "missing"},
		{Field: "event.message.ts", Reason: "missing"},
	}
	if diff := cmp.Diff(want, m.Errors(), protocmp.Transform()); diff != "" {
		t.Errorf("errors (-want +got):\n%s", diff)
	}
	for _, tt := range []struct {
		in   any
		want string
		ok   bool
	}{
		{v["id"], "abc", true},
		{v["big"], "18446744073709551615", true},
		{"", "", false},
		{json.Number("1.5"), "", false},
		{true, "", false},
	} {
		if got, ok := IDString(tt.in); got != tt.want || ok != tt.ok {
			t.Errorf("IDString(%#v) = %q, %v; want %q, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

// FuzzParseDecimal: ParseDecimal never panics, and what it accepts
// written back as a decimal equals the input up to sign, leading "+" and
// trailing fraction zeros.
func FuzzParseDecimal(f *testing.F) {
	for _, s := range []string{"19.99", "0.01", "-0.5", "+3.10", "1e3", "1.1234567890", ".5", "9223372036854775807.999999999"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		m, err := ParseDecimal(s, "usd")
		if err != nil {
			return
		}
		if (m.Units < 0 && m.Nanos > 0) || (m.Units > 0 && m.Nanos < 0) || m.Nanos <= -1e9 || m.Nanos >= 1e9 {
			t.Fatalf("ParseDecimal(%q) = %v: units and nanos disagree in sign or nanos out of range", s, m)
		}
		nanos := m.Nanos
		if nanos < 0 {
			nanos = -nanos
		}
		units := m.Units
		if units < 0 {
			units = -units
		}
		got := strings.TrimRight(strings.TrimRight(fmt.Sprintf("%d.%09d", units, nanos), "0"), ".")
		want := strings.TrimLeft(s, "+-")
		if w, f, ok := strings.Cut(want, "."); ok {
			want = strings.TrimRight(w+"."+strings.TrimRight(f, "0"), ".")
		}
		want = strings.TrimLeft(want, "0")
		got = strings.TrimLeft(got, "0")
		if strings.HasPrefix(want, ".") || want == "" {
			want = "0" + want
		}
		if strings.HasPrefix(got, ".") || got == "" {
			got = "0" + got
		}
		if got != want {
			t.Fatalf("ParseDecimal(%q) = %v, which reads back as %q, want %q", s, m, got, want)
		}
	})
}

// FuzzObject: reading any JSON object through every reader, by plain and
// dotted keys, never panics, and every mapping error names a field and a
// reason.
func FuzzObject(f *testing.F) {
	for _, s := range []string{
		`{"a":{"b":{"c":"x"}},"n":18446744073709551615,"t":"2026-12-07T00:15:00Z"}`,
		`{"a":"x","n":1.5,"t":1796598900123,"l":["x",{"name":"y"},3]}`,
		`{"a":null,"n":"7","t":null,"l":{"0":1}}`,
		`{"a":[{"b":1}],"n":-1,"m":{"k":true,"j":2}}`,
	} {
		f.Add([]byte(s), "a.b.c")
	}
	f.Fuzz(func(t *testing.T, body []byte, path string) {
		r, err := Parse(body)
		if err != nil || path == "" { // adapters read named fields only
			return
		}
		for _, key := range []string{path, "a", "a.b", "n", "t", "l", "m"} {
			for _, need := range []Need{Optional, Required} {
				o := r.Object(key, need)
				o.String("c", need)
				r.At(key, need).ID("b", need)
				r.String(key, need)
				r.ID(key, need)
				r.Int(key, need)
				r.Bool(key, need)
				r.Unix(key, need)
				r.UnixMillis(key, need)
				r.Time(key, need)
				r.Time(key, need, "2006-01-02")
				r.Decimal(key, "USD", need)
				r.Minor(key, "JPY", need)
				r.Strings(key, need)
				r.StringsOf(key, "name", need)
				for _, e := range r.Objects(key, need) {
					e.ID("b", need)
				}
				r.Attributes(key, "x.", map[string]string{})
			}
		}
		for _, e := range r.Errors() {
			if e.GetField() == "" || e.GetReason() == "" {
				t.Fatalf("mapping error %v lacks a field or a reason", e)
			}
		}
	})
}
