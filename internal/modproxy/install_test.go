package modproxy_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/mod/modfile"

	"github.com/junctionhq/junction/adapters/sdk/sdktest"
	"github.com/junctionhq/junction/internal/modproxy"
)

// releaseVersion is the version the test publishes the SDK and the proto
// module at; adapters/sdk/go.mod must require the proto module at it.
const releaseVersion = "v0.1.0"

const (
	protoModule = "github.com/junctionhq/junction/proto"
	sdkModule   = "github.com/junctionhq/junction/adapters/sdk"
)

// adapterMain is a third party's whole adapter: a webhook source that
// emits one event per request.
const adapterMain = `package main

import (
	"net/http"

	"github.com/junctionhq/junction/adapters/sdk"
	junctionv1 "github.com/junctionhq/junction/proto/junction/v1"
)

type config struct{}

type adapter struct{}

func (adapter) Webhook(emit sdk.EmitFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := emit(r.Context(), &junctionv1.Event{Source: "acme", Type: "acme.ping", Id: r.Header.Get("Acme-Id")}); err != nil {
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
}

func main() {
	sdk.Main(sdk.Spec{App: "acme", Version: "1.2.3", Description: "Acme webhooks"},
		func(config) (adapter, error) { return adapter{}, nil })
}
`

// TestSDKBuildsFromAProxy publishes proto and adapters/sdk at
// releaseVersion on a file-system module proxy and builds an adapter from a
// module outside the repository that requires the SDK at that version: no
// replace directive, no go.work, the way a third party installs it. The
// adapter then runs against an embedded hub and stores a webhook's event,
// and its dependencies hold neither grpc, grpc-gateway nor nats-server.
func TestSDKBuildsFromAProxy(t *testing.T) {
	if testing.Short() {
		t.Skip("builds an adapter binary")
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command on PATH")
	}
	repo, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}

	// The SDK must name its sibling at the published version, without a
	// replace: a replace in a dependency's go.mod is ignored, and a
	// relative one points nowhere outside this repository.
	sdkMod := parseMod(t, filepath.Join(repo, "adapters", "sdk", "go.mod"))
	if len(sdkMod.Replace) > 0 {
		t.Errorf("adapters/sdk/go.mod has %d replace directives, want none", len(sdkMod.Replace))
	}
	if got := requiredVersion(sdkMod, protoModule); got != releaseVersion {
		t.Errorf("adapters/sdk/go.mod requires %s at %q, want %q", protoModule, got, releaseVersion)
	}

	tmp := t.TempDir()
	proxy := filepath.Join(tmp, "proxy")
	if err := modproxy.Write(proxy, []modproxy.Module{
		{Path: protoModule, Version: releaseVersion, Dir: filepath.Join(repo, "proto")},
		{Path: sdkModule, Version: releaseVersion, Dir: filepath.Join(repo, "adapters", "sdk")},
	}); err != nil {
		t.Fatal(err)
	}

	work := filepath.Join(tmp, "acme-adapter")
	if err := os.MkdirAll(work, 0o755); err != nil {
		t.Fatal(err)
	}
	gomod := "module example.com/acme-adapter\n\ngo 1.26.0\n\nrequire " + sdkModule + " " + releaseVersion + "\n"
	writeFile(t, filepath.Join(work, "go.mod"), gomod)
	writeFile(t, filepath.Join(work, "main.go"), adapterMain)
	// The third-party checksums the repository already vouches for, so
	// the checksum database is not asked; ours are added by -mod=mod.
	writeFile(t, filepath.Join(work, "go.sum"), sumLines(t,
		filepath.Join(repo, "adapters", "sdk", "go.sum"), filepath.Join(repo, "proto", "go.sum")))

	// A private module cache, so the published zips never enter (and go
	// stale in) the machine's shared one; the shared cache's download
	// directory serves everything else, then the configured proxy.
	// -trimpath keeps the build cache keys independent of that
	// directory, so later runs compile only the SDK and proto packages.
	realCache := goEnv(t, goBin, "GOMODCACHE")
	realProxy := goEnv(t, goBin, "GOPROXY")
	env := append(os.Environ(),
		"GOWORK=off",
		"GOFLAGS=-mod=mod -modcacherw",
		"GOMODCACHE="+filepath.Join(tmp, "modcache"),
		"GOPROXY="+fileURL(proxy)+","+fileURL(filepath.Join(realCache, "cache", "download"))+","+realProxy,
		"GONOSUMDB=github.com/junctionhq",
		"GOPRIVATE=",
		"GONOPROXY=",
		"GOTOOLCHAIN=local",
	)
	run := func(name string, args ...string) string {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, name, args...)
		cmd.Dir = work
		cmd.Env = env
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Run(); err != nil {
			t.Fatalf("%s %s: %v\n%s", filepath.Base(name), strings.Join(args, " "), err, out.String())
		}
		return out.String()
	}

	bin := filepath.Join(tmp, "acme-adapter-bin")
	run(goBin, "build", "-trimpath", "-o", bin, ".")

	// The build resolved the SDK and proto modules from the proxy, at the
	// published version, not from the repository.
	list := run(goBin, "list", "-m", "-f", "{{.Path}} {{.Version}} {{.Replace}}", sdkModule, protoModule)
	for _, mod := range []string{sdkModule, protoModule} {
		want := mod + " " + releaseVersion + " <nil>"
		if !strings.Contains(list, want) {
			t.Errorf("go list -m answered\n%s\nwant a line %q", list, want)
		}
	}

	out := run(bin, "--version")
	if want := "acme-adapter 1.2.3"; strings.TrimSpace(out) != want {
		t.Errorf("--version printed %q, want %q", strings.TrimSpace(out), want)
	}

	runAgainstHub(t, bin)

	deps := strings.Fields(run(goBin, "list", "-deps", "."))
	if fi, err := os.Stat(bin); err == nil {
		t.Logf("adapter binary: %d bytes; go list -deps: %d packages", fi.Size(), len(deps))
	}
	for _, p := range deps {
		for _, banned := range []string{"google.golang.org/grpc", "github.com/grpc-ecosystem/grpc-gateway/", "github.com/nats-io/nats-server/"} {
			if strings.HasPrefix(p, banned) {
				t.Errorf("the adapter compiles %s: importing the SDK and the event types must not pull %s", p, banned)
			}
		}
	}
}

