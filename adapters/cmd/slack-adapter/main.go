// Command slack-adapter runs Junction's Slack Events API source as its own
// process: Slack's signed event callbacks, POSTed to /webhooks/slack,
// become hub events. See package slack and docs/adapters/slack.md for its
// configuration.
//
//	slack-adapter --config slack.yaml
package main

import (
	"github.com/junctionhq/junction/adapters/sdk"
	// OTLP trace export, when the OTEL_* variables ask for it.
	_ "github.com/junctionhq/junction/adapters/sdk/telemetry/otlp"
	"github.com/junctionhq/junction/adapters/slack"
)

func main() { sdk.Main(slack.Spec, slack.New) }
