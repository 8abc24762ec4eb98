package cli

import (
	"errors"
	"strings"
	"testing"
)

func TestEventsTraceErrors(t *testing.T) {
	f := newFakeGateway(t)
	if _, err := run(t, f.addr, "", "events", "publish", "--source", "acme", "--type", "user.created", "--id", "evt_untraced", "--data-json", `{}`); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		args []string
		want error
		msg  string
	}{
		{"untraced event", []string{"evt_untraced"}, ErrNoTrace, "stored while tracing was off"},
		{"bad jaeger url", []string{"evt_untraced", "--jaeger-url", "localhost:16686"}, ErrUsage, "jaeger url"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := run(t, f.addr, "", append([]string{"events", "trace"}, tt.args...)...)
			if !errors.Is(err, tt.want) || !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("error = %v, want %v saying %q", err, tt.want, tt.msg)
			}
		})
	}
}

func TestJaegerLink(t *testing.T) {
	for _, tt := range []struct{ base, want string }{
		{"", ""},
		{"http://localhost:16686", "http://localhost:16686/trace/abc"},
		{"https://jaeger.example.com/", "https://jaeger.example.com/trace/abc"},
	} {
		got, err := jaegerLink(tt.base, "abc")
		if err != nil || got != tt.want {
			t.Errorf("jaegerLink(%q) = %q, %v; want %q", tt.base, got, err, tt.want)
		}
	}
}
