package deploycheck

import (
	"context"
	"net"
	"net/url"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/loader"
	"github.com/compose-spec/compose-go/v2/types"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nkeys"

	"github.com/junctionhq/junction/adapters/webhook"
)

// composeSecrets are the variables compose.yaml requires from the shell:
// the webhook secrets, and the NATS users' public keys that
// deploy/gen-certs.sh writes to deploy/secrets/nats-users.env.
var composeSecrets = []string{"ACME_WEBHOOK_SECRET", "JUNCTION_WEBHOOK_SIGNING_SECRET",
	"JUNCTION_NKEY_ROUTER", "JUNCTION_NKEY_GATEWAY", "JUNCTION_NKEY_WEBHOOK_ADAPTER"}

// loadCompose loads deploy/compose.yaml with compose-go, as `docker
// compose` does (schema validation, interpolation, merges, path
// resolution), offline, with env as the shell's environment.
func loadCompose(t testing.TB, env map[string]string) (*types.Project, error) {
	t.Helper()
	dir := deployPath(t)
	return loader.LoadWithContext(context.Background(), types.ConfigDetails{
		WorkingDir:  dir,
		ConfigFiles: []types.ConfigFile{{Filename: filepath.Join(dir, "compose.yaml")}},
		Environment: env,
	})
}

func TestComposeNeedsSecrets(t *testing.T) {
	for _, missing := range composeSecrets {
		t.Run(missing, func(t *testing.T) {
			env := map[string]string{}
			for _, s := range composeSecrets {
				if s != missing {
					env[s] = "whsec_x"
				}
			}
			_, err := loadCompose(t, env)
			if err == nil || !strings.Contains(err.Error(), missing) {
				t.Errorf("load without %s: err = %v, want one naming it", missing, err)
			}
		})
	}
}

