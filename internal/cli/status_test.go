package cli

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	junctionv1 "github.com/junctionhq/junction/proto/junction/v1"
)

// TestRouteTableStatus: `routes list/get` show each route's status, and
// for a degraded route one line with since, retry time and the reason.
func TestRouteTableStatus(t *testing.T) {
	since := time.Date(2026, 12, 6, 22, 0, 0, 0, time.UTC)
	routes := []*junctionv1.Route{
		{Name: "routes/cheap", Filter: "acme.>", Revision: 1, Targets: []*junctionv1.Target{{Destination: "webhook"}}},
		{Name: "routes/costly", Filter: "acme.>", Revision: 2, Targets: []*junctionv1.Target{{Destination: "webhook"}},
			Status: &junctionv1.RouteStatus{State: junctionv1.RouteStatus_STATE_DEGRADED, Reason: "10 of its last 20 evaluations went over the budget",
				Since: timestamppb.New(since), RetryTime: timestamppb.New(since.Add(time.Minute)), RouteRevision: 2}},
	}
	var out bytes.Buffer
	if err := writeRouteTable(&out, routes); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 4 {
		t.Fatalf("got %d lines, want header, two rows and one reason:\n%s", len(lines), out.String())
	}
	tests := []struct {
		name string
		line string
		want []string
	}{
		{"header", lines[0], []string{"STATUS"}},
		{"cheap row", lines[1], []string{"cheap", "healthy"}},
		{"costly row", lines[2], []string{"costly", "degraded"}},
		{"reason", lines[3], []string{"costly degraded since", "over the budget", "22:01:00"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, w := range tt.want {
				if !strings.Contains(tt.line, w) {
					t.Errorf("line %q, want it to contain %q", tt.line, w)
				}
			}
		})
	}
}
