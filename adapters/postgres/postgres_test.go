package postgres_test

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/junctionhq/junction/adapters/postgres"
	"github.com/junctionhq/junction/adapters/postgres/pgtest"
	"github.com/junctionhq/junction/adapters/sdk"
	junctionv1 "github.com/junctionhq/junction/proto/junction/v1"
)

func newAdapter(t *testing.T, dsn string, create bool) *postgres.Adapter {
	t.Helper()
	t.Setenv("TEST_PG_DSN", dsn)
	a, err := postgres.New(postgres.Config{DSNEnv: "TEST_PG_DSN", CreateTables: create, BusyDelay: time.Second})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(a.Close)
	return a
}

func delivery(id string, cfg map[string]string, payload string) *junctionv1.Delivery {
	return &junctionv1.Delivery{
		Id: id, EventId: "evt_" + id, EventSource: "stripe", EventType: "payment_intent.succeeded",
		RouteId: "payments", Target: "db", Destination: "postgres",
		Config: cfg, Payload: []byte(payload), ContentType: "application/json",
		EventTime:  timestamppb.New(time.Date(2026, 12, 7, 1, 2, 3, 0, time.UTC)),
		CreateTime: timestamppb.Now(),
	}
}

func exec(t *testing.T, dsn, sql string) {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, sql); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

// rows returns the query's rows, each as its columns' text.
func rows(t *testing.T, dsn, sql string) [][]string {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	r, err := conn.Query(ctx, sql, pgx.QueryExecModeSimpleProtocol)
	if err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	out, err := pgx.CollectRows(r, func(r pgx.CollectableRow) ([]string, error) {
		vals, err := r.Values()
		var row []string
		for _, v := range vals {
			if v == nil {
				row = append(row, "NULL")
			} else {
				row = append(row, v.(string))
			}
		}
		return row, err
	})
	if err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return out
}

func join(rs [][]string) string {
	var lines []string
	for _, r := range rs {
		lines = append(lines, strings.Join(r, "|"))
	}
	return strings.Join(lines, "\n")
}

const payment = `{"id":"pi_1","amount":1999,"currency":"eur","paid":true,"fee":"0.59",
	"customer":{"email":"ada@example.com","tags":["vip","eu"]},"metadata":{"plan":"pro"}}`

