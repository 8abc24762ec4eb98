package poll

import (
	"errors"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

func TestNextLink(t *testing.T) {
	for _, tc := range []struct {
		name   string
		values []string
		want   string
	}{
		{name: "github style", values: []string{`<https://api.example.com/items?page=2>; rel="next", <https://api.example.com/items?page=5>; rel="last"`}, want: "https://api.example.com/items?page=2"},
		{name: "next second", values: []string{`<https://a.example/1>; rel="prev", <https://a.example/3>; rel="next"`}, want: "https://a.example/3"},
		{name: "bare rel", values: []string{`</items?p=2>; rel=next`}, want: "/items?p=2"},
		{name: "several rels", values: []string{`</items?p=2>; rel="next last"`}, want: "/items?p=2"},
		{name: "uppercase", values: []string{`</x>; REL="NEXT"`}, want: "/x"},
		{name: "two header lines", values: []string{`</a>; rel="prev"`, `</b>; rel="next"`}, want: "/b"},
		{name: "comma in a quoted param", values: []string{`</a>; title="a, b"; rel="prev", </b>; rel="next"`}, want: "/b"},
		{name: "comma in the URL", values: []string{`</a?x=1,2>; rel="next"`}, want: "/a?x=1,2"},
		{name: "no next", values: []string{`</a>; rel="prev"`}, want: ""},
		{name: "empty", values: nil, want: ""},
		{name: "unterminated target", values: []string{`</a; rel="next"`}, want: ""},
		{name: "garbage before", values: []string{`junk, </b>; rel="next"`}, want: "/b"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := NextLink(tc.values); got != tc.want {
				t.Errorf("NextLink(%q) = %q, want %q", tc.values, got, tc.want)
			}
		})
	}
}

func TestRetryAfter(t *testing.T) {
	now := time.Date(2026, 12, 7, 1, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name   string
		value  string
		want   time.Duration
		wantOK bool
	}{
		{name: "seconds", value: "30", want: 30 * time.Second, wantOK: true},
		{name: "zero", value: "0", want: 0, wantOK: true},
		{name: "http date", value: "Mon, 07 Dec 2026 01:02:00 GMT", want: 2 * time.Minute, wantOK: true},
		{name: "date in the past", value: "Mon, 07 Dec 2026 00:00:00 GMT", want: 0, wantOK: true},
		{name: "capped at a day", value: "999999999", want: 24 * time.Hour, wantOK: true},
		{name: "negative", value: "-5", wantOK: false},
		{name: "empty", value: "", wantOK: false},
		{name: "words", value: "soon", wantOK: false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := RetryAfter(tc.value, now)
			if got != tc.want || ok != tc.wantOK {
				t.Errorf("RetryAfter(%q) = %v, %v; want %v, %v", tc.value, got, ok, tc.want, tc.wantOK)
			}
		})
	}
}

func TestItemsAndFields(t *testing.T) {
	doc, err := decode([]byte(`{"data":{"items":[{"id":12345678901234567890,"at":"2026-01-02T03:04:05Z","t":{"name":"a.b"}},{"id":"x","at":1767323045},{"id":null,"at":1767323045123}]},"list":[[1,2]],"n":5}`))
	if err != nil {
		t.Fatal(err)
	}
	items, err := Items(doc, mustPath(t, "data.items"))
	if err != nil || len(items) != 3 {
		t.Fatalf("Items = %d, %v; want 3", len(items), err)
	}
	if id, ok := scalarString(items[0], mustPath(t, "id")); id != "12345678901234567890" || !ok {
		t.Errorf("a big numeric id = %q, %v; want it exact", id, ok)
	}
	if typ, ok := scalarString(items[0], mustPath(t, "t.name")); typ != "a.b" || !ok {
		t.Errorf("nested field = %q, %v", typ, ok)
	}
	if _, ok := scalarString(items[2], mustPath(t, "id")); ok {
		t.Error("a null id was read as an id")
	}
	for i, want := range []time.Time{
		time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
		time.Unix(1767323045, 0).UTC(),
		time.UnixMilli(1767323045123).UTC(),
	} {
		if got, err := itemTime(items[i], mustPath(t, "at")); err != nil || !got.Equal(want) {
			t.Errorf("item %d time = %v, %v; want %v", i, got, err, want)
		}
	}
	if v, ok := mustPath(t, "list.0.1").Lookup(doc); !ok || v.(interface{ String() string }).String() != "2" {
		t.Errorf("array index path = %v, %v", v, ok)
	}
	for _, tc := range []struct{ path, want string }{
		{path: "n", want: "number, not an array"},
		{path: "data", want: "object, not an array"},
	} {
		if _, err := Items(doc, mustPath(t, tc.path)); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Items(%s) = %v, want an error containing %q", tc.path, err, tc.want)
		}
	}
	if got, err := Items(doc, mustPath(t, "missing")); err != nil || got != nil {
		t.Errorf("an absent items path = %v, %v; want no items", got, err)
	}
	for _, bad := range []string{"a..b", ".a", "a.", strings.Repeat("a.", 40) + "a"} {
		if _, err := ParsePath(bad); err == nil {
			t.Errorf("ParsePath(%q) = nil, want an error", bad)
		}
	}
	if _, err := decode([]byte(`{"a":1} {"b":2}`)); err == nil {
		t.Error("two documents decoded as one")
	}
}

