package e2e

import (
	"context"
	"crypto/tls"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/authplatform/auth-platform/cmd/auth-service/internal/health"
	"github.com/authplatform/auth-platform/cmd/auth-service/internal/migrations"
	"github.com/authplatform/auth-platform/cmd/auth-service/internal/session"
)

// killRedisClients closes every client connection on every node (CLIENT
// KILL), so that the instances reconnect and authenticate again, as they
// do when connections recycle during a rotation.
func killRedisClients(t testing.TB) {
	t.Helper()
	for _, addr := range parts.redis.Addrs() {
		c := redis.NewClient(&redis.Options{Addr: addr, Password: parts.redis.Password(),
			TLSConfig: &tls.Config{RootCAs: parts.ca.Pool(), MinVersion: tls.VersionTLS12}})
		err := c.Do(t.Context(), "CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes").Err()
		c.Close()
		require.NoError(t, err, addr)
	}
}

// Both rotations under load, as AWS runs them, with 0 failed requests:
//   - the database password as RDS-managed rotation does it: the new
//     password is set, then the secret is updated, and the old one no
//     longer works; connections made in between (here all of them, the
//     pools are reset) are refused with 28P01 until the secret changes;
//   - the Redis AUTH token as ElastiCache does it: ROTATE (both valid, the
//     secret updated), then SET (only the new one), each followed by every
//     connection being dropped so that the instances authenticate again.
func TestCredentialRotationsUnderLoadFailNoRequest(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	dir := t.TempDir()
	dbFile, tokenFile := filepath.Join(dir, "db-password"), filepath.Join(dir, "redis-token")
	write := func(path, v string) { require.NoError(t, os.WriteFile(path, []byte(v+"\n"), 0o600)) }
	appPassword, err := os.ReadFile(filepath.Join(parts.dir, "app-db-password"))
	require.NoError(t, err)
	write(dbFile, strings.TrimSpace(string(appPassword)))
	write(tokenFile, parts.redis.Password())
	name, pw := newUser(t, "rotate")
	master := openDB(t)
	setAppPassword := func(ctx context.Context, pw string) error {
		return migrations.EnsureAppRole(ctx, master.Writer, appUser, pw)
	}
	t.Cleanup(func() { // the other tests use the original credentials
		_ = setAppPassword(context.Background(), strings.TrimSpace(string(appPassword)))
		_ = parts.redis.SetAuth(redisToken)
	})
	env := map[string]string{"DB_PASSWORD_FILE": dbFile, "REDIS_AUTH_TOKEN_FILE": tokenFile}
	insts := []*instance{startInstance(t, env), startInstance(t, env)}
	var tokens []string
	for i := 0; i < 60; i++ {
		tok, _, err := insts[0].Svc.Sessions.Create(ctx, session.Data{UserID: int64(i + 1), Username: "rotate"}, 0, false)
		require.NoError(t, err)
		tokens = append(tokens, tok)
	}

	var stop atomic.Bool
	var requests, loginsOK atomic.Int64
	var mu sync.Mutex
	var failures []string
	fail := func(what string, start time.Time, status int, err error) {
		mu.Lock()
		failures = append(failures, fmt.Sprintf("%s at %s: %d %v", what, start.Format("15:04:05.000"), status, err))
		mu.Unlock()
	}
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !stop.Load() {
				start := time.Now()
				r, err := doErr(http.MethodGet, insts[rand.IntN(2)].URL+"/v1/session", nil, bearer(tokens[rand.IntN(len(tokens))]))
				requests.Add(1)
				if err != nil || r.Status != http.StatusOK {
					fail("validation", start, r.Status, err)
				}
				time.Sleep(5 * time.Millisecond)
			}
		}()
	}
	wg.Add(1)
	go func() { // logins reach PostgreSQL, and write sessions and counters
		defer wg.Done()
		for i := 0; !stop.Load(); i++ {
			start := time.Now()
			r, err := doErr(http.MethodPost, insts[i%2].URL+"/v1/login", loginBody(name, pw), jsonHeader)
			requests.Add(1)
			if err != nil || r.Status != http.StatusOK {
				fail("login", start, r.Status, err)
			} else {
				loginsOK.Add(1)
			}
		}
	}()
	loginsBy := func() int64 { return loginsOK.Load() }
	settle := func() { // at least two logins after each step
		n := loginsBy()
		waitFor(t, "logins after the step", 30*time.Second, func() error {
			if loginsBy() < n+2 {
				return fmt.Errorf("%d logins", loginsBy()-n)
			}
			return nil
		})
	}
	settle()

	// The application role's rotation, in RDS's order (the migrate step's):
	// new password on the database, then the secret.
	require.NoError(t, setAppPassword(ctx, "rotated-db-password-2"))
	for _, inst := range insts {
		inst.Svc.DB.Writer.Reset()
		inst.Svc.DB.Reader.Reset()
	}
	time.Sleep(300 * time.Millisecond) // the window before the secret changes
	write(dbFile, "rotated-db-password-2")
	settle()

	// ElastiCache: ROTATE and the secret, then SET.
	require.NoError(t, parts.redis.RotateAuth("rotated-redis-token-2"))
	write(tokenFile, "rotated-redis-token-2")
	killRedisClients(t)
	settle()
	require.NoError(t, parts.redis.SetAuth("rotated-redis-token-2"))
	killRedisClients(t)
	settle()

	stop.Store(true)
	wg.Wait()
	t.Logf("%d requests (%d logins) across both rotations, %d failed", requests.Load(), loginsOK.Load(), len(failures))
	assert.Empty(t, failures)
	for _, inst := range insts {
		assert.Equal(t, http.StatusOK, do(t, http.MethodGet, inst.URL+"/health", nil, nil).Status)
	}
}