// TestWrite writes rows through each mode and reads them back: types,
// paths, a delivery retried is one row, an upsert updates.
func TestWrite(t *testing.T) {
	srv := pgtest.Start(t)
	payments := map[string]string{"table": "analytics.payments", "columns": `
		id text = payload.id
		amount bigint = payload.amount
		fee numeric = payload.fee
		paid boolean = payload.paid
		email = payload.customer.email
		first_tag = payload.customer.tags.0
		metadata jsonb = payload.metadata
		missing = payload.nope.deeper
		event_id = event.id
		occurred timestamptz = event.time`}
	for _, tt := range []struct {
		name   string
		setup  string // SQL run first
		create bool
		target map[string]string
		send   []*junctionv1.Delivery // in order
		query  string
		want   string
	}{{
		name: "insert into a created table, a retry is one row", create: true,
		setup:  "CREATE SCHEMA analytics",
		target: payments,
		send: []*junctionv1.Delivery{
			delivery("dlv_1", payments, payment),
			delivery("dlv_1", payments, payment), // retried
			delivery("dlv_2", payments, strings.Replace(payment, "pi_1", "pi_2", 1)),
		},
		query: "SELECT id, amount::text, fee::text, paid::text, email, first_tag, metadata::text, missing, event_id, to_char(occurred AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS'), junction_delivery_id FROM analytics.payments ORDER BY id",
		want: "pi_1|1999|0.59|true|ada@example.com|vip|{\"plan\": \"pro\"}|NULL|evt_dlv_1|2026-12-07 01:02:03|dlv_1\n" +
			"pi_2|1999|0.59|true|ada@example.com|vip|{\"plan\": \"pro\"}|NULL|evt_dlv_2|2026-12-07 01:02:03|dlv_2",
	}, {
		name:   "insert into a table made by hand",
		setup:  "CREATE TABLE leads (email varchar(200) NOT NULL, score integer, junction_delivery_id text NOT NULL, UNIQUE (junction_delivery_id))",
		target: map[string]string{"table": "leads", "columns": "email = payload.email, score = payload.score"},
		send: []*junctionv1.Delivery{
			delivery("dlv_a", map[string]string{"table": "leads", "columns": "email = payload.email, score = payload.score"}, `{"email":"a@example.com","score":7}`),
		},
		query: "SELECT email, score::text, junction_delivery_id FROM leads",
		want:  "a@example.com|7|dlv_a",
	}, {
		name: "upsert on a key, the latest delivery wins", create: true,
		target: map[string]string{"table": "customers", "columns": "id = payload.id, email = payload.email", "key": "id"},
		send: []*junctionv1.Delivery{
			delivery("dlv_c1", map[string]string{"table": "customers", "columns": "id = payload.id, email = payload.email", "key": "id"}, `{"id":"cus_1","email":"old@example.com"}`),
			delivery("dlv_c2", map[string]string{"table": "customers", "columns": "id = payload.id, email = payload.email", "key": "id"}, `{"id":"cus_1","email":"new@example.com"}`),
			delivery("dlv_c2", map[string]string{"table": "customers", "columns": "id = payload.id, email = payload.email", "key": "id"}, `{"id":"cus_1","email":"new@example.com"}`),
			delivery("dlv_c3", map[string]string{"table": "customers", "columns": "id = payload.id, email = payload.email", "key": "id"}, `{"id":"cus_2","email":"two@example.com"}`),
		},
		query: "SELECT id, email, junction_delivery_id FROM customers ORDER BY id",
		want:  "cus_1|new@example.com|dlv_c2\ncus_2|two@example.com|dlv_c3",
	}} {
		t.Run(tt.name, func(t *testing.T) {
			dsn := srv.CreateDB(t)
			if tt.setup != "" {
				exec(t, dsn, tt.setup)
			}
			a := newAdapter(t, dsn, tt.create)
			for i, d := range tt.send {
				if err := a.Deliver(context.Background(), d); err != nil {
					t.Fatalf("delivery %d (%s): %v", i+1, d.GetId(), err)
				}
			}
			if got := join(rows(t, dsn, tt.query)); got != tt.want {
				t.Errorf("rows:\n%s\nwant:\n%s", got, tt.want)
			}
		})
	}
}

