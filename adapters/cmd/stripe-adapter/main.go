// Command stripe-adapter runs Junction's Stripe source as its own process:
// Stripe's webhook events, verified with the endpoint's signing secrets,
// become hub events mapped onto the canonical model. See package stripe
// and docs/adapters/stripe.md for its configuration.
//
//	STRIPE_WEBHOOK_SECRET=whsec_... stripe-adapter --config stripe.yaml
package main

import (
	"github.com/junctionhq/junction/adapters/sdk"
	// OTLP trace export, when the OTEL_* variables ask for it.
	_ "github.com/junctionhq/junction/adapters/sdk/telemetry/otlp"
	"github.com/junctionhq/junction/adapters/stripe"
)

func main() { sdk.Main(stripe.Spec, stripe.New) }
