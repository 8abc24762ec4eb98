package cli

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/durationpb"

	junctionv1 "github.com/junctionhq/junction/proto/junction/v1"
)

// TestRouteTableDelay: `routes get/list` show a delayed target's delay
// beside its destination, and nothing for a target sent at once.
func TestRouteTableDelay(t *testing.T) {
	tests := []struct {
		name    string
		targets []*junctionv1.Target
		want    string
	}{
		{"no delay", []*junctionv1.Target{{Destination: "email", Action: "send"}}, "email:send "},
		{"zero delay", []*junctionv1.Target{{Destination: "email", Delay: durationpb.New(0)}}, "email "},
		{"delayed beside immediate", []*junctionv1.Target{
			{Destination: "hubspot"},
			{Destination: "email", Action: "send", Delay: durationpb.New(72 * time.Hour)},
		}, "hubspot,email:send(delay 72h0m0s)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			r := &junctionv1.Route{Name: "routes/follow-up", Filter: "forms.>", Revision: 1, Targets: tt.targets}
			if err := writeRouteTable(&out, []*junctionv1.Route{r}); err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(out.String(), tt.want) {
				t.Errorf("table:\n%s\nwant it to contain %q", out.String(), tt.want)
			}
		})
	}
}

// TestRouteFileDelay: a route file writes a target's delay the Go way
// ("72h"), as the README shows; a misspelt one is refused with its path.
func TestRouteFileDelay(t *testing.T) {
	tests := []struct {
		name    string
		yaml    string
		want    time.Duration
		wantErr string
	}{
		{"hours", "delay: 72h", 72 * time.Hour, ""},
		{"seconds", "delay: 2s", 2 * time.Second, ""},
		{"not a duration", "delay: soon", 0, `field "targets[0].delay": want a duration such as 1s, 5m or 24h, got "soon"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := "id: follow-up\nfilter: forms.lead.created\ntargets:\n  - destination: email\n    " + tt.yaml + "\n"
			docs, err := decodeDocuments("route.yaml", []byte(src))
			if err != nil {
				t.Fatal(err)
			}
			_, r, err := parseRoute(docs[0].value.(map[string]any), true, "")
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("parseRoute error = %v, want it to contain %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("parseRoute: %v", err)
			}
			if got := r.GetTargets()[0].GetDelay().AsDuration(); got != tt.want {
				t.Errorf("targets[0].delay = %v, want %v", got, tt.want)
			}
		})
	}
}