// TestRefused: each mismatch between route and table, and each value or
// mapping the adapter cannot write, dead-letters with what to fix.
func TestRefused(t *testing.T) {
	srv := pgtest.Start(t)
	good := "CREATE TABLE t (id text, amount bigint NOT NULL, junction_delivery_id text NOT NULL UNIQUE)"
	for _, tt := range []struct {
		name      string
		setup     string
		create    bool
		target    map[string]string
		payload   string
		want      string
		permanent bool
	}{
		{name: "table missing", target: map[string]string{"table": "t", "columns": "id = payload.id"},
			want: "table t does not exist: create it", permanent: true},
		{name: "column missing", setup: good, target: map[string]string{"table": "t", "columns": "id = payload.id, currency text = payload.currency, note = payload.note"},
			want: "table t does not match the route: no column currency, note, which the route maps: add it (ALTER TABLE t ADD COLUMN currency text, ADD COLUMN note text)", permanent: true},
		{name: "wrong type", setup: good, target: map[string]string{"table": "t", "columns": "id bigint = payload.id, amount bigint = payload.amount"},
			want: "column id is text in the table, the route declares bigint", permanent: true},
		{name: "no delivery id column", setup: "CREATE TABLE t (id text)", target: map[string]string{"table": "t", "columns": "id = payload.id"},
			want: "no junction_delivery_id column, which keeps deliveries once: add it (ALTER TABLE t ADD COLUMN junction_delivery_id text UNIQUE)", permanent: true},
		{name: "delivery id not unique", setup: "CREATE TABLE t (id text, junction_delivery_id text)", target: map[string]string{"table": "t", "columns": "id = payload.id"},
			want: "no unique index on exactly (junction_delivery_id)", permanent: true},
		{name: "key not unique", setup: good, target: map[string]string{"table": "t", "columns": "id = payload.id, amount = payload.amount", "key": "id"},
			want: "no unique index on exactly (id), which rows are written once by: add one (CREATE UNIQUE INDEX ON t (id))", permanent: true},
		{name: "value of the wrong type", setup: good, target: map[string]string{"table": "t", "columns": "id = payload.id, amount = payload.id"},
			want: `write a row to t: invalid input syntax for type bigint: "pi_1" (SQLSTATE 22P02)`, permanent: true},
		{name: "not null", setup: good, target: map[string]string{"table": "t", "columns": "id = payload.id, amount = payload.nope"},
			want: "(SQLSTATE 23502, column amount)", permanent: true},
		{name: "bad column entry", target: map[string]string{"table": "t", "columns": "id payload.id"},
			want: `target config columns: "id payload.id" has no "="`, permanent: true},
		{name: "unknown type", target: map[string]string{"table": "t", "columns": "id money = payload.id"},
			want: `columns: column id: type "money" is not one the adapter writes`, permanent: true},
		{name: "bad path", target: map[string]string{"table": "t", "columns": "id = body.id"},
			want: "path \"body.id\" must start with payload, event or delivery", permanent: true},
		{name: "bad table name", target: map[string]string{"table": `t"; DROP TABLE x; --`, "columns": "id = payload.id"},
			want: "table: ", permanent: true},
		{name: "key not mapped", target: map[string]string{"table": "t", "columns": "id = payload.id", "key": "email"},
			want: `key: "email" is not a mapped column`, permanent: true},
		{name: "delivery id mapped", target: map[string]string{"table": "t", "columns": "junction_delivery_id = payload.id"},
			want: "junction_delivery_id is written by the adapter", permanent: true},
		{name: "unknown target key", target: map[string]string{"table": "t", "columns": "id = payload.id", "tabel": "x"},
			want: "tabel: not a key this destination takes", permanent: true},
		{name: "payload not JSON", setup: good, target: map[string]string{"table": "t", "columns": "id = payload.id"}, payload: "{",
			want: "payload is not JSON", permanent: true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dsn := srv.CreateDB(t)
			if tt.setup != "" {
				exec(t, dsn, tt.setup)
			}
			payload := tt.payload
			if payload == "" {
				payload = payment
			}
			err := newAdapter(t, dsn, tt.create).Deliver(context.Background(), delivery("dlv_x", tt.target, payload))
			if err == nil {
				t.Fatal("Deliver = nil, want an error")
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q\nwant it to contain %q", err, tt.want)
			}
			if got := sdk.IsPermanent(err); got != tt.permanent {
				t.Errorf("permanent = %v, want %v", got, tt.permanent)
			}
		})
	}
}

// TestTableFixed: a table that did not match is checked again at the next
// delivery, so fixing it (then redriving) is enough; a column dropped
// under a checked mapping is caught at the write and re-checked.
func TestTableFixed(t *testing.T) {
	srv := pgtest.Start(t)
	dsn := srv.CreateDB(t)
	exec(t, dsn, "CREATE TABLE t (id text, junction_delivery_id text NOT NULL UNIQUE)")
	a := newAdapter(t, dsn, false)
	target := map[string]string{"table": "t", "columns": "id = payload.id, amount bigint = payload.amount"}
	steps := []struct {
		sql       string
		id        string
		wantError string
	}{
		{"", "dlv_1", "no column amount"},
		{"ALTER TABLE t ADD COLUMN amount bigint", "dlv_1", ""},
		{"ALTER TABLE t DROP COLUMN amount", "dlv_2", "SQLSTATE 42703"},
		{"", "dlv_2", "no column amount"},
	}
	for i, s := range steps {
		if s.sql != "" {
			exec(t, dsn, s.sql)
		}
		err := a.Deliver(context.Background(), delivery(s.id, target, payment))
		switch {
		case s.wantError == "" && err != nil:
			t.Fatalf("step %d: %v, want nil", i+1, err)
		case s.wantError != "" && (err == nil || !strings.Contains(err.Error(), s.wantError) || !sdk.IsPermanent(err)):
			t.Fatalf("step %d: %v, want a permanent error containing %q", i+1, err, s.wantError)
		}
	}
}

