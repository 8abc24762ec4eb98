// Command poll-adapter runs Junction's polling source as its own process:
// REST endpoints polled on an interval, each new item stored as an event.
// See package poll for its configuration.
//
//	poll-adapter --config poll.yaml
package main

import (
	"github.com/junctionhq/junction/adapters/poll"
	"github.com/junctionhq/junction/adapters/sdk"
	// OTLP trace export, when the OTEL_* variables ask for it.
	_ "github.com/junctionhq/junction/adapters/sdk/telemetry/otlp"
)

func main() { sdk.Main(poll.Spec, poll.New) }
