package topology

import (
	"strconv"
	"time"

	"github.com/nats-io/nats.go"

	junctionv1 "github.com/junctionhq/junction/proto/junction/v1"
)

// Delayed deliveries: a route target with a delay has its deliveries
// written by the router straight onto RETRIES, due at the delivery's
// not_before, after 0 attempts. The destination's retry consumer holds
// each one (a NAK with the time left) until it is due and then makes the
// first attempt, so a delayed delivery waits in JetStream across restarts,
// holds no worker and no place on the live consumer while it waits, and
// is not counted as a failed attempt.

// DelayedMsg is delivery d, held back until d.not_before, as the router
// writes it: under RetrySubject(destination, route), with Nats-Msg-Id
// "delay:<delivery id>", HeaderAttempts 0 and HeaderNotBefore the due
// time, and the delivery's and its event's ids in headers like
// DeliveryMsg. When d does not encode, the error says so and the message
// has no body.
func DelayedMsg(d *junctionv1.Delivery) (*nats.Msg, error) {
	msg, err := deliveryMsg(RetrySubject(d.GetDestination(), d.GetRouteId()), "delay:"+d.GetId(), d)
	msg.Header.Set(HeaderAttempts, strconv.Itoa(0))
	msg.Header.Set(HeaderNotBefore, d.GetNotBefore().AsTime().UTC().Format(time.RFC3339Nano))
	return msg, err
}
