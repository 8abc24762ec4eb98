package hub

import (
	"context"
	"errors"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nkeys"

	"github.com/junctionhq/junction/adapters/sdk"
	"github.com/junctionhq/junction/adapters/sdk/platform"
	"github.com/junctionhq/junction/adapters/sdk/platform/topology"
	"github.com/junctionhq/junction/gateway"
	"github.com/junctionhq/junction/internal/natsauth"
	junctionv1 "github.com/junctionhq/junction/proto/junction/v1"
	"github.com/junctionhq/junction/services/router"
)

// TestNATSRefusesUnauthenticated: the embedded NATS of serve refuses a
// client without credentials, with a key it does not know, and with an
// in-process user's key over TCP; a seed file serve wrote is accepted.
func TestNATSRefusesUnauthenticated(t *testing.T) {
	h := startHub(t, testConfig(t.TempDir()))
	url := h.Addrs().NATS
	stranger, err := nkeys.CreateUser()
	if err != nil {
		t.Fatal(err)
	}
	strangerPub, _ := stranger.PublicKey()
	inProc, err := h.keys.InProcess(h.ns, platformUser)
	if err != nil {
		t.Fatal(err)
	}
	platformOverTCP := inProc[1:] // the key, without nats.InProcessServer
	tests := []struct {
		name string
		opts []nats.Option
	}{
		{"anonymous", nil},
		{"unknown nkey", []nats.Option{nats.Nkey(strangerPub, stranger.Sign)}},
		{"in-process platform key over TCP", platformOverTCP},
		{"user and password", []nats.Option{nats.UserInfo("admin", "admin")}},
		{"token", []nats.Option{nats.Token("s3cret")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			nc, err := nats.Connect(url, append(tt.opts, nats.NoReconnect())...)
			if err == nil {
				nc.Close()
				t.Fatalf("Connect(%s) as %s succeeded, want an authorization error", url, tt.name)
			}
			if !errors.Is(err, nats.ErrAuthorization) && !strings.Contains(strings.ToLower(err.Error()), "authorization") {
				t.Errorf("Connect as %s: %v, want an authorization violation", tt.name, err)
			}
		})
	}
	t.Logf("unauthenticated connects tried %d, refused %d", len(tests), len(tests))

	for _, name := range []string{"webhook", "router", "gateway", "subscriber"} {
		path := natsauth.SeedFile(h.cfg.DataDir, name)
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatalf("seed file of %s: %v", name, err)
		}
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("seed file %s has mode %v, want 0600", path, fi.Mode().Perm())
		}
		nc := connectAs(t, h, name)
		nc.Close()
	}
}

// connectAs connects to h's NATS over TCP with the seed file serve wrote
// for user name, through sdk.NATSAuth as an adapter would.
func connectAs(t *testing.T, h *running, name string) *nats.Conn {
	t.Helper()
	auth := sdk.NATSAuth{NkeyFile: natsauth.SeedFile(h.cfg.DataDir, name), InboxPrefix: topology.InboxPrefix(name)}
	opts, err := auth.Options(nil)
	if err != nil {
		t.Fatalf("options of %s: %v", name, err)
	}
	nc, err := nats.Connect(h.Addrs().NATS, append(opts, nats.NoReconnect(), nats.Name("matrix-"+name))...)
	if err != nil {
		t.Fatalf("connect as %s: %v", name, err)
	}
	t.Cleanup(nc.Close)
	return nc
}

// door is one thing a client tries on a connection of its own.
type door struct {
	name string
	try  func(nc *nats.Conn) error
}

// pub publishes to subject, as a request when it is a JetStream API.
func pub(subject string) func(*nats.Conn) error {
	return func(nc *nats.Conn) error {
		return nc.PublishRequest(subject, nc.NewInbox(), []byte(`{}`))
	}
}

// sub subscribes to subject.
func sub(subject string) func(*nats.Conn) error {
	return func(nc *nats.Conn) error {
		_, err := nc.SubscribeSync(subject)
		return err
	}
}

// matrix tries each door as user name, each on a fresh connection, and
// wants every one refused by the server with a permissions violation.
func matrix(t *testing.T, h *running, name string, doors []door) (tried, blocked int) {
	t.Helper()
	for _, d := range doors {
		t.Run(name+"/"+d.name, func(t *testing.T) {
			tried++
			nc := connectAs(t, h, name)
			if err := d.try(nc); err != nil && !isViolation(err) {
				t.Fatalf("%s: %v", d.name, err)
			}
			if err := nc.Flush(); err != nil {
				t.Fatalf("flush: %v", err)
			}
			// The server answers a forbidden publish or subscribe with
			// -ERR before the PONG of the flush, so it is recorded by now.
			if err := nc.LastError(); !isViolation(err) {
				t.Errorf("%s as %s: last error %v, want a permissions violation", d.name, name, err)
				return
			}
			blocked++
		})
	}
	return tried, blocked
}

