package deploycheck

import (
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
)

// Binaries as the Dockerfile installs them.
const (
	binJunction = "junction"
	binAdapter  = "webhook-adapter"
)

// usage is what one invocation accepts, read from its --help output.
type usage struct {
	flags map[string]bool // long and short names, without dashes
	env   map[string]bool // JUNCTION_* variables it names
}

// cli is what the built binaries accept.
type cli struct {
	// subcommands of junction, each with its usage.
	junction map[string]usage
	// adapter is the webhook-adapter's usage (it has no subcommands).
	adapter usage
}

var (
	// binDir holds the binaries built once per test run (see TestMain).
	binDir string

	cliOnce sync.Once
	cliInfo *cli
	cliErr  error
)

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "deploycheck-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "deploycheck:", err)
		os.Exit(1)
	}
	binDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// repoRoot is the repository root: two levels above this package.
func repoRoot(t testing.TB) string {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "go.work")); err != nil {
		t.Fatalf("repository root not found at %s: %v", root, err)
	}
	return root
}

// deployPath joins parts onto deploy/.
func deployPath(t testing.TB, parts ...string) string {
	return filepath.Join(append([]string{repoRoot(t), "deploy"}, parts...)...)
}

// builtCLI builds junction and webhook-adapter (once per run; the build
// cache makes it a link step when `make test` has compiled the packages)
// and reads their --help.
func builtCLI(t testing.TB) *cli {
	t.Helper()
	cliOnce.Do(func() { cliInfo, cliErr = buildCLI(repoRoot(t)) })
	if cliErr != nil {
		t.Fatalf("build the binaries to read their flags: %v", cliErr)
	}
	return cliInfo
}

func buildCLI(root string) (*cli, error) {
	junction := filepath.Join(binDir, binJunction)
	adapter := filepath.Join(binDir, binAdapter)
	for _, b := range []struct{ dir, out, pkg string }{
		{root, junction, "./cmd/junction"},
		{filepath.Join(root, "adapters"), adapter, "./cmd/webhook-adapter"},
	} {
		cmd := exec.Command("go", "build", "-o", b.out, b.pkg)
		cmd.Dir = b.dir
		if out, err := cmd.CombinedOutput(); err != nil {
			return nil, fmt.Errorf("go build %s: %w\n%s", b.pkg, err, out)
		}
	}

	top, err := helpOf(junction)
	if err != nil {
		return nil, err
	}
	subs := parseSubcommands(top)
	if len(subs) == 0 {
		return nil, fmt.Errorf("no \"Available Commands:\" in junction --help:\n%s", top)
	}
	c := &cli{junction: map[string]usage{}}
	for _, sub := range subs {
		out, err := helpOf(junction, sub)
		if err != nil {
			return nil, err
		}
		c.junction[sub] = parseUsage(out)
	}
	out, err := helpOf(adapter)
	if err != nil {
		return nil, err
	}
	c.adapter = parseUsage(out)
	return c, nil
}

// helpOf runs bin with args and --help and returns what it printed.
func helpOf(bin string, args ...string) (string, error) {
	cmd := exec.Command(bin, append(args, "--help")...)
	cmd.Env = []string{"HOME=" + binDir} // no JUNCTION_* from the test's environment
	out, err := cmd.CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("%s %s --help: %w\n%s", filepath.Base(bin), strings.Join(args, " "), err, out)
	}
	return string(out), nil
}

var (
	// flagRe matches a flag in cobra's "  -c, --config string" and in the
	// flag package's "  -config string" usage lines.
	flagRe = regexp.MustCompile(`(?m)^\s+(?:-([A-Za-z]), )?--?([A-Za-z][A-Za-z0-9-]*)`)
	envRe  = regexp.MustCompile(`JUNCTION_[A-Z0-9_]+`)
	subRe  = regexp.MustCompile(`^\s+([a-z][a-z0-9-]*)\s`)
)

// parseSubcommands reads cobra's "Available Commands:" section.
func parseSubcommands(help string) []string {
	var subs []string
	in := false
	for _, line := range strings.Split(help, "\n") {
		switch {
		case strings.HasPrefix(line, "Available Commands:"):
			in = true
		case in && strings.TrimSpace(line) == "":
			return subs
		case in:
			if m := subRe.FindStringSubmatch(line); m != nil {
				subs = append(subs, m[1])
			}
		}
	}
	return subs
}

