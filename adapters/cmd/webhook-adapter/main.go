// Command webhook-adapter runs Junction's generic webhook adapter as its own
// process: verified inbound webhooks become events, and deliveries to the
// "webhook" destination are POSTed signed with Standard Webhooks. See
// package webhook for its configuration.
//
//	webhook-adapter --config webhook.yaml
package main

import (
	"github.com/junctionhq/junction/adapters/sdk"
	// OTLP trace export, when the OTEL_* variables ask for it.
	_ "github.com/junctionhq/junction/adapters/sdk/telemetry/otlp"
	"github.com/junctionhq/junction/adapters/webhook"
)

func main() { sdk.Main(webhook.Spec, webhook.New) }
