package probe

import (
	"context"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func discardLog() *log.Logger { return log.New(io.Discard, "", 0) }

func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		name    string
		mutate  func(*Config)
		wantErr string
	}{
		{"defaults with a URL", func(*Config) {}, ""},
		{"no URL", func(c *Config) { c.URL = "" }, "a URL is required"},
		{"bad scheme", func(c *Config) { c.URL = "ftp://x/" }, "scheme must be http or https"},
		{"no host", func(c *Config) { c.URL = "http:///x" }, "no host"},
		{"bad method", func(c *Config) { c.Method = "GE T" }, "invalid method"},
		{"zero rate", func(c *Config) { c.Rate = 0 }, "-rate"},
		{"rate too high", func(c *Config) { c.Rate = MaxRate + 1 }, "-rate"},
		{"zero concurrency", func(c *Config) { c.Concurrency = 0 }, "-concurrency"},
		{"negative duration", func(c *Config) { c.Duration = -time.Second }, "-duration"},
		{"zero timeout", func(c *Config) { c.Timeout = 0 }, "-timeout"},
		{"negative budget", func(c *Config) { c.Budget = -1 }, "-budget"},
		{"drop budget below -1", func(c *Config) { c.DropBudget = -2 }, "-drop-budget"},
		{"negative merge gap", func(c *Config) { c.MergeGap = -1 }, "-merge-gap"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := DefaultConfig()
			cfg.URL = "https://auth.example.com/healthz"
			tc.mutate(&cfg)
			err := cfg.Validate()
			if tc.wantErr == "" {
				assert.NoError(t, err)
				return
			}
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.wantErr)
			_, runErr := Run(context.Background(), cfg)
			assert.Error(t, runErr, "Run must refuse what Validate refuses")
		})
	}
}

func TestSaturates(t *testing.T) {
	cfg := DefaultConfig() // 20/s × 2s = 40 in flight at worst, 64 slots
	assert.False(t, cfg.Saturates())
	cfg.Rate = 50
	assert.True(t, cfg.Saturates())
}

// server counts requests and answers with respond(n), n counting from 1.
func server(t *testing.T, respond func(n int64, w http.ResponseWriter, r *http.Request)) (*httptest.Server, *atomic.Int64) {
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		respond(n.Add(1), w, r)
	}))
	t.Cleanup(srv.Close)
	return srv, &n
}

func quickConfig(url string) Config {
	cfg := DefaultConfig()
	cfg.URL, cfg.Rate, cfg.Duration, cfg.Timeout = url, 100, 500*time.Millisecond, time.Second
	return cfg
}

func TestRunFixedRate(t *testing.T) {
	srv, hits := server(t, func(int64, http.ResponseWriter, *http.Request) {})
	cfg := quickConfig(srv.URL)
	cfg.Rate, cfg.Duration = 50, time.Second

	r, err := Run(context.Background(), cfg)
	require.NoError(t, err)
	// Slots at 0, 20ms, …, 980ms: exactly rate × duration, however the
	// timer jitters.
	assert.Equal(t, Counts{Scheduled: 50, Sent: 50, Succeeded: 50}, r.Requests)
	assert.EqualValues(t, 50, hits.Load())
	// Lower bound exact, upper bound loose: CI runs packages in parallel on
	// two cores, so a scheduler stall may stretch the run but never shorten it.
	assert.GreaterOrEqual(t, r.ElapsedSeconds, 0.95, "a run lasts its duration")
	assert.Less(t, r.ElapsedSeconds, 2.0, "a run ends after its duration")
	assert.False(t, r.Interrupted)
	assert.Equal(t, 1.0, r.SuccessRatio)
	assert.Equal(t, map[string]int{"200": 50}, r.StatusCodes)
	assert.Empty(t, r.Failures)
	assert.Empty(t, r.Downtime.Windows)
	assert.Equal(t, 50, r.Latency.OK.Count)
	assert.Positive(t, r.Latency.OK.Max)
	assert.True(t, r.Verdict.Pass)
}

