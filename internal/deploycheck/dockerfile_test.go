package deploycheck

import (
	"encoding/json"
	"fmt"
	"go/version"
	"net"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// stage is one FROM ... AS name section of the Dockerfile.
type stage struct {
	name       string
	from       string            // image, or a previous stage's name
	env        map[string]string // ENV, inherited from the parent stage
	entrypoint []string
	cmd        []string
	copies     []copyInstr
	runs       []string
}

// copyInstr is one COPY.
type copyInstr struct {
	from    string // --from stage, "" for the build context
	sources []string
	dest    string
}

// dockerfile is the parsed deploy/Dockerfile.
type dockerfile struct {
	stages []*stage
}

// stage returns the stage called name; "" is the last (the default target).
func (d *dockerfile) stage(name string) *stage {
	if name == "" {
		return d.stages[len(d.stages)-1]
	}
	for _, s := range d.stages {
		if s.name == name {
			return s
		}
	}
	return nil
}

// parseDockerfile reads a Dockerfile line by line: continuation lines are
// joined, comments and parser directives skipped, and the instructions the
// checks need are kept per stage.
func parseDockerfile(text string) (*dockerfile, error) {
	d := &dockerfile{}
	var cur *stage
	var logical []string
	var pending string
	for _, line := range strings.Split(text, "\n") {
		trimmed := strings.TrimSpace(line)
		if pending == "" && (trimmed == "" || strings.HasPrefix(trimmed, "#")) {
			continue
		}
		if strings.HasPrefix(trimmed, "#") { // comment inside a continuation
			continue
		}
		if strings.HasSuffix(trimmed, `\`) {
			pending += strings.TrimSuffix(trimmed, `\`) + " "
			continue
		}
		logical = append(logical, pending+trimmed)
		pending = ""
	}
	if pending != "" {
		return nil, fmt.Errorf("the last instruction ends with a line continuation")
	}
	for _, l := range logical {
		instr, rest, _ := strings.Cut(l, " ")
		rest = strings.TrimSpace(rest)
		switch strings.ToUpper(instr) {
		case "FROM":
			f := strings.Fields(rest)
			for len(f) > 0 && strings.HasPrefix(f[0], "--") {
				f = f[1:]
			}
			if len(f) != 1 && !(len(f) == 3 && strings.EqualFold(f[1], "AS")) {
				return nil, fmt.Errorf("FROM %s: want FROM image [AS name]", rest)
			}
			s := &stage{from: f[0], env: map[string]string{}}
			if len(f) == 3 {
				s.name = f[2]
			}
			if parent := d.stage(s.from); len(d.stages) > 0 && parent != nil && s.from != "" {
				for k, v := range parent.env {
					s.env[k] = v
				}
				s.entrypoint, s.cmd = parent.entrypoint, parent.cmd
			}
			d.stages = append(d.stages, s)
			cur = s
		case "ARG":
			// allowed before the first FROM
		default:
			if cur == nil {
				return nil, fmt.Errorf("%s before the first FROM", instr)
			}
		}
		switch strings.ToUpper(instr) {
		case "ENV":
			kv, err := parseEnv(rest)
			if err != nil {
				return nil, fmt.Errorf("ENV %s: %w", rest, err)
			}
			for k, v := range kv {
				cur.env[k] = v
			}
		case "ENTRYPOINT", "CMD":
			var argv []string
			if err := json.Unmarshal([]byte(rest), &argv); err != nil {
				return nil, fmt.Errorf("%s %s: use the exec (JSON array) form: distroless has no shell: %w", instr, rest, err)
			}
			if strings.ToUpper(instr) == "ENTRYPOINT" {
				cur.entrypoint, cur.cmd = argv, nil
			} else {
				cur.cmd = argv
			}
		case "COPY":
			f := strings.Fields(rest)
			c := copyInstr{}
			for len(f) > 0 && strings.HasPrefix(f[0], "--") {
				if v, ok := strings.CutPrefix(f[0], "--from="); ok {
					c.from = v
				}
				f = f[1:]
			}
			if len(f) < 2 {
				return nil, fmt.Errorf("COPY %s: want sources and a destination", rest)
			}
			c.sources, c.dest = f[:len(f)-1], f[len(f)-1]
			cur.copies = append(cur.copies, c)
		case "RUN":
			cur.runs = append(cur.runs, rest)
		}
	}
	if len(d.stages) == 0 {
		return nil, fmt.Errorf("no FROM")
	}
	return d, nil
}

// parseEnv reads ENV's key=value pairs (values may be double-quoted) or
// its legacy "key value" form.
func parseEnv(s string) (map[string]string, error) {
	out := map[string]string{}
	if !strings.Contains(strings.Fields(s)[0], "=") {
		k, v, _ := strings.Cut(s, " ")
		out[k] = strings.TrimSpace(v)
		return out, nil
	}
	for s = strings.TrimSpace(s); s != ""; s = strings.TrimSpace(s) {
		k, rest, ok := strings.Cut(s, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("%q is not key=value", s)
		}
		var v string
		if strings.HasPrefix(rest, `"`) {
			end := strings.Index(rest[1:], `"`)
			if end < 0 {
				return nil, fmt.Errorf("unterminated quote in %q", rest)
			}
			v, s = rest[1:1+end], rest[2+end:]
		} else {
			v, s, _ = strings.Cut(rest, " ")
		}
		out[k] = v
	}
	return out, nil
}

// loadDockerfile parses deploy/Dockerfile.
func loadDockerfile(t testing.TB) *dockerfile {
	t.Helper()
	b, err := os.ReadFile(deployPath(t, "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	d, err := parseDockerfile(string(b))
	if err != nil {
		t.Fatalf("deploy/Dockerfile: %v", err)
	}
	return d
}

// pinned says what is wrong with an image reference that is not pinned: it
// needs a tag other than latest, or a digest.
func pinned(image string) error {
	if image == "" {
		return fmt.Errorf("no image")
	}
	if strings.Contains(image, "${") || strings.Contains(image, "$") {
		return fmt.Errorf("image %q is a variable; pin it", image)
	}
	if strings.Contains(image, "@sha256:") {
		return nil
	}
	last := image[strings.LastIndex(image, "/")+1:]
	_, tag, ok := strings.Cut(last, ":")
	switch {
	case !ok || tag == "":
		return fmt.Errorf("image %q has no tag; pin an exact version", image)
	case tag == "latest":
		return fmt.Errorf("image %q uses :latest; pin an exact version", image)
	}
	return nil
}

func TestPinned(t *testing.T) {
	tests := []struct {
		image string
		ok    bool
	}{
		{"nats:2.15.2-alpine", true},
		{"gcr.io/distroless/static-debian12:nonroot", true},
		{"localhost:5000/junction:dev", true},
		{"nats@sha256:0123", true},
		{"nats", false},
		{"nats:latest", false},
		{"localhost:5000/junction", false},
		{"${IMAGE}", false},
		{"", false},
	}
	for _, tt := range tests {
		t.Run(tt.image, func(t *testing.T) {
			if err := pinned(tt.image); (err == nil) != tt.ok {
				t.Errorf("pinned(%q) = %v, want ok=%v", tt.image, err, tt.ok)
			}
		})
	}
}

func TestParseDockerfile(t *testing.T) {
	d, err := parseDockerfile("# syntax=docker/dockerfile:1\nFROM golang:1 AS build\nENV A=1 B=\"x y\"\nRUN go build \\\n  # note\n  -o /out/x ./cmd/x\nFROM build AS app\nENV C 3\nENTRYPOINT [\"/x\"]\nCMD [\"serve\"]\n")
	if err != nil {
		t.Fatal(err)
	}
	app := d.stage("")
	if app.name != "app" || app.env["A"] != "1" || app.env["B"] != "x y" || app.env["C"] != "3" {
		t.Errorf("stage app = %+v, want name app and env A=1 B=\"x y\" C=3 (inherited)", app)
	}
	if got := strings.Join(d.stage("build").runs, "|"); got != "go build  -o /out/x ./cmd/x" {
		t.Errorf("runs = %q", got)
	}
	if strings.Join(app.entrypoint, " ") != "/x" || strings.Join(app.cmd, " ") != "serve" {
		t.Errorf("entrypoint %v cmd %v", app.entrypoint, app.cmd)
	}
	for _, bad := range []string{"RUN x", "FROM a b", "FROM a\nENTRYPOINT /x", "FROM a\nRUN x \\"} {
		if _, err := parseDockerfile(bad); err == nil {
			t.Errorf("parseDockerfile(%q) = nil error, want one", bad)
		}
	}
}

var (
	goBuildRe  = regexp.MustCompile(`go build ([^&;]*)`)
	goDirectRe = regexp.MustCompile(`(?m)^(?:go|toolchain) (\S+)`)
	useRe      = regexp.MustCompile(`(?m)^\s*(\./[^\s)]*|\.)\s*$`)
)

// workspaceModules lists the go.work use directories, relative and clean.
func workspaceModules(t testing.TB) []string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot(t), "go.work"))
	if err != nil {
		t.Fatal(err)
	}
	var dirs []string
	for _, m := range useRe.FindAllStringSubmatch(string(b), -1) {
		dirs = append(dirs, path.Clean(m[1]))
	}
	if len(dirs) == 0 {
		t.Fatal("go.work lists no modules")
	}
	return dirs
}

