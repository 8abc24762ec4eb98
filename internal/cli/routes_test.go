package cli

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	junctionv1 "github.com/junctionhq/junction/proto/junction/v1"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"
)

const jiraRoute = `id: jira-to-slack
description: New Jira issues to the team channel
filter: jira.issue.created
condition: data.priority == "High"
targets:
  - name: slack
    destination: slack
    action: chat.postMessage
    transform: '{"channel": "#ops"}'
    config:
      channel: "#ops"
policy:
  max_attempts: 5
  initial_backoff: 2s
enabled: true
`

const ordersRoute = `name: routes/orders
filter: shopify.order.*
targets:
  - destination: webhook
    config: {url: "https://example.com/hook"}
`

const ordersJSON = `{
  "id": "orders-json",
  "filter": "shopify.order.created",
  "targets": [{"destination": "webhook", "config": {"url": "https://example.com/hook"}}],
  "policy": {"max_backoff": "1m", "dead_letter": false},
  "enabled": false
}`

// writeFile writes content to name under dir and returns its path.
func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestApplyCreates(t *testing.T) {
	tests := []struct {
		name    string
		files   map[string]string // written to a temp dir
		args    func(dir string) []string
		wantOut string
		check   func(t *testing.T, f *fakeGateway)
	}{
		{
			name:    "one yaml file",
			files:   map[string]string{"jira.yaml": jiraRoute},
			args:    func(dir string) []string { return []string{"-f", filepath.Join(dir, "jira.yaml")} },
			wantOut: "route/jira-to-slack created\n",
			check: func(t *testing.T, f *fakeGateway) {
				r := f.route("jira-to-slack")
				if r == nil {
					t.Fatal("route jira-to-slack not stored")
				}
				want := &junctionv1.Route{
					Name:        "routes/jira-to-slack",
					Description: "New Jira issues to the team channel",
					Filter:      "jira.issue.created",
					Condition:   `data.priority == "High"`,
					Targets: []*junctionv1.Target{{
						Name: "slack", Destination: "slack", Action: "chat.postMessage",
						Transform: `{"channel": "#ops"}`, Config: map[string]string{"channel": "#ops"},
					}},
					Policy:  &junctionv1.DeliveryPolicy{MaxAttempts: 5, InitialBackoff: durationpb.New(2e9)},
					Enabled: proto.Bool(true),
				}
				r.Revision, r.CreateTime, r.UpdateTime = 0, nil, nil
				if !proto.Equal(r, want) {
					t.Errorf("stored route:\ngot  %v\nwant %v", r, want)
				}
			},
		},
		{
			name:    "multi-document yaml",
			files:   map[string]string{"all.yaml": jiraRoute + "---\n" + ordersRoute + "---\n"},
			args:    func(dir string) []string { return []string{"-f", filepath.Join(dir, "all.yaml")} },
			wantOut: "route/jira-to-slack created\nroute/orders created\n",
			check: func(t *testing.T, f *fakeGateway) {
				if got := f.route("orders").GetTargets()[0].GetConfig()["url"]; got != "https://example.com/hook" {
					t.Errorf("orders target url: got %q, want https://example.com/hook", got)
				}
			},
		},
		{
			name: "folder, sorted, other files skipped",
			files: map[string]string{
				"b-orders.yml": ordersRoute, "a-jira.yaml": jiraRoute, "c.json": ordersJSON,
				"README.md": "not a route",
			},
			args:    func(dir string) []string { return []string{"-f", dir} },
			wantOut: "route/jira-to-slack created\nroute/orders created\nroute/orders-json created\n",
		},
		{
			name:    "json file",
			files:   map[string]string{"orders.json": ordersJSON},
			args:    func(dir string) []string { return []string{"-f", filepath.Join(dir, "orders.json")} },
			wantOut: "route/orders-json created\n",
			check: func(t *testing.T, f *fakeGateway) {
				r := f.route("orders-json")
				if r.GetEnabled() || r.Enabled == nil {
					t.Errorf("enabled: got %v, want explicit false", r.Enabled)
				}
				if r.GetPolicy().DeadLetter == nil || r.GetPolicy().GetDeadLetter() {
					t.Errorf("policy.dead_letter: got %v, want explicit false", r.GetPolicy().DeadLetter)
				}
				if got := r.GetPolicy().GetMaxBackoff().AsDuration().String(); got != "1m0s" {
					t.Errorf("policy.max_backoff: got %s, want 1m0s", got)
				}
			},
		},
		{
			name:  "several -f flags",
			files: map[string]string{"jira.yaml": jiraRoute, "orders.yaml": ordersRoute},
			args: func(dir string) []string {
				return []string{"-f", filepath.Join(dir, "orders.yaml"), "-f", filepath.Join(dir, "jira.yaml")}
			},
			wantOut: "route/orders created\nroute/jira-to-slack created\n",
		},
		{
			name:    "a list document, as routes list -o yaml prints",
			files:   map[string]string{"list.yaml": "routes:\n  - " + strings.ReplaceAll(strings.TrimSpace(ordersRoute), "\n", "\n    ") + "\n"},
			args:    func(dir string) []string { return []string{"-f", filepath.Join(dir, "list.yaml")} },
			wantOut: "route/orders created\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeGateway(t)
			dir := t.TempDir()
			for n, c := range tt.files {
				writeFile(t, dir, n, c)
			}
			out, err := run(t, f.addr, "", append([]string{"routes", "apply"}, tt.args(dir)...)...)
			if err != nil {
				t.Fatalf("apply: %v", err)
			}
			if out != tt.wantOut {
				t.Errorf("output:\ngot  %q\nwant %q", out, tt.wantOut)
			}
			if tt.check != nil {
				tt.check(t, f)
			}
		})
	}
}

