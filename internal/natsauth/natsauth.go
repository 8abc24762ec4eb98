// Package natsauth decides who may do what on the embedded NATS of
// `junction serve`: the roles of the hub's users (platform, router,
// gateway, adapter, subscriber), the publish and subscribe permissions of
// each, built from the topology's names, and the nkeys the users
// authenticate with.
//
// Why NATS users with nkeys rather than accounts with JWTs: every role
// works on the same streams and buckets, so one account with per-user
// subject permissions confines each client without the stream exports and
// imports that separate accounts would need; nkeys are challenge-response
// (the server stores only public keys, a seed never crosses the wire), and
// need no operator, resolver or signing chain to run. A NATS run by the
// operator may still use JWT credentials: clients take creds files too
// (sdk.NATSAuth).
package natsauth

import (
	"errors"
	"fmt"
	"slices"

	"github.com/nats-io/jwt/v2"
	"github.com/nats-io/nats-server/v2/server"

	"github.com/junctionhq/junction/adapters/sdk/platform/topology"
)

// Role is what a NATS user of the hub is for.
type Role string

// Roles. Each is allowed only what it needs; see Permissions.
const (
	// RolePlatform is `junction serve` itself (topology, gauges): every
	// subject. serve's own platform user exists only in process; a
	// configured one (for `junction serve --nats-url` on a NATS run apart,
	// or an operator's tools) gets a seed file like any other.
	RolePlatform Role = "platform"
	// RoleRouter consumes EVENTS through the shared router consumer,
	// reads routes and publishes deliveries and dead letters.
	RoleRouter Role = "router"
	// RoleGateway serves the API: writes routes, publishes events, reads
	// events, attempts, adapters and idempotency records, administers the
	// DLQ.
	RoleGateway Role = "gateway"
	// RoleAdapter publishes its own sources' events and works its own
	// destinations' deliveries.
	RoleAdapter Role = "adapter"
	// RoleSubscriber is a user's own service: it reads events, with a
	// plain subscription or through its own durable consumer on EVENTS
	// (named after the user), nothing else.
	RoleSubscriber Role = "subscriber"
)

// User is a NATS user of the embedded hub.
type User struct {
	// Name names the user: its seed file is <data_dir>/nats/<name>.nk and
	// its replies come under topology.InboxPrefix(name). An adapter's name
	// is its app.
	Name string `yaml:"name"`
	// Role is adapter, subscriber, router, gateway or platform.
	Role Role `yaml:"role"`
	// Sources an adapter may publish events of, or a subscriber may read
	// (every source when empty; "*" says every source explicitly).
	Sources []string `yaml:"sources"`
	// Destinations whose deliveries an adapter works; default its name,
	// which is the destination an SDK sink consumes.
	Destinations []string `yaml:"destinations"`
}

// Validate says what is wrong with u.
func (u User) Validate() error {
	var errs []error
	if err := topology.ValidToken(u.Name); err != nil {
		errs = append(errs, fmt.Errorf("nats_users: name: %w", err))
	}
	switch u.Role {
	case RoleAdapter, RoleSubscriber, RoleRouter, RoleGateway, RolePlatform:
	default:
		errs = append(errs, fmt.Errorf("nats_users %q: role %q must be adapter, subscriber, router, gateway or platform", u.Name, u.Role))
	}
	for _, s := range u.Sources {
		if s == "*" {
			continue
		}
		if err := topology.ValidToken(s); err != nil {
			errs = append(errs, fmt.Errorf("nats_users %q: sources: %w", u.Name, err))
		}
	}
	for _, d := range u.Destinations {
		if err := topology.ValidToken(d); err != nil {
			errs = append(errs, fmt.Errorf("nats_users %q: destinations: %w", u.Name, err))
		}
	}
	if (u.Role == RoleRouter || u.Role == RoleGateway || u.Role == RolePlatform) && (len(u.Sources) > 0 || len(u.Destinations) > 0) {
		errs = append(errs, fmt.Errorf("nats_users %q: a %s has no sources or destinations", u.Name, u.Role))
	}
	if u.Role == RoleSubscriber && len(u.Destinations) > 0 {
		errs = append(errs, fmt.Errorf("nats_users %q: a subscriber has no destinations", u.Name))
	}
	return errors.Join(errs...)
}

