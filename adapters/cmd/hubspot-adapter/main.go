// Command hubspot-adapter runs Junction's HubSpot webhooks source as its
// own process: the v3-signed notification batches HubSpot POSTs to
// /webhooks/hubspot become one hub event each. See package hubspot and
// docs/adapters/hubspot.md for its configuration.
//
//	hubspot-adapter --config hubspot.yaml
package main

import (
	"github.com/junctionhq/junction/adapters/hubspot"
	"github.com/junctionhq/junction/adapters/sdk"
	// OTLP trace export, when the OTEL_* variables ask for it.
	_ "github.com/junctionhq/junction/adapters/sdk/telemetry/otlp"
)

func main() { sdk.Main(hubspot.Spec, hubspot.New) }
