// Package bad writes the hub's wire by hand, once per rule.
package bad

import (
	"context"
	"fmt"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	topo "github.com/junctionhq/junction/adapters/sdk/platform/topology"
)

// Publish breaks every rule.
func Publish(ctx context.Context, js jetstream.JetStream, dest, route, id string) error {
	msg := nats.NewMsg("junction.deliveries." + dest + "." + route)
	msg.Header.Set(jetstream.MsgIDHeader, id)
	msg.Header.Set(nats.MsgIdHdr, id)
	msg.Header.Set(topo.HeaderDeliveryID, id)
	msg.Header.Set("Junction-Attempts", "1")
	msg.Header.Set("nats-msg-id", id)
	_ = topo.ContentTypeDelivery
	_ = topo.DLQPrefix + dest
	_ = fmt.Sprintf("junction.%s.%s", dest, route)
	_ = "junction.dlq"
	_, err := js.PublishMsg(ctx, msg, jetstream.WithMsgID("retry:"+id))
	return err
}
