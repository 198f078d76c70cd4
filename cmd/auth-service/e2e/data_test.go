package e2e

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/authplatform/auth-platform/cmd/auth-service/internal/app"
	"github.com/authplatform/auth-platform/cmd/auth-service/internal/migrations"
	"github.com/authplatform/auth-platform/cmd/auth-service/internal/store"
)

// openDB opens the shared database as the master user (the migration
// step's identity: DDL, settings).
func openDB(t testing.TB) *store.DB {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	db, err := app.OpenDB(ctx, loadConfig(t, masterEnv(nil)))
	require.NoError(t, err)
	t.Cleanup(db.Close)
	return db
}

// openDBNamed opens another database of the server, as it is.
func openDBNamed(t testing.TB, name string) *store.DB {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	db, err := app.OpenDB(ctx, loadConfig(t, masterEnv(map[string]string{"DB_NAME": name})))
	require.NoError(t, err)
	t.Cleanup(db.Close)
	return db
}

// Six instances (three replicas during a surge, twice) starting at once on an empty database: each migration is
// applied exactly once, and a later start applies nothing.
func TestMigrationsRunOnceWhenInstancesStartTogether(t *testing.T) {
	ctx := t.Context()
	fresh := fmt.Sprintf("migr_%d", time.Now().UnixNano())
	_, err := openDB(t).Writer.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{fresh}.Sanitize())
	require.NoError(t, err)
	latest, err := migrations.Latest()
	require.NoError(t, err)

	var dbs []*store.DB
	for range 6 {
		dbs = append(dbs, openDBNamed(t, fresh))
	}
	applied := make([][]int64, len(dbs))
	errs := make([]error, len(dbs))
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i, db := range dbs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			applied[i], errs[i] = migrations.Up(ctx, db.Writer)
		}()
	}
	close(start)
	wg.Wait()
	var all []int64
	for i := range dbs {
		require.NoError(t, errs[i], "instance %d", i)
		all = append(all, applied[i]...)
	}
	assert.Len(t, all, int(latest), "every version applied once across the three: %v", applied)

	again, err := migrations.Up(ctx, dbs[0].Writer)
	require.NoError(t, err)
	assert.Empty(t, again, "idempotent")
	var n int
	require.NoError(t, dbs[0].Writer.QueryRow(ctx, `SELECT count(*) FROM goose_db_version WHERE version_id > 0`).Scan(&n))
	assert.Equal(t, int(latest), n)
	require.NoError(t, dbs[0].Writer.QueryRow(ctx, `SELECT count(*) FROM settings`).Scan(&n))
	assert.Equal(t, 5, n, "seed rows inserted once (version 2 moves the lockout settings: five rows)")
}

func TestDatabaseConnectionsUseVerifiedTLS(t *testing.T) {
	ctx := t.Context()
	db := openDB(t)
	for _, pool := range []*struct {
		name string
		p    interface {
			QueryRow(context.Context, string, ...any) pgx.Row
		}
	}{{"writer", db.Writer}, {"reader", db.Reader}} {
		var ssl bool
		var version string
		require.NoError(t, pool.p.QueryRow(ctx, `SELECT ssl, version FROM pg_stat_ssl WHERE pid = pg_backend_pid()`).Scan(&ssl, &version))
		assert.True(t, ssl, pool.name)
		assert.Contains(t, version, "TLSv1.3", pool.name)
	}
	assert.NotSame(t, db.Writer, db.Reader, "DB_READER_HOST=localhost gets a pool of its own")

	// A CA that did not sign the server's certificate: refused (verify-full).
	other, err := newOtherCA(t)
	require.NoError(t, err)
	_, err = app.OpenDB(ctx, loadConfig(t, masterEnv(map[string]string{"DB_CA_FILE": other})))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "certificate signed by unknown authority")
}

// Migrations wait for the advisory lock: while another session holds it
// (an instance migrating), Up does not touch the schema.
func TestMigrationsWaitForTheAdvisoryLock(t *testing.T) {
	ctx := t.Context()
	fresh := fmt.Sprintf("lock_%d", time.Now().UnixNano())
	_, err := openDB(t).Writer.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{fresh}.Sanitize())
	require.NoError(t, err)
	holder, migrator := openDBNamed(t, fresh), openDBNamed(t, fresh)
	conn, err := holder.Writer.Acquire(ctx)
	require.NoError(t, err)
	defer conn.Release()
	_, err = conn.Exec(ctx, "SELECT pg_advisory_lock($1)", migrations.LockID)
	require.NoError(t, err)

	done := make(chan error, 1)
	go func() { _, err := migrations.Up(ctx, migrator.Writer); done <- err }()
	select {
	case err := <-done:
		t.Fatalf("migrations ran while another session held the lock (err %v)", err)
	case <-time.After(700 * time.Millisecond):
	}
	var tables int
	require.NoError(t, holder.Writer.QueryRow(ctx, `SELECT count(*) FROM pg_tables WHERE tablename = 'users'`).Scan(&tables))
	assert.Zero(t, tables, "no schema change while the lock is held")
	_, err = conn.Exec(ctx, "SELECT pg_advisory_unlock($1)", migrations.LockID)
	require.NoError(t, err)
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(30 * time.Second):
		t.Fatal("migrations did not run after the lock was released")
	}
}