func TestDockerfile(t *testing.T) {
	root := repoRoot(t)
	d := loadDockerfile(t)
	stageNames := map[string]bool{}
	builtBinaries := map[string]bool{} // /out/... paths go build writes
	installed := map[string]string{}   // /usr/local/bin/x -> stage installing it
	contextCopies := map[string]bool{} // build-context paths COPY reads
	for _, s := range d.stages {
		if !stageNames[s.from] {
			if err := pinned(s.from); err != nil {
				t.Errorf("FROM %s: %v", s.from, err)
			}
		}
		if s.name != "" {
			stageNames[s.name] = true
		}
		for _, run := range s.runs {
			for _, m := range goBuildRe.FindAllStringSubmatch(run, -1) {
				args := strings.Fields(m[1])
				if !strings.Contains(m[1], "-trimpath") {
					t.Errorf("go build %s: add -trimpath", m[1])
				}
				for i, a := range args {
					if a == "-o" && i+1 < len(args) {
						builtBinaries[args[i+1]] = true
					}
					if strings.HasPrefix(a, "./") {
						checkMainPackage(t, filepath.Join(root, a))
					}
				}
			}
		}
		if len(s.runs) > 0 && s.env["CGO_ENABLED"] != "0" {
			t.Errorf("stage %s builds with CGO_ENABLED=%q; want 0 for the static distroless runtime", s.name, s.env["CGO_ENABLED"])
		}
		for _, c := range s.copies {
			if c.from != "" {
				if !stageNames[c.from] {
					t.Errorf("COPY --from=%s: no earlier stage of that name", c.from)
				}
				for _, src := range c.sources {
					if strings.HasPrefix(src, "/out/") && strings.HasSuffix(c.dest, "/") {
						installed[path.Join(c.dest, path.Base(src))] = s.name
					}
				}
				continue
			}
			for _, src := range c.sources {
				contextCopies[path.Clean(src)] = true
				if _, err := os.Stat(filepath.Join(root, src)); err != nil {
					t.Errorf("COPY %s: not in the build context (the repository root): %v", src, err)
				}
			}
		}
	}
	for bin := range builtBinaries {
		if _, ok := installed[path.Join("/usr/local/bin", path.Base(bin))]; !ok {
			t.Errorf("%s is built but not copied into /usr/local/bin", bin)
		}
	}
	for _, want := range []string{binJunction, binAdapter} {
		if !builtBinaries["/out/"+want] {
			t.Errorf("no `go build -o /out/%s`; built %v", want, keys(builtBinaries))
		}
	}

	// Every workspace module's go.mod is copied before `go mod download`,
	// and the builder's Go is at least what each module asks for.
	goImage := ""
	for _, s := range d.stages {
		if strings.HasPrefix(s.from, "golang:") {
			goImage = s.from
		}
	}
	goTag, _, _ := strings.Cut(strings.TrimPrefix(goImage, "golang:"), "-")
	if goImage == "" || !version.IsValid("go"+goTag) {
		t.Fatalf("builder image %q: want golang:<go version>-<os>", goImage)
	}
	if !contextCopies["go.work"] {
		t.Error("go.work is not copied; the build uses the workspace")
	}
	for _, mod := range workspaceModules(t) {
		if !contextCopies[path.Join(mod, "go.mod")] {
			t.Errorf("workspace module %s: its go.mod is not copied before `go mod download`", mod)
		}
		b, err := os.ReadFile(filepath.Join(root, mod, "go.mod"))
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range goDirectRe.FindAllStringSubmatch(string(b), -1) {
			need := m[1]
			if !strings.HasPrefix(need, "go") {
				need = "go" + need
			}
			if version.Compare("go"+goTag, need) < 0 {
				t.Errorf("%s/go.mod needs %s but the builder is %s", mod, need, goImage)
			}
		}
	}

	// Targets: each runs one installed binary from a distroless base as a
	// non-root user.
	for _, target := range []struct{ stage, binary string }{{"junction", binJunction}, {"webhook-adapter", binAdapter}} {
		s := d.stage(target.stage)
		if s == nil {
			t.Errorf("no stage %q (build target)", target.stage)
			continue
		}
		if len(s.entrypoint) == 0 || path.Base(s.entrypoint[0]) != target.binary {
			t.Errorf("stage %s: ENTRYPOINT %v, want /usr/local/bin/%s", target.stage, s.entrypoint, target.binary)
		} else if _, ok := installed[s.entrypoint[0]]; !ok {
			t.Errorf("stage %s: ENTRYPOINT %s is not copied into the image", target.stage, s.entrypoint[0])
		}
		for k, v := range s.env {
			if !strings.HasSuffix(k, "_ADDR") {
				continue
			}
			if host, _, err := net.SplitHostPort(v); err != nil || host == "localhost" || strings.HasPrefix(host, "127.") || host == "::1" {
				t.Errorf("stage %s: ENV %s=%s: a container must listen on a reachable address such as 0.0.0.0:PORT", target.stage, k, v)
			}
		}
		if base := baseImage(d, s); !strings.HasPrefix(base, "gcr.io/distroless/static") || !strings.HasSuffix(base, ":nonroot") {
			t.Errorf("stage %s is based on %s, want gcr.io/distroless/static-*:nonroot", target.stage, base)
		}
	}
	if d.stage("").name != "junction" {
		t.Errorf("default (last) stage is %q, want junction", d.stage("").name)
	}
	checkDockerignore(t, contextCopies)
}