func TestRunCountsEveryFailureAgainstTheBudget(t *testing.T) {
	srv, _ := server(t, func(n int64, w http.ResponseWriter, _ *http.Request) {
		if n%5 == 0 {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	})
	for _, tc := range []struct {
		budget   int
		wantPass bool
	}{{0, false}, {9, false}, {10, true}} {
		cfg := quickConfig(srv.URL) // 50 requests, every fifth one fails
		cfg.Budget = tc.budget
		r, err := Run(context.Background(), cfg)
		require.NoError(t, err)
		assert.Equal(t, Counts{Scheduled: 50, Sent: 50, Succeeded: 40, Failed: 10}, r.Requests)
		assert.Equal(t, map[Class]int{ClassHTTP5xx: 10}, r.ErrorsByClass)
		assert.Equal(t, map[string]int{"200": 40, "503": 10}, r.StatusCodes)
		assert.Len(t, r.Failures, 10)
		for _, f := range r.Failures {
			assert.Equal(t, 503, f.Status)
			assert.False(t, f.Time.Before(r.StartedAt))
		}
		// Failures ~50ms apart, default merge gap 1s: one degraded window.
		require.Len(t, r.Downtime.Windows, 1)
		assert.Equal(t, 10, r.Downtime.Windows[0].Failures)
		assert.Equal(t, tc.wantPass, r.Verdict.Pass, "budget %d", tc.budget)
	}
}

func TestRunDropsWhenConcurrencyIsExhausted(t *testing.T) {
	srv, _ := server(t, func(int64, http.ResponseWriter, *http.Request) { time.Sleep(200 * time.Millisecond) })
	cfg := quickConfig(srv.URL)
	cfg.Rate, cfg.Concurrency, cfg.Duration, cfg.DropBudget = 50, 2, time.Second, 0

	r, err := Run(context.Background(), cfg)
	require.NoError(t, err)
	// Two slots each free up every ~200ms: about 10 of 50 requests are sent
	// and the rest dropped, not queued behind the slow ones.
	assert.Equal(t, 50, r.Requests.Scheduled)
	assert.Equal(t, r.Requests.Scheduled, r.Requests.Sent+r.Requests.Dropped)
	assert.LessOrEqual(t, r.Requests.Sent, 20, "most requests are dropped, not queued")
	assert.GreaterOrEqual(t, r.Requests.Sent, 4)
	assert.Zero(t, r.Requests.Failed, "slow is not failed")
	assert.False(t, r.Verdict.Pass, "drops exceed -drop-budget 0")
	assert.Contains(t, r.Verdict.Reason, "dropped")
}

func TestRunTimeout(t *testing.T) {
	release := make(chan struct{})
	srv, _ := server(t, func(int64, http.ResponseWriter, *http.Request) { <-release })
	t.Cleanup(func() { close(release) }) // runs before srv.Close
	cfg := quickConfig(srv.URL)
	cfg.Rate, cfg.Duration, cfg.Timeout = 20, 200*time.Millisecond, 100*time.Millisecond

	r, err := Run(context.Background(), cfg)
	require.NoError(t, err)
	assert.Equal(t, Counts{Scheduled: 4, Sent: 4, Failed: 4}, r.Requests)
	assert.Equal(t, map[Class]int{ClassTimeout: 4}, r.ErrorsByClass)
	for _, f := range r.Failures {
		// Never before -timeout; the upper bound only proves the request was
		// abandoned, not waited on (the server never answers).
		assert.GreaterOrEqual(t, f.LatencyMS, 95.0, "a timeout fails at -timeout")
		assert.Less(t, f.LatencyMS, 1000.0, "a timeout fails at -timeout")
	}
}

func TestRunUntilCancelled(t *testing.T) {
	srv, _ := server(t, func(int64, http.ResponseWriter, *http.Request) {})
	cfg := quickConfig(srv.URL)
	cfg.Duration = 0
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()

	r, err := Run(ctx, cfg)
	require.NoError(t, err)
	assert.True(t, r.Interrupted)
	// 100/s for 300ms schedules at most 31 slots; a loaded machine may send fewer.
	assert.LessOrEqual(t, r.Requests.Sent, 31)
	assert.GreaterOrEqual(t, r.Requests.Sent, 10)
	assert.Zero(t, r.Requests.Failed)
	assert.True(t, r.Verdict.Pass)
}

func TestRunSendsTheConfiguredRequest(t *testing.T) {
	type seen struct{ method, host, header, body string }
	var (
		mu  sync.Mutex
		got []seen
	)
	srv, _ := server(t, func(_ int64, _ http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		defer mu.Unlock()
		got = append(got, seen{r.Method, r.Host, r.Header.Get("X-Probe"), string(body)})
	})
	cfg := quickConfig(srv.URL)
	cfg.Rate, cfg.Duration = 20, 100*time.Millisecond
	cfg.Method, cfg.Body = http.MethodPost, []byte(`{"ping":true}`)
	cfg.Header.Set("X-Probe", "rollout")
	cfg.Header.Set("Host", "auth.example.com")

	r, err := Run(context.Background(), cfg)
	require.NoError(t, err)
	require.Equal(t, 2, r.Requests.Succeeded)
	mu.Lock()
	defer mu.Unlock()
	for _, s := range got {
		assert.Equal(t, seen{"POST", "auth.example.com", "rollout", `{"ping":true}`}, s)
	}
}

func TestRunRedirects(t *testing.T) {
	srv, _ := server(t, func(_ int64, w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/ok" {
			http.Redirect(w, r, "/ok", http.StatusFound)
		}
	})
	for _, follow := range []bool{false, true} {
		cfg := quickConfig(srv.URL + "/old")
		cfg.Rate, cfg.Duration, cfg.FollowRedirects = 20, 100*time.Millisecond, follow
		r, err := Run(context.Background(), cfg)
		require.NoError(t, err)
		if follow {
			assert.Equal(t, 2, r.Requests.Succeeded)
		} else {
			assert.Equal(t, map[Class]int{ClassHTTP3xx: 2}, r.ErrorsByClass, "a health URL that starts redirecting has changed")
		}
	}
}

func TestRunLogsStateChanges(t *testing.T) {
	srv, _ := server(t, func(n int64, w http.ResponseWriter, _ *http.Request) {
		if n >= 3 && n <= 5 {
			w.WriteHeader(http.StatusBadGateway)
		}
	})
	var out syncBuffer
	cfg := quickConfig(srv.URL)
	cfg.Rate, cfg.Duration, cfg.Log, cfg.ProgressEvery = 20, 400*time.Millisecond, &out, 150*time.Millisecond

	r, err := Run(context.Background(), cfg)
	require.NoError(t, err)
	require.Equal(t, 3, r.Requests.Failed)
	log := out.String()
	assert.Contains(t, log, "DOWN: http_5xx (HTTP 502)")
	assert.Contains(t, log, "UP again after")
	assert.Contains(t, log, "3 failed requests")
	assert.Contains(t, log, "in flight")
}

type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
