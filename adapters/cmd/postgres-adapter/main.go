// Command postgres-adapter runs Junction's PostgreSQL destination as its
// own process: deliveries to the "postgres" destination become rows of the
// table their route target names, once per delivery id. See package
// postgres for its configuration.
//
//	JUNCTION_POSTGRES_DSN=postgres://... postgres-adapter --config postgres.yaml
package main

import (
	"github.com/junctionhq/junction/adapters/postgres"
	"github.com/junctionhq/junction/adapters/sdk"
	// OTLP trace export, when the OTEL_* variables ask for it.
	_ "github.com/junctionhq/junction/adapters/sdk/telemetry/otlp"
)

func main() { sdk.Main(postgres.Spec, postgres.New) }