// baseImage follows FROM through stages to an image.
func baseImage(d *dockerfile, s *stage) string {
	for range len(d.stages) {
		p := d.stage(s.from)
		if p == nil || p == s {
			return s.from
		}
		s = p
	}
	return s.from
}

// checkMainPackage fails unless dir holds a Go main package.
func checkMainPackage(t *testing.T, dir string) {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(dir, "*.go"))
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err == nil && regexp.MustCompile(`(?m)^package main$`).Match(b) {
			return
		}
	}
	t.Errorf("go build target %s is not a directory with a main package", dir)
}

// checkDockerignore fails when Dockerfile.dockerignore would drop a path
// the build needs.
func checkDockerignore(t *testing.T, copies map[string]bool) {
	t.Helper()
	b, err := os.ReadFile(deployPath(t, "Dockerfile.dockerignore"))
	if err != nil {
		t.Fatal(err)
	}
	var patterns []string
	for _, l := range strings.Split(string(b), "\n") {
		l = strings.TrimSpace(l)
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		if strings.HasPrefix(l, "!") {
			t.Fatalf("dockerignore exception %q: teach checkDockerignore about exceptions", l)
		}
		patterns = append(patterns, l)
	}
	need := []string{"cmd/junction/main.go", "adapters/cmd/webhook-adapter/main.go", "internal/hub/hub.go", "gateway/gateway.go", "services", "proto"}
	for p := range copies {
		if p != "." {
			need = append(need, p)
		}
	}
	for _, mod := range workspaceModules(t) {
		need = append(need, path.Join(mod, "go.mod"), path.Join(mod, "go.sum"))
	}
	for _, p := range need {
		if pat := ignoredBy(patterns, p); pat != "" {
			t.Errorf("Dockerfile.dockerignore pattern %q drops %s, which the build needs", pat, p)
		}
	}
}

// ignoredBy returns the pattern that excludes p or one of its parents.
func ignoredBy(patterns []string, p string) string {
	parts := strings.Split(p, "/")
	for i := range parts {
		prefix := strings.Join(parts[:i+1], "/")
		for _, pat := range patterns {
			pat = strings.TrimPrefix(path.Clean(pat), "/")
			if rest, ok := strings.CutPrefix(pat, "**/"); ok {
				if m, _ := path.Match(rest, parts[i]); m {
					return pat
				}
				continue
			}
			if m, _ := path.Match(pat, prefix); m {
				return pat
			}
		}
	}
	return ""
}
