package shopify_test

import (
	"fmt"

	"github.com/junctionhq/junction/adapters/shopify"
)

// Normalize maps a Shopify webhook onto a hub event: the id from the
// event id and topic, the mapped type, and the canonical Order with its
// line items, ids and prices exact.
func ExampleNormalize() {
	e, err := shopify.Normalize(shopify.Meta{Topic: "orders/create", EventID: "7b8c9d0a", APIVersion: "2026-04"},
		[]byte(`{"id":820982911946154508,"name":"#1001","currency":"USD","subtotal_price":"398.00","total_price":"403.00",
		"line_items":[{"id":866550311766439020,"title":"IPod Nano - 8GB","quantity":2,"price":"199.00"}]}`))
	if err != nil {
		panic(err)
	}
	o := e.GetOrder()
	fmt.Println(e.GetId(), e.GetType(), e.GetProviderVersion())
	fmt.Println(o.GetId(), o.GetNumber(), o.GetTotal().GetUnits(), o.GetTotal().GetCurrencyCode())
	for _, li := range o.GetLineItems() {
		fmt.Println(li.GetId(), li.GetQuantity(), li.GetUnitPrice().GetUnits(), li.GetTitle())
	}
	// Output:
	// 7b8c9d0a:orders.create order.created 2026-04
	// 820982911946154508 #1001 403 USD
	// 866550311766439020 2 199 IPod Nano - 8GB
}
