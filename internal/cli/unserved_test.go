package cli

import (
	"strings"
	"testing"

	junctionv1 "github.com/junctionhq/junction/proto/junction/v1"
)

// TestRoutesShowUnserved: `routes get` and `routes list` mark a route whose
// destinations no running adapter serves (as the gateway answers) in the
// STATUS column and name the destinations on a line below; -o json keeps
// the field.
func TestRoutesShowUnserved(t *testing.T) {
	f := newFakeGateway(t)
	f.put("hooks", &junctionv1.Route{Filter: "acme.>", Targets: []*junctionv1.Target{{Destination: "webhook"}}})
	f.put("leads", &junctionv1.Route{Filter: "acme.>", Targets: []*junctionv1.Target{{Destination: "salesforce"}, {Destination: "hubspot"}},
		UnservedDestinations: []string{"hubspot", "salesforce"}})
	f.put("slow", &junctionv1.Route{Filter: "acme.>", Targets: []*junctionv1.Target{{Destination: "salesforce"}},
		Status:               &junctionv1.RouteStatus{State: junctionv1.RouteStatus_STATE_DEGRADED, Reason: "over the budget"},
		UnservedDestinations: []string{"salesforce"}})

	list, err := run(t, f.addr, "", "routes", "list")
	if err != nil {
		t.Fatalf("routes list: %v", err)
	}
	get, err := run(t, f.addr, "", "routes", "get", "leads")
	if err != nil {
		t.Fatalf("routes get: %v", err)
	}
	js, err := run(t, f.addr, "", "routes", "get", "leads", "-o", "json")
	if err != nil {
		t.Fatalf("routes get -o json: %v", err)
	}
	row := func(out, id string) []string {
		for _, l := range strings.Split(out, "\n") {
			if f := strings.Fields(l); len(f) > 4 && f[0] == id {
				return f
			}
		}
		return nil
	}
	tests := []struct {
		name string
		got  string
		want []string
		not  []string
	}{
		{"list: served route", strings.Join(row(list, "hooks"), " "), []string{"healthy"}, []string{"unserved"}},
		{"list: unserved route", strings.Join(row(list, "leads"), " "), []string{"unserved"}, nil},
		{"list: degraded and unserved", strings.Join(row(list, "slow"), " "), []string{"degraded,unserved"}, nil},
		{"list: lines below", list, []string{"leads unserved: no running adapter serves hubspot, salesforce", "slow unserved: no running adapter serves salesforce", "junction_destination_unserved_deliveries"}, []string{"hooks unserved"}},
		{"get: row", strings.Join(row(get, "leads"), " "), []string{"unserved"}, nil},
		{"get: line below", get, []string{"leads unserved: no running adapter serves hubspot, salesforce"}, nil},
		{"get -o json", js, []string{`"unserved_destinations"`, `"hubspot"`}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, w := range tt.want {
				if !strings.Contains(tt.got, w) {
					t.Errorf("output %q, want it to contain %q", tt.got, w)
				}
			}
			for _, w := range tt.not {
				if strings.Contains(tt.got, w) {
					t.Errorf("output %q, want it not to contain %q", tt.got, w)
				}
			}
		})
	}
}

// TestTestResultShowsUnserved: `routes test` names the destinations no
// running adapter serves, and says nothing when every one is served.
func TestTestResultShowsUnserved(t *testing.T) {
	tests := []struct {
		name string
		resp *junctionv1.TestRouteResponse
		want string
	}{
		{"unserved", &junctionv1.TestRouteResponse{FilterMatched: true, UnservedDestinations: []string{"hubspot", "salesforce"}}, "hubspot, salesforce (no running adapter serves them"},
		{"all served", &junctionv1.TestRouteResponse{FilterMatched: true}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out strings.Builder
			if err := writeTestResult(&out, tt.resp); err != nil {
				t.Fatal(err)
			}
			has := strings.Contains(out.String(), "unserved:")
			if tt.want == "" && has {
				t.Errorf("output %q has an unserved line, want none", out.String())
			}
			if tt.want != "" && !strings.Contains(out.String(), tt.want) {
				t.Errorf("output %q, want it to contain %q", out.String(), tt.want)
			}
		})
	}
}
