// Package apphook is the HTTP plumbing every app source adapter (Stripe,
// Shopify, Slack, HubSpot, GitHub, Jira) shares, and the answer shape
// they share with the generic webhook adapter: where the signing secrets
// come from (secret_env or secret_file, and previous ones while a secret
// is rotated), turning away requests (path, method, media type, a
// bounded body, the signature), storing an event detached from the
// request, and answering the sender in JSON ({"error":{"code","status",
// "message"}} on a rejection, {"id","duplicate","sequence"} once stored).
package apphook
