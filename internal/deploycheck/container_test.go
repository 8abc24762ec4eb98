package deploycheck

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"path"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/junctionhq/junction/adapters/sdk"
	"github.com/junctionhq/junction/adapters/sdk/platform"
	"github.com/junctionhq/junction/adapters/sdk/platform/topology"
	"github.com/junctionhq/junction/adapters/webhook"
	"github.com/junctionhq/junction/gateway"
	"github.com/junctionhq/junction/internal/hub"
)

// container is one Junction process as a deployment file runs it: compose
// services and Kubernetes containers are both turned into one, then
// checkContainer holds them to what the binaries accept and serve.
type container struct {
	where  string   // for messages: "compose service gateway"
	binary string   // junction or webhook-adapter
	args   []string // after the binary
	// env is what the deployment file sets. A value of "" stands for one
	// the file takes from elsewhere (a Secret, the pod's name).
	env map[string]string
	// imageEnv is the image's ENV, overridden by env.
	imageEnv map[string]string
	// files maps a path in the container to a file on this machine with
	// the same contents (bind mounts, ConfigMap volumes).
	files map[string]string
	// ports are the container ports the file expects something to listen
	// on (published ports, containerPorts, Service targets).
	ports []int
	// probes are health checks run against the container.
	probes []probe
}

// probe is an HTTP GET or a grpc.health.v1 check on a port.
type probe struct {
	name string // readinessProbe, livenessProbe, healthcheck ...
	grpc bool
	path string // HTTP only
	port int
}

// listeners is where a process listens, by protocol; empty when it
// serves nothing.
type listeners struct {
	http, grpc string
}

// checkContainer checks one container against the built binaries: the
// subcommand and flags exist, every JUNCTION_* variable is read by that
// command, the configuration loads and validates, the process listens on
// a non-loopback address on every port the file expects, and every probe
// targets a listening port and a path the process serves.
func checkContainer(t *testing.T, c container) {
	t.Helper()
	cl := builtCLI(t)
	var u usage
	var sub string
	switch c.binary {
	case binJunction:
		if len(c.args) == 0 || strings.HasPrefix(c.args[0], "-") {
			t.Errorf("%s: junction needs a subcommand first; got args %q", c.where, c.args)
			return
		}
		sub = c.args[0]
		var ok bool
		if u, ok = cl.junction[sub]; !ok {
			t.Errorf("%s: junction has no subcommand %q; it has %v", c.where, sub, keys(cl.junction))
			return
		}
	case binAdapter:
		u = cl.adapter
	default:
		t.Errorf("%s: runs %q; want %s or %s", c.where, c.binary, binJunction, binAdapter)
		return
	}
	flags := c.args
	if sub != "" {
		flags = c.args[1:]
	}
	for _, a := range flags {
		if !strings.HasPrefix(a, "-") {
			continue
		}
		name, _, _ := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if !u.flags[name] {
			t.Errorf("%s: flag %s is not accepted by %s %s; it accepts %v", c.where, a, c.binary, sub, keys(u.flags))
		}
	}

	var l listeners
	var served func(t *testing.T, p probe) error
	secretEnv := map[string]bool{} // variables the config names as secret_env
	switch {
	case c.binary == binAdapter:
		l, served, secretEnv = adapterContainer(t, c)
	case sub == "router":
		var healthAddr string
		flags, healthAddr = routerFlags(flags, c.processEnv())
		checkHubConfig(t, c, flags)
		l = listeners{http: healthAddr}
		served = routerServes
	case sub == "gateway":
		cfg := checkHubConfig(t, c, flags)
		l = listeners{http: cfg.HTTPAddr, grpc: cfg.GRPCAddr}
		served = gatewayServes
	default:
		t.Errorf("%s: junction %s is not a deployable component here; extend deploycheck if it should be", c.where, sub)
		return
	}
	for _, name := range keys(c.env) {
		if strings.HasPrefix(name, "JUNCTION_") && !u.env[name] && !secretEnv[name] {
			t.Errorf("%s: %s is not read by %s %s (its --help names %v)", c.where, name, c.binary, sub, keys(u.env))
		}
	}
	if t.Failed() {
		return
	}

	listenPorts := map[int]string{}
	for proto, addr := range map[string]string{"http": l.http, "grpc": l.grpc} {
		if addr == "" {
			continue
		}
		host, port, err := net.SplitHostPort(addr)
		if err != nil {
			t.Errorf("%s: %s address %q: %v", c.where, proto, addr, err)
			continue
		}
		if ip := net.ParseIP(host); host == "localhost" || (ip != nil && ip.IsLoopback()) {
			t.Errorf("%s: listens for %s on %s, a loopback address nothing outside the container reaches; use 0.0.0.0:%s", c.where, proto, addr, port)
		}
		n, _ := strconv.Atoi(port)
		listenPorts[n] = proto
	}
	for _, p := range c.ports {
		if _, ok := listenPorts[p]; !ok {
			t.Errorf("%s: expects port %d but the process listens on %v", c.where, p, l)
		}
	}
	for _, p := range c.probes {
		want := "http"
		if p.grpc {
			want = "grpc"
		}
		if got := listenPorts[p.port]; got != want {
			t.Errorf("%s: %s checks %s on port %d, but the process serves %s there (listeners %+v)", c.where, p.name, want, p.port, orNothing(got), l)
			continue
		}
		if err := served(t, p); err != nil {
			t.Errorf("%s: %s: %v", c.where, p.name, err)
		}
	}
}

