// Package cli is the command-line client of the Junction gateway: the
// `junction routes ...`, `junction events ...` and `junction dlq ...`
// command trees.
//
// The client talks to the gateway over gRPC only, never to NATS. Every
// command writes its result to the command's output stream and returns its
// errors; nothing here calls os.Exit.
//
// Connection settings are persistent flags on each tree: --server (the
// gateway's gRPC address; the JUNCTION_SERVER environment variable applies
// when the flag is not given), -o/--output (table, json or yaml) and
// --timeout (a limit on each call to the gateway, so a large apply is not cut
// short by the sum of its calls; 0 means no limit) and --api-key-file (the
// API key sent as "authorization: Bearer <key>"; see apiKey for where else
// it is looked for).
// --tls, --tls-ca, --tls-cert, --tls-key and --tls-server-name connect over
// TLS (mutual TLS with a client certificate); without them the connection is
// plaintext, which suits the default loopback gateway. See tlsOptions.
//
// Errors from the gateway are shown as "<code>: <message>", for example
// "NotFound: route x not found"; they keep their gRPC status, so
// status.Code(err) still works on them. When the gateway cannot be reached at
// all the error wraps ErrUnreachable and says what to do about it.
package cli

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"sync/atomic"
	"time"

	"github.com/spf13/cobra"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Defaults and names of the persistent flags.
const (
	// DefaultServer is the gateway address used when neither --server nor
	// JUNCTION_SERVER is set.
	DefaultServer = "127.0.0.1:9090"
	// ServerEnv names the environment variable that sets the gateway address
	// when --server is not given.
	ServerEnv = "JUNCTION_SERVER"
	// DefaultTimeout limits each call to the gateway unless --timeout is set.
	DefaultTimeout = 10 * time.Second
)

// Output formats accepted by -o/--output.
const (
	formatTable = "table"
	formatJSON  = "json"
	formatYAML  = "yaml"
)

var (
	// ErrUnreachable is returned when no connection to the gateway could be
	// made (nothing listening, unknown host, refused).
	ErrUnreachable = errors.New("cannot reach the gateway")
	// ErrUsage is returned for bad flags, arguments or input files; the
	// message says what to fix.
	ErrUsage = errors.New("invalid usage")
	// ErrInvalidInput is returned when a route or event file cannot be used;
	// the message names the file, the document and the field.
	ErrInvalidInput = errors.New("invalid input")
)

// Commands returns the `routes`, `events`, `dlq` and `keys` command trees, ready to be
// added to the junction root command. Each call returns new commands.
func Commands() []*cobra.Command {
	return []*cobra.Command{routesCommand(), eventsCommand(), dlqCommand(), keysCommand()}
}

// options holds the persistent flags of one command tree.
type options struct {
	server     string
	output     string
	timeout    time.Duration
	apiKeyFile string
	tls        tlsOptions
}

// addPersistentFlags defines --server, -o/--output and --timeout on cmd.
func (o *options) addPersistentFlags(cmd *cobra.Command) {
	f := cmd.PersistentFlags()
	f.StringVar(&o.server, "server", DefaultServer, "gRPC address of the gateway (env "+ServerEnv+")")
	f.StringVarP(&o.output, "output", "o", formatTable, "output format: table, json or yaml")
	f.DurationVar(&o.timeout, "timeout", DefaultTimeout, "time limit of each call to the gateway (0: none)")
	o.tls.addFlags(cmd)
	f.StringVar(&o.apiKeyFile, "api-key-file", "", "file holding the API key (else env "+APIKeyEnv+", "+APIKeyFileEnv+", $"+dataDirEnv+"/admin.key, ./data/admin.key)")
}

// resolve settles the flag values for the command being run: --server
// falls back to JUNCTION_SERVER when not given, and the output format and
// timeout are checked.
func (o *options) resolve(cmd *cobra.Command) error {
	if f := cmd.Flags().Lookup("server"); f != nil && !f.Changed {
		if env := strings.TrimSpace(os.Getenv(ServerEnv)); env != "" {
			o.server = env
		}
	}
	o.server = strings.TrimSpace(o.server)
	if o.server == "" {
		return fmt.Errorf("--server is empty: give the gateway's gRPC address, e.g. %s: %w", DefaultServer, ErrUsage)
	}
	switch o.output {
	case formatTable, formatJSON, formatYAML:
	default:
		return fmt.Errorf("-o %q: want table, json or yaml: %w", o.output, ErrUsage)
	}
	if o.timeout < 0 {
		return fmt.Errorf("--timeout %s is negative: give a duration such as 10s, or 0 for no limit: %w", o.timeout, ErrUsage)
	}
	return o.tls.resolve(cmd)
}

