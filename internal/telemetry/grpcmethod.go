package telemetry

import (
	"context"
	"strings"

	"google.golang.org/grpc/stats"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
)

// unknownMethod stands for every method no linked service defines, in
// span names and in the rpc.method metric label (OTel's "_OTHER").
const unknownMethod = "/_OTHER/_OTHER"

// knownMethods wraps a server stats handler so that a call to a method no
// linked service defines is traced and counted as unknownMethod: the
// method name is the request's :path, and a client could otherwise mint
// a Prometheus series, or a megabyte span name, per call.
type knownMethods struct{ stats.Handler }

// TagRPC hands on info, with an unknown method replaced.
func (h knownMethods) TagRPC(ctx context.Context, info *stats.RPCTagInfo) context.Context {
	if !methodKnown(info.FullMethodName) {
		i := *info
		i.FullMethodName = unknownMethod
		info = &i
	}
	return h.Handler.TagRPC(ctx, info)
}

// methodKnown reports whether full ("/pkg.Service/Method") is a method of
// a service in the protobuf registry, which holds every service linked
// into the binary (Junction's, health, reflection).
func methodKnown(full string) bool {
	svc, method, ok := strings.Cut(strings.TrimPrefix(full, "/"), "/")
	if !ok || len(full) > 512 {
		return false
	}
	d, err := protoregistry.GlobalFiles.FindDescriptorByName(protoreflect.FullName(svc))
	if err != nil {
		return false
	}
	sd, ok := d.(protoreflect.ServiceDescriptor)
	return ok && sd.Methods().ByName(protoreflect.Name(method)) != nil
}
