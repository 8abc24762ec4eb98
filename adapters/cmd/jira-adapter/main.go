// Command jira-adapter runs Junction's Jira Cloud source as its own
// process: Jira webhooks posted to /webhooks/jira are verified and stored
// as hub events. See package jira for its configuration.
//
//	jira-adapter --config jira.yaml
package main

import (
	"github.com/junctionhq/junction/adapters/jira"
	"github.com/junctionhq/junction/adapters/sdk"
	// OTLP trace export, when the OTEL_* variables ask for it.
	_ "github.com/junctionhq/junction/adapters/sdk/telemetry/otlp"
)

func main() { sdk.Main(jira.Spec, jira.New) }
