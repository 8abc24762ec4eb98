// Package gateway is Junction's API: the gRPC services of proto/junction/v1
// (RouteService, EventService, AdapterService, DeadLetterService,
// DeliveryService, KeyService), the same services over REST
// at /v1/... through grpc-gateway, and the OpenAPI document generated from
// the protos.
//
// The gateway keeps no state of its own. Routes live in the routes bucket
// (through router.Store, which compiles every route before storing it),
// events on the EVENTS stream (published with the SDK's Publisher, found
// again through the idempotency bucket) and adapters report themselves in
// the adapters bucket. Any number of gateways can serve the same hub.
//
// REST is a client of the gRPC server (RESTHandler dials it), so the gRPC
// interceptors — logging, panic recovery and whatever NewGRPCServer is given
// later for auth or tracing — apply to both.
//
// Authentication and authorization are one interceptor (Auth.ServerOptions)
// given to NewGRPCServer: every method needs the scope MethodScopes names,
// from an API key (package auth) or an OIDC token.
//
// Errors follow Google's AIP-193: a gRPC code callers can branch on and a
// message that says what to fix. Over REST they are a JSON object
// {"code": <grpc code>, "message": "...", "details": [...]} with the HTTP
// status grpc-gateway maps from the code (InvalidArgument 400, NotFound 404,
// AlreadyExists and Aborted 409, FailedPrecondition 400, Unavailable 503).
package gateway

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/grpc"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/reflection"

	"github.com/junctionhq/junction/adapters/sdk"
	"github.com/junctionhq/junction/adapters/sdk/platform/topology"
	"github.com/junctionhq/junction/gateway/auth"
	"github.com/junctionhq/junction/internal/destination"
	junctionv1 "github.com/junctionhq/junction/proto/junction/v1"
	"github.com/junctionhq/junction/proto/junction/v1/junctionv1grpc"
	"github.com/junctionhq/junction/services/router"
)

// StaleAfter is how long after its last heartbeat an adapter is reported
// with health STALE: three missed heartbeats at the SDK's default interval.
const StaleAfter = destination.StaleAfter

// ErrConfig is returned by New when Config is incomplete.
var ErrConfig = errors.New("invalid gateway config")

// Config is what New needs.
type Config struct {
	// JS is the hub's JetStream. The streams and buckets must exist
	// (topology.Ensure). Required.
	JS jetstream.JetStream
	// Logger receives request logs and internal errors; slog.Default() when nil.
	Logger *slog.Logger
	// Version of the binary, logged at start.
	Version string
}

// Server implements junctionv1grpc.RouteServiceServer, EventServiceServer and
// AdapterServiceServer over a hub. Its methods are safe for concurrent use.
type Server struct {
	junctionv1grpc.UnimplementedRouteServiceServer
	junctionv1grpc.UnimplementedEventServiceServer
	junctionv1grpc.UnimplementedAdapterServiceServer
	junctionv1grpc.UnimplementedDeadLetterServiceServer
	junctionv1grpc.UnimplementedDeliveryServiceServer
	junctionv1grpc.UnimplementedKeyServiceServer

	log       *slog.Logger
	version   string
	routes    routeStore
	publisher eventPublisher
	events    jetstream.Stream
	js        jetstream.JetStream
	dlq       jetstream.Stream
	attempts  jetstream.Stream
	idem      jetstream.KeyValue
	adapters  jetstream.KeyValue
	keys      *auth.Store
	health    *health.Server
	now       func() time.Time
	// tails holds a token per running TailEvents call (at most MaxTails).
	tails         chan struct{}
	tailHeartbeat time.Duration
	// scans counts each caller's running searches and replays (at most
	// MaxScansPerCaller).
	scans scanSlots
}

// routeStore is the part of router.Store the gateway uses.
type routeStore interface {
	Get(ctx context.Context, id string) (*junctionv1.Route, error)
	List(ctx context.Context) ([]*junctionv1.Route, error)
	Create(ctx context.Context, id string, r *junctionv1.Route) (*junctionv1.Route, error)
	Update(ctx context.Context, r *junctionv1.Route, expectRevision uint64) (*junctionv1.Route, error)
	Delete(ctx context.Context, id string, expectRevision uint64) error
}

// eventPublisher is the part of sdk.Publisher the gateway uses.
type eventPublisher interface {
	Publish(ctx context.Context, e *junctionv1.Event) (sdk.PublishResult, error)
}

var (
	_ routeStore     = (*router.Store)(nil)
	_ eventPublisher = (*sdk.Publisher)(nil)

	_ junctionv1grpc.RouteServiceServer   = (*Server)(nil)
	_ junctionv1grpc.EventServiceServer   = (*Server)(nil)
	_ junctionv1grpc.AdapterServiceServer = (*Server)(nil)

	_ junctionv1grpc.DeadLetterServiceServer = (*Server)(nil)
	_ junctionv1grpc.DeliveryServiceServer   = (*Server)(nil)
	_ junctionv1grpc.KeyServiceServer        = (*Server)(nil)
)