func TestApplyStdin(t *testing.T) {
	f := newFakeGateway(t)
	out, err := run(t, f.addr, ordersRoute, "routes", "apply", "-f", "-")
	if err != nil {
		t.Fatalf("apply: %v", err)
	}
	if want := "route/orders created\n"; out != want {
		t.Errorf("output: got %q, want %q", out, want)
	}
}

func TestApplyTwiceThenChange(t *testing.T) {
	f := newFakeGateway(t)
	dir := t.TempDir()
	p := writeFile(t, dir, "routes.yaml", jiraRoute+"---\n"+ordersRoute)

	steps := []struct {
		name       string
		content    string // rewritten before the step when set
		wantOut    string
		wantWrites int // total stored writes after the step
	}{
		{name: "first apply creates", wantOut: "route/jira-to-slack created\nroute/orders created\n", wantWrites: 2},
		{name: "second apply changes nothing", wantOut: "route/jira-to-slack unchanged\nroute/orders unchanged\n", wantWrites: 2},
		{
			name:       "a changed route is configured",
			content:    strings.Replace(jiraRoute, "max_attempts: 5", "max_attempts: 7", 1) + "---\n" + ordersRoute,
			wantOut:    "route/jira-to-slack configured\nroute/orders unchanged\n",
			wantWrites: 3,
		},
		{
			name: "defaults spelt out are not a change",
			content: jiraRoute + "---\n" + ordersRoute + `policy:
  max_attempts: 185
  initial_backoff: 1s
  dead_letter: true
enabled: true
`,
			wantOut:    "route/jira-to-slack configured\nroute/orders unchanged\n",
			wantWrites: 4,
		},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			if s.content != "" {
				writeFile(t, dir, "routes.yaml", s.content)
			}
			out, err := run(t, f.addr, "", "routes", "apply", "-f", p)
			if err != nil {
				t.Fatalf("apply: %v", err)
			}
			if out != s.wantOut {
				t.Errorf("output:\ngot  %q\nwant %q", out, s.wantOut)
			}
			if _, writes := f.snapshot(); writes != s.wantWrites {
				t.Errorf("writes: got %d, want %d", writes, s.wantWrites)
			}
		})
	}
	if got := f.route("jira-to-slack").GetPolicy().GetMaxAttempts(); got != 5 {
		t.Errorf("jira-to-slack max_attempts after the last apply: got %d, want 5", got)
	}
}

