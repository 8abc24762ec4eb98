package deploycheck

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/junctionhq/junction/adapters/sdk/topology"
	"github.com/junctionhq/junction/internal/testports"
)

// natsConfs are the cluster's server configs, in deploy/nats.
var natsConfs = []string{"nats-1.conf", "nats-2.conf", "nats-3.conf"}

// loadNATSConf parses one server config with nats-server's own parser.
func loadNATSConf(t testing.TB, name string) *server.Options {
	t.Helper()
	opts, err := server.ProcessConfigFile(deployPath(t, "nats", name))
	if err != nil {
		t.Fatalf("deploy/nats/%s does not parse: %v", name, err)
	}
	return opts
}

func TestNATSConfigs(t *testing.T) {
	all := map[string]*server.Options{}
	for _, name := range natsConfs {
		all[name] = loadNATSConf(t, name)
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
	var servers []*server.Server
	for i, name := range natsConfs {
		o := loadNATSConf(t, name).Clone()
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

	nc, err := nats.Connect(servers[0].ClientURL())
	if err != nil {
		t.Fatal(err)
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

// natsClientPort is the client port every config listens on.
func natsClientPort(t testing.TB) int {
	return loadNATSConf(t, natsConfs[0]).Port
}

// natsConfByPath maps an absolute config path to its parsed options.
func natsConfByPath(t testing.TB) map[string]*server.Options {
	m := map[string]*server.Options{}
	for _, name := range natsConfs {
		m[deployPath(t, "nats", name)] = loadNATSConf(t, name)
	}
	return m
}
