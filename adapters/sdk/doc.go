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
// ([Publisher]), acks, retries with backoff, dead-lettering ([Runner]),
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
package sdk
