package router

import (
	"testing"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/junctionhq/junction/adapters/sdk/sdktest"
)

// startHub runs an embedded nats-server with JetStream on a random port,
// creates the hub's topology and returns a JetStream client for it.
func startHub(t testing.TB) jetstream.JetStream {
	t.Helper()
	return sdktest.NewHub(t).JS
}
