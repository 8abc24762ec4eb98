package auth

import (
	"fmt"
	"slices"
	"strings"
)

// Scopes a key or token can hold.
const (
	ScopeRoutesRead    = "routes:read"
	ScopeRoutesWrite   = "routes:write"
	ScopeEventsPublish = "events:publish"
	ScopeEventsRead    = "events:read"
	// ScopeEventsReplay lets a caller replay stored events in bulk
	// (EventService.ReplayEvents), and includes events:read.
	ScopeEventsReplay     = "events:replay"
	ScopeDeadLettersRead  = "deadletters:read"
	ScopeDeadLettersAdmin = "deadletters:admin"
	ScopeDeliveriesRead   = "deliveries:read"
	ScopeAdaptersRead     = "adapters:read"
	ScopeKeysAdmin        = "keys:admin"
	ScopeMetricsRead      = "metrics:read"
	// ScopeAdmin grants every other scope.
	ScopeAdmin = "admin"
)

// Scopes lists every scope, in the order the docs show them.
var Scopes = []string{
	ScopeRoutesRead, ScopeRoutesWrite,
	ScopeEventsPublish, ScopeEventsRead, ScopeEventsReplay,
	ScopeDeadLettersRead, ScopeDeadLettersAdmin,
	ScopeDeliveriesRead, ScopeAdaptersRead,
	ScopeKeysAdmin, ScopeMetricsRead,
	ScopeAdmin,
}

// implied maps a scope to the narrower scopes it includes besides itself:
// writing routes needs reading them (an apply reads first), and whoever may
// redrive or purge dead letters may read them.
var implied = map[string][]string{
	ScopeRoutesWrite:      {ScopeRoutesRead},
	ScopeDeadLettersAdmin: {ScopeDeadLettersRead},
	// A replay's dry run lists events, so replaying includes reading them.
	ScopeEventsReplay: {ScopeEventsRead},
}

// Has reports whether held grants need.
func Has(held []string, need string) bool {
	for _, h := range held {
		if h == need || h == ScopeAdmin || slices.Contains(implied[h], need) {
			return true
		}
	}
	return false
}

// ValidateScopes checks that every scope is known and that there is at
// least one.
func ValidateScopes(scopes []string) error {
	if len(scopes) == 0 {
		return fmt.Errorf("at least one scope is required, e.g. %s; known scopes: %s", ScopeRoutesRead, strings.Join(Scopes, ", "))
	}
	for _, s := range scopes {
		if !slices.Contains(Scopes, s) {
			return fmt.Errorf("unknown scope %q; known scopes: %s", s, strings.Join(Scopes, ", "))
		}
	}
	return nil
}
