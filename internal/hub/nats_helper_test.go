package hub

import (
	"github.com/nats-io/nats.go"
)

// platformConn is a connection to h's embedded NATS as the platform user
// (every subject), in process, for tests to inspect streams.
func platformConn(h *Hub) (*nats.Conn, error) {
	opts, err := h.keys.InProcess(h.ns, platformUser)
	if err != nil {
		return nil, err
	}
	return nats.Connect("", opts...)
}
