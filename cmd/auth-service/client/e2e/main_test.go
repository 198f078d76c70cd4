// Package e2e tests what applications see of the auth service, on real
// parts: the Go client (../) against the real service binary, and the
// gateway check behind the real NGINX from Debian. TestMain starts, once,
// a Redis Cluster (TLS + AUTH) and a PostgreSQL (TLS + SCRAM) through
// tests/realparts and builds cmd/auth-service; each test runs service
// processes of its own. Nothing is skipped: without the Debian packages
// the package fails with the apt-get command.
//
// A module of its own so that the client's module requires nothing but
// the standard library (and testify for its unit tests).
package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/authplatform/auth-platform/tests/realparts"
)

const (
	redisToken = "client-e2e-redis-token-0123456789"
	dbUser     = "authsvc"  // the master user (the migrate step's)
	appUser    = "auth_app" // the application role the instances connect as
	dbPassword = "client-e2e-db-password-1"
	dbName     = "auth"
)

// parts is the shared environment.
var parts struct {
	dir   string
	ca    *realparts.CA
	redis *realparts.RedisCluster
	pg    *realparts.Postgres
	bin   string // the service binary
	nginx string // Debian's nginx
}

func TestMain(m *testing.M) { os.Exit(runMain(m)) }

func runMain(m *testing.M) int {
	fail := func(format string, args ...any) int {
		fmt.Fprintf(os.Stderr, "FAIL: "+format+"\n", args...)
		return 1
	}
	if err := realparts.Require("redis-server", "redis-cli", "initdb", "postgres", "pg_isready", "psql"); err != nil {
		return fail("these tests run on real Redis and PostgreSQL: %v", err)
	}
	nginx, err := findNginx()
	if err != nil {
		return fail("%v", err)
	}
	parts.nginx = nginx
	dir, err := os.MkdirTemp("", "client-e2e")
	if err != nil {
		return fail("%v", err)
	}
	defer os.RemoveAll(dir)
	// Traversable, so that the postgres user reaches its directory.
	if err := os.Chmod(dir, 0o711); err != nil {
		return fail("%v", err)
	}
	parts.dir = dir
	if parts.ca, err = realparts.NewCA(filepath.Join(dir, "ca")); err != nil {
		return fail("%v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	start := time.Now()
	var wg sync.WaitGroup
	var redisErr, pgErr, buildErr error
	wg.Add(3)
	go func() {
		defer wg.Done()
		parts.redis, redisErr = realparts.StartRedisCluster(ctx, realparts.RedisClusterOptions{Dir: filepath.Join(dir, "redis"), CA: parts.ca, Password: redisToken})
	}()
	go func() {
		defer wg.Done()
		parts.pg, pgErr = realparts.StartPostgres(ctx, realparts.PostgresOptions{Dir: filepath.Join(dir, "pg"), CA: parts.ca, User: dbUser, Password: dbPassword, Database: dbName})
	}()
	go func() {
		defer wg.Done()
		parts.bin = filepath.Join(dir, "auth-service")
		cmd := exec.CommandContext(ctx, "go", "build", "-o", parts.bin, ".")
		cmd.Dir = filepath.Join("..", "..") // cmd/auth-service
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("building cmd/auth-service: %v\n%s", err, out)
		}
	}()
	wg.Wait()
	if parts.redis != nil {
		defer parts.redis.Close()
	}
	if parts.pg != nil {
		defer parts.pg.Close()
	}
	if redisErr != nil || pgErr != nil || buildErr != nil {
		return fail("starting real parts: %v %v %v", redisErr, pgErr, buildErr)
	}
	for _, f := range []struct{ name, value string }{{"db-password", dbPassword}, {"redis-token", redisToken}} {
		if err := os.WriteFile(filepath.Join(dir, f.name), []byte(f.value+"\n"), 0o600); err != nil {
			return fail("%v", err)
		}
	}
	// The migrate step comes before any instance, as in the stack.
	if err := migrate(ctx); err != nil {
		return fail("%v", err)
	}
	fmt.Fprintf(os.Stderr, "client e2e: redis cluster, postgres and the service binary ready in %s\n", time.Since(start).Round(time.Millisecond))
	return m.Run()
}

// findNginx finds Debian's nginx, which lives in /usr/sbin (not on every
// user's PATH).
func findNginx() (string, error) {
	if p, err := exec.LookPath("nginx"); err == nil {
		return p, nil
	}
	if _, err := os.Stat("/usr/sbin/nginx"); err == nil {
		return "/usr/sbin/nginx", nil
	}
	return "", fmt.Errorf("the gateway test runs the real NGINX: nginx not found (apt-get install -y nginx)")
}
