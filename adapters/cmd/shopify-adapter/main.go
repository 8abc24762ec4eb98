// Command shopify-adapter runs Junction's Shopify source as its own
// process: Shopify's webhooks, verified with the app's client secret,
// become hub events mapped onto the canonical model. See package shopify
// and docs/adapters/shopify.md for its configuration.
//
//	SHOPIFY_WEBHOOK_SECRET=... shopify-adapter --config shopify.yaml
package main

import (
	"github.com/junctionhq/junction/adapters/sdk"
	// OTLP trace export, when the OTEL_* variables ask for it.
	_ "github.com/junctionhq/junction/adapters/sdk/telemetry/otlp"
	"github.com/junctionhq/junction/adapters/shopify"
)

func main() { sdk.Main(shopify.Spec, shopify.New) }
