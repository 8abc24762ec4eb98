package gateway

import (
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/keepalive"

	"github.com/junctionhq/junction/adapters/sdk/limits"
)

// keepaliveMinTime is the shortest interval between two client pings the
// server tolerates; a client pinging faster is sent GOAWAY.
const keepaliveMinTime = 30 * time.Second

// ServerLimits bound a gRPC server's connections by c (zero fields
// take the defaults): a connection with no call for IdleTimeout is closed,
// one whose handshake takes longer than ReadHeaderTimeout is dropped, a
// dead peer is found by pings, clients pinging more often than every 30s
// are sent away, and each connection runs at most MaxConcurrentStreams
// calls at once. Cap the listener itself with limits.Listen (nil
// refusal). It lives here, not in package limits, so that adapters, which
// serve no gRPC, do not compile grpc.
func ServerLimits(c limits.Config) []grpc.ServerOption {
	c = c.WithDefaults()
	return []grpc.ServerOption{
		grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{MinTime: keepaliveMinTime, PermitWithoutStream: true}),
		grpc.KeepaliveParams(keepalive.ServerParameters{
			MaxConnectionIdle: c.IdleTimeout,
			Time:              time.Minute,
			Timeout:           20 * time.Second,
		}),
		grpc.MaxConcurrentStreams(c.MaxConcurrentStreams),
		grpc.ConnectionTimeout(c.ReadHeaderTimeout),
	}
}
