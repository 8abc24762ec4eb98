package pgtest_test

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/junctionhq/junction/adapters/postgres/pgtest"
)

// TestStart starts a server, creates a database and queries it.
func TestStart(t *testing.T) {
	s := pgtest.Start(t)
	dsn := s.CreateDB(t)
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatalf("connect to %s: %v", dsn, err)
	}
	defer conn.Close(ctx)
	var got int
	if err := conn.QueryRow(ctx, "SELECT 40 + 2").Scan(&got); err != nil || got != 42 {
		t.Fatalf("SELECT 40 + 2 = %d, %v; want 42", got, err)
	}
}