// Start-up with PostgreSQL down: the pod listens at once (liveness 200),
// is not ready ("starting", and the reason on the metrics port), refuses
// the API with 503, keeps trying without exiting, and is ready once
// PostgreSQL is back.
func TestStartsWithPostgresDownThenBecomesReady(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	name, pw := newUser(t, "late")
	require.NoError(t, parts.pg.Stop())
	started := false
	t.Cleanup(func() {
		if !started {
			_ = parts.pg.Start(context.Background())
		}
	})
	inst := startInstanceNoWait(t, nil)
	waitFor(t, "listening", 10*time.Second, func() error {
		_, err := doErr(http.MethodGet, inst.URL+"/health/live", nil, nil)
		return err
	})
	for i := 0; i < 3; i++ { // several initialisation attempts
		assert.Equal(t, http.StatusOK, do(t, http.MethodGet, inst.URL+"/health/live", nil, nil).Status)
		r := do(t, http.MethodGet, inst.URL+"/health", nil, nil)
		assert.Equal(t, http.StatusServiceUnavailable, r.Status)
		assert.JSONEq(t, `{"status":"starting"}`, string(r.Body))
		d := detailed(t, inst)
		assert.Equal(t, "starting", d["status"])
		assert.Equal(t, "initialising: reaching postgres-writer", d["reason"])
		assert.Equal(t, http.StatusServiceUnavailable, login(t, inst.URL, name, pw).Status)
		time.Sleep(time.Second)
	}
	assert.Contains(t, inst.logText(), "initialisation: retrying", "logs its retries")
	require.NoError(t, parts.pg.Start(ctx))
	started = true
	waitFor(t, "ready once PostgreSQL is up", 30*time.Second, wantHealth(inst.URL, http.StatusOK))
	assert.Equal(t, http.StatusOK, login(t, inst.URL, name, pw).Status)
}

// The traffic port shows the internet nothing but the status; the
// metrics port has the rest.
func TestMetricsPortAndStatusOnlyPublicHealth(t *testing.T) {
	inst := startInstance(t, nil)
	r := do(t, http.MethodGet, inst.URL+"/health", nil, nil)
	assert.Equal(t, http.StatusOK, r.Status)
	assert.JSONEq(t, `{"status":"ok"}`, string(r.Body))
	for _, path := range []string{"/metrics", "/health/detail", "/healthz"} {
		assert.Equal(t, http.StatusNotFound, do(t, http.MethodGet, inst.URL+path, nil, nil).Status, path)
	}
	for _, path := range []string{"/v1/session", "/health/live", "/"} {
		assert.Equal(t, http.StatusNotFound, do(t, http.MethodGet, inst.MetricsURL+path, nil, nil).Status, path)
	}
	labels := shardLabels(t)
	want := map[string]string{health.PostgresWriter + "/": "up", health.PostgresReader + "/": "up"}
	for _, l := range labels {
		want[health.Redis+"/"+l] = "up"
	}
	waitFor(t, "every dependency checked", 10*time.Second, wantStates(inst, want))
	d := detailed(t, inst)
	assert.Equal(t, "ok", d["status"])
	assert.Equal(t, "initialised, serving", d["reason"])
	for _, dep := range jsonList([]byte(mustJSON(d)), "dependencies") {
		for _, field := range []string{"dependency", "shard", "state", "checkedAt", "since"} {
			assert.Contains(t, dep, field)
		}
		checked, err := time.Parse(time.RFC3339Nano, dep["checkedAt"].(string))
		require.NoError(t, err)
		assert.WithinDuration(t, time.Now(), checked, 3*health.Interval, "checked in the background, recently")
	}
	metrics := string(do(t, http.MethodGet, inst.MetricsURL+"/metrics", nil, nil).Body)
	assert.Contains(t, metrics, `auth_dependency_up{dependency="postgres-writer",shard=""} 1`)
	assert.Contains(t, metrics, `auth_dependency_up{dependency="postgres-reader",shard=""} 1`)
	for _, l := range labels {
		assert.Contains(t, metrics, fmt.Sprintf(`auth_dependency_up{dependency="redis",shard=%q} 1`, l))
	}
}