func TestCompose(t *testing.T) {
	env := map[string]string{}
	for _, s := range composeSecrets {
		v, err := webhook.GenerateSecret()
		if err != nil {
			t.Fatal(err)
		}
		if strings.HasPrefix(s, "JUNCTION_NKEY_") {
			kp, _ := nkeys.CreateUser()
			v, _ = kp.PublicKey()
		}
		env[s] = v
	}
	p, err := loadCompose(t, env)
	if err != nil {
		t.Fatalf("deploy/compose.yaml does not load: %v", err)
	}
	d := loadDockerfile(t)
	confs := natsConfByPath(t)

	// NATS: one service per config, named after its server_name (the
	// routes and JUNCTION_NATS_URL use those names as host names).
	natsServices := map[string]*server.Options{}
	for _, name := range keys(p.Services) {
		svc := p.Services[name]
		if err := pinned(svc.Image); err != nil {
			t.Errorf("service %s: %v", name, err)
		}
		if !strings.HasPrefix(svc.Image, "nats:") {
			continue
		}
		var conf *server.Options
		var confPath string
		for _, v := range svc.Volumes {
			if o, ok := confs[v.Source]; ok {
				conf, confPath = o, v.Target
			}
		}
		if conf == nil {
			t.Errorf("service %s: mounts none of deploy/nats/*.conf", name)
			continue
		}
		if !slices.Equal(svc.Command, []string{"--config", confPath}) {
			t.Errorf("service %s: command %q, want [--config %s], the mounted config", name, svc.Command, confPath)
		}
		if conf.ServerName != name {
			t.Errorf("service %s runs server_name %s; name the service after the server, peers route to it by that name", name, conf.ServerName)
		}
		if !slices.ContainsFunc(svc.Volumes, func(v types.ServiceVolumeConfig) bool {
			return v.Type == types.VolumeTypeVolume && strings.HasPrefix(conf.StoreDir, v.Target)
		}) {
			t.Errorf("service %s: store_dir %s is not on a named volume; JetStream data would die with the container", name, conf.StoreDir)
		}
		if svc.HealthCheck == nil {
			t.Errorf("service %s: no healthcheck; Junction services wait for service_healthy", name)
		} else if err := natsHealthcheck(svc.HealthCheck.Test, conf); err != "" {
			t.Errorf("service %s: healthcheck %q: %s", name, svc.HealthCheck.Test, err)
		}
		for _, r := range natsRoles {
			if v := svc.Environment[r.env]; v == nil || *v != env[r.env] {
				t.Errorf("service %s: %s is not passed from the shell; auth.conf reads the %s user's public key from it", name, r.env, r.name)
			}
		}
		for _, target := range []string{"/etc/nats/tls/server.crt", "/etc/nats/tls/server.key", "/etc/nats/tls/ca.pem"} {
			if !mountsSecret(p, svc, target) {
				t.Errorf("service %s: no secret mounted at %s, which its config's tls {} blocks read", name, target)
			}
		}
		natsServices[name] = conf
	}
	if len(natsServices) != len(natsConfs) {
		t.Errorf("%d NATS services, want %d (one per deploy/nats conf)", len(natsServices), len(natsConfs))
	}

	// Junction services: built from deploy/Dockerfile.
	counts := map[string]int{}
	for _, name := range keys(p.Services) {
		svc := p.Services[name]
		if svc.Build == nil {
			continue
		}
		where := "compose service " + name
		if got, want := filepath.Clean(filepath.Join(svc.Build.Context, svc.Build.Dockerfile)), deployPath(t, "Dockerfile"); got != want {
			t.Errorf("%s: builds %s, want %s", where, got, want)
		}
		if filepath.Clean(svc.Build.Context) != repoRoot(t) {
			t.Errorf("%s: build context %s, want the repository root", where, svc.Build.Context)
		}
		st := d.stage(svc.Build.Target)
		if st == nil {
			t.Errorf("%s: build target %q is not a stage of deploy/Dockerfile", where, svc.Build.Target)
			continue
		}
		entry := st.entrypoint
		if len(svc.Entrypoint) > 0 {
			entry = svc.Entrypoint
		}
		if len(entry) == 0 {
			t.Errorf("%s: no entrypoint", where)
			continue
		}
		args := []string(svc.Command)
		if len(args) == 0 {
			args = st.cmd
		}
		c := container{where: where, binary: filepath.Base(entry[0]), args: append(slices.Clone(entry[1:]), args...),
			env: map[string]string{}, imageEnv: st.env, files: map[string]string{}}
		for k, v := range svc.Environment {
			if v == nil {
				c.env[k] = ""
			} else {
				c.env[k] = *v
			}
		}
		for _, v := range svc.Volumes {
			if v.Type == types.VolumeTypeBind {
				c.files[v.Target] = v.Source
			}
		}
		for _, port := range svc.Ports {
			c.ports = append(c.ports, int(port.Target))
		}
		if svc.HealthCheck != nil && !svc.HealthCheck.Disable {
			t.Errorf("%s: healthcheck %q cannot run: the distroless image has no shell, curl or wget", where, svc.HealthCheck.Test)
		}
		t.Run(name, func(t *testing.T) { checkContainer(t, c) })
		switch {
		case c.binary == binAdapter:
			counts[binAdapter] += svc.GetScale()
		case len(c.args) > 0:
			counts[c.binary+" "+c.args[0]] += svc.GetScale()
		}
		checkNATSURL(t, where, c.env["JUNCTION_NATS_URL"], natsServices)
		// Closed: each component authenticates to NATS with its own nkey,
		// over TLS, and every credential is a mounted secret.
		for _, v := range []string{"JUNCTION_NATS_NKEY", "JUNCTION_NATS_CA"} {
			if path := c.env[v]; path == "" || !mountsSecret(p, svc, path) {
				t.Errorf("%s: %s=%q is not a mounted secret; every component connects to NATS with its own nkey over TLS", where, v, path)
			}
		}
		if cert, key := c.env["JUNCTION_TLS_CERT_FILE"], c.env["JUNCTION_TLS_KEY_FILE"]; cert != "" || key != "" {
			if !mountsSecret(p, svc, cert) || !mountsSecret(p, svc, key) {
				t.Errorf("%s: JUNCTION_TLS_CERT_FILE=%q and JUNCTION_TLS_KEY_FILE=%q must both be mounted secrets", where, cert, key)
			}
		} else if len(c.args) > 0 && c.args[0] == "gateway" {
			t.Errorf("%s: the gateway serves the API without TLS; set JUNCTION_TLS_CERT_FILE and JUNCTION_TLS_KEY_FILE", where)
		}
		if c.binary == binJunction {
			if got := c.env["JUNCTION_REPLICAS"]; got != strconv.Itoa(len(natsServices)) {
				t.Errorf("%s: JUNCTION_REPLICAS=%q, want %d: one replica on each NATS server", where, got, len(natsServices))
			}
		}
		for dep := range svc.DependsOn {
			if _, ok := natsServices[dep]; ok && svc.DependsOn[dep].Condition != types.ServiceConditionHealthy {
				t.Errorf("%s: depends on %s with condition %s, want service_healthy", where, dep, svc.DependsOn[dep].Condition)
			}
		}
	}
	for what, want := range map[string]int{"junction router": 2, "junction gateway": 1, binAdapter: 1} {
		if counts[what] != want {
			t.Errorf("%d × %s, want %d (all: %v)", counts[what], what, want, counts)
		}
	}

	checkPublishedPorts(t, p)

	// Jaeger, for the tracing work: OTLP gRPC and HTTP, and the UI.
	jaeger, ok := p.Services["jaeger"]
	if !ok {
		t.Fatal("no jaeger service")
	}
	if !strings.HasPrefix(jaeger.Image, "jaegertracing/jaeger:") {
		t.Errorf("jaeger image %s, want jaegertracing/jaeger:<version>", jaeger.Image)
	}
	for _, want := range []uint32{4317, 4318, 16686} {
		if !slices.ContainsFunc(jaeger.Ports, func(p types.ServicePortConfig) bool { return p.Target == want }) {
			t.Errorf("jaeger does not publish port %d", want)
		}
	}
}

