package hub

import (
	"net/http"
	"strings"
	"testing"

	stripego "github.com/stripe/stripe-go/v86"
)

// TestMappingFailuresCountedInServe: inside `junction serve`, a Stripe
// payment whose amount is not a number is still stored, and serve's
// /metrics counts it in junction_source_mapping_failures_total by source,
// type and Stripe API version; a payment that maps, and Stripe's retry of
// the one that did not, count nothing more.
func TestMappingFailuresCountedInServe(t *testing.T) {
	t.Setenv("STRIPE_WEBHOOK_SECRET", stripeE2ESecret)
	t.Setenv("STRIPE_PREVIOUS_WEBHOOK_SECRET", "whsec_e2e_previous")
	h := startHub(t, withStripe(t, testConfig(t.TempDir())))
	series := map[string]string{"source": "stripe", "type": "payment.succeeded", "provider_version": stripego.APIVersion}
	const name = "junction_source_mapping_failures_total"

	before := value(scrape(t, h), name, series)
	drifted := []byte(strings.Replace(string(stripePaymentSucceeded("evt_drift_1", "pi_drift_1", 500)), `"amount":500,`, `"amount":"5.00",`, 1))
	for _, body := range [][]byte{drifted, stripePaymentSucceeded("evt_drift_2", "pi_drift_2", 700), drifted} {
		if code, b := postStripe(t, h, body); code != http.StatusAccepted {
			t.Fatalf("answered %d %s, want 202 (an event that does not map is stored anyway)", code, b)
		}
	}
	if got := value(scrape(t, h), name, series) - before; got != 1 {
		t.Errorf("%s%v moved by %v, want 1", name, series, got)
	}
}
