// Package e2e tests the service against real parts on loopback: a Redis
// Cluster of six redis-server (TLS + AUTH) and a PostgreSQL (TLS + SCRAM),
// started once for the package by TestMain (tests/realparts). Nothing is
// skipped: without the Debian packages the package fails with the
// install command.
package e2e

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/authplatform/auth-platform/tests/realparts"
)

const (
	redisToken = "e2e-redis-token-0123456789abcdef"
	dbUser     = "authsvc" // the master user (the migrate step's)
	dbPassword = "e2e-db-password-1"
	appUser    = "auth_app" // the application role the instances connect as (review M5)
	dbName     = "auth"
)

// parts is the shared environment.
var parts struct {
	dir   string
	ca    *realparts.CA
	redis *realparts.RedisCluster
	pg    *realparts.Postgres
}

func TestMain(m *testing.M) {
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	if err := realparts.Require("redis-server", "redis-cli", "initdb", "postgres", "pg_isready", "psql"); err != nil {
		fmt.Fprintln(os.Stderr, "FAIL: these tests run on real Redis and PostgreSQL:", err)
		return 1
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	dir, err := os.MkdirTemp("", "e2e")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	// Traversable, so that the postgres user and the service's own UID
	// reach the files meant for them (each file keeps its own mode).
	if err := os.Chmod(dir, 0o711); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	parts.dir = dir
	if parts.ca, err = realparts.NewCA(filepath.Join(dir, "ca")); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	start := time.Now()
	var wg sync.WaitGroup
	var redisErr, pgErr error
	wg.Add(2)
	go func() {
		defer wg.Done()
		parts.redis, redisErr = realparts.StartRedisCluster(ctx, realparts.RedisClusterOptions{Dir: filepath.Join(dir, "redis"), CA: parts.ca, Password: redisToken})
	}()
	go func() {
		defer wg.Done()
		parts.pg, pgErr = realparts.StartPostgres(ctx, realparts.PostgresOptions{Dir: filepath.Join(dir, "pg"), CA: parts.ca, User: dbUser, Password: dbPassword, Database: dbName})
	}()
	wg.Wait()
	if parts.redis != nil {
		defer parts.redis.Close()
	}
	if parts.pg != nil {
		defer parts.pg.Close()
	}
	if redisErr != nil || pgErr != nil {
		fmt.Fprintln(os.Stderr, "FAIL: starting real parts:", redisErr, pgErr)
		return 1
	}
	for _, f := range []struct{ name, value string }{{"db-password", dbPassword}, {"redis-token", redisToken}} {
		if err := os.WriteFile(filepath.Join(dir, f.name), []byte(f.value+"\n"), 0o600); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
	}
	slog.SetDefault(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError})))
	// The migration step, as the stack's Job runs it: the schema, and the
	// application role with its password in its file.
	if err := migrate(ctx, false); err != nil {
		fmt.Fprintln(os.Stderr, "FAIL: migrate:", err)
		return 1
	}
	fmt.Fprintf(os.Stderr, "e2e: redis cluster and postgres ready in %s\n", time.Since(start).Round(time.Millisecond))
	return m.Run()
}
