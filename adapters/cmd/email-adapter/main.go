// Command email-adapter runs Junction's email destination as its own
// process: deliveries to the "email" destination are rendered from the
// route target's templates and sent over SMTP with STARTTLS and auth. See
// package email for its configuration.
//
//	SMTP_PASSWORD=... email-adapter --config email.yaml
package main

import (
	"github.com/junctionhq/junction/adapters/email"
	"github.com/junctionhq/junction/adapters/sdk"
	// OTLP trace export, when the OTEL_* variables ask for it.
	_ "github.com/junctionhq/junction/adapters/sdk/telemetry/otlp"
)

func main() { sdk.Main(email.Spec, email.New) }
