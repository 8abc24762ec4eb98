package appmap

import (
	"fmt"
	"strings"
	"testing"

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

func TestDecode(t *testing.T) {
	for _, in := range []string{`[]`, `"x"`, `{"a":1} {"b":2}`, `{"a":1}}`, `{"a":1} x`, `{`, ``} {
		if _, err := Decode([]byte(in)); err == nil {
			t.Errorf("Decode(%q) = nil error, want one", in)
		}
	}
	if _, err := Decode([]byte("{\"a\":1}\n  ")); err != nil {
		t.Errorf("Decode of an object and white space: %v", err)
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
