package e2e

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/authplatform/auth-platform/cmd/auth-service/internal/health"
	"github.com/authplatform/auth-platform/cmd/auth-service/internal/lockout"
	"github.com/authplatform/auth-platform/cmd/auth-service/internal/session"
	"github.com/authplatform/auth-platform/cmd/auth-service/internal/username"
	"github.com/authplatform/auth-platform/tests/realparts"
)

// detailed reads the metrics port's /health.
func detailed(t testing.TB, inst *instance) map[string]any {
	t.Helper()
	r := do(t, http.MethodGet, inst.MetricsURL+"/health", nil, nil)
	require.Equal(t, http.StatusOK, r.Status, string(r.Body))
	return r.json(t)
}

// states maps "dependency/shard" to up or down, from the detailed /health.
func states(t testing.TB, inst *instance) map[string]string {
	t.Helper()
	out := map[string]string{}
	deps, _ := detailed(t, inst)["dependencies"].([]any)
	for _, d := range deps {
		m := d.(map[string]any)
		out[m["dependency"].(string)+"/"+m["shard"].(string)] = m["state"].(string)
	}
	return out
}

// wantStates waits until the detailed /health shows want (other
// dependencies may be in any state).
func wantStates(inst *instance, want map[string]string) func() error {
	return func() error {
		r, err := doErr(http.MethodGet, inst.MetricsURL+"/health", nil, nil)
		if err != nil {
			return err
		}
		got := map[string]string{}
		for _, d := range jsonList(r.Body, "dependencies") {
			got[fmt.Sprint(d["dependency"])+"/"+fmt.Sprint(d["shard"])] = fmt.Sprint(d["state"])
		}
		for k, v := range want {
			if got[k] != v {
				return fmt.Errorf("%s is %q, want %q (all: %v)", k, got[k], v, got)
			}
		}
		return nil
	}
}

// shardLabels are the slot ranges of every shard, as the service labels them.
func shardLabels(t testing.TB) []string {
	t.Helper()
	shards, err := parts.redis.Shards()
	require.NoError(t, err)
	var labels []string
	for _, s := range shards {
		labels = append(labels, s.Slots.String())
	}
	return labels
}

// sessionsByShard makes n sessions and groups their tokens by the slot
// ranges of the shard that holds them.
func sessionsByShard(t testing.TB, inst *instance, n int) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	for i := 0; i < n; i++ {
		tok, _, err := inst.Svc.Sessions.Create(t.Context(), session.Data{UserID: int64(i + 1), Username: "shard"}, 0, false)
		require.NoError(t, err)
		s, err := parts.redis.ShardOf(session.Key(tok))
		require.NoError(t, err)
		out[s.Slots.String()] = append(out[s.Slots.String()], tok)
	}
	return out
}

