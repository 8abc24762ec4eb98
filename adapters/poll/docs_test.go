package poll

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/junctionhq/junction/adapters/sdk"
)

// TestDocsExampleIsValid: the adapter configuration in
// docs/adapters/poll.md loads as sdk.Main loads it, and builds.
func TestDocsExampleIsValid(t *testing.T) {
	src := docsBlock(t, "../../docs/adapters/poll.md", "adapter:")
	path := filepath.Join(t.TempDir(), "poll.yaml")
	if err := os.WriteFile(path, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	_, cfg, err := sdk.LoadConfig[Config](path)
	if err != nil {
		t.Fatalf("the documented config: %v", err)
	}
	t.Setenv("SHOP_API_TOKEN", "t")
	for i := range cfg.Endpoints {
		if cfg.Endpoints[i].Auth.ValueFile != "" {
			key := filepath.Join(t.TempDir(), "key")
			_ = os.WriteFile(key, []byte("k"), 0o600)
			cfg.Endpoints[i].Auth.ValueFile = key
		}
	}
	if _, err := New(cfg); err != nil {
		t.Errorf("New(the documented config): %v", err)
	}
}

// docsBlock returns the first ```yaml block of the file that holds want.
func docsBlock(t *testing.T, file, want string) string {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(string(b), "```yaml\n")
	for _, p := range parts[1:] {
		block, _, _ := strings.Cut(p, "```")
		if strings.Contains(block, want) {
			return block
		}
	}
	t.Fatalf("%s has no yaml block with %q", file, want)
	return ""
}
