package postgres

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/junctionhq/junction/adapters/sdk"
	junctionv1 "github.com/junctionhq/junction/proto/junction/v1"
)

// plan is how deliveries of one mapping are written, once its table was
// checked.
type plan struct {
	sql  string
	cols []planColumn
}

type planColumn struct {
	column
	base string // the table's type, without modifiers
}

// Deliver writes d as one row. A target config or payload that cannot be
// mapped, and a table that does not match the mapping, are
// [sdk.Permanent], naming what to fix; database errors are classified by
// SQLSTATE (see classify).
func (a *Adapter) Deliver(ctx context.Context, d *junctionv1.Delivery) error {
	cfg := d.GetConfig()
	if err := Spec.Targets.Check(cfg); err != nil {
		return sdk.Permanent(fmt.Errorf("target config %w", err))
	}
	m, err := parseMapping(cfg)
	if err != nil {
		return sdk.Permanent(fmt.Errorf("target config %w", err))
	}
	src, err := newSource(d)
	if err != nil {
		return sdk.Permanent(err)
	}
	id := cfg["table"] + "\x00" + cfg["columns"] + "\x00" + cfg["key"]
	p, err := a.plan(ctx, id, m)
	if err != nil {
		return err
	}
	args := make([]any, 0, len(p.cols)+1)
	for _, c := range p.cols {
		v, err := text(src.lookup(c.path), c.base)
		if err != nil {
			return sdk.Permanent(fmt.Errorf("column %s: %w", c.name, err))
		}
		args = append(args, v)
	}
	args = append(args, d.GetId())
	if _, err := a.pool.Exec(ctx, p.sql, args...); err != nil {
		var pe *pgconn.PgError
		if errors.As(err, &pe) && strings.HasPrefix(pe.Code, "42") {
			a.forget(id) // the table changed under the plan: check it again next time
		}
		return a.classify("write a row to "+m.name(), err)
	}
	return nil
}

// plan returns the checked plan of a mapping, checking (and, with
// CreateTables, creating) its table at the first delivery.
func (a *Adapter) plan(ctx context.Context, id string, m *mapping) (*plan, error) {
	a.mu.Lock()
	p := a.plans[id]
	a.mu.Unlock()
	if p != nil {
		return p, nil
	}
	// One check at a time: deliveries racing to a new table would each
	// try to create it.
	a.checking.Lock()
	defer a.checking.Unlock()
	a.mu.Lock()
	p = a.plans[id]
	a.mu.Unlock()
	if p != nil {
		return p, nil
	}
	p, err := a.check(ctx, m)
	if err != nil {
		return nil, err
	}
	a.mu.Lock()
	if len(a.plans) > 1000 { // routes come and go: keep the cache bounded
		clear(a.plans)
	}
	a.plans[id] = p
	a.mu.Unlock()
	return p, nil
}

func (a *Adapter) forget(id string) {
	a.mu.Lock()
	delete(a.plans, id)
	a.mu.Unlock()
}

// modifiers are a type's (n) or (p,s), which a declared type leaves out.
var modifiers = regexp.MustCompile(`\(\d+(,\d+)?\)`)

func baseType(t string) string {
	return strings.Join(strings.Fields(modifiers.ReplaceAllString(t, "")), " ")
}

// columnsOf returns the table's columns and their types (format_type's
// names), or nil when the table does not exist.
func (a *Adapter) columnsOf(ctx context.Context, m *mapping) (map[string]string, error) {
	// Existence first, then the columns: each statement sees what was
	// committed before it, so a table another instance creates in between
	// is read whole, never as a table without columns.
	var exists bool
	if err := a.pool.QueryRow(ctx, `SELECT to_regclass($1) IS NOT NULL`, m.ident()).Scan(&exists); err != nil {
		return nil, a.classify("look up "+m.name(), err)
	}
	if !exists {
		return nil, nil
	}
	rows, err := a.pool.Query(ctx, `SELECT a.attname, format_type(a.atttypid, a.atttypmod)
		FROM pg_attribute a WHERE a.attrelid = to_regclass($1) AND a.attnum > 0 AND NOT a.attisdropped`, m.ident())
	if err != nil {
		return nil, a.classify("read the columns of "+m.name(), err)
	}
	defer rows.Close()
	cols := map[string]string{}
	for rows.Next() {
		var name, typ string
		if err := rows.Scan(&name, &typ); err != nil {
			return nil, a.classify("read the columns of "+m.name(), err)
		}
		cols[name] = typ
	}
	if err := rows.Err(); err != nil {
		return nil, a.classify("read the columns of "+m.name(), err)
	}
	return cols, nil
}

