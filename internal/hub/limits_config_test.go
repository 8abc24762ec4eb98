package hub

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/junctionhq/junction/adapters/sdk/limits"
)

// TestLoadHTTPLimits reads the http: section of serve's configuration:
// given keys are kept, the others take the defaults, bad values and
// unknown keys are errors naming the key.
func TestLoadHTTPLimits(t *testing.T) {
	for _, tc := range []struct {
		name    string
		file    string
		want    limits.Config
		wantErr string
	}{
		{"defaults", "", limits.Config{}.WithDefaults(), ""},
		{"given keys", "http:\n  read_timeout: 5s\n  idle_timeout: 1m\n  max_connections: 100\n",
			limits.Config{ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 5 * time.Second, WriteTimeout: limits.DefaultWriteTimeout,
				IdleTimeout: time.Minute, MaxConnections: 100, MaxConcurrentStreams: limits.DefaultMaxConcurrentStreams}, ""},
		{"unknown key", "http:\n  max_conns: 100\n", limits.Config{}, "max_conns"},
		{"negative", "http:\n  max_connections: -5\n", limits.Config{}, "http.max_connections -5"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "junction.yaml")
			if err := os.WriteFile(p, []byte(tc.file), 0o600); err != nil {
				t.Fatal(err)
			}
			c, err := Load(p, func(string) string { return "" })
			if err == nil {
				c.SetDefaults()
				err = c.Validate()
			}
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error = %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.HTTP != tc.want {
				t.Errorf("http = %+v, want %+v", c.HTTP, tc.want)
			}
		})
	}
}
