// Package hook hands the SDK's delivery engine to the platform package
// (adapters/sdk/platform) without exporting it from package sdk, the way
// grpc-go's internal package does: package sdk sets the variables when it
// is initialised, package platform, which imports sdk, calls them. Being
// internal, it is importable only from inside the SDK module.
package hook

import (
	"context"
	"net/http"

	junctionv1 "github.com/junctionhq/junction/proto/junction/v1"
)

// Runner is the engine running one adapter value.
type Runner interface {
	Run(ctx context.Context) error
	Handler() http.Handler
	Ready() error
	Registration() *junctionv1.Adapter
}

// NewRunner is set by package sdk to its runner constructor, a
//
//	func(spec sdk.Spec, adapter any, nc *nats.Conn, cfg sdk.Config,
//		log *slog.Logger, scoped, checkStore bool) (Runner, error)
//
// typed as any because this package cannot name package sdk's types.
var NewRunner any
