package e2e

import (
	"context"
	"math/rand/v2"
	"net/http"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/authplatform/auth-platform/cmd/auth-service/internal/session"
)

// A primary SIGKILLed under load: no request fails, no session is lost,
// and the longest request is bounded by the promotion time.
func TestRedisPrimaryCrashUnderLoadLosesNoSession(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	a, b := startInstance(t, nil), startInstance(t, nil)
	name, pw := newUser(t, "failover")
	waitFor(t, "healthy", 10*time.Second, wantHealth(a.URL, http.StatusOK))

	// Sessions on every shard, made through the service's own store.
	var tokens []string
	for i := 0; i < 300; i++ {
		tok, _, err := a.Svc.Sessions.Create(ctx, session.Data{UserID: int64(i + 1), Username: "load"}, 0, false)
		require.NoError(t, err)
		tokens = append(tokens, tok)
	}

	type result struct {
		start   time.Time
		latency time.Duration
		status  int
		err     error
	}
	var mu sync.Mutex
	var results []result
	var loginTokens []string
	var stop atomic.Bool
	var wg sync.WaitGroup
	record := func(r result) { mu.Lock(); results = append(results, r); mu.Unlock() }
	for w := 0; w < 6; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !stop.Load() {
				base := []string{a.URL, b.URL}[rand.IntN(2)]
				start := time.Now()
				r, err := doErr(http.MethodGet, base+"/v1/session", nil, bearer(tokens[rand.IntN(len(tokens))]))
				record(result{start, time.Since(start), r.Status, err})
				time.Sleep(2 * time.Millisecond)
			}
		}()
	}
	wg.Add(1)
	go func() { // logins write sessions and lockout counters during the crash
		defer wg.Done()
		for !stop.Load() {
			start := time.Now()
			r, err := doErr(http.MethodPost, a.URL+"/v1/login", loginBody(name, pw), jsonHeader)
			record(result{start, time.Since(start), r.Status, err})
			if err == nil && r.Status == http.StatusOK {
				mu.Lock()
				loginTokens = append(loginTokens, jsonField(r.Body, "token"))
				mu.Unlock()
			}
		}
	}()

	time.Sleep(time.Second)
	killedAt := time.Now()
	dead, err := parts.redis.KillPrimary(0)
	require.NoError(t, err)
	require.NoError(t, parts.redis.WaitFailover(ctx))
	promotedAfter := time.Since(killedAt)
	time.Sleep(2 * time.Second)
	stop.Store(true)
	wg.Wait()

	var failed int
	var maxLatency, maxAfterKill time.Duration
	var latencies []time.Duration
	for _, r := range results {
		if r.err != nil || r.status != http.StatusOK {
			failed++
			t.Logf("failed at +%s: %d %v", r.start.Sub(killedAt).Round(time.Millisecond), r.status, r.err)
		}
		latencies = append(latencies, r.latency)
		maxLatency = max(maxLatency, r.latency)
		if !r.start.Before(killedAt) {
			maxAfterKill = max(maxAfterKill, r.latency)
		}
	}
	sort.Slice(latencies, func(i, j int) bool { return latencies[i] < latencies[j] })
	t.Logf("%d requests, %d failed; replica promoted %s after SIGKILL; longest request %s (p50 %s, p99 %s)",
		len(results), failed, promotedAfter.Round(time.Millisecond), maxLatency.Round(time.Millisecond),
		latencies[len(latencies)/2], latencies[len(latencies)*99/100])
	assert.Zero(t, failed, "requests ride through the failover")
	// A request waits at most one operation timeout (then it is a 503,
	// counted above), plus what HTTP costs on a loaded machine.
	assert.Less(t, maxAfterKill, session.OpTimeout+2*time.Second, "a request waits at most one operation timeout")

	all := append(append([]string{}, tokens...), loginTokens...)
	lost := 0
	for _, tok := range all {
		if _, err := b.Svc.Sessions.Get(ctx, tok); err != nil {
			lost++
		}
	}
	assert.Zero(t, lost, "of %d sessions (%d made by logins during the load)", len(all), len(loginTokens))
	waitFor(t, "healthy after failover", 10*time.Second, wantHealth(a.URL, http.StatusOK))

	require.NoError(t, parts.redis.Restart(ctx, dead))
	require.NoError(t, parts.redis.WaitFailover(ctx))
}