// The acceptance test: PostgreSQL stopped and one shard hung (no
// failover possible) at once. Every pod stays ready, the other shards'
// sessions validate, the hung shard's fail only while it hangs, logins get
// 503 while PostgreSQL is down and lock nobody out, and the dependency
// state shows in the detailed /health, the metric and the log.
func TestPostgresDownAndAHungShardKeepEveryPodReady(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	a, b := startInstance(t, nil), startInstance(t, nil)
	name, pw := newUser(t, "outage")
	labels := shardLabels(t)
	require.Len(t, labels, 3)
	all := map[string]string{health.PostgresWriter + "/": "up", health.PostgresReader + "/": "up"}
	for _, l := range labels {
		all[health.Redis+"/"+l] = "up"
	}
	for _, inst := range []*instance{a, b} {
		waitFor(t, "every dependency up", 10*time.Second, wantStates(inst, all))
		assert.Len(t, states(t, inst), 5, "writer, reader and three shards")
	}
	byShard := sessionsByShard(t, a, 90)
	shards, err := parts.redis.Shards()
	require.NoError(t, err)
	hung := shards[1]
	hungLabel := hung.Slots.String()
	require.NotEmpty(t, byShard[hungLabel])
	var others []string
	for l, toks := range byShard {
		if l != hungLabel {
			others = append(others, toks...)
		}
	}

	require.NoError(t, parts.pg.Stop())
	pgStopped := true
	t.Cleanup(func() {
		if pgStopped {
			_ = parts.pg.Start(context.Background())
		}
	})
	nodes, err := parts.redis.HangShard(hung.Primary)
	require.NoError(t, err)
	hungNow := true
	t.Cleanup(func() {
		if hungNow {
			_ = parts.redis.Resume(context.Background(), nodes...)
		}
	})
	faultAt := time.Now()

	// The hung shard's sessions, asked while it hangs: they may fail.
	var hungAsked, hungFailed atomic.Int64
	var wg sync.WaitGroup
	for _, tok := range byShard[hungLabel][:3] {
		wg.Add(1)
		go func() {
			defer wg.Done()
			hungAsked.Add(1)
			if r, err := doErr(http.MethodGet, a.URL+"/v1/session", nil, bearer(tok)); err != nil || r.Status != http.StatusOK {
				hungFailed.Add(1)
			}
		}()
	}
	// Logins while PostgreSQL is down: more than the account's limit, all
	// 503, none counted (alongside the probes: one whose lockout counters
	// sit on the hung shard takes the fallback's deadlines).
	var loginCodes []int
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; i < 7; i++ {
			r, err := doErr(http.MethodPost, b.URL+"/v1/login", loginBody(name, pw), jsonHeader)
			if err != nil {
				r.Status = -1
			}
			loginCodes = append(loginCodes, r.Status)
		}
	}()
	// Several background rounds: every pod ready, every other session valid.
	var probes, validations int
	var slowest time.Duration
	for loopStart := time.Now(); time.Since(loopStart) < 3*health.Interval+2*time.Second; {
		for _, inst := range []*instance{a, b} {
			st, body, err := healthStatus(inst.URL)
			require.NoError(t, err)
			require.Equal(t, http.StatusOK, st, "readiness of %s at +%s: %v", inst.URL, time.Since(faultAt).Round(time.Millisecond), body)
			probes++
			tok := others[validations%len(others)]
			start := time.Now()
			r := getSession(t, inst.URL, tok)
			slowest = max(slowest, time.Since(start))
			require.Equal(t, http.StatusOK, r.Status, "a session on a healthy shard at +%s: %s", time.Since(faultAt).Round(time.Millisecond), r.Body)
			validations++
		}
		time.Sleep(100 * time.Millisecond)
	}
	down := map[string]string{health.PostgresWriter + "/": "down", health.PostgresReader + "/": "down", health.Redis + "/" + hungLabel: "down"}
	for _, l := range labels {
		if l != hungLabel {
			down[health.Redis+"/"+l] = "up"
		}
	}
	for _, inst := range []*instance{a, b} {
		waitFor(t, "the outage in the detailed /health", 10*time.Second, wantStates(inst, down))
		assert.Equal(t, "ok", detailed(t, inst)["status"])
	}
	metrics := string(do(t, http.MethodGet, a.MetricsURL+"/metrics", nil, nil).Body)
	assert.Contains(t, metrics, fmt.Sprintf(`auth_dependency_up{dependency="redis",shard=%q} 0`, hungLabel))
	assert.Contains(t, metrics, `auth_dependency_up{dependency="postgres-writer",shard=""} 0`)
	for _, l := range labels {
		if l != hungLabel {
			assert.Contains(t, metrics, fmt.Sprintf(`auth_dependency_up{dependency="redis",shard=%q} 1`, l))
		}
	}
	countDown := func(inst *instance, dep, shard string) int {
		n := 0
		for _, e := range inst.events("dependency_down") {
			if e["dependency"] == dep && e["shard"] == shard {
				n++
			}
		}
		return n
	}
	assert.GreaterOrEqual(t, countDown(a, health.PostgresWriter, ""), 2, "every failed check logs dependency_down")
	assert.GreaterOrEqual(t, countDown(a, health.Redis, hungLabel), 2)

	require.NoError(t, parts.redis.Resume(ctx, nodes...))
	hungNow = false
	require.NoError(t, parts.pg.Start(ctx))
	pgStopped = false
	resumedAt := time.Now()
	wg.Wait()
	assert.Equal(t, []int{503, 503, 503, 503, 503, 503, 503}, loginCodes, "logins while PostgreSQL is down")
	t.Logf("outage of %s: %d readiness probes and %d validations on healthy shards, all 200 (slowest validation %s); hung shard: %d of %d asked while hanging failed",
		resumedAt.Sub(faultAt).Round(time.Millisecond), probes, validations, slowest.Round(time.Millisecond), hungFailed.Load(), hungAsked.Load())

	// The hung shard's sessions are back, none lost.
	waitFor(t, "the hung shard's sessions valid again", 20*time.Second, func() error {
		for _, tok := range byShard[hungLabel] {
			if r, err := doErr(http.MethodGet, b.URL+"/v1/session", nil, bearer(tok)); err != nil || r.Status != http.StatusOK {
				return fmt.Errorf("status %d, %v", r.Status, err)
			}
		}
		return nil
	})
	t.Logf("hung shard's sessions valid %s after SIGCONT", time.Since(resumedAt).Round(time.Millisecond))
	for _, inst := range []*instance{a, b} {
		waitFor(t, "every dependency up again", 20*time.Second, wantStates(inst, all))
	}
	for _, dep := range []string{health.PostgresWriter, health.Redis} {
		n := 0
		for _, e := range a.events("dependency_up") {
			if e["dependency"] == dep {
				n++
			}
		}
		assert.Equal(t, 1, n, "%s: one dependency_up on recovery", dep)
	}
	// Seven 503s counted nothing: the right password works at once.
	r := login(t, a.URL, name, pw)
	assert.Equal(t, http.StatusOK, r.Status, "no lockout from the outage: %s", r.Body)
}

