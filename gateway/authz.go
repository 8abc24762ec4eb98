package gateway

import (
	"context"
	"errors"
	"log/slog"
	"strconv"
	"strings"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"

	"github.com/junctionhq/junction/adapters/sdk/clip"
	"github.com/junctionhq/junction/gateway/auth"
)

// Metadata keys a caller sends its key or token in.
const (
	// MDAuthorization carries "Bearer <key or JWT>"; grpc-gateway forwards
	// the REST Authorization header under this name.
	MDAuthorization = "authorization"
	// MDAPIKey carries a bare API key, for clients that cannot set
	// Authorization; REST forwards the X-Api-Key header under this name.
	MDAPIKey = "x-api-key"
	// MDRetryAfter is the response header (and trailer) of a rate-limited
	// call: whole seconds to wait. REST answers it as Retry-After.
	MDRetryAfter = "retry-after"
)

// Auth configures the gateway's authentication and authorization.
type Auth struct {
	// Authenticator checks keys and tokens. Required.
	Authenticator *auth.Authenticator
	// Limiter rate-limits each authenticated caller; nil for no limit.
	Limiter *auth.Limiter
	// Logger receives refused attempts (warn); slog.Default() when nil.
	Logger *slog.Logger
}

type principalKey struct{}

// PrincipalFrom returns the caller the auth interceptor let in.
func PrincipalFrom(ctx context.Context) (auth.Principal, bool) {
	p, ok := ctx.Value(principalKey{}).(auth.Principal)
	return p, ok
}

// ServerOptions returns the unary and stream interceptors that enforce
// MethodScopes, for NewGRPCServer's opts (they run inside logging and
// panic recovery, so a refused call is logged with its code too).
func (a Auth) ServerOptions() []grpc.ServerOption {
	if a.Logger == nil {
		a.Logger = slog.Default()
	}
	return []grpc.ServerOption{
		grpc.ChainUnaryInterceptor(func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
			ctx, err := a.authorize(ctx, info.FullMethod)
			if err != nil {
				return nil, err
			}
			return handler(ctx, req)
		}),
		grpc.ChainStreamInterceptor(func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
			ctx, err := a.authorize(ss.Context(), info.FullMethod)
			if err != nil {
				return err
			}
			return handler(srv, &authedStream{ServerStream: ss, ctx: ctx})
		}),
	}
}

type authedStream struct {
	grpc.ServerStream
	ctx context.Context
}

func (s *authedStream) Context() context.Context { return s.ctx }

// authorize lets a call through or returns the status that refuses it.
func (a Auth) authorize(ctx context.Context, method string) (context.Context, error) {
	if OpenMethod(method) {
		return ctx, nil
	}
	need, ok := MethodScopes[method]
	if !ok {
		a.refused(ctx, method, "", "method has no access policy")
		return nil, status.Errorf(codes.PermissionDenied, "%s has no access policy, so no caller may use it", method)
	}
	token, err := tokenFrom(ctx)
	if err != nil {
		a.refused(ctx, method, "", err.Error())
		if errors.Is(err, auth.ErrNoCredentials) {
			return nil, status.Errorf(codes.Unauthenticated, "this call needs an API key with scope %s: send \"authorization: Bearer <key>\" (over REST the Authorization header)", need)
		}
		return nil, status.Errorf(codes.Unauthenticated, "%v", err)
	}
	p, err := a.Authenticator.Authenticate(ctx, token)
	if err != nil {
		a.refused(ctx, method, auth.IDOf(token), err.Error())
		if credentialError(err) {
			return nil, status.Errorf(codes.Unauthenticated, "%v", err)
		}
		return nil, status.Errorf(codes.Unavailable, "cannot check the credentials now, retry later: %v", err)
	}
	if !auth.Has(p.Scopes, need) {
		a.refused(ctx, method, p.ID, "missing scope "+need)
		held := strings.Join(p.Scopes, ", ")
		if held == "" {
			held = "no scopes"
		}
		return nil, status.Errorf(codes.PermissionDenied, "this call needs scope %s; %s has %s", need, p, held)
	}
	if ok, wait := a.Limiter.Allow(p.RateKey()); !ok {
		secs := strconv.Itoa(int(wait.Seconds()))
		_ = grpc.SetHeader(ctx, metadata.Pairs(MDRetryAfter, secs))
		_ = grpc.SetTrailer(ctx, metadata.Pairs(MDRetryAfter, secs))
		a.refused(ctx, method, p.ID, "rate limit")
		return nil, status.Errorf(codes.ResourceExhausted, "%s is over its rate limit: retry after %s s", p, secs)
	}
	return context.WithValue(ctx, principalKey{}, p), nil
}

// credentialError reports whether err is about the key or token itself (as
// opposed to the store or the issuer being unreachable).
func credentialError(err error) bool {
	for _, e := range []error{auth.ErrMalformedKey, auth.ErrInvalidKey, auth.ErrKeyRevoked, auth.ErrKeyExpired, auth.ErrInvalidToken} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

// tokenFrom returns the key or token of the call's metadata.
func tokenFrom(ctx context.Context) (string, error) {
	md, _ := metadata.FromIncomingContext(ctx)
	if v := md.Get(MDAuthorization); len(v) > 0 {
		return auth.ParseBearer(v[0])
	}
	if v := md.Get(MDAPIKey); len(v) > 0 && strings.TrimSpace(v[0]) != "" {
		return strings.TrimSpace(v[0]), nil
	}
	return "", auth.ErrNoCredentials
}

// refused logs a refused call: method, reason, the key id when one could
// be read, and where the call came from. Never the key or token.
func (a Auth) refused(ctx context.Context, method, keyID, reason string) {
	attrs := []slog.Attr{slog.String("method", clip.String(method)), slog.String("reason", clip.N(reason, clip.MaxAttr))}
	if keyID != "" {
		attrs = append(attrs, slog.String("key_id", clip.String(keyID)))
	}
	if p, ok := peer.FromContext(ctx); ok && p.Addr != nil {
		attrs = append(attrs, slog.String("peer", p.Addr.String()))
	}
	if md, ok := metadata.FromIncomingContext(ctx); ok {
		if v := md.Get("x-forwarded-for"); len(v) > 0 {
			attrs = append(attrs, slog.String("forwarded_for", clip.String(v[0])))
		}
	}
	a.Logger.LogAttrs(ctx, slog.LevelWarn, "call refused", attrs...)
}
