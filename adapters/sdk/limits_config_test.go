package sdk_test

import (
	"strings"
	"testing"
	"time"

	"github.com/junctionhq/junction/adapters/sdk"
)

// TestLoadConfigHTTPLimits reads an adapter's hub.http section: given keys
// kept, the rest defaulted, a bad value an error naming hub.http.<key>.
func TestLoadConfigHTTPLimits(t *testing.T) {
	clearEnv(t)
	cfg, _, err := sdk.LoadConfig[appConfig](writeConfig(t, "hub:\n  http:\n    idle_timeout: 30s\n    max_connections: 7\nadapter:\n  endpoint: https://example.com\n"))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.HTTP.IdleTimeout != 30*time.Second || cfg.HTTP.MaxConnections != 7 || cfg.HTTP.ReadTimeout == 0 {
		t.Errorf("hub.http = %+v, want idle_timeout 30s, max_connections 7, the rest defaulted", cfg.HTTP)
	}
	_, _, err = sdk.LoadConfig[appConfig](writeConfig(t, "hub:\n  http:\n    read_timeout: -1s\nadapter:\n  endpoint: https://example.com\n"))
	if err == nil || !strings.Contains(err.Error(), "hub.http.read_timeout") {
		t.Errorf("negative read_timeout: error %v, want one naming hub.http.read_timeout", err)
	}
}
