// Command junction is the Junction platform binary: `junction serve` runs
// the whole hub in one process, `junction router` and `junction gateway` run
// one component against an external NATS, and `junction routes|events` are
// the CLI client, which talks to the gateway over gRPC.
package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	sdktelemetry "github.com/junctionhq/junction/adapters/sdk/platform/telemetry"
	"github.com/junctionhq/junction/internal/cli"
	"github.com/junctionhq/junction/internal/hub"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	root := newRootCmd()
	if err := root.ExecuteContext(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		os.Exit(1)
	}
}

func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:           "junction",
		Short:         "Junction connects SaaS apps through one event hub",
		Long:          "Junction is a hub-and-spoke integration platform on NATS JetStream.\nRun the hub with `junction serve`; manage routes with `junction routes`.",
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       hub.Version,
	}
	root.AddCommand(newServeCmd(), newRouterCmd(), newGatewayCmd())
	root.AddCommand(newNATSAuthCmd())
	root.AddCommand(cli.Commands()...)
	return root
}

// getenv is os.Getenv, replaceable in tests.
var getenv = os.Getenv

// newLogger builds the process logger: JSON unless stderr is a terminal.
func newLogger(level string) (*slog.Logger, error) {
	l, err := hub.ParseLevel(level)
	if err != nil {
		return nil, err
	}
	// JSON unless a terminal; trace_id and span_id on lines inside a span.
	return sdktelemetry.NewLogger(os.Stderr, l), nil
}
