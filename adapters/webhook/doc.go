// Package webhook is Junction's generic webhook adapter: any app that can
// send or receive a signed HTTP POST connects to the hub through it.
//
// # Inbound: webhooks become events
//
// Each configured source is one sender. It POSTs JSON to
// /webhooks/<source>; the adapter checks, in this order, that the source
// exists (404), the method is POST (405), the source is within its rate
// limit (429 with Retry-After; default 200 requests/s, burst 400, per
// source), the Content-Type is one the source sends (415; default
// application/json), the body is within max_body_bytes
// (413), the signature headers are present and well formed (400) and the
// signature matches within the tolerance (401), and the body is a JSON object with an event type (400). Only then is
// the event stored on the hub, and only once JetStream has acknowledged it
// does the sender get its answer:
//
//	202 {"id": "msg_2x...", "duplicate": false, "sequence": 42}  stored
//	202 {"id": "msg_2x...", "duplicate": true,  "sequence": 42}  this id was stored before
//	503 Retry-After: 5                                           the hub cannot store now; retry
//
// Every rejection stores nothing and answers JSON saying what to fix:
//
//	{"error": {"code": 401, "status": "UNAUTHENTICATED", "message": "webhook-signature does not match: ..."}}
//
// Two signature schemes are supported:
//
//   - standard-webhooks: the Standard Webhooks headers webhook-id,
//     webhook-timestamp and webhook-signature, verified with
//     sdk/verify.StandardWebhooks against a "whsec_<base64>" secret. The timestamp
//     must be within the source's tolerance (default 5m) of the receiver's
//     clock. webhook-id is the event id.
//   - hmac-sha256: the hex HMAC-SHA256 of the body, optionally prefixed
//     "sha256=", in signature_header (default X-Signature), verified with
//     sdk/verify.HMAC (constant-time compare). With timestamp_header set, the signed content is
//     "<timestamp>.<body>" and the tolerance applies. The event id comes
//     from id_header, else from the JSON field id_field; a header or field
//     that is configured but missing is a 400.
//
// The event id is what makes a sender's retry the same event: the hub
// stores each source and id once, however often and however late it
// arrives (for the idempotency bucket's TTL). A source with no id at all
// gets a random id per request, and so no deduplication.
//
// The event keeps the body byte for byte as its data (data_content_type
// application/json). Its type comes from type_field (default "type", then
// "event"), its time from time_field (default "timestamp", "time",
// "created_at"; RFC 3339 or Unix seconds), else the time it arrived. When
// the type matches a pattern in models (default "user.>" -> user,
// "contact.>" -> contact), the body's "data" object (or the top level when
// there is none) is also mapped onto the canonical junction.model.v1 User
// or Contact by common field names (id/user_id/contact_id, email,
// first_name, last_name, name, company, plan, phone, title, created_at);
// other scalar fields become its attributes, and its id the event subject.
//
// # Outbound: deliveries become signed POSTs
//
// The adapter's sink consumes the "webhook" destination. A route target
// with destination "webhook" and config {"url": "https://..."} has its
// rendered payload POSTed there, signed with the outbound secret as
// Standard Webhooks: webhook-id is the delivery id, the same on every retry
// so the receiver can dedupe; webhook-timestamp is the time of the attempt.
// Junction-Event-Id and Junction-Route name what it came from. A receiver
// verifies it with any Standard Webhooks library, e.g. in Go:
//
//	wh, _ := standardwebhooks.NewWebhook(os.Getenv("JUNCTION_WEBHOOK_SIGNING_SECRET"))
//	err := wh.Verify(body, r.Header)
//
// 2xx is success. 408, 429, 5xx, network errors and timeouts are retried
// by the SDK with backoff, not before a Retry-After (seconds or HTTP date)
// asks. Redirects are not followed; they and every other 4xx, and a target
// with no valid http(s) url, are permanent failures that go to the
// dead-letter queue with the status and the start of the receiver's answer.
//
// With no outbound secret the adapter still receives webhooks, but every
// delivery fails permanently with ErrNoSigningSecret (and is dead-lettered,
// so it can be redriven once a secret is set): nothing is sent unsigned.
//
// Deliveries are closed to internal networks by default (server-side
// request forgery): every connection is checked when it is made, after
// DNS, so a name cannot be re-pointed past the check, and loopback,
// private, link-local, CGNAT, multicast, reserved and cloud metadata
// addresses (and IPv6 forms embedding them) are refused; see package
// egress. Such a delivery fails permanently (dead-lettered, naming the
// address class and outbound.allow). outbound.allow lists deliberate
// internal targets: CIDRs, addresses or host:port. No proxy is used, and
// the hub's own listeners are refused whatever the list says.
//
// # Configuration
//
// The `adapter:` section of the adapter's YAML file (see sdk.LoadConfig).
// Every secret is given as exactly one of secret (inline), secret_env (the
// name of an environment variable) or secret_file (a path); secrets are
// never logged or printed.
//
//	adapter:
//	  sources:
//	    - name: acme                      # POST /webhooks/acme; the event source
//	      scheme: standard-webhooks
//	      secret_env: ACME_WEBHOOK_SECRET # whsec_<base64>
//	      previous:                       # while rotating: the old secret passes too
//	        secret_env: ACME_OLD_SECRET
//	      models:
//	        "user.*": user                # user | contact | none
//	    - name: legacy
//	      scheme: hmac-sha256
//	      secret_file: /run/secrets/legacy
//	      signature_header: X-Signature   # default X-Signature
//	      timestamp_header: X-Timestamp   # optional: sign "<ts>.<body>"
//	      id_header: X-Event-Id           # or id_field: data.id
//	      type_field: event               # default "type", then "event"
//	      time_field: timestamp
//	      tolerance: 5m
//	      max_body_bytes: 1048576
//	      content_types: [application/json] # the default
//	      rate_limit: {per_second: 200, burst: 400} # the default
//	  outbound:
//	    secret_env: JUNCTION_WEBHOOK_SIGNING_SECRET # whsec_<base64>, see GenerateSecret; optional, see above
//	    allow: ["10.1.2.0/24", "receiver.internal:8443"] # default: none
//	    timeout: 30s
//
// The adapter runs as its own process (adapters/cmd/webhook-adapter, whose
// main is sdk.Main(webhook.Spec, webhook.New)) or inside `junction serve`,
// which mounts the runner's handler; embedders pass their logger with
// NewWithOptions(cfg, WithLogger(l)).
package webhook
