// Package migrations holds the schema as embedded, versioned goose
// migrations and applies them under a PostgreSQL advisory lock, so that
// replicas starting together apply each migration exactly once.
package migrations

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
)

//go:embed sql/*.sql
var files embed.FS

// LockID is the advisory lock key that serialises migrations
// (an arbitrary constant: "auth" in ASCII).
const LockID int64 = 0x61757468

// Up applies every pending migration and returns the versions applied by
// this call (none when another instance already did).
func Up(ctx context.Context, pool *pgxpool.Pool) ([]int64, error) {
	db := stdlib.OpenDBFromPool(pool)
	defer db.Close()
	sub, err := fs.Sub(files, "sql")
	if err != nil {
		return nil, err
	}
	p, err := goose.NewProvider(goose.DialectPostgres, db, sub, goose.WithSessionLocker(advisoryLock{}), goose.WithDisableGlobalRegistry(true),
		goose.WithGoMigrations(canonicalUsernames))
	if err != nil {
		return nil, fmt.Errorf("migrations: %w", err)
	}
	results, err := p.Up(ctx)
	if err != nil {
		return nil, fmt.Errorf("migrations: up: %w", err)
	}
	var applied []int64
	for _, r := range results {
		applied = append(applied, r.Source.Version)
	}
	return applied, nil
}

// Latest is the newest version, SQL or Go.
func Latest() (int64, error) {
	sub, _ := fs.Sub(files, "sql")
	ms, err := fs.Glob(sub, "*.sql")
	if err != nil || len(ms) == 0 {
		return 0, fmt.Errorf("migrations: none embedded: %v", err)
	}
	var v int64
	if _, err = fmt.Sscanf(ms[len(ms)-1], "%d_", &v); err != nil {
		return 0, err
	}
	return max(v, canonicalUsernames.Version), nil
}

// Current is the database's schema version (0 before any migration).
func Current(ctx context.Context, pool *pgxpool.Pool) (int64, error) {
	var v int64
	err := pool.QueryRow(ctx, `SELECT coalesce(max(version_id), 0) FROM goose_db_version WHERE is_applied`).Scan(&v)
	if err != nil {
		var pgErr *pgconn.PgError
		if errors.As(err, &pgErr) && pgErr.Code == "42P01" { // no version table yet
			return 0, nil
		}
		return 0, fmt.Errorf("migrations: schema version: %w", err)
	}
	return v, nil
}

// advisoryLock blocks in pg_advisory_lock instead of polling
// pg_try_advisory_lock (goose's own locker polls at 1 s at best), so an
// instance that waited starts as soon as the first one is done.
type advisoryLock struct{}

func (advisoryLock) SessionLock(ctx context.Context, conn *sql.Conn) error {
	if _, err := conn.ExecContext(ctx, "SELECT pg_advisory_lock($1)", LockID); err != nil {
		return fmt.Errorf("migrations: advisory lock: %w", err)
	}
	return nil
}

func (advisoryLock) SessionUnlock(ctx context.Context, conn *sql.Conn) error {
	if _, err := conn.ExecContext(ctx, "SELECT pg_advisory_unlock($1)", LockID); err != nil {
		return fmt.Errorf("migrations: advisory unlock: %w", err)
	}
	return nil
}