// uniqueIndexes returns the column sets of the table's unique indexes
// (and constraints) that ON CONFLICT can name.
func (a *Adapter) uniqueIndexes(ctx context.Context, m *mapping) ([][]string, error) {
	rows, err := a.pool.Query(ctx, `SELECT array_agg(a.attname::text ORDER BY a.attname)
		FROM pg_index i CROSS JOIN LATERAL unnest(i.indkey) AS k(attnum)
		JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
		WHERE i.indrelid = to_regclass($1) AND i.indisunique AND i.indpred IS NULL AND i.indexprs IS NULL
		GROUP BY i.indexrelid`, m.ident())
	if err != nil {
		return nil, a.classify("read the indexes of "+m.name(), err)
	}
	defer rows.Close()
	var out [][]string
	for rows.Next() {
		var cols []string
		if err := rows.Scan(&cols); err != nil {
			return nil, a.classify("read the indexes of "+m.name(), err)
		}
		out = append(out, cols)
	}
	return out, a.classifyNil("read the indexes of "+m.name(), rows.Err())
}

// check checks m's table against m, creating it first when it is missing
// and CreateTables is on, and returns the plan to write it.
func (a *Adapter) check(ctx context.Context, m *mapping) (*plan, error) {
	cols, err := a.columnsOf(ctx, m)
	if err != nil {
		return nil, err
	}
	if cols == nil {
		if !a.cfg.CreateTables {
			return nil, sdk.Permanent(fmt.Errorf("table %s does not exist: create it with the mapped columns and a unique %s text column (docs/adapters/postgres.md has the statement), or set the adapter's create_tables: true", m.name(), DeliveryIDColumn))
		}
		_, cerr := a.pool.Exec(ctx, createTable(m))
		// A CREATE TABLE IF NOT EXISTS racing another session's (another
		// instance's) fails on the catalog's unique indexes (23505, 42710,
		// 42P07): PostgreSQL's check for the name is not atomic with the
		// insert. The table is there then, and is checked like any other.
		if cols, err = a.columnsOf(ctx, m); err != nil {
			return nil, err
		}
		if cols == nil {
			if cerr != nil {
				return nil, a.classify("create table "+m.name(), cerr)
			}
			return nil, fmt.Errorf("table %s: created, then not found", m.name())
		}
	}
	var problems []string
	var missing, add []string
	p := &plan{}
	for _, c := range m.columns {
		typ, ok := cols[c.name]
		if !ok {
			missing = append(missing, c.name)
			add = append(add, fmt.Sprintf("ADD COLUMN %s %s", c.name, typeOr(c.typ)))
			continue
		}
		base := baseType(typ)
		if c.typ != "" && base != c.typ {
			problems = append(problems, fmt.Sprintf("column %s is %s in the table, the route declares %s: change the column's type or the route", c.name, typ, c.typ))
		}
		p.cols = append(p.cols, planColumn{column: c, base: base})
	}
	if len(missing) > 0 {
		problems = append([]string{fmt.Sprintf("no column %s, which the route maps: add it (ALTER TABLE %s %s) or change the route's columns",
			strings.Join(missing, ", "), m.name(), strings.Join(add, ", "))}, problems...)
	}
	if t, ok := cols[DeliveryIDColumn]; !ok {
		problems = append(problems, fmt.Sprintf("no %s column, which keeps deliveries once: add it (ALTER TABLE %s ADD COLUMN %s text UNIQUE)", DeliveryIDColumn, m.name(), DeliveryIDColumn))
	} else if b := baseType(t); b != "text" && b != "character varying" {
		problems = append(problems, fmt.Sprintf("column %s is %s, want text", DeliveryIDColumn, t))
	}
	if len(problems) == 0 {
		target := m.key
		if len(target) == 0 {
			target = []string{DeliveryIDColumn}
		}
		idx, err := a.uniqueIndexes(ctx, m)
		if err != nil {
			return nil, err
		}
		want := slices.Sorted(slices.Values(target))
		if !slices.ContainsFunc(idx, func(cols []string) bool { return slices.Equal(cols, want) }) {
			problems = append(problems, fmt.Sprintf("no unique index on exactly (%s), which rows are written once by: add one (CREATE UNIQUE INDEX ON %s (%s))",
				strings.Join(target, ", "), m.name(), strings.Join(target, ", ")))
		}
	}
	if len(problems) > 0 {
		return nil, sdk.Permanent(fmt.Errorf("table %s does not match the route: %s", m.name(), strings.Join(problems, "; ")))
	}
	p.sql = insert(m, p.cols)
	return p, nil
}