func TestApplyDryRun(t *testing.T) {
	f := newFakeGateway(t)
	f.put("orders", &junctionv1.Route{Filter: "shopify.order.*", Targets: []*junctionv1.Target{{Destination: "slack"}}})
	dir := t.TempDir()
	p := writeFile(t, dir, "r.yaml", jiraRoute+"---\n"+ordersRoute)
	out, err := run(t, f.addr, "", "routes", "apply", "--dry-run", "-f", p)
	if err != nil {
		t.Fatalf("apply --dry-run: %v", err)
	}
	want := "route/jira-to-slack created (dry run)\nroute/orders configured (dry run)\n"
	if out != want {
		t.Errorf("output:\ngot  %q\nwant %q", out, want)
	}
	if n, writes := f.snapshot(); n != 1 || writes != 0 {
		t.Errorf("after dry run: got %d routes and %d writes, want 1 and 0 (nothing stored)", n, writes)
	}
	if got := f.route("orders").GetTargets()[0].GetDestination(); got != "slack" {
		t.Errorf("orders destination after dry run: got %q, want slack (unchanged)", got)
	}
}

func TestApplyBadInput(t *testing.T) {
	tests := []struct {
		name    string
		content string
		want    []string // substrings of the error
	}{
		{
			name:    "unknown field in second document",
			content: jiraRoute + "---\nid: other\nfilter: a.b\ntargets:\n  - destinaton: slack\n",
			want:    []string{"bad.yaml", "document 2", `unknown field "targets[0].destinaton"`},
		},
		{
			name:    "unknown top-level field",
			content: "id: x\nfilters: a.b\ntargets: [{destination: slack}]\n",
			want:    []string{"bad.yaml", "document 1", `unknown field "filters"`, "filter"},
		},
		{
			name:    "no id",
			content: "filter: a.b\ntargets: [{destination: slack}]\n",
			want:    []string{"bad.yaml", "document 1", "no id", "id: my-route"},
		},
		{
			name:    "invalid id",
			content: "id: Bad_ID\nfilter: a.b\ntargets: [{destination: slack}]\n",
			want:    []string{"bad.yaml", `route id "Bad_ID"`},
		},
		{
			name:    "id and name disagree",
			content: "id: a\nname: routes/b\nfilter: a.b\ntargets: [{destination: slack}]\n",
			want:    []string{"bad.yaml", "disagree"},
		},
		{
			name:    "same id twice",
			content: ordersRoute + "---\n" + ordersRoute,
			want:    []string{"bad.yaml: document 2 (line 6)", `route "orders" is also defined at `, "bad.yaml: document 1 (line 1)"},
		},
		{
			name:    "number where a string goes",
			content: "id: x\nfilter: a.b\ntargets: [{destination: webhook, config: {port: 8080}}]\n",
			want:    []string{"bad.yaml", `field "targets[0].config.port": want a string, got 8080`},
		},
		{
			name:    "bad duration",
			content: "id: x\nfilter: a.b\ntargets: [{destination: slack}]\npolicy: {initial_backoff: soon}\n",
			want:    []string{"bad.yaml", "document 1", `field "policy.initial_backoff": want a duration such as 1s, 5m or 24h, got "soon"`},
		},
		{
			name:    "not yaml",
			content: "id: x\n  filter: [a\n",
			want:    []string{"bad.yaml", "document 1", "not valid YAML or JSON"},
		},
		{
			name:    "a scalar document",
			content: "just text\n",
			want:    []string{"bad.yaml", "want a route"},
		},
		{
			name:    "empty file",
			content: "---\n",
			want:    []string{"no routes found in", "bad.yaml"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeGateway(t)
			p := writeFile(t, t.TempDir(), "bad.yaml", tt.content)
			_, err := run(t, f.addr, "", "routes", "apply", "-f", p)
			if err == nil {
				t.Fatal("apply: got no error, want one")
			}
			if !errors.Is(err, ErrInvalidInput) {
				t.Errorf("error %q: want it to wrap ErrInvalidInput", err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q: want it to contain %q", err, w)
				}
			}
			f.mu.Lock()
			calls := len(f.calls)
			f.mu.Unlock()
			if n, writes := f.snapshot(); n != 0 || writes != 0 || calls != 0 {
				t.Errorf("gateway after bad input: %d routes, %d writes, %d methods called; want nothing", n, writes, calls)
			}
		})
	}
}

