package router_test

import (
	"fmt"

	junctionv1 "github.com/junctionhq/junction/proto/junction/v1"
	"github.com/junctionhq/junction/services/router"
)

// A route is compiled once and then evaluated against each event.
func ExampleCompile() {
	c, err := router.Compile(&junctionv1.Route{
		Name:      "routes/pro-signups",
		Filter:    "acme.user.created",
		Condition: `data.plan == "pro"`,
		Targets: []*junctionv1.Target{{
			Destination: "slack",
			Action:      "chat.postMessage",
			Transform:   `{"text": "new pro user: " + data.email}`,
		}},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	res, err := c.Evaluate(&junctionv1.Event{
		Id:     "evt_1",
		Source: "acme",
		Type:   "user.created",
		Data:   []byte(`{"email":"ada@example.com","plan":"pro"}`),
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	d := res.Deliveries[0]
	fmt.Println(res.ConditionMatched, d.Destination, d.RouteId, d.Target)
	fmt.Println(string(d.Payload))

	_, err = router.Compile(&junctionv1.Route{Filter: "acme.>", Condition: `data.plan`, Targets: []*junctionv1.Target{{Destination: "bad.name"}}})
	fmt.Println(err)
	// Output:
	// true slack pro-signups 0
	// {"text":"new pro user: ada@example.com"}
	// invalid route: targets[0].destination: invalid name: "bad.name" must be 1 to 63 characters of a-z, 0-9, '_' and '-', starting with a letter or digit
}
