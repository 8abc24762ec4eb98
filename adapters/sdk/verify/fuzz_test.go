package verify

import (
	"encoding/base64"
	"errors"
	"strings"
	"testing"
)

// FuzzFields feeds arbitrary values to the Stripe-style key=value parser.
// Properties: it never panics; on success the timestamp is the value of
// the one t= item and every signature is the value of a v1= item, in
// order; on failure the error is of class ErrMalformedHeader.
func FuzzFields(f *testing.F) {
	for _, s := range []string{
		"t=1700000000,v1=5257a869e7ecebeda32affa62cdca3fa51cad7e77a0e56ff536d0ce8e108d8bd,v0=6ffbb59b2300aae63f272406069a9788598b792a944a07aba816edb039989a39",
		"t=1,v1=a,v1=b",
		"v1=a",
		"t=1",
		"t=1,t=2,v1=a",
		" t = 1 , v1=a=b",
		"",
		",,,=,",
	} {
		f.Add(s)
	}
	parse := Fields("t", "v1")
	f.Fuzz(func(t *testing.T, value string) {
		ts, sigs, err := parse(value)
		if err != nil {
			if !errors.Is(err, ErrMalformedHeader) {
				t.Fatalf("parse(%q) error %v, want class ErrMalformedHeader", value, err)
			}
			return
		}
		var wantTS string
		var wantSigs []string
		for _, item := range strings.Split(value, ",") {
			k, v, ok := strings.Cut(strings.TrimSpace(item), "=")
			if !ok {
				continue
			}
			switch k {
			case "t":
				wantTS = v
			case "v1":
				wantSigs = append(wantSigs, v)
			}
		}
		if ts != wantTS || strings.Join(sigs, "\x00") != strings.Join(wantSigs, "\x00") || len(sigs) == 0 {
			t.Fatalf("parse(%q) = %q, %q; want %q, %q", value, ts, sigs, wantTS, wantSigs)
		}
	})
}

// FuzzParseStandardSignatures feeds arbitrary webhook-signature values.
// Properties: it never panics; every signature returned is non-empty and
// is the base64 of some "v1,<sig>" entry of the value; an error is of
// class ErrMalformedHeader and means there is no such entry.
func FuzzParseStandardSignatures(f *testing.F) {
	for _, s := range []string{
		"v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
		"v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE= v1a,abc v2,xyz",
		"v1,AAAA",
		"v1,",
		"",
		"   v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=\t",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, value string) {
		sigs, err := ParseStandardSignatures(value)
		if err != nil {
			if !errors.Is(err, ErrMalformedHeader) {
				t.Fatalf("error %v, want class ErrMalformedHeader", err)
			}
			for _, e := range strings.Fields(value) {
				if b, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(e, "v1,")); strings.HasPrefix(e, "v1,") && err == nil && len(b) > 0 {
					t.Fatalf("rejected %q holding the valid entry %q", value, e)
				}
			}
			return
		}
		entries := map[string]bool{}
		for _, e := range strings.Fields(value) {
			if b, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(e, "v1,")); strings.HasPrefix(e, "v1,") && err == nil {
				entries[string(b)] = true
			}
		}
		for _, s := range sigs {
			if len(s) == 0 {
				t.Fatal("an empty signature was returned")
			}
			if !entries[string(s)] {
				t.Fatalf("signature %x is no v1 entry of %q", s, value)
			}
		}
	})
}
