package gateway

import (
	"context"
	"fmt"
	"log/slog"
	"runtime/debug"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/junctionhq/junction/adapters/sdk/clip"
)

// healthMethodPrefix starts the methods of grpc.health.v1.
const healthMethodPrefix = "/grpc.health.v1.Health/"

// errPanic is what a caller sees when a handler panicked.
var errPanic = status.Error(codes.Internal, "internal error: the gateway logged the details")

// recoverUnary turns a panic in a handler (or an inner interceptor) into
// codes.Internal, logging the panic value and the stack.
func recoverUnary(log *slog.Logger) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (resp any, err error) {
		defer func() {
			if p := recover(); p != nil {
				logPanic(ctx, log, info.FullMethod, p)
				resp, err = nil, errPanic
			}
		}()
		return handler(ctx, req)
	}
}

// recoverStream is recoverUnary for streaming calls (health Watch, reflection).
func recoverStream(log *slog.Logger) grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) (err error) {
		defer func() {
			if p := recover(); p != nil {
				logPanic(ss.Context(), log, info.FullMethod, p)
				err = errPanic
			}
		}()
		return handler(srv, ss)
	}
}

func logPanic(ctx context.Context, log *slog.Logger, method string, p any) {
	log.ErrorContext(ctx, "grpc handler panicked",
		slog.String("method", method),
		slog.String("panic", fmt.Sprint(p)),
		slog.String("stack", string(debug.Stack())))
}

// logUnary logs every call with its method, code and duration: server
// faults at error level, caller mistakes at info.
func logUnary(log *slog.Logger) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		start := time.Now()
		resp, err := handler(ctx, req)
		logCall(ctx, log, info.FullMethod, start, err)
		return resp, err
	}
}

// logStream is logUnary for streaming calls.
func logStream(log *slog.Logger) grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		start := time.Now()
		err := handler(srv, ss)
		logCall(ss.Context(), log, info.FullMethod, start, err)
		return err
	}
}

func logCall(ctx context.Context, log *slog.Logger, method string, start time.Time, err error) {
	st := status.Convert(err)
	attrs := []slog.Attr{
		slog.String("method", clip.String(method)),
		slog.String("code", st.Code().String()),
		slog.Duration("duration", time.Since(start)),
	}
	level := slog.LevelInfo
	if strings.HasPrefix(method, healthMethodPrefix) {
		level = slog.LevelDebug // probes poll it every few seconds
	}
	if err != nil {
		// Error messages may quote the request: cut them (package clip).
		attrs = append(attrs, slog.String("error", clip.N(st.Message(), clip.MaxAttr)))
		if serverFault(st.Code()) {
			level = slog.LevelError
		}
	}
	log.LogAttrs(ctx, level, "grpc call", attrs...)
}

// serverFault reports whether code means the gateway or the hub failed, as
// opposed to the caller sending something wrong.
func serverFault(c codes.Code) bool {
	switch c {
	case codes.Internal, codes.Unknown, codes.DataLoss, codes.Unavailable, codes.Unimplemented:
		return true
	}
	return false
}