func TestApplyServerErrors(t *testing.T) {
	const compilerMsg = "condition: ERROR: <input>:1:1: undeclared reference to 'foo'"
	tests := []struct {
		name     string
		setup    func(f *fakeGateway)
		content  string
		wantCode codes.Code
		want     []string
		wantOut  string
	}{
		{
			name:     "create refused with InvalidArgument",
			setup:    func(f *fakeGateway) { f.createErr = status.Error(codes.InvalidArgument, compilerMsg) },
			content:  ordersRoute,
			wantCode: codes.InvalidArgument,
			want:     []string{"r.yaml", "route/orders", "InvalidArgument: " + compilerMsg},
		},
		{
			name: "update refused, other routes still applied",
			setup: func(f *fakeGateway) {
				f.put("orders", &junctionv1.Route{Filter: "x.y", Targets: []*junctionv1.Target{{Destination: "slack"}}})
				f.updateErr = status.Error(codes.InvalidArgument, compilerMsg)
			},
			content:  ordersRoute + "---\n" + jiraRoute,
			wantCode: codes.InvalidArgument,
			want:     []string{"r.yaml: document 1", "route/orders", compilerMsg},
			wantOut:  "route/jira-to-slack created\n",
		},
		{
			name: "stale revision in the file",
			setup: func(f *fakeGateway) {
				f.put("orders", &junctionv1.Route{Filter: "x.y", Targets: []*junctionv1.Target{{Destination: "slack"}}})
				f.put("orders", &junctionv1.Route{Filter: "x.z", Targets: []*junctionv1.Target{{Destination: "slack"}}})
			},
			content:  ordersRoute + "revision: 1\n",
			wantCode: codes.Aborted,
			want:     []string{"route/orders", "the file sets revision 1", "Aborted: route orders is at revision 2, not 1"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeGateway(t)
			tt.setup(f)
			_, writesBefore := f.snapshot()
			p := writeFile(t, t.TempDir(), "r.yaml", tt.content)
			out, err := run(t, f.addr, "", "routes", "apply", "-f", p)
			if err == nil {
				t.Fatal("apply: got no error, want one")
			}
			if got := status.Code(err); got != tt.wantCode {
				t.Errorf("status code: got %v, want %v (error %q)", got, tt.wantCode, err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q: want it to contain %q", err, w)
				}
			}
			if out != tt.wantOut {
				t.Errorf("output: got %q, want %q", out, tt.wantOut)
			}
			wantWrites := writesBefore + strings.Count(tt.wantOut, " created")
			if _, writes := f.snapshot(); writes != wantWrites {
				t.Errorf("writes: got %d, want %d", writes, wantWrites)
			}
		})
	}
}

func TestGetAndDelete(t *testing.T) {
	f := newFakeGateway(t)
	f.put("orders", &junctionv1.Route{Filter: "shopify.order.*", Targets: []*junctionv1.Target{{Destination: "slack", Action: "post"}, {Destination: "webhook"}}})

	out, err := run(t, f.addr, "", "routes", "get", "route/orders")
	if err != nil {
		t.Fatalf("get: %v", err)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2 {
		t.Fatalf("get table: got %d lines, want header and one row:\n%s", len(lines), out)
	}
	if got := strings.Fields(lines[0]); strings.Join(got, " ") != "ID FILTER TARGETS ENABLED STATUS REVISION UPDATED" {
		t.Errorf("header: got %q", lines[0])
	}
	row := strings.Fields(lines[1])
	if want := []string{"orders", "shopify.order.*", "slack:post,webhook", "true", "healthy", "1"}; strings.Join(row[:6], " ") != strings.Join(want, " ") {
		t.Errorf("row: got %q, want it to start with %q", row, want)
	}
	if strings.Index(lines[0], "FILTER") != strings.Index(lines[1], "shopify") {
		t.Errorf("columns not aligned:\n%s", out)
	}

	tests := []struct {
		name     string
		args     []string
		wantCode codes.Code
		wantErr  string
		wantOut  string
	}{
		{name: "missing route", args: []string{"routes", "get", "nope"}, wantCode: codes.NotFound, wantErr: "NotFound: route nope not found"},
		{name: "stale revision", args: []string{"routes", "delete", "orders", "--revision", "9"}, wantCode: codes.Aborted, wantErr: "Aborted: route orders is at revision 1, not 9: get it again and reapply"},
		{name: "delete", args: []string{"routes", "delete", "orders", "--revision", "1"}, wantOut: "route/orders deleted\n"},
		{name: "delete again", args: []string{"routes", "delete", "orders"}, wantCode: codes.NotFound, wantErr: "NotFound: route orders not found"},
		{name: "delete again, ignoring", args: []string{"routes", "delete", "orders", "--ignore-not-found"}, wantOut: "route/orders deleted\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := run(t, f.addr, "", tt.args...)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("got error %v, want none", err)
				}
			} else {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("error: got %v, want %q", err, tt.wantErr)
				}
				if got := status.Code(err); got != tt.wantCode {
					t.Errorf("status code: got %v, want %v", got, tt.wantCode)
				}
			}
			if out != tt.wantOut {
				t.Errorf("output: got %q, want %q", out, tt.wantOut)
			}
		})
	}
	if f.route("orders") != nil {
		t.Error("route orders still stored after delete")
	}
}

