package e2e

import (
	"context"
	"fmt"

	"encoding/base64"
	"github.com/redis/go-redis/v9"
	"net/http"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestLoginSessionLogout(t *testing.T) {
	adminRun(t, "", "create-role", "--name", "reader", "--permissions", `["users:read","sessions:read"]`)
	adminRun(t, "", "create-role", "--name", "writer", "--permissions", `["users:write","users:read"]`)
	name, pw := newUser(t, "alice", "reader")
	adminRun(t, "", "grant-role", "--username", name, "--role", "writer")
	inst := startInstance(t, nil)

	r := login(t, inst.URL, strings.ToUpper(name), pw) // usernames match case-insensitively
	require.Equal(t, http.StatusOK, r.Status, string(r.Body))
	body := r.json(t)
	tok := body["token"].(string)
	raw, err := base64.RawURLEncoding.DecodeString(tok)
	require.NoError(t, err, "token is unpadded base64url")
	assert.Len(t, raw, 32, "32 random bytes")
	assert.Equal(t, "Bearer", body["tokenType"])
	assert.Equal(t, "no-store", r.Header.Get("Cache-Control"))

	s := getSession(t, inst.URL, tok)
	require.Equal(t, http.StatusOK, s.Status, string(s.Body))
	sb := s.json(t)
	assert.Equal(t, name, sb["user"].(map[string]any)["username"])
	assert.Equal(t, []any{"reader", "writer"}, sb["roles"])
	assert.Equal(t, []any{"sessions:read", "users:read", "users:write"}, sb["permissions"])
	exp, err := time.Parse(time.RFC3339, sb["expiresAt"].(string))
	require.NoError(t, err)
	assert.WithinDuration(t, time.Now().Add(time.Hour), exp, 5*time.Second, "SESSION_TTL_SECONDS=3600")

	// Redis holds the token's hash, never the token.
	ctx := t.Context()
	keys, err := inst.Svc.Redis.Keys(ctx, "*"+tok+"*").Result()
	if err == nil {
		assert.Empty(t, keys)
	}
	var found bool
	require.NoError(t, inst.Svc.Redis.ForEachMaster(ctx, func(ctx context.Context, c *redis.Client) error {
		ks, err := c.Keys(ctx, "session:*").Result()
		for _, k := range ks {
			v, _ := c.Get(ctx, k).Result()
			assert.NotContains(t, v, tok)
			assert.NotContains(t, k, tok)
			found = true
		}
		return err
	}))
	assert.True(t, found, "some session key exists")

	assert.Equal(t, http.StatusNotFound, do(t, http.MethodGet, inst.URL+"/metrics", nil, nil).Status, "not on the traffic port")
	metrics := do(t, http.MethodGet, inst.MetricsURL+"/metrics", nil, nil)
	require.Equal(t, http.StatusOK, metrics.Status)
	assert.Contains(t, string(metrics.Body), `auth_logins_total{result="success"} 1`)
	assert.Contains(t, string(metrics.Body), `auth_http_requests_total{code="200",route="/v1/session"} 1`)

	lo := do(t, http.MethodPost, inst.URL+"/v1/logout", nil, bearer(tok))
	assert.Equal(t, http.StatusNoContent, lo.Status)
	revoked := getSession(t, inst.URL, tok)
	assert.Equal(t, http.StatusUnauthorized, revoked.Status)
	assert.Equal(t, "invalid_token", revoked.json(t)["error"])
}

// The session lives SESSION_TTL_SECONDS: asked repeatedly, every 200
// came from a request that started before expiresAt, every 401 from one
// that ended after it, and the 401 comes. (Asserted on request times, not
// on sleeps, so a loaded machine cannot make it flaky.)
func TestSessionExpiresAfterItsTTL(t *testing.T) {
	name, pw := newUser(t, "ttl")
	inst := startInstance(t, map[string]string{"SESSION_TTL_SECONDS": "2", "SESSION_IDLE_SECONDS": "2"})
	r := login(t, inst.URL, name, pw)
	require.Equal(t, http.StatusOK, r.Status, string(r.Body))
	tok := jsonField(r.Body, "token")
	expires, err := time.Parse(time.RFC3339Nano, jsonField(r.Body, "expiresAt"))
	require.NoError(t, err)
	var valid int
	deadline := time.Now().Add(20 * time.Second)
	for {
		start := time.Now()
		r := getSession(t, inst.URL, tok)
		end := time.Now()
		if r.Status == http.StatusOK {
			valid++
			require.True(t, start.Before(expires), "valid when asked at %s, after expiresAt %s", start, expires)
		} else {
			require.Equal(t, http.StatusUnauthorized, r.Status, string(r.Body))
			assert.Equal(t, "invalid_token", r.json(t)["error"])
			require.False(t, end.Before(expires), "expired before expiresAt: answered at %s, expiresAt %s", end, expires)
			break
		}
		require.True(t, time.Now().Before(deadline), "still valid 20 s after a 2 s TTL")
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("valid %d times, then expired", valid)
}

func TestSessionMadeOnOneInstanceIsValidOnAnother(t *testing.T) {
	name, pw := newUser(t, "multi")
	a, b := startInstance(t, nil), startInstance(t, nil)
	tok := loginToken(t, a.URL, name, pw)
	r := getSession(t, b.URL, tok)
	require.Equal(t, http.StatusOK, r.Status, string(r.Body))
	assert.Equal(t, name, r.json(t)["user"].(map[string]any)["username"])
	assert.Equal(t, http.StatusNoContent, do(t, http.MethodPost, b.URL+"/v1/logout", nil, bearer(tok)).Status)
	assert.Equal(t, http.StatusUnauthorized, getSession(t, a.URL, tok).Status, "revoked through b, gone on a")
}

func TestBadInputIsRefusedWithoutLeaking(t *testing.T) {
	name, pw := newUser(t, "bob")
	inst := startInstance(t, nil)
	valid := loginToken(t, inst.URL, name, pw)
	forged := base64.RawURLEncoding.EncodeToString(make([]byte, 32)) // well-formed, never issued

	cases := []struct {
		name     string
		method   string
		path     string
		body     string
		header   map[string]string
		status   int
		errCode  string
		contains string
	}{
		{"malformed JSON", "POST", "/v1/login", `{"username":`, jsonHeader, 400, "invalid_request", ""},
		{"not an object", "POST", "/v1/login", `["a","b"]`, jsonHeader, 400, "invalid_request", ""},
		{"unknown field", "POST", "/v1/login", `{"username":"a","password":"b","admin":true}`, jsonHeader, 400, "invalid_request", ""},
		{"two objects", "POST", "/v1/login", `{"username":"a","password":"b"}{}`, jsonHeader, 400, "invalid_request", ""},
		{"empty password", "POST", "/v1/login", `{"username":"a","password":""}`, jsonHeader, 400, "invalid_request", ""},
		{"control character in username", "POST", "/v1/login", `{"username":"a\u0000b","password":"x"}`, jsonHeader, 400, "invalid_request", ""},
		{"oversized body", "POST", "/v1/login", `{"username":"a","password":"` + strings.Repeat("x", 5000) + `"}`, jsonHeader, 413, "request_too_large", ""},
		{"wrong content type", "POST", "/v1/login", `{"username":"a","password":"b"}`, map[string]string{"Content-Type": "text/plain"}, 415, "unsupported_media_type", ""},
		{"wrong method", "GET", "/v1/login", "", nil, 405, "method_not_allowed", ""},
		{"unknown path", "GET", "/v1/admin", "", nil, 404, "not_found", ""},
		{"wrong password", "POST", "/v1/login", `{"username":"` + name + `","password":"nope"}`, jsonHeader, 401, "invalid_credentials", ""},
		{"unknown user", "POST", "/v1/login", `{"username":"nobody-here","password":"nope"}`, jsonHeader, 401, "invalid_credentials", ""},
		{"SQL-looking username", "POST", "/v1/login", `{"username":"'OR'1'='1'--","password":"x' OR '1'='1"}`, jsonHeader, 401, "invalid_credentials", ""},
		{"SQL-looking username with statement", "POST", "/v1/login", `{"username":"x';DROP/**/TABLE/**/users;--","password":"x"}`, jsonHeader, 401, "invalid_credentials", ""},
		{"username with a space (no canonical form)", "POST", "/v1/login", `{"username":"' OR '1'='1' --","password":"x"}`, jsonHeader, 400, "invalid_request", ""},
		{"duplicate key", "POST", "/v1/login", `{"username":"a","username":"b","password":"x"}`, jsonHeader, 400, "invalid_request", ""},
		{"no token", "GET", "/v1/session", "", nil, 401, "missing_token", ""},
		{"basic auth", "GET", "/v1/session", "", map[string]string{"Authorization": "Basic " + base64.StdEncoding.EncodeToString([]byte("a:b"))}, 401, "missing_token", ""},
		{"forged token", "GET", "/v1/session", "", bearer(forged), 401, "invalid_token", ""},
		{"garbage token", "GET", "/v1/session", "", bearer("../../etc/passwd"), 401, "invalid_token", ""},
		{"token with a pattern", "GET", "/v1/session", "", bearer(strings.Repeat("*", 43)), 401, "invalid_token", ""},
		{"truncated token", "GET", "/v1/session", "", bearer(valid[:42]), 401, "invalid_token", ""},
		{"logout without token", "POST", "/v1/logout", "", nil, 401, "missing_token", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := do(t, c.method, inst.URL+c.path, strings.NewReader(c.body), c.header)
			require.Equal(t, c.status, r.Status, string(r.Body))
			assert.Equal(t, "application/json", r.Header.Get("Content-Type"))
			assert.Equal(t, c.errCode, r.json(t)["error"])
			assert.NotContains(t, string(r.Body), "pgx")
			assert.NotContains(t, string(r.Body), "redis")
			assert.NotContains(t, string(r.Body), "127.0.0.1")
		})
	}
	// The users table survived the SQL-looking names, and bob still logs in.
	assert.Equal(t, http.StatusOK, login(t, inst.URL, name, pw).Status)
	assert.Equal(t, http.StatusOK, getSession(t, inst.URL, valid).Status)
}

// An unknown user and a wrong password get the same answer and cost the
// same hash: the unknown user's login is not measurably cheaper.
func TestUnknownUserAndWrongPasswordLookAlike(t *testing.T) {
	name, _ := newUser(t, "enum")
	inst := startInstance(t, nil)
	// Nine of each, interleaved, so that the machine's load weighs on both
	// alike; the medians are compared. Three known users and a new unknown
	// name each time keep every account under the lockout limit.
	var knownDs, unknownDs []time.Duration
	var knownBody, unknownBody string
	known3 := []string{name}
	for len(known3) < 3 {
		n, _ := newUser(t, "enum")
		known3 = append(known3, n)
	}
	timed := func(user string) (time.Duration, string) {
		start := time.Now()
		r := login(t, inst.URL, user, "wrong-password")
		require.Equal(t, http.StatusUnauthorized, r.Status)
		return time.Since(start), string(r.Body)
	}
	for i := 0; i < 9; i++ {
		d, b := timed(known3[i%3])
		knownDs, knownBody = append(knownDs, d), b
		d, b = timed(fmt.Sprintf("no-such-user-%d-%s", i, name))
		unknownDs, unknownBody = append(unknownDs, d), b
	}
	median := func(ds []time.Duration) time.Duration {
		sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
		return ds[len(ds)/2]
	}
	known, unknown := median(knownDs), median(unknownDs)
	assert.Equal(t, knownBody, unknownBody)
	t.Logf("median wrong-password login %s, unknown-user login %s", known, unknown)
	// One-sided and generous (a loaded machine only makes both slower):
	// without the dummy hash an unknown user costs ~1 ms against ~40 ms.
	assert.Greater(t, unknown, known/3, "an unknown user must cost a password hash too")
}

// The guessing source's own delays hold the right password too (it cannot
// tell a guess from the owner), case variants are the same account, and a
// success ends the consecutive failures.
func TestLockoutAfterRepeatedFailures(t *testing.T) {
	name, pw := newUser(t, "brute")
	inst := startInstance(t, nil)
	for i := 0; i < 5; i++ {
		r := login(t, inst.URL, name, "guess")
		require.Equal(t, http.StatusUnauthorized, r.Status, "attempt %d", i+1)
	}
	r := login(t, inst.URL, name, pw)
	require.Equal(t, http.StatusTooManyRequests, r.Status, "this source waits, even with the right password")
	assert.Equal(t, "too_many_attempts", r.json(t)["error"])
	assert.Equal(t, "1", r.Header.Get("Retry-After"))
	assert.Equal(t, http.StatusTooManyRequests, login(t, inst.URL, strings.ToUpper(name), pw).Status, "case does not dodge it")
	time.Sleep(1100 * time.Millisecond)
	require.Equal(t, http.StatusOK, login(t, inst.URL, name, pw).Status, "after the delay")
	for i := 0; i < 5; i++ {
		assert.Equal(t, http.StatusUnauthorized, login(t, inst.URL, name, "guess").Status, "a success reset the pair")
	}
}

func TestLockoutPerSourceAddress(t *testing.T) {
	ctx := t.Context()
	db := openDB(t)
	_, err := db.Writer.Exec(ctx, `UPDATE settings SET value = '3' WHERE key = 'login_max_failures_per_source'`)
	require.NoError(t, err)
	t.Cleanup(func() {
		_, _ = db.Writer.Exec(context.Background(), `UPDATE settings SET value = '100' WHERE key = 'login_max_failures_per_source'`)
	})
	inst := startInstance(t, nil) // reads the settings at start
	name, pw := newUser(t, "spray")
	// Password spraying: one guess on each of many accounts from one address.
	from := map[string]string{"Content-Type": "application/json", "X-Forwarded-For": "198.51.100.7, 203.0.113.9"}
	for i := 0; i < 3; i++ {
		r := do(t, "POST", inst.URL+"/v1/login", loginBody("sprayed-"+strings.Repeat("x", i+1), "guess"), from)
		require.Equal(t, http.StatusUnauthorized, r.Status)
	}
	r := do(t, "POST", inst.URL+"/v1/login", loginBody(name, pw), from)
	assert.Equal(t, http.StatusTooManyRequests, r.Status, "the address the ALB saw (last X-Forwarded-For entry) is locked")
	// Another address (the ALB's last entry differs; a forged first entry does not matter).
	other := map[string]string{"Content-Type": "application/json", "X-Forwarded-For": "203.0.113.9, 203.0.113.10"}
	assert.Equal(t, http.StatusOK, do(t, "POST", inst.URL+"/v1/login", loginBody(name, pw), other).Status)
}

// Parallel guesses stay bounded (each attempt in flight holds a slot of
// the account's limit), while attempts that were not judged count nothing
// (review H2) and a judgement is recorded even when the request's context
// is gone (review L3).
func TestLockoutCountsJudgedFailuresAndBoundsParallelGuesses(t *testing.T) {
	inst := startInstance(t, nil)
	name, _ := newUser(t, "parallel")
	var wg sync.WaitGroup
	var mu sync.Mutex
	codes := map[int]int{}
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := do(t, http.MethodPost, inst.URL+"/v1/login", loginBody(name, "guess"), from("198.51.100.1"))
			mu.Lock()
			codes[r.Status]++
			mu.Unlock()
		}()
	}
	wg.Wait()
	assert.Equal(t, map[int]int{http.StatusUnauthorized: 5, http.StatusTooManyRequests: 15}, codes, "five passwords checked, no more")

	ctx := t.Context()
	other, _ := newUser(t, "judged")
	failures := func() int {
		n, _ := inst.Svc.Redis.HGet(ctx, lockoutKey(other), "f").Int()
		return n
	}
	for i := 0; i < 3; i++ { // abandoned: a dependency failed
		a, _ := inst.Svc.Limiter.Begin(ctx, canonical(other), "192.0.2.1")
		require.NotNil(t, a)
		a.Abandon(ctx)
	}
	assert.Zero(t, failures(), "unjudged attempts count nothing")
	cctx, cancel := context.WithCancel(ctx)
	a, _ := inst.Svc.Limiter.Begin(cctx, canonical(other), "192.0.2.1")
	require.NotNil(t, a)
	cancel() // the client went away after the password was judged wrong
	a.Failed(cctx)
	assert.Equal(t, 1, failures(), "a judged failure counts although the request's context ended")
	inflight, _ := inst.Svc.Redis.HGet(ctx, lockoutKey(other), "i").Int()
	assert.Zero(t, inflight, "every reservation released")
}
