package hub

import (
	"fmt"
	"path/filepath"
	"slices"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/junctionhq/junction/adapters/sdk"
	"github.com/junctionhq/junction/internal/natsauth"
	"github.com/junctionhq/junction/internal/natsserver"
)

// In-process users of the embedded NATS: the hub's own components, each
// with its role's permissions and keys that exist only in memory.
const (
	platformUser = "serve"
	routerUser   = "router"
	gatewayUser  = "gateway"
	adapterUser  = "webhook"
)

// conns are the NATS connections of the hub's components. With an
// embedded NATS each component has its own in-process connection and
// user; with an external one they all share the platform connection.
type conns struct {
	router, gateway, adapter *nats.Conn
	// apps are the connections of the `sources:` app adapters, by app.
	apps map[string]*nats.Conn
	// scoped says the adapter's connection has the adapter role.
	scoped bool
}

// webhookSources are the sources of the built-in webhook adapter.
func (c *Config) webhookSources() []string {
	var out []string
	for _, s := range c.Webhook.Sources {
		out = append(out, s.Name)
	}
	return out
}

// startNATS starts the embedded NATS with its users, writing the seed
// files of those of other processes, or names the external one, and opens
// the platform connection h.nc and the components' connections.
func (h *Hub) startNATS() error {
	cfg := h.cfg
	if cfg.NATSURL != "" {
		opts, err := cfg.NATSAuth.Options(nil)
		if err != nil {
			return fmt.Errorf("nats: %w", err)
		}
		h.nc, err = nats.Connect(cfg.NATSURL, append(opts,
			nats.Name("junction-serve"),
			nats.MaxReconnects(-1),
			nats.RetryOnFailedConnect(false),
		)...)
		if err != nil {
			return fmt.Errorf("connect to NATS at %s: %w", sdk.RedactURLs(cfg.NATSURL), err)
		}
		h.conns = conns{router: h.nc, gateway: h.nc, adapter: h.nc, apps: map[string]*nats.Conn{}}
		for _, a := range cfg.sourceApps() {
			h.conns.apps[a] = h.nc
		}
		return nil
	}
	external := natsauth.Merge(natsauth.Defaults(cfg.webhookSources()), cfg.NATSUsers)
	internal := []natsauth.User{
		{Name: platformUser, Role: natsauth.RolePlatform},
		{Name: routerUser, Role: natsauth.RoleRouter},
		{Name: gatewayUser, Role: natsauth.RoleGateway},
		{Name: adapterUser, Role: natsauth.RoleAdapter, Sources: cfg.webhookSources()},
	}
	// Each app adapter run by serve connects as its own adapter user,
	// named after the app (its registration and cursors are keyed by it),
	// unless nats_users already defines that user for standalone copies.
	for _, a := range cfg.sourceApps() {
		if !slices.ContainsFunc(external, func(u natsauth.User) bool { return u.Name == a }) {
			// Destinations: an app with a Sink consumes its own deliveries.
			internal = append(internal, natsauth.User{Name: a, Role: natsauth.RoleAdapter, Sources: []string{a}, Destinations: []string{a}})
		}
	}
	keys, err := natsauth.Setup(cfg.DataDir, external, internal)
	if err != nil {
		return err
	}
	h.keys = keys
	always, interval, _ := cfg.syncPolicy()
	h.ns, err = natsserver.Start(natsserver.Options{
		Addr:         cfg.NATSAddr,
		StoreDir:     cfg.DataDir, // the server keeps its store in <dir>/jetstream
		SyncAlways:   always,
		SyncInterval: interval,
		MaxStore:     int64(cfg.Storage.MaxStore),
		Users:        keys.ServerUsers(),
		TLS:          h.tls.NATSConfig(),
	}, h.logger)
	if err != nil {
		return err
	}
	names := slices.Sorted(func(yield func(string) bool) {
		for n := range keys.Files() {
			if !yield(n) {
				return
			}
		}
	})
	h.logger.Info("nats requires credentials; nkey seeds of its users written", "dir", filepath.Join(cfg.DataDir, natsauth.SeedDir), "users", names)
	connect := func(user string) (*nats.Conn, error) {
		opts, err := keys.InProcess(h.ns, user)
		if err != nil {
			return nil, err
		}
		nc, err := nats.Connect("", append(opts,
			nats.Name("junction-serve/"+user),
			nats.MaxReconnects(-1),
			nats.RetryOnFailedConnect(false),
			nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) {
				h.logger.Warn("nats connection error", "user", user, "error", err)
			}),
		)...)
		if err != nil {
			return nil, fmt.Errorf("connect to the embedded NATS as %s: %w", user, err)
		}
		return nc, nil
	}
	if h.nc, err = connect(platformUser); err != nil {
		return err
	}
	if h.conns.router, err = connect(routerUser); err != nil {
		return err
	}
	if h.conns.gateway, err = connect(gatewayUser); err != nil {
		return err
	}
	if h.conns.adapter, err = connect(adapterUser); err != nil {
		return err
	}
	h.conns.apps = map[string]*nats.Conn{}
	for _, a := range cfg.sourceApps() {
		if h.conns.apps[a], err = connect(a); err != nil {
			return err
		}
	}
	h.conns.scoped = true
	return nil
}

// componentJS is a JetStream context over a component's connection.
func componentJS(nc *nats.Conn) (jetstream.JetStream, error) {
	js, err := jetstream.New(nc)
	if err != nil {
		return nil, fmt.Errorf("jetstream: %w", err)
	}
	return js, nil
}

// closeComponents closes the components' own connections (not the shared
// platform one).
func (h *Hub) closeComponents() {
	all := []*nats.Conn{h.conns.router, h.conns.gateway, h.conns.adapter}
	for _, nc := range h.conns.apps {
		all = append(all, nc)
	}
	for _, nc := range all {
		if nc != nil && nc != h.nc {
			drain(nc)
		}
	}
}

// CredentialsDir is where the embedded NATS's seed files are, empty with
// an external NATS.
func (h *Hub) CredentialsDir() string {
	if h.keys == nil {
		return ""
	}
	return filepath.Join(h.cfg.DataDir, natsauth.SeedDir)
}

// drain drains nc, closing it when draining fails, and waits for it to
// close.
func drain(nc *nats.Conn) {
	if err := nc.Drain(); err != nil {
		nc.Close()
	}
	deadline := time.Now().Add(shutdownTimeout)
	for !nc.IsClosed() && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
}