// Permissions are the subjects a user may publish to and subscribe to;
// everything else is refused by the server.
type Permissions struct {
	Publish   []string
	Subscribe []string
}

// API subject prefixes of JetStream.
const (
	jsAPI = "$JS.API."
	jsAck = "$JS.ACK."
	jsFC  = "$JS.FC."
	kvPre = "$KV."
)

// kvStream is the stream behind a key-value bucket.
func kvStream(bucket string) string { return "KV_" + bucket }

// hubStreams are the names of every stream of the hub, buckets included.
func hubStreams() []string {
	var names []string
	for _, s := range topology.Streams(topology.Options{}) {
		names = append(names, s.Name)
	}
	for _, b := range topology.Buckets(topology.Options{}) {
		names = append(names, kvStream(b.Bucket))
	}
	return names
}

// streamAPI is $JS.API.<verb>.<stream> for every hub stream.
func streamAPI(verbs ...string) []string {
	var out []string
	for _, v := range verbs {
		for _, s := range hubStreams() {
			out = append(out, jsAPI+v+"."+s)
		}
	}
	return out
}

// kvRead is what reading a bucket with Get, Watch and ListKeys needs:
// direct gets of its keys and ordered consumers on its stream.
func kvRead(bucket string) []string {
	s := kvStream(bucket)
	return []string{
		jsAPI + "DIRECT.GET." + s + ".>",
		jsAPI + "STREAM.MSG.GET." + s,
		jsAPI + "CONSUMER.CREATE." + s + ".>",
		jsAPI + "CONSUMER.DELETE." + s + ".>",
		jsAPI + "CONSUMER.INFO." + s + ".>",
		jsFC + s + ".>",
	}
}

// cursorKeys is what an app's sdk.CursorStore needs: write (put, update,
// delete) and read by direct get the cursor keys under the app, no other
// app's. Reading by sequence (STREAM.MSG.GET) is not allowed, since its
// subject names no key: the bucket allows direct gets, which the client
// uses.
func cursorKeys(app string) []string {
	keys := kvPre + topology.CursorsBucket + "." + app + ".>"
	return []string{keys, jsAPI + "DIRECT.GET." + kvStream(topology.CursorsBucket) + "." + keys}
}

// durable is what working a durable pull consumer named name on stream
// with filter needs: creating it (the filter is part of the create
// subject, so the server holds the client to it), its info, fetching and
// acknowledging.
func durable(stream, name, filter string) []string {
	return []string{
		jsAPI + "CONSUMER.CREATE." + stream + "." + name + "." + filter,
		jsAPI + "CONSUMER.INFO." + stream + "." + name,
		jsAPI + "CONSUMER.MSG.NEXT." + stream + "." + name,
		jsAck + stream + "." + name + ".>",
	}
}

// topologyAdmin is what topology.Ensure needs: create, update and read
// the hub's streams and buckets, never delete or purge them.
func topologyAdmin() []string {
	return append([]string{jsAPI + "INFO"}, streamAPI("STREAM.CREATE", "STREAM.UPDATE", "STREAM.INFO")...)
}