func isViolation(err error) bool {
	return err != nil && (errors.Is(err, nats.ErrPermissionViolation) || strings.Contains(err.Error(), "Permissions Violation"))
}

// recordingSink is a sink that counts what it is given.
type recordingSink struct{ got atomic.Int64 }

func (s *recordingSink) Deliver(context.Context, *junctionv1.Delivery) error {
	s.got.Add(1)
	return nil
}

// TestNATSPermissionMatrix connects as one adapter (app acme: source acme,
// destination acme) and tries every other door, then does what the role
// is for; the router and gateway roles likewise for a few doors each.
func TestNATSPermissionMatrix(t *testing.T) {
	cfg := testConfig(t.TempDir())
	cfg.NATSUsers = []natsauth.User{{Name: "acme", Role: natsauth.RoleAdapter, Sources: []string{"acme"}}}
	h := startHub(t, cfg)
	ctx := context.Background()

	idem := "$KV." + topology.IdempotencyBucket + "."
	api := "$JS.API."
	adapterDoors := []door{
		{"publish another source's event", pub(topology.EventSubject("other", "user.created"))},
		{"publish an event of every source", pub("junction.events.>")},
		{"write the routes bucket", pub("$KV." + topology.RoutesBucket + ".evil")},
		{"forge a route status", pub("$KV." + topology.RouteStatusBucket + ".evil")},
		{"read the routes bucket (direct get)", pub(api + "DIRECT.GET.KV_" + topology.RoutesBucket + ".$KV." + topology.RoutesBucket + ".all")},
		{"read the routes bucket (watch)", pub(api + "CONSUMER.CREATE.KV_" + topology.RoutesBucket + ".spy.$KV." + topology.RoutesBucket + ".>")},
		{"delete EVENTS", pub(api + "STREAM.DELETE." + topology.EventsStream)},
		{"purge EVENTS", pub(api + "STREAM.PURGE." + topology.EventsStream)},
		{"update EVENTS (retention)", pub(api + "STREAM.UPDATE." + topology.EventsStream)},
		{"delete DLQ", pub(api + "STREAM.DELETE." + topology.DLQStream)},
		{"purge DELIVERIES", pub(api + "STREAM.PURGE." + topology.DeliveriesStream)},
		{"create a stream", pub(api + "STREAM.CREATE.SPY")},
		{"delete an event message", pub(api + "STREAM.MSG.DELETE." + topology.EventsStream)},
		{"read any event by sequence", pub(api + "STREAM.MSG.GET." + topology.EventsStream)},
		{"create a consumer on EVENTS", pub(api + "CONSUMER.CREATE." + topology.EventsStream + ".spy")},
		{"create a filtered consumer on EVENTS", pub(api + "CONSUMER.CREATE." + topology.EventsStream + ".spy.junction.events.>")},
		{"create a durable on EVENTS (old API)", pub(api + "CONSUMER.DURABLE.CREATE." + topology.EventsStream + ".spy")},
		{"pull from the router's consumer", pub(api + "CONSUMER.MSG.NEXT." + topology.EventsStream + "." + topology.RouterConsumer)},
		{"delete the router's consumer", pub(api + "CONSUMER.DELETE." + topology.EventsStream + "." + topology.RouterConsumer)},
		{"consume another destination's deliveries", pub(api + "CONSUMER.CREATE." + topology.DeliveriesStream + ".deliver-webhook.junction.deliveries.webhook.>")},
		{"own consumer name, another destination's filter", pub(api + "CONSUMER.CREATE." + topology.DeliveriesStream + ".deliver-acme.junction.deliveries.webhook.>")},
		{"pull another destination's deliveries", pub(api + "CONSUMER.MSG.NEXT." + topology.DeliveriesStream + "." + topology.DeliveryConsumer("webhook"))},
		{"pull another destination's retries", pub(api + "CONSUMER.MSG.NEXT." + topology.RetriesStream + "." + topology.RetryConsumer("webhook"))},
		{"read a parked delivery by sequence", pub(api + "STREAM.MSG.GET." + topology.LanesStream)},
		{"read another destination's lane", pub(api + "DIRECT.GET." + topology.LanesStream + "." + topology.LaneSubject("webhook", "r1"))},
		{"forge a delivery", pub(topology.DeliverySubject("acme", "r1"))},
		{"forge another destination's retry", pub(topology.RetrySubject("webhook", "r1"))},
		{"dead-letter another destination's delivery", pub(topology.DLQSubject("webhook", "r1"))},
		{"write another source's idempotency key", pub(idem + topology.IdempotencyKey("other", "evt_1"))},
		{"read another source's idempotency key", pub(api + "DIRECT.GET.KV_" + topology.IdempotencyBucket + "." + idem + topology.IdempotencyKey("other", "evt_1"))},
		{"forge another adapter's heartbeat", pub("$KV." + topology.AdaptersBucket + "." + topology.AdapterKey("webhook", "serve"))},
		{"write another app's cursor", pub("$KV." + topology.CursorsBucket + "." + topology.CursorKey("webhook", "default", "poll"))},
		{"read another app's cursor (direct get)", pub(api + "DIRECT.GET.KV_" + topology.CursorsBucket + ".$KV." + topology.CursorsBucket + "." + topology.CursorKey("webhook", "default", "poll"))},
		{"read any cursor by sequence", pub(api + "STREAM.MSG.GET.KV_" + topology.CursorsBucket)},
		{"watch the cursors bucket", pub(api + "CONSUMER.CREATE.KV_" + topology.CursorsBucket + ".spy.$KV." + topology.CursorsBucket + ".>")},
		{"subscribe to junction.>", sub("junction.>")},
		{"subscribe to every event", sub("junction.events.>")},
		{"subscribe to its own source's events", sub("junction.events.acme.>")},
		{"subscribe to another destination's deliveries", sub("junction.deliveries.webhook.>")},
		{"subscribe to everything", sub(">")},
		{"subscribe to the router's inbox", sub(topology.InboxPrefix("router") + ".>")},
		{"subscribe to default inboxes", sub("_INBOX.>")},
		{"subscribe to JetStream API traffic", sub("$JS.API.>")},
	}
	tried, blocked := matrix(t, h, "acme", adapterDoors)

	// What the role is for works: its own events (raw and through the
	// SDK's publisher, retried) and its sink on its own deliveries.
	allowed := 0
	nc := connectAs(t, h, "acme")
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	actx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if ack, err := js.Publish(actx, topology.EventSubject("acme", "raw.test"), []byte("raw")); err != nil || ack.Stream != topology.EventsStream {
		t.Errorf("raw publish to its own source = %v, %v; want stored on %s", ack, err, topology.EventsStream)
	} else {
		allowed++
	}
	p, err := sdk.NewPublisherWithOptions(js, sdk.PublisherOptions{Scoped: true})
	if err != nil {
		t.Fatalf("publisher as acme: %v", err)
	}
	rcv := &recordingSink{}
	runner, err := platform.NewRunner(sdk.Spec{App: "acme", Version: "test"}, rcv, nc, platform.RunnerOptions{
		Config: sdk.Config{Instance: "matrix", Concurrency: 4},
		Scoped: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	rctx, stopRunner := context.WithCancel(ctx)
	runDone := make(chan error, 1)
	go func() { runDone <- runner.Run(rctx) }()
	defer func() {
		stopRunner()
		if err := <-runDone; err != nil {
			t.Errorf("acme runner: %v", err)
		}
	}()
	waitFor(t, 30*time.Second, "acme sink consumer up", runner.Ready)
	created, err := h.gateway.CreateRoute(ctx, &junctionv1.CreateRouteRequest{RouteId: "to-acme", Route: &junctionv1.Route{
		Filter:  "acme.order.>",
		Targets: []*junctionv1.Target{{Name: "acme", Destination: "acme"}},
	}})
	if err != nil {
		t.Fatalf("CreateRoute: %v", err)
	}
	h.routeApplied(t, created.GetRoute().GetRevision())
	ev := &junctionv1.Event{Id: "ord_1", Source: "acme", Type: "order.placed", Data: []byte(`{}`)}
	if res, err := p.Publish(actx, ev); err != nil || res.Duplicate {
		t.Errorf("Publish as acme = %+v, %v; want stored", res, err)
	} else {
		allowed++
	}
	if res, err := p.Publish(actx, ev); err != nil || !res.Duplicate {
		t.Errorf("Publish again as acme = dup %v, %v; want a duplicate", res.Duplicate, err)
	} else {
		allowed++
	}
	// Its own cursor: create, read back, advance compare-and-set.
	if cs, err := sdk.NewCursorStore(actx, js, "acme", "", "poll"); err != nil {
		t.Errorf("cursor store as acme: %v", err)
	} else if rev, err := cs.Commit(actx, "page-2", 0); err != nil {
		t.Errorf("commit its own cursor as acme: %v", err)
	} else if cur, got, err := cs.Get(actx); err != nil || cur != "page-2" || got != rev {
		t.Errorf("get its own cursor as acme = %q, %d, %v; want page-2 at %d", cur, got, err, rev)
	} else if _, err := cs.Commit(actx, "page-3", rev); err != nil {
		t.Errorf("advance its own cursor as acme: %v", err)
	} else {
		allowed++
	}
	waitFor(t, 30*time.Second, "the acme sink delivered the event", func() error {
		if rcv.got.Load() < 1 {
			return errors.New("nothing delivered yet")
		}
		return nil
	})
	allowed++
	// The doors left the hub as it was.
	pc, err := platformConn(h.Hub)
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	pjs, _ := jetstream.New(pc)
	if _, err := pjs.Stream(actx, topology.EventsStream); err != nil {
		t.Errorf("EVENTS after the matrix: %v", err)
	}
	routes, _ := pjs.KeyValue(actx, topology.RoutesBucket)
	if _, err := routes.Get(actx, "evil"); !errors.Is(err, jetstream.ErrKeyNotFound) {
		t.Errorf("routes key written by the adapter: %v, want not found", err)
	}
	t.Logf("NATS matrix, adapter acme: %d doors tried, %d blocked; %d intended actions allowed (raw publish to its source, SDK publish, duplicate answer, its own cursor, sink delivery end to end)", tried, blocked, allowed)

	routerDoors := []door{
		{"write the routes bucket", pub("$KV." + topology.RoutesBucket + ".evil")},
		{"publish an event", pub(topology.EventSubject("acme", "user.created"))},
		{"delete EVENTS", pub(api + "STREAM.DELETE." + topology.EventsStream)},
		{"purge EVENTS", pub(api + "STREAM.PURGE." + topology.EventsStream)},
		{"pull a destination's deliveries", pub(api + "CONSUMER.MSG.NEXT." + topology.DeliveriesStream + "." + topology.DeliveryConsumer("webhook"))},
		{"subscribe to the gateway's inbox", sub(topology.InboxPrefix("gateway") + ".>")},
		{"subscribe to junction.>", sub("junction.>")},
	}
	rt, rb := matrix(t, h, "router", routerDoors)
	gatewayDoors := []door{
		{"delete EVENTS", pub(api + "STREAM.DELETE." + topology.EventsStream)},
		{"delete DLQ", pub(api + "STREAM.DELETE." + topology.DLQStream)},
		{"purge EVENTS", pub(api + "STREAM.PURGE." + topology.EventsStream)},
		{"delete the router's consumer", pub(api + "CONSUMER.DELETE." + topology.EventsStream + "." + topology.RouterConsumer)},
		{"pull from the router's consumer", pub(api + "CONSUMER.MSG.NEXT." + topology.EventsStream + "." + topology.RouterConsumer)},
		{"subscribe to the router's inbox", sub(topology.InboxPrefix("router") + ".>")},
		{"subscribe to junction.>", sub("junction.>")},
	}
	gt, gb := matrix(t, h, "gateway", gatewayDoors)
	subscriberDoors := []door{
		{"publish an event", pub(topology.EventSubject("acme", "user.created"))},
		{"stream info of DELIVERIES", pub(api + "STREAM.INFO." + topology.DeliveriesStream)},
		{"a consumer named otherwise", pub(api + "CONSUMER.CREATE." + topology.EventsStream + ".spy.junction.events.>")},
		{"pull from the router's consumer", pub(api + "CONSUMER.MSG.NEXT." + topology.EventsStream + "." + topology.RouterConsumer)},
		{"a consumer on DELIVERIES", pub(api + "CONSUMER.CREATE." + topology.DeliveriesStream + ".subscriber.junction.deliveries.>")},
		{"delete EVENTS", pub(api + "STREAM.DELETE." + topology.EventsStream)},
		{"subscribe to deliveries", sub("junction.deliveries.>")},
		{"subscribe to the router's inbox", sub(topology.InboxPrefix("router") + ".>")},
	}
	st, sb := matrix(t, h, "subscriber", subscriberDoors)

	// The router and gateway users can do their work: a router and a
	// gateway of their own start on those connections, and the gateway
	// writes a route.
	ralive := 0
	rjs, _ := jetstream.New(connectAs(t, h, "router"))
	r, err := router.New(rjs, router.Options{})
	if err != nil {
		t.Fatalf("router as router: %v", err)
	}
	rrctx, stopR := context.WithCancel(ctx)
	rdone := make(chan error, 1)
	go func() { rdone <- r.Run(rrctx) }()
	waitFor(t, 30*time.Second, "router user's router ready", r.Ready)
	ralive++
	stopR()
	if err := <-rdone; err != nil {
		t.Errorf("router as router: %v", err)
	}
	gjs, _ := jetstream.New(connectAs(t, h, "gateway"))
	gw, err := gateway.New(actx, gateway.Config{JS: gjs, Version: "test"})
	if err != nil {
		t.Fatalf("gateway as gateway: %v", err)
	}
	if _, err := gw.CreateRoute(actx, &junctionv1.CreateRouteRequest{RouteId: "by-gateway-user", Route: &junctionv1.Route{
		Filter: "acme.>", Targets: []*junctionv1.Target{{Name: "t", Destination: "acme"}},
	}}); err != nil {
		t.Errorf("CreateRoute as gateway: %v", err)
	} else {
		ralive++
	}
	// A subscriber reads events with a plain subscription.
	snc := connectAs(t, h, "subscriber")
	ssub, err := snc.SubscribeSync("junction.events.>")
	if err != nil {
		t.Fatal(err)
	}
	if err := snc.Flush(); err != nil || snc.LastError() != nil {
		t.Fatalf("subscriber subscribe: %v, %v", err, snc.LastError())
	}
	if _, err := js.Publish(actx, topology.EventSubject("acme", "seen.by.subscriber"), []byte("x")); err != nil {
		t.Fatal(err)
	}
	if m, err := ssub.NextMsg(30 * time.Second); err != nil {
		t.Errorf("subscriber got no event: %v", err)
	} else if m.Subject != topology.EventSubject("acme", "seen.by.subscriber") {
		t.Errorf("subscriber got %s", m.Subject)
	} else {
		ralive++
	}
	// and through its own durable consumer, with the SDK.
	sjs, _ := jetstream.New(snc)
	got := make(chan string, 1)
	sctx, stopSub := context.WithCancel(ctx)
	subDone := make(chan error, 1)
	go func() {
		subDone <- sdk.Subscribe(sctx, sjs, "subscriber", "acme.>", func(_ context.Context, e *junctionv1.Event) error {
			select {
			case got <- e.GetId():
			default:
			}
			return nil
		})
	}()
	select {
	case id := <-got:
		if id == "" {
			t.Errorf("subscriber's consumer got an event without id")
		}
		ralive++
	case err := <-subDone:
		t.Errorf("sdk.Subscribe as subscriber: %v", err)
		subDone <- nil
	case <-time.After(30 * time.Second):
		t.Errorf("sdk.Subscribe as subscriber got no event")
	}
	stopSub()
	if err := <-subDone; err != nil {
		t.Errorf("sdk.Subscribe as subscriber: %v", err)
	}
	t.Logf("NATS matrix, router: %d doors tried, %d blocked; gateway: %d tried, %d blocked; subscriber: %d tried, %d blocked; %d intended actions allowed (router runs, gateway writes a route, subscriber reads events plainly and through its consumer)",
		rt, rb, gt, gb, st, sb, ralive)
	t.Logf("NATS matrix total: %d doors tried, %d blocked; %d intended actions allowed",
		tried+rt+gt+st, blocked+rb+gb+sb, allowed+ralive)
}

// TestConfigNATSKeys: nats_users and the client credential keys load from
// the file, JUNCTION_NATS_* override them, and a bad user is reported.
func TestConfigNATSKeys(t *testing.T) {
	path := t.TempDir() + "/junction.yaml"
	yaml := "nats_url: nats://n1:4222\nnats_nkey_file: /etc/junction/serve.nk\nnats_users:\n  - {name: acme, role: adapter, sources: [acme]}\n  - {name: bad, role: admin}\n"
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"JUNCTION_NATS_CA": "/run/ca.pem"}
	cfg, err := Load(path, func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if cfg.NATSAuth.NkeyFile != "/etc/junction/serve.nk" || cfg.NATSAuth.CAFile != "/run/ca.pem" || len(cfg.NATSUsers) != 2 {
		t.Errorf("loaded %+v and %d users, want the file's nkey, the env's CA and 2 users", cfg.NATSAuth, len(cfg.NATSUsers))
	}
	cfg.SetDefaults()
	if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), `role "admin"`) {
		t.Errorf("Validate = %v, want an error about role \"admin\"", err)
	}
}
