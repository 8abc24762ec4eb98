package gateway

import (
	"strings"

	"github.com/junctionhq/junction/gateway/auth"
	"github.com/junctionhq/junction/proto/junction/v1/junctionv1grpc"
)

// MethodScopes is the access policy of the API: the scope each gRPC method
// needs, by full method name. It is the one place that says who may call
// what; REST calls go through the same gRPC methods. A method missing here
// is refused for every caller (default deny), and TestEveryMethodHasAPolicy
// fails when a registered method or a REST route has no entry.
//
// Scope "admin" grants all; routes:write includes routes:read and
// deadletters:admin includes deadletters:read, events:replay includes
// events:read.
//
// Open without credentials (OpenMethod): grpc.health.v1 (load balancers and
// probes) and server reflection, which tells only what /openapi.json tells
// anyway and lets grpcurl list the API. Outside gRPC, the hub's HTTP
// listener keeps open /healthz, /readyz, /webhooks/* (each source checks its
// signature), /openapi.json and /openapi (the document is public), and
// /metrics for loopback peers only: from any other address /metrics needs a
// key with metrics:read.
var MethodScopes = map[string]string{
	junctionv1grpc.RouteService_CreateRoute_FullMethodName: auth.ScopeRoutesWrite,
	junctionv1grpc.RouteService_UpdateRoute_FullMethodName: auth.ScopeRoutesWrite,
	junctionv1grpc.RouteService_DeleteRoute_FullMethodName: auth.ScopeRoutesWrite,
	junctionv1grpc.RouteService_GetRoute_FullMethodName:    auth.ScopeRoutesRead,
	junctionv1grpc.RouteService_ListRoutes_FullMethodName:  auth.ScopeRoutesRead,
	// TestRoute stores nothing, but it runs CEL over a caller's event.
	junctionv1grpc.RouteService_TestRoute_FullMethodName: auth.ScopeRoutesRead,

	junctionv1grpc.EventService_PublishEvent_FullMethodName: auth.ScopeEventsPublish,
	junctionv1grpc.EventService_GetEvent_FullMethodName:     auth.ScopeEventsRead,
	junctionv1grpc.EventService_ListEvents_FullMethodName:   auth.ScopeEventsRead,
	junctionv1grpc.EventService_TailEvents_FullMethodName:   auth.ScopeEventsRead,
	// Replaying sends stored events' deliveries out again in bulk: a scope
	// of its own, which no publishing key holds by chance.
	junctionv1grpc.EventService_ReplayEvents_FullMethodName: auth.ScopeEventsReplay,

	junctionv1grpc.DeliveryService_ListEventDeliveries_FullMethodName: auth.ScopeDeliveriesRead,
	// Resending sends an event's deliveries out again, as publishing does.
	junctionv1grpc.DeliveryService_ResendEvent_FullMethodName: auth.ScopeEventsPublish,

	junctionv1grpc.DeadLetterService_ListDeadLetters_FullMethodName:    auth.ScopeDeadLettersRead,
	junctionv1grpc.DeadLetterService_GetDeadLetter_FullMethodName:      auth.ScopeDeadLettersRead,
	junctionv1grpc.DeadLetterService_RedriveDeadLetters_FullMethodName: auth.ScopeDeadLettersAdmin,
	junctionv1grpc.DeadLetterService_PurgeDeadLetters_FullMethodName:   auth.ScopeDeadLettersAdmin,

	junctionv1grpc.AdapterService_ListAdapters_FullMethodName: auth.ScopeAdaptersRead,

	junctionv1grpc.KeyService_CreateKey_FullMethodName: auth.ScopeKeysAdmin,
	junctionv1grpc.KeyService_GetKey_FullMethodName:    auth.ScopeKeysAdmin,
	junctionv1grpc.KeyService_ListKeys_FullMethodName:  auth.ScopeKeysAdmin,
	junctionv1grpc.KeyService_RotateKey_FullMethodName: auth.ScopeKeysAdmin,
	junctionv1grpc.KeyService_RevokeKey_FullMethodName: auth.ScopeKeysAdmin,
}

// openServices are the gRPC services callable without credentials.
var openServices = []string{
	"/grpc.health.v1.Health/",
	"/grpc.reflection.v1.ServerReflection/",
	"/grpc.reflection.v1alpha.ServerReflection/",
}

// OpenMethod reports whether fullMethod is callable without credentials.
func OpenMethod(fullMethod string) bool {
	for _, p := range openServices {
		if strings.HasPrefix(fullMethod, p) {
			return true
		}
	}
	return false
}
