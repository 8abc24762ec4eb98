package router

import (
	"errors"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/durationpb"

	junctionv1 "github.com/junctionhq/junction/proto/junction/v1"
)

// TestCompileDelay: a target's delay is checked when the route is saved,
// and the error names the target and the bounds.
func TestCompileDelay(t *testing.T) {
	tests := []struct {
		name    string
		delay   *durationpb.Duration
		wantErr string // empty: compiles
	}{
		{"none", nil, ""},
		{"zero sends at once", durationpb.New(0), ""},
		{"minimum", durationpb.New(MinDelay), ""},
		{"a day", durationpb.New(24 * time.Hour), ""},
		{"maximum", durationpb.New(MaxDelay), ""},
		{"negative", durationpb.New(-time.Second), `targets[1].delay (target "later"): -1s is negative`},
		{"below minimum", durationpb.New(500 * time.Millisecond), `targets[1].delay (target "later"): 500ms is shorter than 1s`},
		{"above maximum", durationpb.New(MaxDelay + time.Second), `targets[1].delay (target "later"): 168h0m1s is longer than 168h0m0s`},
		{"malformed", &durationpb.Duration{Seconds: 1, Nanos: -1}, `targets[1].delay (target "later"): `},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			later := webhookTarget()
			later.Name, later.Delay = "later", tt.delay
			_, err := Compile(&junctionv1.Route{Name: "routes/follow-up", Filter: "forms.>", Targets: []*junctionv1.Target{webhookTarget(), later}})
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("Compile: %v, want nil", err)
				}
				return
			}
			if !errors.Is(err, ErrInvalidRoute) {
				t.Fatalf("Compile error = %v, want one wrapping ErrInvalidRoute", err)
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Compile error = %q, want it to contain %q", err, tt.wantErr)
			}
		})
	}
}

// TestEvaluateDelay: a delayed target's delivery is due its delay after it
// was made; the other targets' deliveries carry no due time.
func TestEvaluateDelay(t *testing.T) {
	later := webhookTarget()
	later.Name, later.Delay = "later", durationpb.New(90*time.Minute)
	zero := webhookTarget()
	zero.Name, zero.Delay = "zero", durationpb.New(0)
	c, err := Compile(&junctionv1.Route{Name: "routes/follow-up", Filter: "forms.>", Targets: []*junctionv1.Target{webhookTarget(), later, zero}})
	if err != nil {
		t.Fatal(err)
	}
	res, err := c.Evaluate(&junctionv1.Event{Id: "e1", Source: "forms", Type: "lead.submitted", Data: []byte(`{}`)})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]time.Duration{"0": 0, "later": 90 * time.Minute, "zero": 0}
	if len(res.Deliveries) != len(want) {
		t.Fatalf("got %d deliveries, want %d", len(res.Deliveries), len(want))
	}
	for _, d := range res.Deliveries {
		wd := want[d.GetTarget()]
		if wd == 0 {
			if d.GetNotBefore() != nil {
				t.Errorf("target %s: not_before = %v, want none", d.GetTarget(), d.GetNotBefore().AsTime())
			}
			continue
		}
		if got := d.GetNotBefore().AsTime().Sub(d.GetCreateTime().AsTime()); d.GetNotBefore() == nil || got != wd {
			t.Errorf("target %s: not_before - create_time = %v, want %v", d.GetTarget(), got, wd)
		}
	}
}