// runAgainstHub starts the built adapter against an embedded hub, sends it
// one webhook and checks the event was stored, then stops it with an
// interrupt and checks it exits cleanly.
func runAgainstHub(t *testing.T, bin string) {
	t.Helper()
	hub := sdktest.NewHub(t)
	addr := freeAddr(t)
	cfgPath := filepath.Join(t.TempDir(), "acme.yaml")
	writeFile(t, cfgPath, fmt.Sprintf("hub:\n  nats_url: %s\n  http_addr: %s\n  instance: acme-1\nadapter: {}\n", hub.URL, addr))

	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "JUNCTION_") && !strings.HasPrefix(kv, "OTEL_") {
			env = append(env, kv)
		}
	}
	cmd := exec.Command(bin, "--config", cfgPath)
	cmd.Env = env
	var logs syncBuffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	stopped := false
	t.Cleanup(func() {
		if !stopped {
			_ = cmd.Process.Kill()
			<-exited
		}
	})

	// Wait for readiness (connected, topology found), or for an early exit;
	// the limit only keeps a broken build from hanging the suite.
	giveUp := time.After(2 * time.Minute)
	for ready := false; !ready; {
		select {
		case err := <-exited:
			stopped = true
			t.Fatalf("adapter exited before it was ready: %v\n%s", err, logs.String())
		case <-giveUp:
			t.Fatalf("adapter not ready after 2 minutes; log:\n%s", logs.String())
		case <-time.After(100 * time.Millisecond):
		}
		resp, err := http.Get("http://" + addr + "/readyz")
		if err == nil {
			ready = resp.StatusCode == http.StatusOK
			resp.Body.Close()
		}
	}

	req, err := http.NewRequest(http.MethodPost, "http://"+addr+"/webhooks/acme", strings.NewReader("{}"))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Acme-Id", "evt_1")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("webhook answered %d, want %d; log:\n%s", resp.StatusCode, http.StatusNoContent, logs.String())
	}
	got := hub.WaitEvents(t, 1, time.Minute)
	if e := got[0]; e.GetId() != "evt_1" || e.GetSource() != "acme" || e.GetType() != "acme.ping" {
		t.Errorf("stored event id=%q source=%q type=%q, want evt_1, acme, acme.ping", e.GetId(), e.GetSource(), e.GetType())
	}

	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	stopped = true
	if err := <-exited; err != nil {
		t.Errorf("adapter exited with %v after an interrupt, want status 0; log:\n%s", err, logs.String())
	}
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// syncBuffer is a bytes.Buffer the process's output and the test share.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func parseMod(t *testing.T, path string) *modfile.File {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	f, err := modfile.ParseLax(path, b, nil)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func requiredVersion(f *modfile.File, path string) string {
	for _, r := range f.Require {
		if r.Mod.Path == path {
			return r.Mod.Version
		}
	}
	return ""
}

// sumLines joins go.sum files, dropping duplicates.
func sumLines(t *testing.T, paths ...string) string {
	t.Helper()
	seen := map[string]bool{}
	var b strings.Builder
	for _, p := range paths {
		f, err := os.Open(p)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			line := strings.TrimSpace(sc.Text())
			if line == "" || seen[line] {
				continue
			}
			seen[line] = true
			b.WriteString(line + "\n")
		}
		f.Close()
		if err := sc.Err(); err != nil {
			t.Fatal(err)
		}
	}
	return b.String()
}

func goEnv(t *testing.T, goBin, name string) string {
	t.Helper()
	out, err := exec.Command(goBin, "env", name).Output()
	if err != nil {
		t.Fatalf("go env %s: %v", name, err)
	}
	return strings.TrimSpace(string(out))
}

// fileURL is a file:// URL for an absolute path, on Windows too.
func fileURL(path string) string {
	p := filepath.ToSlash(path)
	if !strings.HasPrefix(p, "/") {
		p = "/" + p
	}
	return "file://" + p
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}
