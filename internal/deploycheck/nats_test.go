package deploycheck

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nkeys"

	"github.com/junctionhq/junction/adapters/sdk/platform/tlsconfig"
	"github.com/junctionhq/junction/adapters/sdk/platform/topology"
	"github.com/junctionhq/junction/internal/testports"
)

// natsConfs are the cluster's server configs, in deploy/nats.
var natsConfs = []string{"nats-1.conf", "nats-2.conf", "nats-3.conf"}

// natsRoles are the nkey users of deploy/nats/auth.conf: the variable
// holding each one's public key, and its inbox prefix.
var natsRoles = []struct{ env, name string }{
	{"JUNCTION_NKEY_ROUTER", "router"},
	{"JUNCTION_NKEY_GATEWAY", "gateway"},
	{"JUNCTION_NKEY_WEBHOOK_ADAPTER", "webhook"},
}

// natsFixture stands in for what deploy/gen-certs.sh makes: a CA, a server
// certificate (for the loopback address in tests; every server shares it)
// and one nkey per role, generated per test, never committed. Its dir holds
// the configs with /etc/nats/tls/ pointed at the generated files.
type natsFixture struct {
	dir   string
	ca    *tlsconfig.Authority
	caPEM string
	seeds map[string][]byte // role name -> nkey seed
}