// conn is a client connection to the gateway that can tell a gateway that
// was never reached from one that answered with an error.
type conn struct {
	addr    string
	timeout time.Duration
	keyFrom string // where the API key came from; "" for none
	cc      *grpc.ClientConn
	// connected is set once any dial to the gateway succeeded.
	connected atomic.Bool
}

// dial prepares a connection to the gateway at o.server. gRPC connects
// lazily, so an unreachable gateway shows on the first call.
func (o *options) dial() (*conn, error) {
	if scheme, _, ok := strings.Cut(o.server, "://"); ok && (scheme == "http" || scheme == "https") {
		return nil, fmt.Errorf("--server %q: give the gateway's gRPC address as host:port, not a URL: %w", o.server, ErrUsage)
	}
	key, from, err := o.apiKey()
	if err != nil {
		return nil, err
	}
	c := &conn{addr: o.server, timeout: o.timeout, keyFrom: from}
	var creds []grpc.DialOption
	if key != "" {
		creds = append(creds, grpc.WithPerRPCCredentials(bearer(key)))
	}
	network := "tcp"
	if strings.HasPrefix(o.server, "unix:") {
		network = "unix"
	}
	var d net.Dialer
	tlsCreds, err := o.tls.credentials()
	if err != nil {
		return nil, err
	}
	cc, err := grpc.NewClient(o.server, append(creds,
		tlsCreds,
		grpc.WithContextDialer(func(ctx context.Context, addr string) (net.Conn, error) {
			if network == "unix" {
				// gRPC hands a custom dialer the unix target as written.
				addr = strings.TrimPrefix(strings.TrimPrefix(addr, "unix://"), "unix:")
			}
			nc, err := d.DialContext(ctx, network, addr)
			if err == nil {
				c.connected.Store(true)
			}
			return nc, err
		}))...,
	)
	if err != nil {
		return nil, fmt.Errorf("--server %q is not a usable gRPC address (want host:port): %w", o.server, errors.Join(ErrUsage, err))
	}
	c.cc = cc
	return c, nil
}

// Close closes the connection.
func (c *conn) Close() error { return c.cc.Close() }

// call runs one RPC with the per-call timeout and turns its error into one
// a person can act on. A call refused by the gateway's rate limit
// (ResourceExhausted with retry-after) is made again after the wait it
// names, up to maxRateRetries times, so a large apply slows down instead of
// failing.
func call[Req, Resp any](ctx context.Context, c *conn, rpc func(context.Context, Req, ...grpc.CallOption) (Resp, error), req Req) (Resp, error) {
	for attempt := 0; ; attempt++ {
		resp, wait, err := callOnce(ctx, c, rpc, req)
		if err == nil {
			return resp, nil
		}
		if wait <= 0 || attempt >= maxRateRetries {
			return resp, c.wrap(err)
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return resp, c.wrap(err)
		case <-t.C:
		}
	}
}

// wrap converts an RPC error: ErrUnreachable when no connection was ever
// made, else a StatusError showing "<code>: <message>".
func (c *conn) wrap(err error) error {
	st, ok := status.FromError(err)
	if !ok {
		return err
	}
	if !c.connected.Load() && (st.Code() == codes.Unavailable || st.Code() == codes.DeadlineExceeded) {
		return fmt.Errorf("%w at %s: is `junction serve` running? (set --server or %s)", ErrUnreachable, c.addr, ServerEnv)
	}
	if st.Code() == codes.Unauthenticated {
		return &StatusError{st: st, hint: unauthenticatedHint(c.keyFrom)}
	}
	return &StatusError{st: st}
}

// StatusError is an error answered by the gateway. It prints as
// "<code>: <message>" and keeps the gRPC status for status.Code and
// status.FromError.
type StatusError struct {
	st   *status.Status
	hint string
}

// Error returns "<code>: <message>", and a hint on its own line for an
// Unauthenticated answer.
func (e *StatusError) Error() string {
	msg := e.st.Code().String() + ": " + e.st.Message()
	if e.hint != "" {
		msg += "\n  hint: " + e.hint
	}
	return msg
}

// GRPCStatus returns the gateway's status.
func (e *StatusError) GRPCStatus() *status.Status { return e.st }

// runE adapts a command body to cobra: it settles the persistent flags,
// silences the usage text for errors that are not about usage, and passes
// the command's context.
func runE(o *options, body func(ctx context.Context, cmd *cobra.Command, args []string) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		if err := o.resolve(cmd); err != nil {
			return err
		}
		cmd.SilenceUsage = true
		ctx := cmd.Context()
		if ctx == nil {
			ctx = context.Background()
		}
		return body(ctx, cmd, args)
	}
}