// TestUnreachable: a database that does not answer is retried, and makes
// the adapter not ready.
func TestUnreachable(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	a := newAdapter(t, "postgres://junction:secret-pw@127.0.0.1:"+strconv.Itoa(port)+"/x?sslmode=disable&connect_timeout=5", false)
	err = a.Deliver(context.Background(), delivery("dlv_1", map[string]string{"table": "t", "columns": "id = payload.id"}, payment))
	if err == nil || sdk.IsPermanent(err) {
		t.Errorf("Deliver = %v, want a retryable error", err)
	}
	if err != nil && strings.Contains(err.Error(), "secret-pw") {
		t.Errorf("error %q names the password", err)
	}
	if err := a.Check(context.Background()); err == nil {
		t.Error("Check = nil, want an error while the database is down")
	}
}

// TestConfig: the connection string comes from a file or the environment,
// and each mistake is named.
func TestConfig(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "dsn")
	empty := filepath.Join(dir, "empty")
	if err := os.WriteFile(good, []byte("postgres://u:p@db:5432/x\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(empty, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("JUNCTION_POSTGRES_DSN", "")
	t.Setenv("TEST_BAD_DSN", "postgres://u:hunter2@db:notaport/x")
	for _, tt := range []struct {
		name string
		cfg  postgres.Config
		want string
	}{
		{"from file", postgres.Config{DSNFile: good}, ""},
		{"default env empty", postgres.Config{}, "environment variable JUNCTION_POSTGRES_DSN is empty"},
		{"empty file", postgres.Config{DSNFile: empty}, "is empty"},
		{"both", postgres.Config{DSNFile: good, DSNEnv: "X"}, "set only one of dsn_env and dsn_file"},
		{"negative busy delay", postgres.Config{DSNFile: good, BusyDelay: -time.Second}, "adapter.busy_delay"},
		{"unparsable", postgres.Config{DSNEnv: "TEST_BAD_DSN"}, "connection string does not parse"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			a, err := postgres.New(tt.cfg)
			if a != nil {
				a.Close()
			}
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("New = %v, want nil", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Errorf("New = %v, want an error containing %q", err, tt.want)
			}
			if err != nil && strings.Contains(err.Error(), "hunter2") {
				t.Errorf("error %q names the password", err)
			}
		})
	}
}

// TestConcurrentCreate: instances (and deliveries) racing to the first
// delivery of a new table all write their rows; none is refused because
// another created the table at the same moment.
func TestConcurrentCreate(t *testing.T) {
	srv := pgtest.Start(t)
	dsn := srv.CreateDB(t)
	target := map[string]string{"table": "raced", "columns": "id = payload.id"}
	const instances, each = 4, 3
	errs := make(chan error, instances*each)
	for i := range instances {
		a := newAdapter(t, dsn, true)
		for j := range each {
			go func() {
				id := "dlv_" + strconv.Itoa(i) + "_" + strconv.Itoa(j)
				errs <- a.Deliver(context.Background(), delivery(id, target, `{"id":"`+id+`"}`))
			}()
		}
	}
	for range instances * each {
		if err := <-errs; err != nil {
			t.Errorf("Deliver: %v", err)
		}
	}
	if got := rows(t, dsn, "SELECT count(*)::text FROM raced"); got[0][0] != strconv.Itoa(instances*each) {
		t.Errorf("%s rows, want %d", got[0][0], instances*each)
	}
}