func orNothing(s string) string {
	if s == "" {
		return "nothing"
	}
	return s
}

// processEnv is the environment the process sees: the image's, then the
// file's.
func (c container) processEnv() map[string]string {
	env := map[string]string{}
	for k, v := range c.imageEnv {
		env[k] = v
	}
	for k, v := range c.env {
		env[k] = v
	}
	return env
}

// routerFlags takes the router's own flags (which hub.Config does not
// model) out of flags and returns the health address they, or
// JUNCTION_HEALTH_ADDR, give.
func routerFlags(flags []string, env map[string]string) (rest []string, healthAddr string) {
	healthAddr = env["JUNCTION_HEALTH_ADDR"]
	for i := 0; i < len(flags); i++ {
		name, val, hasVal := strings.Cut(strings.TrimLeft(flags[i], "-"), "=")
		switch name {
		case "health-addr", "ack-wait", "concurrency":
			if !hasVal && i+1 < len(flags) {
				i++
				val = flags[i]
			}
			if name == "health-addr" {
				healthAddr = val
			}
			continue
		}
		rest = append(rest, flags[i])
	}
	return rest, healthAddr
}

// routerServes checks a probe against the paths `junction router
// --health-addr` serves (cmd/junction's TestComponentHealth runs them).
func routerServes(_ *testing.T, p probe) error {
	if p.grpc {
		return errors.New("the router serves no gRPC")
	}
	if p.path != "/healthz" && p.path != "/readyz" {
		return fmt.Errorf("the router's health server serves /healthz and /readyz, not %s", p.path)
	}
	return nil
}

// checkHubConfig loads a junction component's configuration the way the
// command does (file, then JUNCTION_* variables, then flags) and validates
// it.
func checkHubConfig(t *testing.T, c container, flags []string) hub.Config {
	t.Helper()
	env := c.processEnv()
	if env["JUNCTION_CONFIG"] != "" || slices.ContainsFunc(flags, func(f string) bool { return strings.HasPrefix(strings.TrimLeft(f, "-"), "config") || f == "-c" }) {
		t.Errorf("%s: a config file for junction components is not checked by deploycheck yet; use JUNCTION_* variables or extend the test", c.where)
		return hub.Config{}
	}
	cfg, err := hub.Load("", func(k string) string { return env[k] })
	if err != nil {
		t.Errorf("%s: configuration: %v", c.where, err)
		return cfg
	}
	for i := 0; i < len(flags); i++ {
		name, val, hasVal := strings.Cut(strings.TrimLeft(flags[i], "-"), "=")
		if !hasVal && i+1 < len(flags) {
			i++
			val = flags[i]
		}
		switch name {
		case "http-addr":
			cfg.HTTPAddr = val
		case "grpc-addr":
			cfg.GRPCAddr = val
		case "nats-url":
			cfg.NATSURL = val
		case "log-level":
			cfg.LogLevel = val
		case "replicas":
			cfg.Replicas, _ = strconv.Atoi(val)
		default:
			t.Errorf("%s: flag --%s is not modelled by deploycheck; use the JUNCTION_* variable or extend the test", c.where, name)
		}
	}
	cfg.SetDefaults()
	if err := cfg.Validate(); err != nil {
		t.Errorf("%s: invalid configuration: %v", c.where, err)
	}
	if cfg.NATSURL == "" {
		t.Errorf("%s: JUNCTION_NATS_URL is not set; components run against an external NATS", c.where)
	}
	return cfg
}