func TestListPaging(t *testing.T) {
	f := newFakeGateway(t)
	f.pageSize = 2
	ids := []string{"a1", "a2", "b1", "b2", "c1"}
	for _, id := range ids {
		f.put(id, &junctionv1.Route{Filter: id + ".x", Targets: []*junctionv1.Target{{Destination: "slack"}}})
	}
	tests := []struct {
		name      string
		args      []string
		wantIDs   []string
		wantPages []int32
	}{
		{name: "all pages", args: nil, wantIDs: ids, wantPages: []int32{0, 0, 0}},
		{name: "limit inside a page", args: []string{"--limit", "3"}, wantIDs: ids[:3], wantPages: []int32{3}},
		{name: "limit beyond the end", args: []string{"--limit", "10"}, wantIDs: ids, wantPages: []int32{10}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f.mu.Lock()
			f.lastPages = nil
			f.mu.Unlock()
			out, err := run(t, f.addr, "", append([]string{"routes", "list", "-o", "json"}, tt.args...)...)
			if err != nil {
				t.Fatalf("list: %v", err)
			}
			var resp junctionv1.ListRoutesResponse
			if err := protojson.Unmarshal([]byte(out), &resp); err != nil {
				t.Fatalf("parse list -o json: %v\n%s", err, out)
			}
			var got []string
			for _, r := range resp.GetRoutes() {
				got = append(got, strings.TrimPrefix(r.GetName(), routePrefix))
			}
			if strings.Join(got, ",") != strings.Join(tt.wantIDs, ",") {
				t.Errorf("ids: got %v, want %v", got, tt.wantIDs)
			}
			f.mu.Lock()
			pages := f.lastPages
			f.mu.Unlock()
			if len(pages) != len(tt.wantPages) {
				t.Errorf("page requests (page_size): got %v, want %v", pages, tt.wantPages)
			}
		})
	}

	out, err := run(t, f.addr, "", "routes", "list")
	if err != nil {
		t.Fatalf("list: %v", err)
	}
	if got := strings.Count(out, "\n"); got != len(ids)+1 {
		t.Errorf("table lines: got %d, want %d (header + %d routes):\n%s", got, len(ids)+1, len(ids), out)
	}
}

