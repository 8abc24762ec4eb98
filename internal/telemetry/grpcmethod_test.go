package telemetry

import (
	"strings"
	"testing"

	_ "google.golang.org/grpc/health/grpc_health_v1" // registers grpc.health.v1.Health
)

func TestMethodKnown(t *testing.T) {
	for _, tc := range []struct {
		name   string
		method string
		want   bool
	}{
		{"linked service", "/grpc.health.v1.Health/Check", true},
		{"unknown method of a linked service", "/grpc.health.v1.Health/Nope", false},
		{"unknown service", "/attacker.Service/Method", false},
		{"no method", "/grpc.health.v1.Health", false},
		{"huge", "/" + strings.Repeat("a", 100<<10) + "/b", false},
		{"empty", "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := methodKnown(tc.method); got != tc.want {
				t.Errorf("methodKnown(%q) = %v, want %v", tc.method[:min(len(tc.method), 60)], got, tc.want)
			}
		})
	}
}