// Logins need one of the two database endpoints: reader first, the writer
// when the reader is gone (at once, once the checks see it gone), and the
// reader alone when the writer is gone.
func TestLoginsWithOnlyTheReaderOrOnlyTheWriter(t *testing.T) {
	writer, err := realparts.NewEndpoint(parts.pg.Addr())
	require.NoError(t, err)
	defer writer.Close()
	reader, err := realparts.NewEndpoint(parts.pg.Addr())
	require.NoError(t, err)
	defer reader.Close()
	name, pw := newUser(t, "endpoints")
	inst := startInstance(t, map[string]string{
		"DB_HOST": writer.Host(), "DB_PORT": fmt.Sprint(writer.Port()),
		"DB_READER_HOST": "localhost", "DB_READER_PORT": fmt.Sprint(reader.Port()),
	})
	require.Equal(t, http.StatusOK, login(t, inst.URL, name, pw).Status)
	bound := 2 * (time.Second + 3*time.Second) // reader deadline + writer deadline, twice for a loaded machine

	cases := []struct {
		name        string
		block, open *realparts.Endpoint
		down        string
	}{
		{"only the writer", reader, writer, health.PostgresReader},
		{"only the reader", writer, reader, health.PostgresWriter},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			c.block.Block()
			defer c.block.Unblock()
			for i := 0; i < 3; i++ {
				start := time.Now()
				r := login(t, inst.URL, name, pw)
				assert.Equal(t, http.StatusOK, r.Status, "login %d: %s", i+1, r.Body)
				assert.Less(t, time.Since(start), bound)
			}
			waitFor(t, c.down+" down", 10*time.Second, wantStates(inst, map[string]string{c.down + "/": "down"}))
			start := time.Now()
			r := login(t, inst.URL, name, pw)
			assert.Equal(t, http.StatusOK, r.Status, "login once the checks see it: %s", r.Body)
			t.Logf("%s: login %s once %s is known down", c.name, time.Since(start).Round(time.Millisecond), c.down)
			assert.Equal(t, http.StatusOK, do(t, http.MethodGet, inst.URL+"/health", nil, nil).Status)
		})
	}
}

// A hung shard during logins: a session whose first write hits it is
// written again on another shard with a new token, and an account whose
// lockout counters live on it is limited in this pod's memory, with the
// same policy, while logins keep working.
func TestLoginsRideThroughAHungShard(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	inst := startInstance(t, nil)
	shards, err := parts.redis.Shards()
	require.NoError(t, err)
	hung := shards[2]
	// A user whose lockout counters are on the hung shard.
	var name, pw string
	for i := 0; ; i++ {
		name, pw = newUser(t, "hung")
		if hung.Slots.Contains(realparts.KeySlot(lockoutKey(name))) {
			break
		}
		require.Less(t, i, 30, "no user name hashed to the shard")
	}
	other, otherPw := newUser(t, "hung-other")
	nodes, err := parts.redis.HangShard(hung.Primary)
	require.NoError(t, err)
	resumed := false
	defer func() {
		if !resumed {
			_ = parts.redis.Resume(context.Background(), nodes...)
		}
	}()

	retries := func() float64 { return metricValue(t, inst, "auth_session_write_retries_total") }
	var logins int
	var slowest time.Duration
	for retries() < 1 {
		require.Less(t, logins, 20, "twenty logins and no session write hit the hung shard")
		start := time.Now()
		r := login(t, inst.URL, name, pw)
		require.Equal(t, http.StatusOK, r.Status, "login during the hang: %s", r.Body)
		logins++
		tok := jsonField(r.Body, "token")
		s, err := parts.redis.ShardOf(session.Key(tok))
		require.NoError(t, err)
		assert.NotEqual(t, hung.Slots.String(), s.Slots.String(), "a session given out during the hang lives on a shard that answers")
		assert.Less(t, time.Since(start), 25*time.Second, "within the request timeout")
		slowest = max(slowest, time.Since(start))
		assert.Equal(t, http.StatusOK, getSession(t, inst.URL, tok).Status)
	}
	assert.GreaterOrEqual(t, metricValue(t, inst, `auth_lockout_fallback_total{op="begin"}`), float64(logins))
	assert.NotEmpty(t, inst.events("lockout_fallback"), "the fallback is logged")
	t.Logf("%d logins during the hang, %v session writes retried, slowest login %s", logins, retries(), slowest.Round(time.Millisecond))

	// The in-memory counters apply the same policy: 5 failures, then 429.
	for i := 0; i < 5; i++ {
		assert.Equal(t, http.StatusUnauthorized, login(t, inst.URL, name, "wrong-guess").Status, "guess %d", i+1)
	}
	r := login(t, inst.URL, name, pw)
	assert.Equal(t, http.StatusTooManyRequests, r.Status, "locked in memory while Redis is away: %s", r.Body)
	assert.NotEmpty(t, r.Header.Get("Retry-After"))
	assert.Equal(t, http.StatusOK, login(t, inst.URL, other, otherPw).Status, "other accounts are not affected")

	require.NoError(t, parts.redis.Resume(ctx, nodes...))
	resumed = true
	require.NoError(t, parts.redis.WaitFailover(ctx))
}

