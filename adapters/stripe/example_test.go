package stripe_test

import (
	"fmt"

	"github.com/junctionhq/junction/adapters/stripe"
)

// Normalize maps a Stripe event onto a hub event: the evt_ id, the mapped
// type and the canonical Payment, with amounts exact in the currency's
// minor unit.
func ExampleNormalize() {
	e, err := stripe.Normalize([]byte(`{"id":"evt_1","object":"event","api_version":"2026-06-24.dahlia","created":1767225600,
		"type":"payment_intent.succeeded","data":{"object":{"id":"pi_1","object":"payment_intent","amount":1999,"currency":"eur","status":"succeeded"}}}`))
	if err != nil {
		panic(err)
	}
	p := e.GetPayment()
	fmt.Println(e.GetId(), e.GetType(), e.GetProviderVersion())
	fmt.Println(p.GetId(), p.GetAmount().GetUnits(), p.GetAmount().GetNanos(), p.GetAmount().GetCurrencyCode(), p.GetStatus())
	// Output:
	// evt_1 payment.succeeded 2026-06-24.dahlia
	// pi_1 19 990000000 EUR succeeded
}
