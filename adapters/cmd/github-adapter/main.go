// Command github-adapter runs Junction's GitHub source as its own process:
// GitHub webhooks posted to /webhooks/github are verified and stored as
// hub events. See package github for its configuration.
//
//	github-adapter --config github.yaml
package main

import (
	"github.com/junctionhq/junction/adapters/github"
	"github.com/junctionhq/junction/adapters/sdk"
	// OTLP trace export, when the OTEL_* variables ask for it.
	_ "github.com/junctionhq/junction/adapters/sdk/telemetry/otlp"
)

func main() { sdk.Main(github.Spec, github.New) }
