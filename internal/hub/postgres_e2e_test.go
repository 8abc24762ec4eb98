package hub

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/junctionhq/junction/adapters/postgres/pgtest"
	junctionv1 "github.com/junctionhq/junction/proto/junction/v1"
)

// TestPostgresDestinationEndToEnd: generic webhooks posted to serve and
// routed to the postgres destination run inside serve become rows of a
// table on a real PostgreSQL server, created at the first delivery, one
// row per delivery.
func TestPostgresDestinationEndToEnd(t *testing.T) {
	srv := pgtest.Start(t)
	dsn := srv.CreateDB(t)
	t.Setenv("E2E_PG_DSN", dsn)
	h := startHub(t, withSourceApp(t, testConfig(t.TempDir()), "postgres", "dsn_env: E2E_PG_DSN\ncreate_tables: true\n"))
	ctx := context.Background()
	created, err := h.routes(t).CreateRoute(ctx, &junctionv1.CreateRouteRequest{RouteId: "signups-to-db", Route: &junctionv1.Route{
		Filter: "acme.user.created",
		Targets: []*junctionv1.Target{{Name: "db", Destination: "postgres", Config: map[string]string{
			"table": "signups",
			"columns": `user_id text = payload.data.user_id
				email text = payload.data.email
				plan text = payload.data.plan
				event_id text = event.id
				signed_up timestamptz = payload.timestamp`,
		}}},
	}})
	if err != nil {
		t.Fatalf("CreateRoute: %v", err)
	}
	h.routeApplied(t, created.GetRoute().GetRevision())
	for i, plan := range []string{"free", "enterprise"} {
		if resp := h.sendWebhook(t, fmt.Sprintf("msg_pg_%d", i+1), userCreated(plan, fmt.Sprintf("user%d@example.com", i+1))); resp.StatusCode/100 != 2 {
			t.Fatalf("webhook %d answered %d, want 2xx", i+1, resp.StatusCode)
		}
	}
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var got []string
	waitFor(t, 30*time.Second, "two rows in signups", func() error {
		rows, err := conn.Query(ctx, `SELECT user_id || '|' || email || '|' || plan || '|' || event_id || '|' ||
			to_char(signed_up AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS') || '|' || left(junction_delivery_id, 4) FROM signups ORDER BY email`)
		if err != nil {
			return err // the table is made by the first delivery
		}
		if got, err = pgx.CollectRows(rows, pgx.RowTo[string]); err != nil {
			return err
		}
		if len(got) < 2 {
			return fmt.Errorf("%d rows", len(got))
		}
		return nil
	})
	want := "usr_987654321|user1@example.com|free|msg_pg_1|2026-06-20 19:08:41|dlv_\n" +
		"usr_987654321|user2@example.com|enterprise|msg_pg_2|2026-06-20 19:08:41|dlv_"
	if strings.Join(got, "\n") != want {
		t.Errorf("rows:\n%s\nwant:\n%s", strings.Join(got, "\n"), want)
	}
}