func TestOutputFormatsParseBack(t *testing.T) {
	f := newFakeGateway(t)
	p := writeFile(t, t.TempDir(), "r.yaml", jiraRoute+"---\n"+ordersJSON)
	if _, err := run(t, f.addr, "", "routes", "apply", "-f", p); err != nil {
		t.Fatalf("apply: %v", err)
	}
	want := f.route("jira-to-slack")

	tests := []struct {
		name  string
		args  []string
		parse func(out string) (*junctionv1.Route, error)
	}{
		{
			name: "get -o json",
			args: []string{"routes", "get", "jira-to-slack", "-o", "json"},
			parse: func(out string) (*junctionv1.Route, error) {
				r := &junctionv1.Route{}
				return r, protojson.Unmarshal([]byte(out), r)
			},
		},
		{
			name: "get -o yaml",
			args: []string{"routes", "get", "jira-to-slack", "-o", "yaml"},
			parse: func(out string) (*junctionv1.Route, error) {
				docs, err := decodeDocuments("out", []byte(out))
				if err != nil {
					return nil, err
				}
				r := &junctionv1.Route{}
				return r, unmarshalInto(docs[0].value.(map[string]any), r)
			},
		},
		{
			name: "list -o yaml",
			args: []string{"routes", "list", "-o", "yaml"},
			parse: func(out string) (*junctionv1.Route, error) {
				docs, err := parseRoutes([]source{{name: "out", data: []byte(out)}}, true, "")
				if err != nil {
					return nil, err
				}
				return docs[0].route, nil
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := run(t, f.addr, "", tt.args...)
			if err != nil {
				t.Fatalf("%v: %v", tt.args, err)
			}
			got, err := tt.parse(out)
			if err != nil {
				t.Fatalf("parse output: %v\n%s", err, out)
			}
			// parseRoutes drops the output-only times.
			w := proto.Clone(want).(*junctionv1.Route)
			if got.CreateTime == nil {
				w.CreateTime, w.UpdateTime = nil, nil
			}
			if !proto.Equal(got, w) {
				t.Errorf("parsed back:\ngot  %v\nwant %v\noutput:\n%s", got, w, out)
			}
		})
	}

	t.Run("list -o yaml applies back unchanged", func(t *testing.T) {
		out, err := run(t, f.addr, "", "routes", "list", "-o", "yaml")
		if err != nil {
			t.Fatal(err)
		}
		_, before := f.snapshot()
		out, err = run(t, f.addr, out, "routes", "apply", "-f", "-")
		if err != nil {
			t.Fatalf("apply list output: %v", err)
		}
		if want := "route/jira-to-slack unchanged\nroute/orders-json unchanged\n"; out != want {
			t.Errorf("output: got %q, want %q", out, want)
		}
		if _, after := f.snapshot(); after != before {
			t.Errorf("writes: got %d, want %d", after, before)
		}
	})
}

func TestRoutesTest(t *testing.T) {
	f := newFakeGateway(t)
	f.put("orders", &junctionv1.Route{Filter: "shopify.order.created", Targets: []*junctionv1.Target{{Destination: "slack", Action: "chat.postMessage"}}})
	dir := t.TempDir()
	eventFile := writeFile(t, dir, "event.json", `{"id": "evt_1", "source": "shopify", "type": "order.created", "data": {"order": 42}}`)
	payload := writeFile(t, dir, "payload.json", `{"order": 7}`)
	routeFile := writeFile(t, dir, "route.yaml", "filter: shopify.>\ntargets: [{destination: webhook}, {destination: slack}]\n")

	tests := []struct {
		name        string
		args        []string
		wantInline  bool
		wantData    string
		wantOut     []string
		wantErr     string
		wantNoCalls bool
	}{
		{
			name:       "stored route with an event file",
			args:       []string{"orders", "--event", eventFile},
			wantData:   `{"order":42}`,
			wantOut:    []string{"filter matched:      true", "delivery 1: target 0 -> slack (chat.postMessage)", "\"order\": 42"},
			wantInline: false,
		},
		{
			name:       "route file with --data",
			args:       []string{"-f", routeFile, "--data", payload, "--source", "shopify", "--type", "order.created"},
			wantData:   `{"order": 7}`,
			wantInline: true,
			wantOut:    []string{"deliveries:          2", "delivery 2: target \"\" -> slack", "junction.deliveries.webhook.test"},
		},
		{
			name:     "no match shows the reason",
			args:     []string{"orders", "--data", payload, "--source", "acme", "--type", "user.created"},
			wantData: `{"order": 7}`,
			wantOut:  []string{"filter matched:      false", "reason:", "does not match filter"},
		},
		{name: "no route", args: []string{"--event", eventFile}, wantErr: "give the route to test", wantNoCalls: true},
		{name: "no event", args: []string{"orders"}, wantErr: "give the event", wantNoCalls: true},
		{name: "both route forms", args: []string{"orders", "-f", routeFile, "--event", eventFile}, wantErr: "not both", wantNoCalls: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f.mu.Lock()
			f.lastTest = nil
			f.mu.Unlock()
			out, err := run(t, f.addr, "", append([]string{"routes", "test"}, tt.args...)...)
			f.mu.Lock()
			req := f.lastTest
			f.mu.Unlock()
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error: got %v, want one containing %q", err, tt.wantErr)
				}
				if req != nil {
					t.Errorf("TestRoute was called despite the usage error")
				}
				return
			}
			if err != nil {
				t.Fatalf("routes test: %v", err)
			}
			for _, w := range tt.wantOut {
				if !strings.Contains(out, w) {
					t.Errorf("output does not contain %q:\n%s", w, out)
				}
			}
			if req == nil {
				t.Fatal("TestRoute not called")
			}
			if got := req.GetRoute() != nil; got != tt.wantInline {
				t.Errorf("inline route sent: got %v, want %v", got, tt.wantInline)
			}
			if got := string(req.GetEvent().GetData()); got != tt.wantData {
				t.Errorf("event data: got %s, want %s", got, tt.wantData)
			}
			if got := req.GetEvent().GetDataContentType(); got != contentTypeJSON {
				t.Errorf("event content type: got %q, want %q", got, contentTypeJSON)
			}
		})
	}
}