// lockoutKey is where the lockout counters of an account live (as
// internal/lockout names them: a hash per account, tagged by the SHA-256
// of the canonical name).
func lockoutKey(name string) string { return lockout.AccountKey(canonical(name)) }

func canonical(name string) string {
	c, err := username.Canonical(name)
	if err != nil {
		panic(err)
	}
	return c
}

// metricValue reads one sample from the metrics port (0 when absent).
func metricValue(t testing.TB, inst *instance, series string) float64 {
	t.Helper()
	body := string(do(t, http.MethodGet, inst.MetricsURL+"/metrics", nil, nil).Body)
	for _, line := range strings.Split(body, "\n") {
		if v, ok := strings.CutPrefix(line, series+" "); ok {
			var f float64
			_, err := fmt.Sscan(v, &f)
			require.NoError(t, err)
			return f
		}
	}
	return 0
}

// Aurora's failover, as the drill's db-failover runs it: the reader (a
// streaming standby) is promoted and both endpoints switch to it, cutting
// every pooled connection. Logins under way reconnect through the names
// and succeed: a connection broken under a query is replaced and the
// query tried again, and a lookup that fails on one endpoint is asked of
// the other (without both, a login in flight at the switch fails).
func TestLoginsRideThroughAWriterFailover(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	name, pw := newUser(t, "failover-db") // before the standby: it is copied
	standby, err := parts.pg.StartStandby(ctx)
	require.NoError(t, err)
	defer standby.Close()
	writer, err := realparts.NewEndpoint(parts.pg.Addr())
	require.NoError(t, err)
	defer writer.Close()
	reader, err := realparts.NewEndpoint(standby.Addr())
	require.NoError(t, err)
	defer reader.Close()
	inst := startInstance(t, map[string]string{
		"DB_HOST": writer.Host(), "DB_PORT": fmt.Sprint(writer.Port()),
		"DB_READER_HOST": "localhost", "DB_READER_PORT": fmt.Sprint(reader.Port()),
	})

	var stop atomic.Bool
	var mu sync.Mutex
	var ok int
	var failures []string
	var lastAfter time.Duration
	var switchedAt atomic.Int64
	var wg sync.WaitGroup
	for w := 0; w < 2; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !stop.Load() {
				start := time.Now()
				r, err := doErr(http.MethodPost, inst.URL+"/v1/login", loginBody(name, pw), jsonHeader)
				mu.Lock()
				if err != nil || r.Status != http.StatusOK {
					failures = append(failures, fmt.Sprintf("+%s: %d %v %s", start.Sub(time.Unix(0, switchedAt.Load())).Round(time.Millisecond), r.Status, err, r.Body))
				} else {
					ok++
					if s := switchedAt.Load(); s != 0 && start.UnixNano() > s {
						lastAfter = max(lastAfter, time.Since(start))
					}
				}
				mu.Unlock()
			}
		}()
	}
	time.Sleep(time.Second)
	require.NoError(t, standby.Promote(ctx))
	switchedAt.Store(time.Now().UnixNano())
	writer.Switch(standby.Addr())
	reader.Switch(standby.Addr())
	time.Sleep(3 * time.Second)
	stop.Store(true)
	wg.Wait()
	t.Logf("%d logins, %d failed; slowest login started after the switch: %s", ok, len(failures), lastAfter.Round(time.Millisecond))
	assert.Empty(t, failures)
	assert.Greater(t, ok, 2)
	assert.Equal(t, http.StatusOK, do(t, http.MethodGet, inst.URL+"/health", nil, nil).Status)
}