func typeOr(t string) string {
	if t == "" {
		return "text"
	}
	return t
}

// createTable is the DDL of m's table: the mapped columns, the delivery
// id unique, and the key as primary key.
func createTable(m *mapping) string {
	var defs []string
	for _, c := range m.columns {
		defs = append(defs, quote(c.name)+" "+typeOr(c.typ))
	}
	defs = append(defs, quote(DeliveryIDColumn)+" text NOT NULL UNIQUE")
	if len(m.key) > 0 {
		defs = append(defs, "PRIMARY KEY ("+quoteAll(m.key)+")")
	}
	return "CREATE TABLE IF NOT EXISTS " + m.ident() + " (\n  " + strings.Join(defs, ",\n  ") + "\n)"
}

// insert is the statement writing one row: each value given as text and
// cast to its column's type on the server; with no key, nothing is done
// for a delivery id already written; with a key, the row is updated.
func insert(m *mapping, cols []planColumn) string {
	var names, values []string
	for i, c := range cols {
		names = append(names, quote(c.name))
		values = append(values, fmt.Sprintf("CAST($%d::text AS %s)", i+1, c.base))
	}
	names = append(names, quote(DeliveryIDColumn))
	values = append(values, fmt.Sprintf("$%d::text", len(cols)+1))
	sql := "INSERT INTO " + m.ident() + " (" + strings.Join(names, ", ") + ") VALUES (" + strings.Join(values, ", ") + ")"
	if len(m.key) == 0 {
		return sql + " ON CONFLICT (" + quote(DeliveryIDColumn) + ") DO NOTHING"
	}
	var set []string
	for _, c := range cols {
		if !slices.Contains(m.key, c.name) {
			set = append(set, quote(c.name)+" = EXCLUDED."+quote(c.name))
		}
	}
	set = append(set, quote(DeliveryIDColumn)+" = EXCLUDED."+quote(DeliveryIDColumn))
	return sql + " ON CONFLICT (" + quoteAll(m.key) + ") DO UPDATE SET " + strings.Join(set, ", ")
}

func quoteAll(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = quote(n)
	}
	return strings.Join(q, ", ")
}

// retryable are the SQLSTATE classes (two characters) and codes worth
// retrying: the connection, serialization failures and deadlocks,
// resources, operator intervention, system and internal errors, a lock
// not available, a read-only standby during a failover.
var retryable = map[string]bool{
	"08": true, "40": true, "53": true, "57": true, "58": true, "XX": true,
	"55P03": true, "55006": true, "25006": true,
}

// busy are the codes after which the server wants a rest: resources
// (class 53) and "cannot connect now" (starting up).
func busy(code string) bool { return strings.HasPrefix(code, "53") || code == "57P03" }

// classify turns an error of what into the SDK's classes: a server error
// by its SQLSTATE, anything else (the network, a timeout) retried.
func (a *Adapter) classify(what string, err error) error {
	var pe *pgconn.PgError
	if !errors.As(err, &pe) {
		return fmt.Errorf("%s: %w", what, err)
	}
	msg := fmt.Sprintf("%s: %s (SQLSTATE %s", what, pe.Message, pe.Code)
	for _, f := range []struct{ k, v string }{{"column", pe.ColumnName}, {"constraint", pe.ConstraintName}} {
		if f.v != "" {
			msg += ", " + f.k + " " + f.v
		}
	}
	err = &dbError{msg: msg + ")", err: err}
	switch {
	case busy(pe.Code):
		return sdk.RetryAfter(err, a.cfg.BusyDelay)
	case retryable[pe.Code[:2]] || retryable[pe.Code]:
		return err
	}
	return sdk.Permanent(err)
}

func (a *Adapter) classifyNil(what string, err error) error {
	if err == nil {
		return nil
	}
	return a.classify(what, err)
}

// dbError is a server error named with what was being done; it unwraps
// to the *pgconn.PgError.
type dbError struct {
	msg string
	err error
}

func (e *dbError) Error() string { return e.msg }
func (e *dbError) Unwrap() error { return e.err }
