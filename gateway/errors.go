package gateway

import (
	"context"
	"errors"
	"fmt"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/junctionhq/junction/adapters/sdk"
	"github.com/junctionhq/junction/adapters/sdk/platform/topology"
	"github.com/junctionhq/junction/services/router"
)

// codeOf maps an error of the router, the SDK, JetStream or the context to
// the gRPC code a caller branches on.
func codeOf(err error) codes.Code {
	switch {
	case errors.Is(err, router.ErrInvalidRoute),
		errors.Is(err, sdk.ErrInvalidEvent),
		errors.Is(err, topology.ErrInvalidName):
		return codes.InvalidArgument
	case errors.Is(err, router.ErrNotFound):
		return codes.NotFound
	case errors.Is(err, router.ErrAlreadyExists):
		return codes.AlreadyExists
	case errors.Is(err, router.ErrRevisionMismatch):
		// AIP-154: a stale etag/revision is ABORTED (HTTP 409).
		return codes.Aborted
	case errors.Is(err, sdk.ErrUnavailable),
		errors.Is(err, nats.ErrNoResponders),
		errors.Is(err, nats.ErrConnectionClosed),
		errors.Is(err, nats.ErrTimeout),
		errors.Is(err, jetstream.ErrNoStreamResponse):
		return codes.Unavailable
	case errors.Is(err, context.DeadlineExceeded):
		return codes.DeadlineExceeded
	case errors.Is(err, context.Canceled):
		return codes.Canceled
	}
	return codes.Internal
}

// toStatus turns err into a gRPC status error. Status errors pass through;
// the message of anything else is kept, because the packages below the
// gateway already say what to fix. Unexpected errors are logged.
func (s *Server) toStatus(ctx context.Context, op string, err error) error {
	if err == nil {
		return nil
	}
	if _, ok := status.FromError(err); ok {
		return err
	}
	code := codeOf(err)
	msg := err.Error()
	switch code {
	case codes.Internal:
		s.log.ErrorContext(ctx, "gateway operation failed", "op", op, "error", err)
		msg = fmt.Sprintf("internal error in %s: %v", op, err)
	case codes.Unavailable:
		msg = fmt.Sprintf("%s: the hub cannot take the request now, retry later: %v", op, err)
	}
	return status.Error(code, msg)
}

// invalid is an InvalidArgument status naming the field to fix.
func invalid(field, format string, args ...any) error {
	return status.Error(codes.InvalidArgument, field+": "+fmt.Sprintf(format, args...))
}
