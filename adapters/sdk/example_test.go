package sdk_test

import (
	"context"
	"fmt"

	"google.golang.org/protobuf/proto"

	"github.com/junctionhq/junction/adapters/sdk"
	"github.com/junctionhq/junction/adapters/sdk/sdktest"
	"github.com/junctionhq/junction/adapters/sdk/sdktest/conformance"
	junctionv1 "github.com/junctionhq/junction/proto/junction/v1"
)

// A service of your own subscribes to the events it cares about. Here an
// embedded hub stands in for a real one.
func ExampleSubscribe() {
	hub, stop, err := sdktest.Start()
	if err != nil {
		fmt.Println(err)
		return
	}
	defer stop()

	pub, err := sdk.NewPublisher(hub.JS)
	if err != nil {
		fmt.Println(err)
		return
	}
	res, err := pub.Publish(context.Background(), &junctionv1.Event{
		Id:              "evt_1",
		Source:          "acme",
		Type:            "user.created",
		DataContentType: "application/json",
		Data:            []byte(`{"email":"alex@example.com"}`),
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("published at sequence", res.Sequence)

	ctx, cancel := context.WithCancel(context.Background())
	err = sdk.Subscribe(ctx, hub.JS, "crm-sync", "acme.user.*", func(_ context.Context, e *junctionv1.Event) error {
		fmt.Println("got", e.GetSource(), e.GetType(), e.GetId(), string(e.GetData()))
		cancel() // one is enough for the example
		return nil
	})
	fmt.Println("subscribe returned", err)
	// Output:
	// published at sequence 1
	// got acme user.created evt_1 {"email":"alex@example.com"}
	// subscribe returned <nil>
}

// A test of an adapter's sink runs it with the SDK's real engine against an
// embedded hub.
func ExampleSink() {
	hub, stop, err := sdktest.Start()
	if err != nil {
		fmt.Println(err)
		return
	}
	defer stop()

	delivered := make(chan *junctionv1.Delivery, 1)
	r, err := conformance.Start(hub, sdk.Spec{App: "printer", Version: "0.1.0"}, sinkFunc(func(_ context.Context, d *junctionv1.Delivery) error {
		delivered <- d
		return nil
	}))
	if err != nil {
		fmt.Println(err)
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()

	// What the router would publish for a route targeting "printer".
	if _, err := hub.JS.Publish(ctx, "junction.deliveries.printer.welcome", mustMarshal(&junctionv1.Delivery{
		Id: "dlv_1", RouteId: "welcome", Destination: "printer", Payload: []byte("hello"),
	})); err != nil {
		fmt.Println(err)
		return
	}
	d := <-delivered
	fmt.Println("delivered", d.GetId(), string(d.GetPayload()))
	cancel()
	fmt.Println("run returned", <-done)
	// Output:
	// delivered dlv_1 hello
	// run returned <nil>
}

// sinkFunc adapts a function to sdk.Sink.
type sinkFunc func(ctx context.Context, d *junctionv1.Delivery) error

func (f sinkFunc) Deliver(ctx context.Context, d *junctionv1.Delivery) error { return f(ctx, d) }

func mustMarshal(m proto.Message) []byte {
	b, err := proto.Marshal(m)
	if err != nil {
		panic(err)
	}
	return b
}
