// Package fine uses the owner and names things that only look like wire.
package fine

import (
	"context"

	"github.com/nats-io/nats.go/jetstream"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/junctionhq/junction/adapters/sdk/platform/topology"
)

// Key is an attribute whose name begins like a subject.
var Key = attribute.Key("junction.dlq.reason")

// Publish goes through the owner.
func Publish(ctx context.Context, js jetstream.JetStream, m metric.Meter, source, typ, id string, body []byte) error {
	_, _ = m.Int64Counter("junction.events.ingested")
	_ = attribute.String("junction.deliveries", "n")
	_ = "junction.yaml"
	_ = topology.DeliveryConsumer("webhook")
	msg := topology.RawEventMsg(source, typ, id, body)
	if topology.MetaOf(msg.Header).MsgID == "" {
		return nil
	}
	_, err := js.PublishMsg(ctx, msg, jetstream.WithMsgID(topology.EventMsgID(source, id)))
	return err
}
