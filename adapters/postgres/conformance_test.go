package postgres_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/junctionhq/junction/adapters/postgres"
	"github.com/junctionhq/junction/adapters/postgres/pgtest"
	"github.com/junctionhq/junction/adapters/sdk/sdktest/conformance"
)

// pgApp is the conformance suite's App: a real PostgreSQL database whose
// table has a trigger answering each insert as scripted, by raising the
// SQLSTATE a real server sends for that kind of failure, and logging each
// attempt through dblink (its own transaction, so a failed insert is
// logged too).
type pgApp struct {
	pool *pgxpool.Pool
	t    *testing.T
}

const appSetup = `
CREATE EXTENSION dblink;
CREATE TABLE conformance_script (n int PRIMARY KEY, sqlstate text NOT NULL, hold boolean NOT NULL);
CREATE TABLE conformance_log (n serial PRIMARY KEY, key text, at timestamptz NOT NULL DEFAULT clock_timestamp());
CREATE TABLE items (id text, type text, junction_delivery_id text NOT NULL UNIQUE);
CREATE FUNCTION conformance_answer() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
	attempt bigint;
	last int;
	ans record;
BEGIN
	PERFORM dblink_exec(format('host=127.0.0.1 port=%s dbname=%s user=%s', current_setting('port'), current_database(), current_user),
		format('INSERT INTO conformance_log (key) VALUES (%L)', NEW.junction_delivery_id));
	SELECT count(*) INTO attempt FROM conformance_log;
	SELECT max(n) INTO last FROM conformance_script;
	IF last IS NULL THEN
		RETURN NEW;
	END IF;
	SELECT * INTO ans FROM conformance_script WHERE n = least(attempt, last);
	IF ans.hold THEN
		PERFORM pg_advisory_xact_lock_shared(4242);
	END IF;
	IF ans.sqlstate <> '' THEN
		RAISE EXCEPTION 'scripted failure %', ans.sqlstate USING ERRCODE = ans.sqlstate;
	END IF;
	RETURN NEW;
END $$;
CREATE TRIGGER conformance BEFORE INSERT ON items FOR EACH ROW EXECUTE FUNCTION conformance_answer();
`

func newPGApp(t *testing.T, dsn string) *pgApp {
	t.Helper()
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	if _, err := pool.Exec(ctx, appSetup); err != nil {
		t.Fatalf("set up the conformance table: %v", err)
	}
	return &pgApp{pool: pool, t: t}
}

// sqlstate is the server's answer for an HTTP-style conformance answer.
func sqlstate(a conformance.Answer) string {
	switch st := a.Status; {
	case st == 0 || st < 300:
		return ""
	case st == http.StatusRequestTimeout:
		return "57014" // query_canceled: a statement timeout
	case st == http.StatusTooManyRequests:
		return "53300" // too_many_connections
	case st == http.StatusBadGateway:
		return "08006" // connection_failure
	case st == http.StatusServiceUnavailable:
		return "57P03" // cannot_connect_now: starting up
	case st >= 500:
		return "XX000" // internal_error
	default:
		return "23514" // check_violation
	}
}

// Script stores the answers; a held answer waits on an advisory lock
// this app holds until the hold is released.
func (p *pgApp) Script(answers ...conformance.Answer) {
	ctx := context.Background()
	for i, a := range answers {
		if _, err := p.pool.Exec(ctx, `INSERT INTO conformance_script VALUES ($1, $2, $3)`, i+1, sqlstate(a), a.Hold != nil); err != nil {
			p.t.Fatalf("script: %v", err)
		}
		if a.Hold == nil {
			continue
		}
		conn, err := p.pool.Acquire(ctx)
		if err != nil {
			p.t.Fatal(err)
		}
		if _, err := conn.Exec(ctx, `SELECT pg_advisory_lock(4242)`); err != nil {
			p.t.Fatal(err)
		}
		go func(hold <-chan struct{}) {
			<-hold
			_, _ = conn.Exec(ctx, `SELECT pg_advisory_unlock(4242)`)
			conn.Release()
		}(a.Hold)
	}
}

// Received returns each attempt's delivery id, as the trigger saw it.
func (p *pgApp) Received() []conformance.Received {
	rows, err := p.pool.Query(context.Background(), `SELECT key, at FROM conformance_log ORDER BY n`)
	if err != nil {
		p.t.Errorf("received: %v", err)
		return nil
	}
	got, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (conformance.Received, error) {
		var x conformance.Received
		err := r.Scan(&x.IdempotencyKey, &x.At)
		return x, err
	})
	if err != nil {
		p.t.Errorf("received: %v", err)
	}
	return got
}

func TestSinkConformance(t *testing.T) {
	srv := pgtest.Start(t)
	conformance.RunSink(t, conformance.SinkCase{
		App: postgres.Spec.App,
		New: func(t *testing.T) (any, conformance.App) {
			dsn := srv.CreateDB(t)
			app := newPGApp(t, dsn)
			t.Setenv("TEST_PG_DSN", dsn)
			a, err := postgres.New(postgres.Config{DSNEnv: "TEST_PG_DSN", BusyDelay: time.Second})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(a.Close)
			return a, app
		},
		Config: func(conformance.App) map[string]string {
			return map[string]string{"table": "items", "columns": "id = payload.id, type = payload.type"}
		},
	})
}