// parseUsage collects the flags and JUNCTION_* variables a --help names.
func parseUsage(help string) usage {
	u := usage{flags: map[string]bool{"help": true, "h": true}, env: map[string]bool{}}
	for _, m := range flagRe.FindAllStringSubmatch(help, -1) {
		if m[1] != "" {
			u.flags[m[1]] = true
		}
		u.flags[m[2]] = true
	}
	for _, e := range envRe.FindAllString(help, -1) {
		u.env[e] = true
	}
	return u
}

// TestParseUsage pins the help parsing on both flag styles, so the checks
// that rely on it cannot pass vacuously.
func TestParseUsage(t *testing.T) {
	cobraHelp := "Usage:\n  junction router [flags]\n\nFlags:\n  -c, --config string      YAML config file (env JUNCTION_CONFIG)\n      --grpc-addr string   gRPC listen address (env JUNCTION_GRPC_ADDR)\n      --replicas int       replicas (env JUNCTION_REPLICAS) (default 1)\n"
	flagHelp := "webhook-adapter: x\n\nUsage: webhook-adapter [--config FILE]\n\n  -config string\n    \tconfiguration file; default $JUNCTION_CONFIG\n  -version\n    \tprint the version and exit\n\nEnvironment: JUNCTION_NATS_URL, JUNCTION_HTTP_ADDR override the file.\n"
	tests := []struct {
		name      string
		help      string
		flags     []string
		env       []string
		notFlags  []string
		notEnvVar string
	}{
		{"cobra", cobraHelp, []string{"c", "config", "grpc-addr", "replicas", "help"}, []string{"JUNCTION_CONFIG", "JUNCTION_GRPC_ADDR", "JUNCTION_REPLICAS"}, []string{"router", "Usage"}, "JUNCTION_NATS_URL"},
		{"flag package", flagHelp, []string{"config", "version"}, []string{"JUNCTION_CONFIG", "JUNCTION_NATS_URL", "JUNCTION_HTTP_ADDR"}, []string{"Usage", "webhook-adapter"}, "JUNCTION_REPLICAS"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u := parseUsage(tt.help)
			for _, f := range tt.flags {
				if !u.flags[f] {
					t.Errorf("flag %q not found; got %v", f, u.flags)
				}
			}
			for _, f := range tt.notFlags {
				if u.flags[f] {
					t.Errorf("%q parsed as a flag; got %v", f, u.flags)
				}
			}
			for _, e := range tt.env {
				if !u.env[e] {
					t.Errorf("env %s not found; got %v", e, u.env)
				}
			}
			if u.env[tt.notEnvVar] {
				t.Errorf("env %s found but not in the help", tt.notEnvVar)
			}
		})
	}
	if got, want := strings.Join(parseSubcommands("x\n\nAvailable Commands:\n  gateway     Run it\n  router      Run it\n\nFlags:\n  -h\n"), ","), "gateway,router"; got != want {
		t.Errorf("parseSubcommands = %q, want %q", got, want)
	}
}

// TestBinariesHelp checks the facts about the binaries that the deployment
// files rely on, so a renamed subcommand or variable fails here by name.
func TestBinariesHelp(t *testing.T) {
	c := builtCLI(t)
	for _, sub := range []string{"router", "gateway", "serve"} {
		if _, ok := c.junction[sub]; !ok {
			t.Errorf("junction has no %q subcommand; it has %v", sub, keys(c.junction))
		}
	}
	need := map[string][]string{
		"router":  {"JUNCTION_NATS_URL", "JUNCTION_REPLICAS"},
		"gateway": {"JUNCTION_NATS_URL", "JUNCTION_REPLICAS", "JUNCTION_HTTP_ADDR", "JUNCTION_GRPC_ADDR"},
	}
	for sub, envs := range need {
		for _, e := range envs {
			if !c.junction[sub].env[e] {
				t.Errorf("junction %s --help does not name %s, which deploy/ sets", sub, e)
			}
		}
	}
	for _, e := range []string{"JUNCTION_CONFIG", "JUNCTION_NATS_URL", "JUNCTION_HTTP_ADDR"} {
		if !c.adapter.env[e] {
			t.Errorf("webhook-adapter --help does not name %s, which deploy/ sets", e)
		}
	}
	if !c.adapter.flags["config"] {
		t.Errorf("webhook-adapter has no --config flag; got %v", c.adapter.flags)
	}
}

// keys returns m's keys sorted, for messages.
func keys[V any](m map[string]V) []string { return slices.Sorted(maps.Keys(m)) }
