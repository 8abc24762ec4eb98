package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestAPIKeyOrder checks where the CLI takes its key from, first found
// wins: --api-key-file, JUNCTION_API_KEY, JUNCTION_API_KEY_FILE,
// $JUNCTION_DATA_DIR/admin.key, ./data/admin.key.
func TestAPIKeyOrder(t *testing.T) {
	root := t.TempDir()
	write := func(path, key string) string {
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(key+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	flagFile := write(filepath.Join(root, "flag.key"), "from-flag")
	envFile := write(filepath.Join(root, "env.key"), "from-env-file")
	dataDir := filepath.Join(root, "custom")
	write(filepath.Join(dataDir, "admin.key"), "from-data-dir")
	write(filepath.Join(root, "data", "admin.key"), "from-default")
	t.Chdir(root)

	for _, tc := range []struct {
		name     string
		flag     string
		env      map[string]string
		want     string
		wantFrom string
	}{
		{"flag first", flagFile, map[string]string{APIKeyEnv: "from-env"}, "from-flag", flagFile},
		{"env key", "", map[string]string{APIKeyEnv: "from-env", APIKeyFileEnv: envFile}, "from-env", APIKeyEnv},
		{"env file", "", map[string]string{APIKeyFileEnv: envFile, dataDirEnv: dataDir}, "from-env-file", envFile},
		{"data dir", "", map[string]string{dataDirEnv: dataDir}, "from-data-dir", filepath.Join(dataDir, "admin.key")},
		{"data dir without a key falls back to ./data", "", map[string]string{dataDirEnv: filepath.Join(root, "none")}, "from-default", filepath.Join("data", "admin.key")},
		{"default ./data/admin.key", "", nil, "from-default", filepath.Join("data", "admin.key")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, k := range []string{APIKeyEnv, APIKeyFileEnv, dataDirEnv} {
				t.Setenv(k, tc.env[k])
			}
			o := &options{apiKeyFile: tc.flag}
			got, from, err := o.apiKey()
			if err != nil || got != tc.want || from != tc.wantFrom {
				t.Fatalf("apiKey: got %q from %q (%v), want %q from %q", got, from, err, tc.want, tc.wantFrom)
			}
		})
	}

	t.Run("missing flag file is an error", func(t *testing.T) {
		o := &options{apiKeyFile: filepath.Join(root, "nope")}
		if _, _, err := o.apiKey(); err == nil || !strings.Contains(err.Error(), "--api-key-file") {
			t.Fatalf("got %v, want an error naming --api-key-file", err)
		}
	})
	t.Run("nothing anywhere", func(t *testing.T) {
		t.Chdir(t.TempDir())
		for _, k := range []string{APIKeyEnv, APIKeyFileEnv, dataDirEnv} {
			t.Setenv(k, "")
		}
		if key, _, err := (&options{}).apiKey(); key != "" || err != nil {
			t.Fatalf("got %q, %v; want no key and no error", key, err)
		}
	})
}