// adapterContainer loads the adapter's configuration with the adapter's
// own loader, from the file the container mounts and the environment it
// sets, builds the adapter (which resolves its secrets), and returns its
// listener, what it serves and the variables its config names as secrets.
func adapterContainer(t *testing.T, c container) (listeners, func(*testing.T, probe) error, map[string]bool) {
	t.Helper()
	env := c.processEnv()
	configPath := env[sdk.EnvConfig]
	for i, a := range c.args {
		name, val, hasVal := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if name == "config" {
			if !hasVal && i+1 < len(c.args) {
				val = c.args[i+1]
			}
			configPath = val
		}
	}
	if configPath == "" {
		t.Errorf("%s: no --config (or %s): the adapter has no sources without one", c.where, sdk.EnvConfig)
		return listeners{}, nil, nil
	}
	hostPath, ok := c.files[configPath]
	if !ok {
		t.Errorf("%s: config %s is not mounted into the container (mounts: %v)", c.where, configPath, keys(c.files))
		return listeners{}, nil, nil
	}
	for _, k := range []string{sdk.EnvConfig, sdk.EnvNATSURL, sdk.EnvHTTPAddr, sdk.EnvInstance, sdk.EnvLogLevel} {
		t.Setenv(k, "")
	}
	for k, v := range env {
		if v == "" && k == sdk.EnvInstance {
			v = "junction-webhook-adapter-7d9f8-x2x4z" // a pod name
		}
		t.Setenv(k, v)
	}
	hubCfg, cfg, err := sdk.LoadConfig[webhook.Config](hostPath)
	if err != nil {
		t.Errorf("%s: %s: %v", c.where, configPath, err)
		return listeners{}, nil, nil
	}
	if env[sdk.EnvNATSURL] == "" {
		t.Errorf("%s: %s is not set; the default %s is the container itself", c.where, sdk.EnvNATSURL, sdk.DefaultNATSURL)
	}
	// Secrets: each secret_env must be set by the file; its value comes
	// from the operator, so stand in a valid one.
	refs := []webhook.SecretRef{cfg.Outbound.SecretRef}
	for _, s := range cfg.Sources {
		refs = append(refs, s.SecretRef)
	}
	secretEnv := map[string]bool{}
	for _, r := range refs {
		if r.SecretEnv != "" {
			secretEnv[r.SecretEnv] = true
		}
		if r.Secret != "" {
			t.Errorf("%s: %s has an inline secret; use secret_env or secret_file", c.where, configPath)
		}
		if r.SecretEnv == "" {
			continue
		}
		if _, ok := c.env[r.SecretEnv]; !ok {
			t.Errorf("%s: the config reads secret_env %s but the container does not set it", c.where, r.SecretEnv)
			continue
		}
		if c.env[r.SecretEnv] == "" {
			s, err := webhook.GenerateSecret()
			if err != nil {
				t.Fatal(err)
			}
			t.Setenv(r.SecretEnv, s)
		}
	}
	if t.Failed() {
		return listeners{}, nil, nil
	}
	a, err := webhook.New(cfg)
	if err != nil {
		t.Errorf("%s: the adapter does not start with %s: %v", c.where, configPath, err)
		return listeners{}, nil, nil
	}
	served := func(t *testing.T, p probe) error {
		if p.grpc {
			return fmt.Errorf("the adapter serves no gRPC")
		}
		_, nc := embeddedHub(t)
		r, err := platform.NewRunner(webhook.Spec, a, nc, platform.RunnerOptions{Config: hubCfg, Logger: quietLogger()})
		if err != nil {
			return err
		}
		return httpServes(r.Handler(), p.path)
	}
	return listeners{http: hubCfg.HTTPAddr}, served, secretEnv
}

// gatewayServes runs the gateway as `junction gateway` does (gRPC server,
// REST handler in front of it) on an embedded NATS and checks the probe.
func gatewayServes(t *testing.T, p probe) error {
	js, _ := embeddedHub(t)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	gw, err := gateway.New(ctx, gateway.Config{JS: js, Logger: quietLogger(), Version: hub.Version})
	if err != nil {
		return err
	}
	srv := gateway.NewGRPCServer(gw)
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	go srv.Serve(lis)
	t.Cleanup(srv.Stop)
	if !p.grpc {
		rest, err := gateway.RESTHandler(ctx, lis.Addr().String())
		if err != nil {
			return err
		}
		// `junction gateway` serves /healthz and /readyz beside REST
		// (handleHealth in cmd/junction); a probe of either is served.
		mux := http.NewServeMux()
		mux.Handle("/", rest)
		for _, hp := range []string{"/healthz", "/readyz"} {
			mux.HandleFunc("GET "+hp, func(http.ResponseWriter, *http.Request) {})
		}
		return httpServes(mux, p.path)
	}
	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return err
	}
	defer conn.Close()
	resp, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{})
	if err != nil {
		return fmt.Errorf("grpc.health.v1 Check: %w", err)
	}
	if resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		return fmt.Errorf("grpc.health.v1 says %s, want SERVING", resp.GetStatus())
	}
	return nil
}

// httpServes fails when h has nothing at GET path (404 or 405); a 503 from
// a readiness endpoint is fine: the path is served.
func httpServes(h http.Handler, p string) error {
	if !strings.HasPrefix(p, "/") || path.Clean(p) != p {
		return fmt.Errorf("path %q: want an absolute, clean path such as /readyz", p)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, p, nil))
	if rec.Code == http.StatusNotFound || rec.Code == http.StatusMethodNotAllowed {
		return fmt.Errorf("GET %s answers %d: nothing is served there", p, rec.Code)
	}
	return nil
}

// embeddedHub starts a JetStream server with Junction's topology.
func embeddedHub(t *testing.T) (jetstream.JetStream, *nats.Conn) {
	t.Helper()
	s, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: server.RANDOM_PORT, JetStream: true, StoreDir: t.TempDir(), NoLog: true, NoSigs: true})
	if err != nil {
		t.Fatal(err)
	}
	s.Start()
	t.Cleanup(s.Shutdown)
	if !s.ReadyForConnections(10 * time.Second) {
		t.Fatal("embedded NATS not ready")
	}
	nc, err := nats.Connect(s.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	if err := topology.Ensure(context.Background(), js, topology.Options{}); err != nil {
		t.Fatal(err)
	}
	return js, nc
}

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }
