// Package poll is Junction's polling source: it polls REST endpoints of
// apps that send no webhooks and turns every new item into an event of
// source "poll", with id "<endpoint>.<item id>".
//
// Each endpoint names where its items are in the JSON answer, their id,
// time and event type, how its pages follow each other (Link header, a
// cursor in the body, or a page number), and an auth header read from the
// environment or a file. The adapter is an sdk.CursorSource: the hub keeps
// every endpoint's position (the latest item time and the ids taken at
// it) in the adapter's cursor, so a restart resumes where the last poll
// stopped and two instances store every item once (the cursor commits are
// compare-and-set, and the hub stores each source and id once). 429 and
// 503 answers are retried after their Retry-After, 408 and 5xx with
// exponential back-off. Every request connects through the SDK's egress
// guard: internal addresses are refused unless outbound.allow lists them.
//
// See docs/adapters/poll.md for the configuration.
package poll