func TestSameRoute(t *testing.T) {
	base := func() *junctionv1.Route {
		return &junctionv1.Route{
			Filter:  "acme.user.created",
			Targets: []*junctionv1.Target{{Destination: "slack"}},
		}
	}
	tests := []struct {
		name   string
		change func(r *junctionv1.Route)
		want   bool
	}{
		{name: "identical", change: func(*junctionv1.Route) {}, want: true},
		{name: "enabled spelt out", change: func(r *junctionv1.Route) { r.Enabled = proto.Bool(true) }, want: true},
		{name: "disabled", change: func(r *junctionv1.Route) { r.Enabled = proto.Bool(false) }, want: false},
		{name: "target named by position", change: func(r *junctionv1.Route) { r.Targets[0].Name = "0" }, want: true},
		{name: "target named otherwise", change: func(r *junctionv1.Route) { r.Targets[0].Name = "main" }, want: false},
		{name: "filter with prefix", change: func(r *junctionv1.Route) { r.Filter = "junction.events.acme.user.created" }, want: true},
		{name: "other filter", change: func(r *junctionv1.Route) { r.Filter = "acme.user.deleted" }, want: false},
		{name: "empty policy", change: func(r *junctionv1.Route) { r.Policy = &junctionv1.DeliveryPolicy{} }, want: true},
		{name: "default policy spelt out", change: func(r *junctionv1.Route) {
			r.Policy = &junctionv1.DeliveryPolicy{MaxAttempts: 185, InitialBackoff: durationpb.New(1e9), Multiplier: 2, Jitter: 0.2, DeadLetter: proto.Bool(true)}
		}, want: true},
		{name: "other max attempts", change: func(r *junctionv1.Route) { r.Policy = &junctionv1.DeliveryPolicy{MaxAttempts: 3} }, want: false},
		{name: "dead letter off", change: func(r *junctionv1.Route) { r.Policy = &junctionv1.DeliveryPolicy{DeadLetter: proto.Bool(false)} }, want: false},
		{name: "revision and times ignored", change: func(r *junctionv1.Route) { r.Revision = 9; r.Name = "routes/x" }, want: true},
		{name: "config added", change: func(r *junctionv1.Route) { r.Targets[0].Config = map[string]string{"a": "b"} }, want: false},
		{name: "empty config", change: func(r *junctionv1.Route) { r.Targets[0].Config = map[string]string{} }, want: true},
		{name: "description", change: func(r *junctionv1.Route) { r.Description = "x" }, want: false},
		{name: "condition", change: func(r *junctionv1.Route) { r.Condition = "true" }, want: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, b := base(), base()
			tt.change(b)
			if got := sameRoute(a, b); got != tt.want {
				t.Errorf("sameRoute(%v, %v): got %v, want %v", a, b, got, tt.want)
			}
			if got := sameRoute(b, a); got != tt.want {
				t.Errorf("sameRoute reversed: got %v, want %v", got, tt.want)
			}
		})
	}
}
