package apitls

import (
	"context"
	"crypto/tls"
	"net"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/test/bufconn"
)

// InProcessTarget is the gRPC target the REST handler dials with
// InProcess.DialOptions.
const InProcessTarget = "passthrough:///junction-in-process"

// inProcessBuffer is each direction's buffer of an in-memory connection.
const inProcessBuffer = 1 << 20

// InProcess is an in-memory gRPC listener: the REST handler reaches the
// gRPC server through it with no network port and no certificate, and
// its calls still pass every interceptor. Serve the gRPC server on it
// beside the network listener.
type InProcess struct {
	lis *bufconn.Listener
}

// NewInProcess returns a listener; Close it (or stop the gRPC server
// serving it) when done.
func NewInProcess() *InProcess {
	return &InProcess{lis: bufconn.Listen(inProcessBuffer)}
}

// Listener is what the gRPC server serves.
func (p *InProcess) Listener() net.Listener { return inProcessListener{p.lis} }

// DialOptions connect a client to the listener: give them with
// InProcessTarget.
func (p *InProcess) DialOptions() []grpc.DialOption {
	return []grpc.DialOption{
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) {
			return p.lis.DialContext(ctx)
		}),
	}
}

// Close closes the listener.
func (p *InProcess) Close() error { return p.lis.Close() }

// inProcessListener marks the connections it accepts, so listenerCreds
// can tell them from network ones.
type inProcessListener struct{ *bufconn.Listener }

func (l inProcessListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return inProcessConn{c}, nil
}

// inProcessConn is a connection accepted from an InProcess listener.
type inProcessConn struct{ net.Conn }

// listenerCreds are server transport credentials that do TLS on network
// connections and nothing on in-process ones.
type listenerCreds struct {
	tls      credentials.TransportCredentials
	insecure credentials.TransportCredentials
}

func newListenerCreds(c *tls.Config) credentials.TransportCredentials {
	return listenerCreds{tls: credentials.NewTLS(c), insecure: insecure.NewCredentials()}
}

func (c listenerCreds) ServerHandshake(conn net.Conn) (net.Conn, credentials.AuthInfo, error) {
	if _, ok := conn.(inProcessConn); ok {
		return c.insecure.ServerHandshake(conn)
	}
	return c.tls.ServerHandshake(conn)
}

func (c listenerCreds) ClientHandshake(ctx context.Context, authority string, conn net.Conn) (net.Conn, credentials.AuthInfo, error) {
	return c.tls.ClientHandshake(ctx, authority, conn)
}

func (c listenerCreds) Info() credentials.ProtocolInfo { return c.tls.Info() }

func (c listenerCreds) Clone() credentials.TransportCredentials {
	return listenerCreds{tls: c.tls.Clone(), insecure: c.insecure.Clone()}
}

// OverrideServerName is deprecated in the interface and unused by servers.
func (c listenerCreds) OverrideServerName(string) error { return nil }
