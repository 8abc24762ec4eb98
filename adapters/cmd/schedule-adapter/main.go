// Command schedule-adapter runs Junction's schedule source as its own
// process: cron schedules, one event per tick. See package schedule for
// its configuration.
//
//	schedule-adapter --config schedule.yaml
package main

import (
	"github.com/junctionhq/junction/adapters/schedule"
	"github.com/junctionhq/junction/adapters/sdk"
	// OTLP trace export, when the OTEL_* variables ask for it.
	_ "github.com/junctionhq/junction/adapters/sdk/telemetry/otlp"
)

func main() { sdk.Main(schedule.Spec, schedule.New) }
