package hub

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	stripego "github.com/stripe/stripe-go/v86"

	"github.com/junctionhq/junction/adapters/postgres/pgtest"
	junctionv1 "github.com/junctionhq/junction/proto/junction/v1"
)

// stripePaymentEvent is a payment_intent event (succeeded or
// payment_failed) as Stripe sends it, created at the given time.
func stripePaymentEvent(id, typ, pi string, cents int64, currency, customer string, created time.Time) []byte {
	return fmt.Appendf(nil, `{"id":%q,"object":"event","api_version":%q,"created":%d,"livemode":false,"pending_webhooks":1,`+
		`"type":%q,"data":{"object":{"id":%q,"object":"payment_intent","amount":%d,"amount_received":%d,`+
		`"currency":%q,"customer":%q,"created":%d,"payment_method_types":["card"],"receipt_email":"%s@example.com","status":"succeeded"}}}`,
		id, stripego.APIVersion, created.Unix(), typ, pi, cents, cents, currency, customer, created.Unix()-10, customer)
}

// TestExampleStripeToPostgres runs examples/stripe-to-postgres: Stripe
// events signed by stripe-go's test helper and posted to /webhooks/stripe
// become rows of the payments table on a real PostgreSQL server (created
// at the first delivery from the route's mapping), one per payment
// however often Stripe retries, a failed payment none; then the
// example's dashboard.sql, run against the table, gives the revenue per
// day and currency.
func TestExampleStripeToPostgres(t *testing.T) {
	const flow = "stripe-to-postgres"
	srv := pgtest.Start(t)
	dsn := srv.CreateDB(t)
	t.Setenv("ANALYTICS_DSN", dsn)
	t.Setenv("STRIPE_WEBHOOK_SECRET", stripeE2ESecret)
	h := startHub(t, loadExample(t, flow, nil))
	applyExampleRoutes(t, h, flow)

	day := func(d, hh, mm int) time.Time { return time.Date(2026, 12, d, hh, mm, 0, 0, time.UTC) }
	sends := []struct {
		id, typ, pi string
		cents       int64
		currency    string
		customer    string
		at          time.Time
	}{
		{"evt_flow_1", "payment_intent.succeeded", "pi_flow_1", 12550, "usd", "cus_ada", day(1, 10, 0)},
		{"evt_flow_1", "payment_intent.succeeded", "pi_flow_1", 12550, "usd", "cus_ada", day(1, 10, 0)}, // Stripe's retry
		{"evt_flow_2", "payment_intent.succeeded", "pi_flow_2", 2000, "usd", "cus_bob", day(1, 23, 59)},
		{"evt_flow_3", "payment_intent.succeeded", "pi_flow_3", 4999, "usd", "cus_ada", day(2, 0, 1)},
		{"evt_flow_4", "payment_intent.succeeded", "pi_flow_4", 1000, "eur", "cus_cem", day(2, 12, 0)},
		{"evt_flow_5", "payment_intent.payment_failed", "pi_flow_5", 99900, "usd", "cus_bob", day(2, 13, 0)},
	}
	for i, s := range sends {
		if code, b := postStripe(t, h, stripePaymentEvent(s.id, s.typ, s.pi, s.cents, s.currency, s.customer, s.at)); code != http.StatusAccepted {
			t.Fatalf("send %d (%s) answered %d %s, want 202", i+1, s.id, code, b)
		}
	}
	// The README's payment, as the folder ships it.
	if code, b := postStripe(t, h, exampleFile(t, flow, "payment.json")); code != http.StatusAccepted {
		t.Fatalf("payment.json answered %d %s, want 202", code, b)
	}
	delivered := junctionv1.DeliveryState_DELIVERY_STATE_DELIVERED
	for _, id := range []string{"evt_flow_1", "evt_flow_2", "evt_flow_3", "evt_flow_4", "evt_demo_1"} {
		h.eventDeliveries(t, id, map[string]junctionv1.DeliveryState{"warehouse": delivered})
	}

	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	query := func(sql string) string {
		t.Helper()
		rows, err := conn.Query(ctx, sql)
		if err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
		got, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
		return strings.Join(got, "\n")
	}
	rows := query(`SELECT concat_ws('|', payment_id, amount_cents, currency, customer, email, method,
		to_char(paid_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI'), stripe_event) FROM payments ORDER BY payment_id`)
	if want := "pi_demo_1|4200|USD|cus_dana|dana@example.com|card|2026-12-03 09:30|evt_demo_1\n" +
		"pi_flow_1|12550|USD|cus_ada|cus_ada@example.com|card|2026-12-01 10:00|evt_flow_1\n" +
		"pi_flow_2|2000|USD|cus_bob|cus_bob@example.com|card|2026-12-01 23:59|evt_flow_2\n" +
		"pi_flow_3|4999|USD|cus_ada|cus_ada@example.com|card|2026-12-02 00:01|evt_flow_3\n" +
		"pi_flow_4|1000|EUR|cus_cem|cus_cem@example.com|card|2026-12-02 12:00|evt_flow_4"; rows != want {
		t.Errorf("payments table:\n%s\nwant (one row per payment, the retry and the failed payment none):\n%s", rows, want)
	}

	// The dashboard's own SQL, as the example ships it, over the table.
	dashboard := strings.TrimSuffix(strings.TrimSpace(string(exampleFile(t, flow, "dashboard.sql"))), ";")
	tiles := query(`SELECT concat_ws('|', day, currency, payments, revenue, customers) FROM (` + dashboard + "\n) AS tile")
	if want := "2026-12-01|USD|2|145.50|2\n" +
		"2026-12-02|EUR|1|10.00|1\n" +
		"2026-12-02|USD|1|49.99|1\n" +
		"2026-12-03|USD|1|42.00|1"; tiles != want {
		t.Errorf("dashboard.sql gave:\n%s\nwant revenue per day and currency:\n%s", tiles, want)
	}
}
