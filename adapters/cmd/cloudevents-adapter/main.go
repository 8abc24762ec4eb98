// Command cloudevents-adapter runs Junction's CloudEvents source as its own
// process: CloudEvents POSTed to /webhooks/cloudevents in binary,
// structured or batched mode become hub events. See package cloudevents
// for its configuration.
//
//	cloudevents-adapter --config cloudevents.yaml
package main

import (
	"github.com/junctionhq/junction/adapters/cloudevents"
	"github.com/junctionhq/junction/adapters/sdk"
	// OTLP trace export, when the OTEL_* variables ask for it.
	_ "github.com/junctionhq/junction/adapters/sdk/telemetry/otlp"
)

func main() { sdk.Main(cloudevents.Spec, cloudevents.New) }
