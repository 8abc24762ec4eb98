// Package sdk is what an adapter author and a user's own service import to
// talk to a Junction hub.
//
// An adapter implements only its domain, through one or more roles checked
// by type assertion:
//
//   - [WebhookSource]: an http.Handler mounted at /webhooks/ that verifies and
//     normalizes what an app sends and calls [EmitFunc];
//   - [PollingSource]: called every [Config.PollInterval] to fetch what
//     changed and emit it;
//   - [Sink]: delivers one [junctionv1.Delivery] to the app.
//
// The SDK owns the rest: the NATS connection, publishing with idempotency
// ([Publisher]), acks, retries with backoff, dead-lettering,
// registration heartbeats, health endpoints, configuration and graceful
// shutdown ([Main]). An adapter's whole main is
//
//	func main() { sdk.Main(webhook.Spec, webhook.New) }
//
// A sink reports how a delivery went through the error it returns: nil is
// success; [Permanent] errors (a 4xx, a mapping error) go to the dead-letter
// queue at once; any other error is retried with exponential backoff and
// jitter, never sooner than [RetryAfter] asks, until the route's policy is
// exhausted.
//
// A user's own service consumes events with [Subscribe], which runs a
// durable consumer that replicas of the service share.
//
// # Delivery semantics
//
// Delivery is at least once: a crash, a lost ack or a shutdown can make
// Deliver run again for the same delivery, so it carries a stable id that
// receivers dedupe on. A sink's consumer is durable, one per destination
// (topology.DeliveryConsumer), with MaxDeliver unlimited: attempts are
// counted against each delivery's own policy from the message's delivery
// count. The sink pulls only as many deliveries as it has free workers, so
// none waits in a client buffer while its 30 s ack timer runs; attempts
// longer than that send progress. A failed attempt moves the delivery to
// the RETRIES stream (topology.RetriesStream), due after its backoff, where
// the destination's retry consumer (topology.RetryConsumer) takes it when it
// is due: deliveries waiting for a retry never hold up fresh ones on the
// live consumer. A delivery handed back at shutdown counts as an attempt.
// A route past Config.RouteConcurrency attempts in flight never takes the
// last RouteConcurrency free workers; its further deliveries are parked on
// its own lane (topology.LanesStream) and worked by the route's lane
// consumer, so a hanging endpoint never holds up the other routes of the
// same destination.
// Every attempt is recorded on the ATTEMPTS stream; an adapter's error that
// implements [ResponseError] adds the answer's status and body excerpt.
//
// A dead letter is the delivery's own bytes on
// junction.dlq.<destination>.<route> with Nats-Msg-Id
// "dlq:<delivery id>:<source message>" and the HeaderDLQ* headers of the
// platform's wire format (platform/topology).
// The original is terminated only after the DLQ acknowledged it; when it
// cannot be stored the delivery is retried later instead, so nothing is
// dropped.
//
// Publishing is exactly once per source and event id: [Publisher] checks the
// idempotency bucket (provider retries days later) and sets Nats-Msg-Id
// (a crash between storing and recording), and records the id only after
// JetStream acknowledged the event.
package sdk
