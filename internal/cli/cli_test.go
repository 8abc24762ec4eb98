package cli

import (
	"errors"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	junctionv1 "github.com/junctionhq/junction/proto/junction/v1"
	"go.yaml.in/yaml/v3"
)

// closedAddr returns a 127.0.0.1 address nothing listens on.
func closedAddr(t *testing.T) string {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := lis.Addr().String()
	if err := lis.Close(); err != nil {
		t.Fatal(err)
	}
	return addr
}

func TestUnreachableGateway(t *testing.T) {
	addr := closedAddr(t)
	p := writeFile(t, t.TempDir(), "r.yaml", ordersRoute+"---\n"+jiraRoute)
	tests := [][]string{
		{"routes", "list"},
		{"routes", "get", "orders"},
		{"routes", "apply", "-f", p},
		{"routes", "delete", "orders"},
		{"events", "get", "evt_1"},
		{"events", "publish", "--source", "a", "--type", "b", "--data-json", "{}"},
	}
	want := "cannot reach the gateway at " + addr + ": is `junction serve` running? (set --server or JUNCTION_SERVER)"
	for _, args := range tests {
		t.Run(strings.Join(args[:2], " "), func(t *testing.T) {
			out, err := run(t, addr, "", args...)
			if err == nil {
				t.Fatal("got no error, want one")
			}
			if err.Error() != want {
				t.Errorf("error:\ngot  %q\nwant %q", err, want)
			}
			if !errors.Is(err, ErrUnreachable) {
				t.Errorf("error %q does not wrap ErrUnreachable", err)
			}
			if out != "" {
				t.Errorf("output: got %q, want none", out)
			}
		})
	}
}

func TestServerFromEnv(t *testing.T) {
	f := newFakeGateway(t)
	f.put("orders", &junctionv1.Route{Filter: "a.b", Targets: []*junctionv1.Target{{Destination: "slack"}}})
	tests := []struct {
		name    string
		env     string
		args    []string
		wantErr error
	}{
		{name: "env used when no flag", env: f.addr, args: []string{"routes", "get", "orders"}},
		{name: "flag wins over env", env: closedAddr(t), args: []string{"routes", "get", "orders", "--server", f.addr}},
		{name: "env pointing nowhere", env: closedAddr(t), args: []string{"routes", "get", "orders"}, wantErr: ErrUnreachable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv(ServerEnv, tt.env)
			out, err := run(t, "", "", tt.args...)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("error: got %v, want %v", err, tt.wantErr)
			}
			if err == nil && !strings.Contains(out, "orders") {
				t.Errorf("output does not show the route:\n%s", out)
			}
		})
	}
}

func TestUsageErrors(t *testing.T) {
	f := newFakeGateway(t)
	tests := []struct {
		name string
		args []string
		want string
	}{
		{name: "bad output format", args: []string{"routes", "list", "-o", "xml"}, want: `-o "xml": want table, json or yaml`},
		{name: "negative timeout", args: []string{"routes", "list", "--timeout", "-1s"}, want: "--timeout -1s is negative"},
		{name: "negative limit", args: []string{"routes", "list", "--limit", "-1"}, want: "--limit -1 is negative"},
		{name: "apply without -f", args: []string{"routes", "apply"}, want: "give -f"},
		{name: "apply missing file", args: []string{"routes", "apply", "-f", "/nonexistent/r.yaml"}, want: "-f /nonexistent/r.yaml"},
		{name: "apply empty folder", args: []string{"routes", "apply", "-f", t.TempDir()}, want: "holds no .yaml, .yml or .json files"},
		{name: "bad route id", args: []string{"routes", "get", "Not_Valid"}, want: `route id "Not_Valid"`},
		{name: "empty server", args: []string{"routes", "list", "--server", " "}, want: "--server is empty"},
		{name: "url as server", args: []string{"routes", "list", "--server", "http://127.0.0.1:9090"}, want: "not a URL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := tt.args
			addr := f.addr
			if strings.Contains(strings.Join(args, " "), "--server") {
				addr = ""
			}
			_, err := run(t, addr, "", args...)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error: got %v, want one containing %q", err, tt.want)
			}
		})
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.calls) != 0 {
		t.Errorf("gateway called despite usage errors: %v", f.calls)
	}
}

func TestJSONToYAML(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want map[string]any
	}{
		{name: "nested", in: `{"b": {"c": [1, "x"]}, "a": true}`, want: map[string]any{"b": map[string]any{"c": []any{1, "x"}}, "a": true}},
		{name: "strings that look like other types stay strings", in: `{"rev": "3", "yes": "true", "nil": "null", "t": "2024-01-01"}`,
			want: map[string]any{"rev": "3", "yes": "true", "nil": "null", "t": "2024-01-01"}},
		{name: "multi-line string", in: `{"s": "a\nb"}`, want: map[string]any{"s": "a\nb"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := jsonToYAML([]byte(tt.in))
			if err != nil {
				t.Fatal(err)
			}
			if strings.Contains(string(out), "{") {
				t.Errorf("output is not block style:\n%s", out)
			}
			var got map[string]any
			if err := yaml.Unmarshal(out, &got); err != nil {
				t.Fatalf("parse: %v\n%s", err, out)
			}
			if !equalValues(got, tt.want) {
				t.Errorf("round trip:\ngot  %#v\nwant %#v\nyaml:\n%s", got, tt.want, out)
			}
		})
	}
}

// equalValues compares decoded YAML values.
func equalValues(a, b any) bool {
	switch x := a.(type) {
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for k := range x {
			if !equalValues(x[k], y[k]) {
				return false
			}
		}
		return true
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !equalValues(x[i], y[i]) {
				return false
			}
		}
		return true
	default:
		return a == b
	}
}

func TestDurationJSON(t *testing.T) {
	tests := []struct {
		in   string
		want string
	}{
		{"1s", "1s"}, {"5m", "300s"}, {"24h", "86400s"}, {"1.5s", "1.5s"}, {"250ms", "0.25s"},
		{"1ns", "0.000000001s"}, {"-2.5s", "-2.5s"}, {"0s", "0s"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			d, err := time.ParseDuration(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if got := durationJSON(d); got != tt.want {
				t.Errorf("durationJSON(%s): got %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestUnixSocketServer(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "gw.sock")
	lis, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	f := serveFakeGateway(t, lis)
	f.put("orders", &junctionv1.Route{Filter: "a.b", Targets: []*junctionv1.Target{{Destination: "slack"}}})
	out, err := run(t, "unix://"+sock, "", "routes", "get", "orders")
	if err != nil {
		t.Fatalf("get over unix socket: %v", err)
	}
	if !strings.Contains(out, "orders") {
		t.Errorf("output does not show the route:\n%s", out)
	}
}
