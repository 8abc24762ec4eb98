package schedule

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/junctionhq/junction/adapters/sdk"
)

// TestDocsExampleIsValid: the adapter configuration in
// docs/adapters/schedule.md loads as sdk.Main loads it, and builds.
func TestDocsExampleIsValid(t *testing.T) {
	b, err := os.ReadFile("../../docs/adapters/schedule.md")
	if err != nil {
		t.Fatal(err)
	}
	var src string
	for _, p := range strings.Split(string(b), "```yaml\n")[1:] {
		if block, _, _ := strings.Cut(p, "```"); strings.Contains(block, "adapter:") {
			src = block
			break
		}
	}
	path := filepath.Join(t.TempDir(), "schedule.yaml")
	if err := os.WriteFile(path, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	_, cfg, err := sdk.LoadConfig[Config](path)
	if err != nil {
		t.Fatalf("the documented config: %v", err)
	}
	if _, err := New(cfg); err != nil || len(cfg.Schedules) != 2 {
		t.Errorf("New(the documented config) = %v with %d schedules, want 2", err, len(cfg.Schedules))
	}
}