// Permissions returns what u may do. The platform role gets nil: every
// subject.
func (u User) Permissions() *Permissions {
	inbox := []string{topology.InboxPrefix(u.Name) + ".>"}
	switch u.Role {
	case RoleRouter:
		pub := topologyAdmin()
		pub = append(pub, kvRead(topology.RoutesBucket)...)
		// Route statuses: read at start, written on changes.
		pub = append(pub, kvRead(topology.RouteStatusBucket)...)
		pub = append(pub,
			kvPre+topology.RouteStatusBucket+".>",
			jsAPI+"CONSUMER.CREATE."+topology.EventsStream+"."+topology.RouterConsumer,
			jsAPI+"CONSUMER.DURABLE.CREATE."+topology.EventsStream+"."+topology.RouterConsumer,
			jsAPI+"CONSUMER.INFO."+topology.EventsStream+"."+topology.RouterConsumer,
			jsAPI+"CONSUMER.MSG.NEXT."+topology.EventsStream+"."+topology.RouterConsumer,
			jsAck+topology.EventsStream+"."+topology.RouterConsumer+".>",
			topology.DeliveriesFilter(""),
			topology.RetriesFilter(""), // delayed targets' deliveries, due later
			topology.DLQFilter(""),
			topology.AttemptsFilter(),
		)
		return &Permissions{Publish: pub, Subscribe: inbox}
	case RoleGateway:
		pub := topologyAdmin()
		pub = append(pub, streamAPI("CONSUMER.NAMES", "CONSUMER.LIST")...)
		for _, s := range streamAPI("CONSUMER.INFO") {
			pub = append(pub, s+".*")
		}
		pub = append(pub, jsAPI+"STREAM.NAMES", jsAPI+"STREAM.LIST")
		for _, s := range []string{topology.EventsStream, topology.DLQStream, topology.AttemptsStream} {
			pub = append(pub, jsAPI+"STREAM.MSG.GET."+s)
		}
		pub = append(pub, jsAPI+"STREAM.MSG.DELETE."+topology.DLQStream, jsAPI+"STREAM.PURGE."+topology.DLQStream)
		// Event search, replay and tail read EVENTS through ephemeral
		// push consumers without acks delivering to the gateway's inbox,
		// with flow control; the server removes them once idle. The
		// gateway may pull from no consumer of EVENTS (the router's
		// events are not its to take) and delete none.
		pub = append(pub,
			jsAPI+"CONSUMER.CREATE."+topology.EventsStream+".>",
			jsFC+topology.EventsStream+".>",
		)
		for _, b := range []string{topology.RoutesBucket, topology.IdempotencyBucket, topology.AdaptersBucket, topology.KeysBucket, topology.RouteStatusBucket} {
			pub = append(pub, kvRead(b)...)
		}
		pub = append(pub,
			kvPre+topology.RoutesBucket+".>",
			kvPre+topology.KeysBucket+".>", // API keys: create, rotate, revoke
			kvPre+topology.IdempotencyBucket+".>",
			topology.EventsFilter(""),
			topology.DeliveriesFilter(""),
			topology.AttemptsFilter(),
		)
		return &Permissions{Publish: pub, Subscribe: inbox}
	case RoleAdapter:
		pub := streamAPI("STREAM.INFO")
		for _, s := range u.sources() {
			idem := under(kvPre+topology.IdempotencyBucket+".", s)
			pub = append(pub,
				events(s),
				idem,
				jsAPI+"DIRECT.GET."+kvStream(topology.IdempotencyBucket)+"."+idem,
			)
		}
		pub = append(pub, kvPre+topology.AdaptersBucket+"."+u.Name+".>")
		pub = append(pub, cursorKeys(u.Name)...)
		for _, d := range u.destinations() {
			pub = append(pub, durable(topology.DeliveriesStream, topology.DeliveryConsumer(d), topology.DeliveriesFilter(d))...)
			pub = append(pub, durable(topology.RetriesStream, topology.RetryConsumer(d), topology.RetriesFilter(d))...)
			// Lane consumers are one per route, named in one subject token
			// ("lane-<destination>-ROUTE-<route>"), so the name cannot be
			// confined to the destination; the filter can.
			pub = append(pub,
				jsAPI+"CONSUMER.CREATE."+topology.LanesStream+".*."+topology.LaneSubject(d, "*"),
				jsAPI+"CONSUMER.INFO."+topology.LanesStream+".*",
				jsAPI+"CONSUMER.MSG.NEXT."+topology.LanesStream+".*",
				jsAck+topology.LanesStream+".*.>",
				jsAPI+"DIRECT.GET."+topology.LanesStream+"."+topology.LanesFilter(d),
				topology.RetriesFilter(d),
				topology.LanesFilter(d),
				topology.DLQFilter(d),
			)
		}
		if len(u.destinations()) > 0 {
			// Attempt subjects name the event's source, not the
			// destination: any attempt may be recorded.
			pub = append(pub, topology.AttemptsFilter())
		}
		return &Permissions{Publish: pub, Subscribe: inbox}
	case RoleSubscriber:
		// A plain subscription, or sdk.Subscribe with the durable
		// consumer named after the user, filtered within its sources.
		sub := inbox
		pub := []string{jsAPI + "STREAM.INFO." + topology.EventsStream}
		for _, s := range u.sources() {
			sub = append(sub, events(s))
			pub = append(pub, jsAPI+"CONSUMER.CREATE."+topology.EventsStream+"."+u.Name+"."+events(s))
		}
		pub = append(pub,
			jsAPI+"CONSUMER.INFO."+topology.EventsStream+"."+u.Name,
			jsAPI+"CONSUMER.MSG.NEXT."+topology.EventsStream+"."+u.Name,
			jsAck+topology.EventsStream+"."+u.Name+".>",
		)
		return &Permissions{Publish: pub, Subscribe: sub}
	}
	return nil
}

