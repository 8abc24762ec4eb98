package gateway

import (
	"context"
	_ "embed"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/junctionhq/junction/adapters/sdk/rpcstatus"
	"github.com/junctionhq/junction/proto/junction/v1/junctionv1grpc"
)

// OpenAPI is the OpenAPI 2.0 (Swagger) document of the REST API, generated
// from the protos by `buf generate`.
//
//go:embed openapi/junction.swagger.json
var OpenAPI []byte

// jsonMarshaler writes snake_case JSON (the names users write in route YAML
// files) and leaves unset fields out; reading accepts snake_case and
// lowerCamelCase and refuses unknown fields.
var jsonMarshaler = &runtime.JSONPb{
	MarshalOptions:   protojson.MarshalOptions{UseProtoNames: true, EmitUnpopulated: false},
	UnmarshalOptions: protojson.UnmarshalOptions{DiscardUnknown: false},
}

// RESTHandler serves the API as JSON over HTTP at /v1/... by calling the gRPC
// server at grpcAddr (registered with Register*HandlerFromEndpoint, so the
// gRPC interceptors apply to REST calls too), plus GET /openapi.json and
// /openapi with the OpenAPI document.
//
// Without opts it dials with insecure transport credentials, which suits a
// gRPC server on loopback or a Unix socket in the same process. The
// connections close when ctx is done.
func RESTHandler(ctx context.Context, grpcAddr string, opts ...grpc.DialOption) (http.Handler, error) {
	if len(opts) == 0 {
		opts = []grpc.DialOption{grpc.WithTransportCredentials(insecure.NewCredentials())}
	}
	gw := runtime.NewServeMux(
		runtime.WithMarshalerOption(runtime.MIMEWildcard, jsonMarshaler),
		runtime.WithMarshalerOption(MIMEEventStream, sseMarshaler{jsonMarshaler}),
		runtime.WithForwardResponseRewriter(restDataJSON),
		runtime.WithErrorHandler(writeError),
		runtime.WithRoutingErrorHandler(routingError),
		runtime.WithIncomingHeaderMatcher(incomingHeader),
	)
	for _, reg := range []struct {
		name string
		fn   func(context.Context, *runtime.ServeMux, string, []grpc.DialOption) error
	}{
		{"RouteService", junctionv1grpc.RegisterRouteServiceHandlerFromEndpoint},
		{"EventService", junctionv1grpc.RegisterEventServiceHandlerFromEndpoint},
		{"AdapterService", junctionv1grpc.RegisterAdapterServiceHandlerFromEndpoint},
		{"DeadLetterService", junctionv1grpc.RegisterDeadLetterServiceHandlerFromEndpoint},
		{"DeliveryService", junctionv1grpc.RegisterDeliveryServiceHandlerFromEndpoint},
		{"KeyService", junctionv1grpc.RegisterKeyServiceHandlerFromEndpoint},
	} {
		if err := reg.fn(ctx, gw, grpcAddr, opts); err != nil {
			return nil, fmt.Errorf("register %s REST handler for %s: %w", reg.name, grpcAddr, err)
		}
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /openapi.json", serveOpenAPI)
	mux.HandleFunc("GET /openapi", serveOpenAPI)
	mux.HandleFunc("/openapi.json", openAPIWrongMethod)
	mux.HandleFunc("/openapi", openAPIWrongMethod)
	mux.Handle("/", gw)
	mux.Handle("GET /v1/events:tail", streamHandler(gw))
	return mux, nil
}

func serveOpenAPI(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(OpenAPI)
}

// openAPIWrongMethod answers anything but GET on the document's paths.
func openAPIWrongMethod(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Allow", "GET, HEAD")
	rpcstatus.Write(w, http.StatusMethodNotAllowed, fmt.Sprintf("%s is not allowed on %s: use GET", r.Method, r.URL.Path))
}

// incomingHeader forwards X-Api-Key as x-api-key metadata besides
// grpc-gateway's defaults (which already pass Authorization on).
func incomingHeader(key string) (string, bool) {
	if strings.EqualFold(key, "X-Api-Key") {
		return MDAPIKey, true
	}
	return runtime.DefaultHeaderMatcher(key)
}

// writeError writes err as {"code", "message", "details"} (package
// rpcstatus, the one error shape of every Junction endpoint) with the HTTP
// status grpc-gateway maps from its gRPC code. It replaces grpc-gateway's
// default handler so that details is always an array, never left out.
//
// A rate-limited call (ResourceExhausted, 429) carries Retry-After from the
// gRPC retry-after header or trailer; an unauthenticated one (401) carries
// WWW-Authenticate: Bearer.
func writeError(ctx context.Context, _ *runtime.ServeMux, m runtime.Marshaler, w http.ResponseWriter, _ *http.Request, err error) {
	st := status.Convert(err)
	if md, ok := runtime.ServerMetadataFromContext(ctx); ok {
		for _, v := range [][]string{md.HeaderMD.Get(MDRetryAfter), md.TrailerMD.Get(MDRetryAfter)} {
			if len(v) > 0 {
				w.Header().Set("Retry-After", v[0])
				break
			}
		}
	}
	if st.Code() == codes.Unauthenticated {
		w.Header().Set("WWW-Authenticate", `Bearer realm="junction"`)
	}
	var details []json.RawMessage
	for _, d := range st.Proto().GetDetails() {
		b, merr := m.Marshal(d)
		if merr != nil {
			continue
		}
		details = append(details, b)
	}
	rpcstatus.WriteBody(w, runtime.HTTPStatusFromCode(st.Code()), rpcstatus.New(rpcstatus.Code(st.Code()), st.Message(), details...))
}
