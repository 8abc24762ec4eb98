// Command ticketdesk-adapter runs the Ticket Desk example adapter:
//
//	TICKETDESK_WEBHOOK_SECRET=... ticketdesk-adapter --config ticketdesk.yaml
package main

import (
	"github.com/junctionhq/junction/adapters/examples/ticketdesk"
	"github.com/junctionhq/junction/adapters/sdk"
)

func main() { sdk.Main(ticketdesk.Spec, ticketdesk.New) }
