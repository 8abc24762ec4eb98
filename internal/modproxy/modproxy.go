// Package modproxy writes a file-system Go module proxy (GOPROXY=file:///dir)
// holding modules of this repository at chosen versions, so a test can
// build against them as a third party would: from a module outside the
// repository, with no replace directive and no workspace.
package modproxy

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/mod/modfile"
	"golang.org/x/mod/module"
	"golang.org/x/mod/zip"
)

// Module is one module directory to publish at a version.
type Module struct {
	// Path is the module path; it must match the module line of Dir/go.mod.
	Path string
	// Version is the semantic version to publish it at, e.g. v0.1.0.
	Version string
	// Dir holds the module's go.mod.
	Dir string
}

// Write adds each module to the proxy rooted at root:
// <escaped path>/@v/list, <version>.info, <version>.mod and <version>.zip,
// the layout the go command reads from a file:// GOPROXY.
func Write(root string, mods []Module) error {
	for _, m := range mods {
		if err := write(root, m); err != nil {
			return fmt.Errorf("module %s@%s: %w", m.Path, m.Version, err)
		}
	}
	return nil
}

func write(root string, m Module) error {
	mv := module.Version{Path: m.Path, Version: m.Version}
	if err := module.Check(mv.Path, mv.Version); err != nil {
		return err
	}
	gomod, err := os.ReadFile(filepath.Join(m.Dir, "go.mod"))
	if err != nil {
		return err
	}
	if got := modfile.ModulePath(gomod); got != m.Path {
		return fmt.Errorf("%s/go.mod declares module %q, want %q", m.Dir, got, m.Path)
	}
	esc, err := module.EscapePath(m.Path)
	if err != nil {
		return err
	}
	dir := filepath.Join(root, filepath.FromSlash(esc), "@v")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	ver, err := module.EscapeVersion(m.Version)
	if err != nil {
		return err
	}
	base := filepath.Join(dir, ver)

	f, err := os.Create(base + ".zip")
	if err != nil {
		return err
	}
	zerr := zip.CreateFromDir(f, mv, m.Dir)
	if cerr := f.Close(); zerr == nil {
		zerr = cerr
	}
	if zerr != nil {
		return fmt.Errorf("zip %s: %w", m.Dir, zerr)
	}
	if err := os.WriteFile(base+".mod", gomod, 0o644); err != nil {
		return err
	}
	info, err := json.Marshal(struct {
		Version string
		Time    time.Time
	}{m.Version, time.Now().UTC().Truncate(time.Second)})
	if err != nil {
		return err
	}
	if err := os.WriteFile(base+".info", info, 0o644); err != nil {
		return err
	}
	return appendList(filepath.Join(dir, "list"), m.Version)
}

// appendList adds version to an @v/list file unless it is there.
func appendList(path, version string) error {
	b, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	for _, v := range strings.Fields(string(b)) {
		if v == version {
			return nil
		}
	}
	return os.WriteFile(path, append(b, version+"\n"...), 0o644)
}
