// Package httponly sends an HTTP header that shares a hub header's name:
// it does not talk to NATS, so it is not the hub's header.
package httponly

import "net/http"

// Set names the event on an outbound request.
func Set(req *http.Request, id string) { req.Header.Set("Junction-Event-Id", id) }