// New opens the route store, the event publisher, the EVENTS stream and the
// idempotency and adapters buckets. It fails when the hub's topology has not
// been created.
func New(ctx context.Context, cfg Config) (*Server, error) {
	if cfg.JS == nil {
		return nil, fmt.Errorf("%w: JS is required", ErrConfig)
	}
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	store, err := router.NewStore(ctx, cfg.JS)
	if err != nil {
		return nil, fmt.Errorf("open route store: %w", err)
	}
	pub, err := sdk.NewPublisher(cfg.JS)
	if err != nil {
		return nil, fmt.Errorf("open event publisher: %w", err)
	}
	events, err := cfg.JS.Stream(ctx, topology.EventsStream)
	if err != nil {
		return nil, fmt.Errorf("open stream %s (run topology.Ensure first): %w", topology.EventsStream, err)
	}
	dlq, err := cfg.JS.Stream(ctx, topology.DLQStream)
	if err != nil {
		return nil, fmt.Errorf("open stream %s (run topology.Ensure first): %w", topology.DLQStream, err)
	}
	attempts, err := cfg.JS.Stream(ctx, topology.AttemptsStream)
	if err != nil {
		return nil, fmt.Errorf("open stream %s (run topology.Ensure first): %w", topology.AttemptsStream, err)
	}
	idem, err := cfg.JS.KeyValue(ctx, topology.IdempotencyBucket)
	if err != nil {
		return nil, fmt.Errorf("open bucket %s (run topology.Ensure first): %w", topology.IdempotencyBucket, err)
	}
	adapters, err := cfg.JS.KeyValue(ctx, topology.AdaptersBucket)
	if err != nil {
		return nil, fmt.Errorf("open bucket %s (run topology.Ensure first): %w", topology.AdaptersBucket, err)
	}
	keys, err := auth.NewStore(ctx, cfg.JS)
	if err != nil {
		return nil, err
	}
	s := &Server{
		keys:      keys,
		log:       log,
		version:   cfg.Version,
		routes:    store,
		publisher: pub,
		events:    events,
		js:        cfg.JS,
		dlq:       dlq,
		attempts:  attempts,
		idem:      idem,
		adapters:  adapters,
		health:    health.NewServer(),
		now:       time.Now,

		tails:         make(chan struct{}, MaxTails),
		tailHeartbeat: TailHeartbeat,
	}
	for _, name := range s.serviceNames() {
		s.health.SetServingStatus(name, healthpb.HealthCheckResponse_SERVING)
	}
	log.Info("gateway opened", slog.String("version", cfg.Version))
	return s, nil
}

func (s *Server) serviceNames() []string {
	return []string{
		"",
		junctionv1grpc.RouteService_ServiceDesc.ServiceName,
		junctionv1grpc.EventService_ServiceDesc.ServiceName,
		junctionv1grpc.AdapterService_ServiceDesc.ServiceName,
		junctionv1grpc.DeadLetterService_ServiceDesc.ServiceName,
		junctionv1grpc.DeliveryService_ServiceDesc.ServiceName,
		junctionv1grpc.KeyService_ServiceDesc.ServiceName,
	}
}

// Keys returns the API key store (the keys bucket), for the hub's first
// admin key and for an auth.Authenticator.
func (s *Server) Keys() *auth.Store { return s.keys }

// Register registers the six services, grpc.health.v1 (SERVING for "" and
// each service) and server reflection on g.
func (s *Server) Register(g *grpc.Server) {
	junctionv1grpc.RegisterRouteServiceServer(g, s)
	junctionv1grpc.RegisterEventServiceServer(g, s)
	junctionv1grpc.RegisterAdapterServiceServer(g, s)
	junctionv1grpc.RegisterDeadLetterServiceServer(g, s)
	junctionv1grpc.RegisterDeliveryServiceServer(g, s)
	junctionv1grpc.RegisterKeyServiceServer(g, s)
	healthpb.RegisterHealthServer(g, s.health)
	reflection.Register(g)
}

// Shutdown reports every service NOT_SERVING on the health service, so load
// balancers stop sending requests before the gRPC server stops. It is
// permanent: a later status change is ignored.
func (s *Server) Shutdown() {
	s.health.Shutdown()
}

// NewGRPCServer returns a grpc.Server with the gateway's interceptors and s
// registered on it.
//
// Every call passes through request logging (outermost: it sees the final
// code, also of a recovered panic) and panic recovery (a panic becomes
// Internal and is logged with its stack). Interceptors given in opts with
// grpc.ChainUnaryInterceptor / grpc.ChainStreamInterceptor run inside those
// two, just before the handler: that is the seam for auth. Tracing belongs
// in a grpc.StatsHandler option (otelgrpc), which sees every call.
func NewGRPCServer(s *Server, opts ...grpc.ServerOption) *grpc.Server {
	base := []grpc.ServerOption{
		grpc.ChainUnaryInterceptor(logUnary(s.log), recoverUnary(s.log)),
		grpc.ChainStreamInterceptor(logStream(s.log), recoverStream(s.log)),
	}
	g := grpc.NewServer(append(base, opts...)...)
	s.Register(g)
	return g
}
