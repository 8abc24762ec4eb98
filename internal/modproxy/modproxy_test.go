package modproxy

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestWrite(t *testing.T) {
	src := t.TempDir()
	if err := os.WriteFile(filepath.Join(src, "go.mod"), []byte("module example.com/Acme/kit\n\ngo 1.26.0\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(src, "kit.go"), []byte("package kit\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		mod     Module
		wantErr string
	}{
		{"published", Module{Path: "example.com/Acme/kit", Version: "v0.1.0", Dir: src}, ""},
		{"second version", Module{Path: "example.com/Acme/kit", Version: "v0.2.0", Dir: src}, ""},
		{"same version again", Module{Path: "example.com/Acme/kit", Version: "v0.1.0", Dir: src}, ""},
		{"path differs from go.mod", Module{Path: "example.com/other", Version: "v0.1.0", Dir: src}, `declares module "example.com/Acme/kit"`},
		{"not a semantic version", Module{Path: "example.com/Acme/kit", Version: "1.0", Dir: src}, "1.0"},
		{"no go.mod", Module{Path: "example.com/Acme/kit", Version: "v0.1.0", Dir: t.TempDir()}, "go.mod"},
	}
	root := t.TempDir()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Write(root, []Module{tt.mod})
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("Write: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Write = %v, want an error containing %q", err, tt.wantErr)
			}
		})
	}

	// Upper-case letters in a module path are escaped as the go command
	// expects (!acme), and each version is listed once.
	dir := filepath.Join(root, "example.com", "!acme", "kit", "@v")
	list, err := os.ReadFile(filepath.Join(dir, "list"))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(list), "v0.1.0\nv0.2.0\n"; got != want {
		t.Errorf("@v/list = %q, want %q", got, want)
	}
	for _, f := range []string{"v0.1.0.info", "v0.1.0.mod", "v0.1.0.zip", "v0.2.0.zip"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
}