// sources are u's sources as subject tokens: ">" alone for every source
// ("*" in the configuration, or a subscriber with none), so that
// "junction.events." + s + ".>" is never narrower than a client's
// "junction.events.>".
func (u User) sources() []string {
	if (len(u.Sources) == 0 && u.Role == RoleSubscriber) || slices.Contains(u.Sources, "*") {
		return []string{">"}
	}
	return slices.Compact(slices.Sorted(slices.Values(u.Sources)))
}

// events is the filter of source s's events, every source's for ">".
func events(s string) string {
	if s == ">" {
		return topology.EventsFilter("")
	}
	return topology.EventsFilter(s)
}

// under is prefix + s + ".>", or prefix + ">" for every source.
func under(prefix, s string) string {
	if s == ">" {
		return prefix + ">"
	}
	return prefix + s + ".>"
}

// destinations are an adapter's destinations: its name by default.
func (u User) destinations() []string {
	if len(u.Destinations) == 0 {
		return []string{u.Name}
	}
	return slices.Compact(slices.Sorted(slices.Values(u.Destinations)))
}

// serverPermissions turns p into the server's form: what is not allowed is
// refused; nil allows everything.
func (p *Permissions) serverPermissions() *server.Permissions {
	if p == nil {
		return nil
	}
	sp := &server.Permissions{
		Publish:   &server.SubjectPermission{Allow: p.Publish},
		Subscribe: &server.SubjectPermission{Allow: p.Subscribe},
	}
	if len(p.Publish) == 0 {
		sp.Publish = &server.SubjectPermission{Deny: []string{">"}}
	}
	if len(p.Subscribe) == 0 {
		sp.Subscribe = &server.SubjectPermission{Deny: []string{">"}}
	}
	return sp
}

// NkeyUser is the server's entry for a user with public key pub; an
// in-process user may connect only in process.
func NkeyUser(u User, pub string, inProcessOnly bool) *server.NkeyUser {
	nu := &server.NkeyUser{Nkey: pub, Permissions: u.Permissions().serverPermissions()}
	if inProcessOnly {
		nu.AllowedConnectionTypes = map[string]struct{}{jwt.ConnectionTypeInProcess: {}}
	} else {
		nu.AllowedConnectionTypes = map[string]struct{}{jwt.ConnectionTypeStandard: {}}
	}
	return nu
}
