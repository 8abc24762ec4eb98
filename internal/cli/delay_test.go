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