func mustPath(t *testing.T, s string) Path {
	t.Helper()
	p, err := ParsePath(s)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestConfigErrorsSayWhatToFix(t *testing.T) {
	good := `
endpoints:
  - name: orders
    url: https://api.example.com/orders
    auth: {header: Authorization, prefix: "Bearer ", value_env: ORDERS_TOKEN}
    items: data
    id_field: id
    time_field: updated_at
    type: order.changed
`
	for _, tc := range []struct {
		name string
		edit string // replaces a line of good, or is appended to the endpoint
		want string
	}{
		{name: "valid", want: ""},
		{name: "no endpoints", edit: "endpoints: []", want: "give at least one endpoint"},
		{name: "bad name", edit: "    name: Orders!", want: "endpoints[0] (Orders!).name"},
		{name: "no url", edit: "    url: ''", want: "url: required"},
		{name: "ftp url", edit: "    url: ftp://x.example/", want: "give an absolute https:// or http:// URL"},
		{name: "credentials in url", edit: "    url: https://u:p@x.example/", want: "credentials in the URL are not allowed"},
		{name: "inline secret refused", edit: "    auth: {header: Authorization, value: abc}", want: "field value not found"},
		{name: "auth without source", edit: "    auth: {header: Authorization}", want: "set value_env"},
		{name: "auth with two sources", edit: "    auth: {header: X-Key, value_env: A, value_file: /b}", want: "only one of value_env and value_file"},
		{name: "bad items path", edit: "    items: data..items", want: "items: path"},
		{name: "no id field", edit: "    id_field: ''", want: "id_field: required"},
		{name: "no type", edit: "    type: ''", want: "set type"},
		{name: "bad type", edit: "    type: 'order created'", want: "(orders).type: "},
		{name: "bad since", edit: "    since: yesterday", want: "give an RFC 3339 time"},
		{name: "since without time", edit: "    time_field: ''\n    since: now", want: "since: needs time_field"},
		{name: "cursor without param", edit: "    pagination: {style: cursor, next_cursor: meta.next}", want: "style cursor needs"},
		{name: "page without param", edit: "    pagination: {style: page}", want: "style page needs page_param"},
		{name: "unknown style", edit: "    pagination: {style: offset}", want: `style "offset": use none, link, cursor or page`},
		{name: "misspelt key", edit: "    intervall: 1m", want: "field intervall not found"},
		{name: "bad allow", edit: "outbound: {allow: [not-an-address]}", want: "outbound.allow"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := good
			if tc.edit != "" {
				key, _, _ := strings.Cut(strings.TrimSpace(tc.edit), ":")
				replaced := false
				var lines []string
				for _, l := range strings.Split(good, "\n") {
					if k, _, _ := strings.Cut(strings.TrimSpace(strings.TrimPrefix(l, "  - ")), ":"); k == key && !replaced && strings.HasPrefix(tc.edit, l[:len(l)-len(strings.TrimLeft(l, " -"))]) {
						lines = append(lines, tc.edit)
						replaced = true
						continue
					}
					lines = append(lines, l)
				}
				if !replaced {
					lines = append(lines, tc.edit)
				}
				src = strings.Join(lines, "\n")
				if key == "name" {
					src = strings.Replace(good, "  - name: orders", "  - "+strings.TrimSpace(tc.edit), 1)
				}
				if key == "endpoints" {
					src = tc.edit
				}
			}
			err := loadConfig(src)
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("config = %v, want valid", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("config = %v, want an error containing %q\n%s", err, tc.want, src)
			case err != nil && !strings.Contains(err.Error(), "field") && !errors.Is(err, ErrConfig):
				t.Errorf("error %v does not wrap ErrConfig", err)
			}
		})
	}
}

// loadConfig decodes src strictly, as sdk.LoadConfig does, and validates.
func loadConfig(src string) error {
	var c Config
	if err := loadInto(src, &c); err != nil {
		return err
	}
	return c.Validate()
}

func loadInto(src string, c *Config) error {
	dec := yaml.NewDecoder(strings.NewReader(src))
	dec.KnownFields(true)
	return dec.Decode(c)
}

func TestMissingAuthValueNamed(t *testing.T) {
	t.Setenv("POLL_ABSENT_TOKEN", "")
	_, err := New(Config{Endpoints: []Endpoint{{Name: "x", URL: "https://x.example/", IDField: "id", Type: "x.y",
		Auth: Auth{Header: "Authorization", ValueEnv: "POLL_ABSENT_TOKEN"}}}})
	if err == nil || !strings.Contains(err.Error(), "POLL_ABSENT_TOKEN (auth.value_env) is not set") {
		t.Errorf("New = %v, want an error naming the variable", err)
	}
}