func newNATSFixture(t testing.TB) *natsFixture {
	t.Helper()
	ca, err := tlsconfig.NewAuthority("deploycheck CA", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	f := &natsFixture{dir: t.TempDir(), ca: ca, seeds: map[string][]byte{}}
	srv, err := ca.Issue("nats", []string{"127.0.0.1", "localhost"}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	certPEM, keyPEM, err := tlsconfig.EncodePEM(srv)
	if err != nil {
		t.Fatal(err)
	}
	tlsDir := filepath.Join(f.dir, "tls")
	f.caPEM = filepath.Join(tlsDir, "ca.pem")
	files := map[string][]byte{"server.crt": certPEM, "server.key": keyPEM, "ca.pem": ca.CertPEM()}
	if err := os.MkdirAll(tlsDir, 0o700); err != nil {
		t.Fatal(err)
	}
	for name, b := range files {
		if err := os.WriteFile(filepath.Join(tlsDir, name), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	for _, r := range natsRoles {
		kp, err := nkeys.CreateUser()
		if err != nil {
			t.Fatal(err)
		}
		pub, _ := kp.PublicKey()
		f.seeds[r.name], _ = kp.Seed()
		t.Setenv(r.env, pub)
	}
	// The configs and their include, with the mounted paths moved here.
	ents, err := os.ReadDir(deployPath(t, "nats"))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		b, err := os.ReadFile(deployPath(t, "nats", e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		b = []byte(strings.ReplaceAll(string(b), "/etc/nats/tls/", tlsDir+"/"))
		if err := os.WriteFile(filepath.Join(f.dir, e.Name()), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return f
}

// load parses one server config with nats-server's own parser.
func (f *natsFixture) load(t testing.TB, name string) *server.Options {
	t.Helper()
	opts, err := server.ProcessConfigFile(filepath.Join(f.dir, name))
	if err != nil {
		t.Fatalf("deploy/nats/%s does not parse (with the files deploy/gen-certs.sh makes): %v", name, err)
	}
	return opts
}

// connect connects as role ("" for anonymous) over TLS trusting the CA.
func (f *natsFixture) connect(url, role string) (*nats.Conn, error) {
	opts := []nats.Option{nats.RootCAs(f.caPEM), nats.MaxReconnects(0), nats.Timeout(10 * time.Second),
		nats.ErrorHandler(func(*nats.Conn, *nats.Subscription, error) {})} // refusals are checked, not printed
	if role != "" {
		kp, err := nkeys.FromSeed(f.seeds[role])
		if err != nil {
			return nil, err
		}
		pub, _ := kp.PublicKey()
		opts = append(opts, nats.Nkey(pub, kp.Sign), nats.CustomInboxPrefix("_INBOX_junction."+role))
	}
	return nats.Connect(url, opts...)
}

func TestNATSConfigs(t *testing.T) {
	fx := newNATSFixture(t)
	all := map[string]*server.Options{}
	for _, name := range natsConfs {
		all[name] = fx.load(t, name)
	}
	names := map[string]string{} // server name -> file
	for _, name := range natsConfs {
		o := all[name]
		if prev, dup := names[o.ServerName]; dup {
			t.Errorf("%s and %s both have server_name %q; each server needs its own", prev, name, o.ServerName)
		}
		names[o.ServerName] = name
	}
	first := all[natsConfs[0]]
	for _, name := range natsConfs {
		t.Run(name, func(t *testing.T) {
			o := all[name]
			if !o.JetStream {
				t.Error("jetstream is off; Junction needs JetStream")
			}
			if o.StoreDir == "" {
				t.Error("jetstream store_dir is empty; give the file store a directory on a volume")
			}
			if o.ServerName == "" {
				t.Error("server_name is empty; a JetStream cluster needs unique server names")
			}
			if o.Cluster.Name == "" || o.Cluster.Port <= 0 {
				t.Errorf("cluster name %q port %d: want a named cluster with a listen port", o.Cluster.Name, o.Cluster.Port)
			}
			if o.Port <= 0 || o.HTTPPort <= 0 {
				t.Errorf("client port %d, monitoring port %d: want both set (clients and /healthz)", o.Port, o.HTTPPort)
			}
			for what, got := range map[string]any{
				"cluster name": o.Cluster.Name, "cluster port": o.Cluster.Port, "client port": o.Port,
				"monitoring port": o.HTTPPort, "store_dir": o.StoreDir, "sync_interval": o.SyncInterval, "sync always": o.SyncAlways,
			} {
				want := map[string]any{
					"cluster name": first.Cluster.Name, "cluster port": first.Cluster.Port, "client port": first.Port,
					"monitoring port": first.HTTPPort, "store_dir": first.StoreDir, "sync_interval": first.SyncInterval, "sync always": first.SyncAlways,
				}[what]
				if got != want {
					t.Errorf("%s = %v, but %s has %v; keep the three files identical apart from server_name and routes", what, got, natsConfs[0], want)
				}
			}

			// Routes: exactly the other two servers, by the host names the
			// compose services (named after server_name) resolve to.
			var got []string
			for _, u := range o.Routes {
				if u.Port() != strconv.Itoa(o.Cluster.Port) {
					t.Errorf("route %s: port %s, want the cluster port %d", u, u.Port(), o.Cluster.Port)
				}
				got = append(got, u.Hostname())
			}
			var want []string
			for sn := range names {
				if sn != o.ServerName {
					want = append(want, sn)
				}
			}
			slices.Sort(got)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Errorf("routes to %v, want the other servers %v", got, want)
			}

			// Closed: TLS for clients and routes, nkey users only,
			// monitoring on loopback.
			if o.TLSConfig == nil || o.TLSConfig.MinVersion < tls.VersionTLS12 {
				t.Error("clients are not required to use TLS 1.2+: give the server a tls {} block")
			}
			if o.Cluster.TLSConfig == nil || o.Cluster.TLSConfig.ClientAuth != tls.RequireAndVerifyClientCert {
				t.Error("cluster routes are not mutual TLS: give cluster a tls {} block with verify: true")
			}
			if len(o.Nkeys) != len(natsRoles) || len(o.Users) != 0 || o.Username != "" || o.Authorization != "" || o.NoAuthUser != "" {
				t.Errorf("auth: %d nkey users, %d password users, no_auth_user %q; want exactly the %d nkey users of auth.conf", len(o.Nkeys), len(o.Users), o.NoAuthUser, len(natsRoles))
			}
			for _, u := range o.Nkeys {
				if u.Permissions == nil || u.Permissions.Publish == nil || u.Permissions.Subscribe == nil {
					t.Errorf("nkey user %s has no publish and subscribe permissions; every role is limited", u.Nkey)
				}
			}
			if ip := net.ParseIP(o.HTTPHost); ip == nil || !ip.IsLoopback() {
				t.Errorf("monitoring listens on %q; it has no auth, keep it on 127.0.0.1", o.HTTPHost)
			}

			// The server accepts the options as a whole (it validates the
			// JetStream cluster settings without listening on anything).
			o2 := o.Clone()
			o2.StoreDir = t.TempDir()
			if _, err := server.NewServer(o2); err != nil {
				t.Errorf("nats-server rejects the config: %v", err)
			}
		})
	}
}

// TestNATSClusterForms starts the three configs in this process (ports and
// routes moved to loopback, the rest as written) and checks that they form
// a JetStream cluster: /healthz, the compose healthcheck's path, answers
// 200 on each, and Junction's topology is created with 3 replicas.
func TestNATSClusterForms(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a 3-node cluster")
	}
	// Cluster ports must be known before the servers start (a JetStream
	// cluster refuses to start without routes), so pick free ones.
	ports := testports.Free(t, len(natsConfs))
	fx := newNATSFixture(t)
	var servers []*server.Server
	for i, name := range natsConfs {
		o := fx.load(t, name).Clone()
		o.Host, o.Port = "127.0.0.1", server.RANDOM_PORT
		o.HTTPHost, o.HTTPPort = "127.0.0.1", server.RANDOM_PORT
		o.Cluster.Host, o.Cluster.Port = "127.0.0.1", ports[i]
		o.StoreDir = t.TempDir()
		o.LameDuckDuration, o.LameDuckGracePeriod = 0, 0
		o.NoLog, o.NoSigs = true, true
		o.Routes = nil
		for j, p := range ports {
			if j != i {
				o.Routes = append(o.Routes, server.RoutesFromStr(fmt.Sprintf("nats://127.0.0.1:%d", p))...)
			}
		}
		s, err := server.NewServer(o)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		s.Start()
		t.Cleanup(s.Shutdown)
		servers = append(servers, s)
	}
	for i, s := range servers {
		if !s.ReadyForConnections(10 * time.Second) {
			t.Fatalf("%s: not ready for connections", natsConfs[i])
		}
	}

	deadline := time.Now().Add(30 * time.Second)
	for _, s := range servers {
		url := fmt.Sprintf("http://%s/healthz", s.MonitorAddr())
		for {
			err := getOK(url)
			if err == nil {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s never became healthy: %v", s.Name(), err)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}

	checkNATSDoors(t, fx, servers[0].ClientURL())
	nc, err := fx.connect(servers[0].ClientURL(), "gateway")
	if err != nil {
		t.Fatalf("connect as the gateway with its nkey: %v", err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for {
		err = topology.Ensure(ctx, js, topology.Options{Replicas: 3})
		if err == nil || ctx.Err() != nil {
			break
		}
		time.Sleep(200 * time.Millisecond) // the meta leader may still be settling
	}
	if err != nil {
		t.Fatalf("create Junction's topology with 3 replicas: %v", err)
	}
	st, err := js.Stream(ctx, topology.EventsStream)
	if err != nil {
		t.Fatal(err)
	}
	info, err := st.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got := 1 + len(info.Cluster.Replicas); got != 3 || info.Config.Replicas != 3 {
		t.Errorf("EVENTS has %d placed replicas (config %d), want 3", got, info.Config.Replicas)
	}

	// The webhook adapter stores an event with its own credentials.
	anc, err := fx.connect(servers[1].ClientURL(), "webhook")
	if err != nil {
		t.Fatal(err)
	}
	defer anc.Close()
	ajs, err := jetstream.New(anc)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ajs.Publish(ctx, topology.EventsPrefix+"acme.user.created", []byte("{}")); err != nil {
		t.Errorf("the webhook adapter publishes an event: %v", err)
	}
}

func getOK(url string) error {
	resp, err := http.Get(url)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return nil
}

// checkNATSDoors checks who the running cluster lets in: anonymous and
// plaintext clients and an unknown nkey are refused at connect; each role
// connects with its own seed.
func checkNATSDoors(t *testing.T, fx *natsFixture, url string) {
	t.Helper()
	if nc, err := fx.connect(url, ""); err == nil {
		nc.Close()
		t.Error("an anonymous client (TLS, no credentials) was let in")
	} else if !errors.Is(err, nats.ErrAuthorization) && !strings.Contains(strings.ToLower(err.Error()), "authorization") {
		t.Errorf("anonymous client: %v, want an authorization violation", err)
	}
	if nc, err := nats.Connect(url, nats.MaxReconnects(0), nats.Timeout(10*time.Second)); err == nil {
		nc.Close()
		t.Error("a client that trusts no CA and has no credentials was let in")
	}
	stranger, _ := nkeys.CreateUser()
	spub, _ := stranger.PublicKey()
	if nc, err := nats.Connect(url, nats.RootCAs(fx.caPEM), nats.Nkey(spub, stranger.Sign), nats.MaxReconnects(0)); err == nil {
		nc.Close()
		t.Error("an nkey that is not in auth.conf was let in")
	}
	for _, r := range natsRoles {
		nc, err := fx.connect(url, r.name)
		if err != nil {
			t.Errorf("connect as %s with its nkey: %v", r.name, err)
			continue
		}
		// The adapter may not touch the router's deliveries or the streams.
		if r.name == "webhook" {
			js, _ := jetstream.New(nc)
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
			if err := js.DeleteStream(ctx, topology.EventsStream); err == nil {
				t.Error("the webhook adapter deleted the EVENTS stream")
			}
			cancel()
		}
		nc.Close()
	}
}

// natsConfByPath maps an absolute config path to its parsed options.
func natsConfByPath(t testing.TB) map[string]*server.Options {
	m := map[string]*server.Options{}
	fx := newNATSFixture(t)
	for _, name := range natsConfs {
		m[deployPath(t, "nats", name)] = fx.load(t, name)
	}
	return m
}
