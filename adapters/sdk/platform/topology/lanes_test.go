package topology

import "testing"

func TestSplitWorkSubject(t *testing.T) {
	tests := []struct {
		subject, dest, route string
		ok                   bool
	}{
		{DeliverySubject("webhook", "r1"), "webhook", "r1", true},
		{RetrySubject("slack", "orders"), "slack", "orders", true},
		{LaneSubject("webhook", "to-crm"), "webhook", "to-crm", true},
		{RetriesPrefix + "webhook.>", "webhook", ">", true},
		{DLQSubject("webhook", "r1"), "", "", false},
		{EventSubject("acme", "user.created"), "", "", false},
		{DeliveriesPrefix + "webhook", "", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.subject, func(t *testing.T) {
			dest, route, ok := SplitWorkSubject(tt.subject)
			if ok != tt.ok || (ok && (dest != tt.dest || route != tt.route)) {
				t.Errorf("SplitWorkSubject(%q) = %q, %q, %v; want %q, %q, %v", tt.subject, dest, route, ok, tt.dest, tt.route, tt.ok)
			}
		})
	}
}
