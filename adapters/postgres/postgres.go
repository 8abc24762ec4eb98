// Package postgres is Junction's PostgreSQL destination: each delivery to
// the "postgres" destination becomes one row of the table its route target
// names, its columns mapped from the delivery's JSON payload and the
// event by simple paths ("payload.customer.email", "event.id"). It is the
// data-sync and analytics destination: rows a BI tool reads.
//
// Every row carries the delivery id in the column junction_delivery_id.
// Without a key, rows are inserted with ON CONFLICT (junction_delivery_id)
// DO NOTHING, so a delivery retried or redriven is one row; with a key
// (target config "key"), rows are upserted on it, the latest delivery
// winning.
//
// The first delivery to a table checks it against the mapping: a missing
// table (unless Config.CreateTables creates it), a missing column, a type
// other than the one the route declares, or no unique index for the
// conflict target dead-letters the delivery with the reason and what to
// fix. Database errors are classified by SQLSTATE: connection, resource,
// serialization and operator classes are retried, data, constraint,
// schema and privilege errors are permanent. See docs/adapters/postgres.md.
package postgres

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/junctionhq/junction/adapters/sdk"
)

// Spec describes the adapter. Targets declares the target config keys a
// route's postgres target takes.
var Spec = sdk.Spec{
	App: "postgres", Version: "0.1.0", Description: "PostgreSQL: deliveries inserted or upserted as table rows, once per delivery id.",
	Targets: &sdk.TargetSchema{Keys: []sdk.TargetKey{
		{Name: "table", Required: true, Description: `the table to write, e.g. "payments" or "analytics.payments"`},
		{Name: "columns", Required: true, Description: `the column mapping, one "column [type] = path" per line or comma, e.g. "id text = payload.id, amount bigint = payload.amount"`},
		{Name: "key", Description: "columns to upsert on, comma-separated (a unique index must cover exactly them); rows are inserted once per delivery id when unset"},
	}},
}

// DeliveryIDColumn is the column every table written holds the delivery id
// in.
const DeliveryIDColumn = "junction_delivery_id"

// Config is the `adapter:` section of the adapter's configuration file
// (and of a `sources:` entry of `junction serve`). The connection string
// comes from the environment or a file: it holds the password.
type Config struct {
	// DSNEnv names the environment variable holding the connection
	// string (postgres://user:pass@host:5432/db?sslmode=verify-full);
	// default JUNCTION_POSTGRES_DSN.
	DSNEnv string `yaml:"dsn_env"`
	// DSNFile is a file holding the connection string instead.
	DSNFile string `yaml:"dsn_file"`
	// CreateTables creates a table that does not exist at its first
	// delivery, from the route's mapping (a column without a type is
	// text), with junction_delivery_id unique and the key as primary
	// key. Off, a missing table dead-letters the delivery.
	CreateTables bool `yaml:"create_tables"`
	// MaxConns bounds the connection pool; default 4.
	MaxConns int32 `yaml:"max_conns"`
	// BusyDelay is the least wait before retrying after the server said
	// it is out of resources or not taking connections yet (SQLSTATE
	// class 53, 57P03); default 5s.
	BusyDelay time.Duration `yaml:"busy_delay"`
}

// Validate says what is wrong with c.
func (c *Config) Validate() error {
	var errs []error
	if c.DSNEnv != "" && c.DSNFile != "" {
		errs = append(errs, errors.New("adapter: set only one of dsn_env and dsn_file"))
	}
	if c.MaxConns < 0 {
		errs = append(errs, fmt.Errorf("adapter.max_conns %d must be positive, e.g. 4", c.MaxConns))
	}
	if c.BusyDelay < 0 {
		errs = append(errs, fmt.Errorf("adapter.busy_delay %s must be positive, e.g. 5s", c.BusyDelay))
	}
	return errors.Join(errs...)
}

// Adapter is the PostgreSQL adapter, an [sdk.Sink].
type Adapter struct {
	cfg  Config
	pool *pgxpool.Pool

	mu       sync.Mutex
	plans    map[string]*plan // by table, columns and key
	checking sync.Mutex       // held while a table is checked
}

// New builds the adapter: it reads the connection string and makes the
// pool (connections are opened when first needed, so the database may
// start after the adapter).
func New(cfg Config) (*Adapter, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.MaxConns == 0 {
		cfg.MaxConns = 4
	}
	if cfg.BusyDelay == 0 {
		cfg.BusyDelay = 5 * time.Second
	}
	dsn, err := readDSN(cfg)
	if err != nil {
		return nil, err
	}
	pc, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		// pgx's message may quote the string, password and all.
		return nil, errors.New("the PostgreSQL connection string does not parse: give a URL (postgres://user:pass@host:5432/db) or key=value pairs")
	}
	pc.MaxConns = cfg.MaxConns
	// No statement cache: a table altered under a cached plan would fail
	// the next write with "cached plan must not change result type".
	pc.ConnConfig.DefaultQueryExecMode = pgx.QueryExecModeExec
	pool, err := pgxpool.NewWithConfig(context.Background(), pc)
	if err != nil {
		return nil, fmt.Errorf("postgres pool: %w", err)
	}
	return &Adapter{cfg: cfg, pool: pool, plans: map[string]*plan{}}, nil
}

// readDSN reads the connection string from the file or the environment.
func readDSN(cfg Config) (string, error) {
	if cfg.DSNFile != "" {
		b, err := os.ReadFile(cfg.DSNFile)
		if err != nil {
			return "", fmt.Errorf("adapter.dsn_file: %w", err)
		}
		if s := strings.TrimSpace(string(b)); s != "" {
			return s, nil
		}
		return "", fmt.Errorf("adapter.dsn_file %s is empty: write the connection string in it", cfg.DSNFile)
	}
	env := cfg.DSNEnv
	if env == "" {
		env = "JUNCTION_POSTGRES_DSN"
	}
	s := strings.TrimSpace(os.Getenv(env))
	if s == "" {
		return "", fmt.Errorf("environment variable %s is empty: set it to the connection string, e.g. postgres://junction:...@db:5432/analytics, or set adapter.dsn_file", env)
	}
	return s, nil
}

// Check pings the database: the adapter is not ready while it cannot
// reach it.
func (a *Adapter) Check(ctx context.Context) error {
	if err := a.pool.Ping(ctx); err != nil {
		return fmt.Errorf("postgres: %w", err)
	}
	return nil
}

// Close closes the connection pool.
func (a *Adapter) Close() { a.pool.Close() }

var (
	_ sdk.Sink    = (*Adapter)(nil)
	_ sdk.Checker = (*Adapter)(nil)
)
