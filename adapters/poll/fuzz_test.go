package poll

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

// FuzzNextLink: any Link header value parses without panicking, and a
// found target is inside the header and carries no '<' or '>'.
func FuzzNextLink(f *testing.F) {
	for _, s := range []string{
		`<https://api.example.com/items?page=2>; rel="next", <https://api.example.com/items?page=5>; rel="last"`,
		`</items?p=2>; rel=next`,
		`</a>; title="a, b"; rel="prev", </b>; rel="next"`,
		`<`, `<>`, `;;,,`, `</a>; rel="next`, `"</a>"; rel=next`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		got := NextLink([]string{v})
		if got != "" && (!strings.Contains(v, got) || strings.ContainsAny(got, "<>")) {
			t.Errorf("NextLink(%q) = %q: not a target of the header", v, got)
		}
	})
}

// FuzzItems: any answer body and paths decode, extract and read ids and
// times without panicking; extracted items are what the path holds.
func FuzzItems(f *testing.F) {
	f.Add(`{"data":{"items":[{"id":1,"at":"2026-01-02T03:04:05Z"}]}}`, "data.items", "id", "at")
	f.Add(`[{"id":"a","at":1767323045},{"id":null}]`, "", "id", "at")
	f.Add(`{"data":[[{"id":1}]]}`, "data.0", "id", "x.y")
	f.Add(`{"a":`, "a", "id", "at")
	f.Add(`{"items":[{"id":1e400,"at":-1}]}`, "items", "id", "at")
	f.Fuzz(func(t *testing.T, body, items, id, at string) {
		doc, err := decode([]byte(body))
		if err != nil {
			return
		}
		ip, err1 := ParsePath(items)
		idp, err2 := ParsePath(id)
		atp, err3 := ParsePath(at)
		if err1 != nil || err2 != nil || err3 != nil {
			return
		}
		list, err := Items(doc, ip)
		if err != nil {
			return
		}
		for _, it := range list {
			if s, ok := scalarString(it, idp); ok && s == "" {
				t.Errorf("an empty id was read as present")
			}
			if tm, err := itemTime(it, atp); err == nil && tm.Location() != time.UTC {
				t.Errorf("item time %v is not UTC", tm)
			}
		}
	})
}

// FuzzRetryAfter: any value reads as a duration between 0 and a day.
func FuzzRetryAfter(f *testing.F) {
	for _, s := range []string{"30", "0", "-1", "Mon, 07 Dec 2026 01:02:00 GMT", "99999999999999999999", "soon", ""} {
		f.Add(s)
	}
	now := time.Date(2026, 12, 7, 1, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, v string) {
		d, ok := RetryAfter(v, now)
		if d < 0 || d > 24*time.Hour || (!ok && d != 0) {
			t.Errorf("RetryAfter(%q) = %v, %v", v, d, ok)
		}
		_ = http.StatusOK
	})
}

// FuzzConfig: any YAML either fails to decode, fails Validate with an
// error, or is a config New accepts (auth values aside).
func FuzzConfig(f *testing.F) {
	f.Add("endpoints:\n  - name: orders\n    url: https://api.example.com/o\n    id_field: id\n    type: order.changed\n")
	f.Add("endpoints:\n  - name: a\n    url: http://x/\n    id_field: a..b\n    type: t\n    pagination: {style: cursor}\n")
	f.Add("endpoints: [{name: a, url: 'https://x/', id_field: id, type_field: k, time_field: t, since: now}]\noutbound: {allow: [10.0.0.0/8]}\n")
	f.Add("endpoints: {}\n")
	f.Fuzz(func(t *testing.T, src string) {
		if err := loadConfig(src); err != nil {
			return
		}
		var c Config
		_ = loadInto(src, &c)
		for i := range c.Endpoints {
			c.Endpoints[i].Auth = Auth{}
		}
		if _, err := New(c); err != nil {
			t.Errorf("New refused a config Validate accepted: %v\n%s", err, src)
		}
	})
}
