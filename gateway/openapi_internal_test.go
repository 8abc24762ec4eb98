package gateway

import (
	"slices"
	"testing"
)

// TestAllowedMethods: Allow comes from the document, the most specific
// path deciding where several fit.
func TestAllowedMethods(t *testing.T) {
	tests := []struct {
		name, path string
		want       []string
	}{
		{"collection", "/v1/routes", []string{"GET", "POST"}},
		{"resource", "/v1/routes/users", []string{"DELETE", "GET", "PATCH"}},
		{"custom method beats the resource it extends", "/v1/events/e1:resend", []string{"POST"}},
		{"custom method on a collection", "/v1/deadLetters:purge", []string{"POST"}},
		{"sub-collection", "/v1/events/e1/deliveries", []string{"GET"}},
		{"webhook", "/webhooks/acme", []string{"POST"}},
		{"unknown", "/v1/nothing", nil},
		{"too deep", "/v1/routes/a/b", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := allowedMethods(tt.path); !slices.Equal(got, tt.want) {
				t.Errorf("allowedMethods(%q) = %v, want %v", tt.path, got, tt.want)
			}
		})
	}
}