// natsHealthcheck checks a NATS healthcheck probes the monitoring port's
// /healthz (TestNATSClusterForms shows it answers 200 on a formed cluster).
func natsHealthcheck(test []string, conf *server.Options) string {
	for _, a := range test {
		u, err := url.Parse(a)
		if err != nil || u.Scheme != "http" {
			continue
		}
		if u.Port() != strconv.Itoa(conf.HTTPPort) {
			return "probes port " + u.Port() + ", the monitoring port is " + strconv.Itoa(conf.HTTPPort)
		}
		if u.Path != "/healthz" {
			return "probes " + u.Path + ", want /healthz"
		}
		return ""
	}
	return "no http:// URL to probe"
}

// checkNATSURL checks that a JUNCTION_NATS_URL lists every NATS server, on
// its client port.
func checkNATSURL(t *testing.T, where, list string, servers map[string]*server.Options) {
	t.Helper()
	seen := map[string]bool{}
	for _, raw := range strings.Split(list, ",") {
		u, err := url.Parse(strings.TrimSpace(raw))
		if err != nil || u.Scheme != "nats" {
			t.Errorf("%s: JUNCTION_NATS_URL entry %q is not a nats:// URL", where, raw)
			continue
		}
		o, ok := servers[u.Hostname()]
		if !ok {
			t.Errorf("%s: JUNCTION_NATS_URL host %s is not a NATS service (%v)", where, u.Hostname(), keys(servers))
			continue
		}
		if u.Port() != strconv.Itoa(o.Port) {
			t.Errorf("%s: JUNCTION_NATS_URL %s: port %s, %s listens for clients on %d", where, raw, u.Port(), u.Hostname(), o.Port)
		}
		seen[u.Hostname()] = true
	}
	if len(seen) != len(servers) {
		t.Errorf("%s: JUNCTION_NATS_URL %q lists %v, want all of %v so a client survives any one server", where, list, keys(seen), keys(servers))
	}
}

// mountsSecret reports whether svc mounts one of the project's file
// secrets at path (a compose secret's target, by default
// /run/secrets/<source>), read from deploy/secrets/, which is git-ignored.
func mountsSecret(p *types.Project, svc types.ServiceConfig, path string) bool {
	for _, sec := range svc.Secrets {
		target := sec.Target
		if target == "" {
			target = "/run/secrets/" + sec.Source
		} else if !strings.HasPrefix(target, "/") {
			target = "/run/secrets/" + target
		}
		def, ok := p.Secrets[sec.Source]
		if target == path && ok && def.File != "" && strings.Contains(filepath.ToSlash(def.File), "/deploy/secrets/") {
			return true
		}
	}
	return false
}

// checkPublishedPorts holds every published port to loopback, except a
// Junction listener that serves TLS (the webhook adapter: providers must
// reach it; every request is signed). NATS, the gateway and Jaeger stay on
// this machine.
func checkPublishedPorts(t *testing.T, p *types.Project) {
	t.Helper()
	tried, open := 0, 0
	for _, name := range keys(p.Services) {
		svc := p.Services[name]
		for _, port := range svc.Ports {
			tried++
			ip := net.ParseIP(port.HostIP)
			if ip != nil && ip.IsLoopback() {
				continue
			}
			tlsOn := svc.Environment["JUNCTION_TLS_CERT_FILE"] != nil && *svc.Environment["JUNCTION_TLS_CERT_FILE"] != ""
			httpAddr := ""
			if v := svc.Environment["JUNCTION_HTTP_ADDR"]; v != nil {
				httpAddr = *v
			}
			_, lport, _ := net.SplitHostPort(httpAddr)
			if !tlsOn || lport != strconv.Itoa(int(port.Target)) {
				t.Errorf("service %s publishes %d on %q (all interfaces) without TLS; bind it to 127.0.0.1 or serve TLS there", name, port.Target, port.HostIP)
				continue
			}
			open++
		}
	}
	t.Logf("published ports: %d, beyond loopback (TLS): %d", tried, open)
	if open > 1 {
		t.Errorf("%d ports open beyond loopback, want only the webhook listener", open)
	}
}
