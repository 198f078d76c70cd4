package client

import (
	"context"
	"encoding/json"
	"errors"
	"net"
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

// tok makes a token of the service's format.
func tok(s string) string { return (s + strings.Repeat("x", 43))[:43] }

// fakeService answers as the service does; mode switches it to 503, to
// cutting connections, or to hanging.
type fakeService struct {
	t        *testing.T
	srv      *httptest.Server
	mu       sync.Mutex
	sessions map[string]sessionBody
	mode     string // "", "503", "hang"
	cutNext  int    // cut the next requests' connections
	failNext int    // answer the next requests 503
	everyTwo bool   // answer every other request 503 (one target of two gone)
	calls    atomic.Int64
	remotes  []string
	release  chan struct{} // "hang" waits on it
}

func newFakeService(t *testing.T) *fakeService {
	f := &fakeService{t: t, sessions: map[string]sessionBody{}, release: make(chan struct{})}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(func() {
		f.mu.Lock()
		select {
		case <-f.release:
		default:
			close(f.release)
		}
		f.mu.Unlock()
		f.srv.Close()
	})
	return f
}

func (f *fakeService) add(token, user string, roles []string, expires time.Time) {
	var b sessionBody
	b.User.ID, b.User.Username, b.Roles, b.Permissions, b.ExpiresAt = int64(len(f.sessions)+1), user, roles, []string{}, expires
	f.mu.Lock()
	f.sessions[token] = b
	f.mu.Unlock()
}

func (f *fakeService) set(mode string) { f.mu.Lock(); f.mode = mode; f.mu.Unlock() }

func (f *fakeService) revoke(token string) { f.mu.Lock(); delete(f.sessions, token); f.mu.Unlock() }

func (f *fakeService) serve(w http.ResponseWriter, r *http.Request) {
	f.calls.Add(1)
	f.mu.Lock()
	mode := f.mode
	f.remotes = append(f.remotes, r.RemoteAddr)
	if f.cutNext > 0 {
		f.cutNext--
		mode = "cut"
	} else if f.failNext > 0 {
		f.failNext--
		mode = "503"
	} else if f.everyTwo && f.calls.Load()%2 == 0 {
		mode = "503"
	}
	f.mu.Unlock()
	switch mode {
	case "502": // a load balancer that reached no target
		w.WriteHeader(http.StatusBadGateway)
		return
	case "503":
		w.Header().Set("Retry-After", "2")
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = w.Write([]byte(`{"error":"unavailable","message":"retry shortly"}`))
		return
	case "cut":
		conn, _, err := w.(http.Hijacker).Hijack()
		if err == nil {
			conn.Close()
		}
		return
	case "hang":
		<-f.release
	}
	token := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
	switch r.URL.Path {
	case "/v1/session":
		f.mu.Lock()
		b, ok := f.sessions[token]
		f.mu.Unlock()
		if !ok {
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = w.Write([]byte(`{"error":"invalid_token","message":"log in again"}`))
			return
		}
		_ = json.NewEncoder(w).Encode(b)
	case "/v1/logout":
		f.revoke(token)
		w.WriteHeader(http.StatusNoContent)
	case "/v1/login":
		var req map[string]string
		_ = json.NewDecoder(r.Body).Decode(&req)
		switch req["password"] {
		case "right":
			_, _ = w.Write([]byte(`{"token":"` + tok("new") + `","tokenType":"Bearer","expiresAt":"2030-01-01T00:00:00Z"}`))
		case "locked":
			w.Header().Set("Retry-After", "900")
			w.WriteHeader(http.StatusTooManyRequests)
			_, _ = w.Write([]byte(`{"error":"too_many_attempts"}`))
		default:
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = w.Write([]byte(`{"error":"invalid_credentials"}`))
		}
	}
}

// clock is a manual clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }

func (c *clock) advance(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

// newTestClient makes a client of f on a manual clock, without backoff
// sleeps.
func newTestClient(t *testing.T, f *fakeService, cfg Config) (*Client, *clock) {
	t.Helper()
	cfg.BaseURL = f.srv.URL
	c, err := New(cfg)
	require.NoError(t, err)
	clk := &clock{t: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC).Add(-time.Hour)}
	c.now = clk.now
	c.sleep = func(ctx context.Context, _ time.Duration) error { return ctx.Err() }
	return c, clk
}

var far = time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)

func TestNewNamesEveryMistakeAtOnce(t *testing.T) {
	_, err := New(Config{BaseURL: "auth.example.com", Attempts: -1, CacheTTL: 2 * time.Minute, StaleIfError: time.Hour,
		BackoffBase: time.Second, BackoffMax: time.Millisecond})
	require.Error(t, err)
	for _, want := range []string{`BaseURL "auth.example.com"`, "Attempts -1", "CacheTTL 2m0s: at most 1m0s", "StaleIfError 1h0m0s: at most 5m0s", "BackoffBase 1s, BackoffMax 1ms"} {
		assert.Contains(t, err.Error(), want)
	}
	c, err := New(Config{BaseURL: "https://auth.example.com"})
	require.NoError(t, err)
	assert.Equal(t, Config{BaseURL: "https://auth.example.com", Timeout: DefaultTimeout, CallTimeout: DefaultCallTimeout, Attempts: DefaultAttempts,
		BackoffBase: DefaultBackoffBase, BackoffMax: DefaultBackoffMax, CacheTTL: DefaultCacheTTL, CacheSize: DefaultCacheSize,
		StaleIfError: DefaultStaleIfError, BreakerFailures: DefaultBreakerFailures, BreakerOpenFor: DefaultBreakerOpenFor,
		BreakerMaxOpen: DefaultBreakerMaxOpen}, c.cfg, "the documented defaults")
}

// A positive answer is reused for CacheTTL, never past the session's
// expiry; then the service is asked again.
func TestValidateReusesAPositiveAnswerForCacheTTL(t *testing.T) {
	f := newFakeService(t)
	c, clk := newTestClient(t, f, Config{})
	long, short := tok("long"), tok("short")
	f.add(long, "alice", []string{"reader"}, far)
	f.add(short, "bob", nil, clk.now().Add(time.Second))

	id, err := c.Validate(context.Background(), long)
	require.NoError(t, err)
	assert.Equal(t, "alice", id.Username)
	assert.True(t, id.HasRole("reader"))
	assert.False(t, id.HasRole("admin"))
	for range 3 {
		_, err = c.Validate(context.Background(), long)
		require.NoError(t, err)
	}
	assert.EqualValues(t, 1, f.calls.Load(), "answered from the cache")
	clk.advance(DefaultCacheTTL)
	_, err = c.Validate(context.Background(), long)
	require.NoError(t, err)
	assert.EqualValues(t, 2, f.calls.Load(), "asked again after CacheTTL")

	_, err = c.Validate(context.Background(), short)
	require.NoError(t, err)
	clk.advance(1500 * time.Millisecond)
	_, _ = c.Validate(context.Background(), short)
	assert.EqualValues(t, 4, f.calls.Load(), "a session expiring within CacheTTL is not reused past its expiry")

	s := c.Stats()
	assert.EqualValues(t, 3, s.CacheHits)
	assert.EqualValues(t, 4, s.CacheMisses)
}

// A revocation reaches this client after at most CacheTTL, or at once
// when it logs the token out itself; a 401 forgets the cached answer, so
// no outage afterwards brings the token back.
func TestARevocationReachesTheClientWithinCacheTTL(t *testing.T) {
	f := newFakeService(t)
	c, clk := newTestClient(t, f, Config{})
	a, b := tok("a"), tok("b")
	f.add(a, "alice", nil, far)
	f.add(b, "bob", nil, far)
	for _, token := range []string{a, b} {
		_, err := c.Validate(context.Background(), token)
		require.NoError(t, err)
	}

	f.revoke(a) // revoked elsewhere (another application, an admin)
	_, err := c.Validate(context.Background(), a)
	assert.NoError(t, err, "within CacheTTL the cached answer stands")
	clk.advance(DefaultCacheTTL)
	_, err = c.Validate(context.Background(), a)
	assert.ErrorIs(t, err, ErrInvalidToken, "after CacheTTL the service's 401 is final")
	f.set("503")
	_, err = c.Validate(context.Background(), a)
	assert.ErrorIs(t, err, ErrUnavailable, "a 401 forgot the cached answer: no stale answer in the outage")
	f.set("")

	require.NoError(t, c.Logout(context.Background(), b))
	_, err = c.Validate(context.Background(), b)
	assert.ErrorIs(t, err, ErrInvalidToken, "the client's own logout forgets at once")
}

// While the service cannot answer, a positive answer younger than
// CacheTTL + StaleIfError still stands (marked Stale), never past the
// session's expiry; a token never validated fails closed.
func TestAnOutageServesStaleAnswersWithinStaleIfErrorOnly(t *testing.T) {
	f := newFakeService(t)
	c, clk := newTestClient(t, f, Config{})
	known, soon, unknown := tok("known"), tok("soon"), tok("unknown")
	f.add(known, "alice", nil, far)
	f.add(soon, "bob", nil, clk.now().Add(10*time.Second))
	for _, token := range []string{known, soon} {
		_, err := c.Validate(context.Background(), token)
		require.NoError(t, err)
	}
	f.set("503")
	clk.advance(DefaultCacheTTL + time.Second)

	id, err := c.Validate(context.Background(), known)
	require.NoError(t, err)
	assert.True(t, id.Stale)
	assert.Equal(t, "alice", id.Username)
	_, err = c.Validate(context.Background(), unknown)
	var e *Error
	require.ErrorAs(t, err, &e)
	assert.ErrorIs(t, err, ErrUnavailable)
	assert.Equal(t, 503, e.Status)
	assert.Equal(t, 2*time.Second, e.RetryAfter, "the service's Retry-After is passed on")

	clk.advance(5 * time.Second) // 11 s after validation: past bob's expiry
	_, err = c.Validate(context.Background(), soon)
	assert.ErrorIs(t, err, ErrUnavailable, "never past the session's expiry")
	clk.advance(DefaultCacheTTL + DefaultStaleIfError - 11*time.Second) // CacheTTL + StaleIfError after validation
	_, err = c.Validate(context.Background(), known)
	assert.ErrorIs(t, err, ErrUnavailable, "never past StaleIfError")
	assert.EqualValues(t, 1, c.Stats().StaleServed)
}

// Idempotent calls are retried, the retries over new connections even
// when the pool holds a live one; a cut connection is retried too; a
// login only when it cannot have been judged.
func TestRetriesGoOverANewConnection(t *testing.T) {
	f := newFakeService(t)
	c, _ := newTestClient(t, f, Config{Attempts: 3})
	token := tok("retry")
	f.add(token, "alice", nil, far)

	// A pooled connection first; the 503 keeps it open and idle.
	_, err := c.Validate(context.Background(), tok("warm"))
	require.ErrorIs(t, err, ErrInvalidToken)
	f.mu.Lock()
	f.failNext = 1
	f.mu.Unlock()
	_, err = c.Validate(context.Background(), token)
	require.NoError(t, err, "a 503 is retried")
	f.mu.Lock()
	remotes := append([]string(nil), f.remotes...)
	f.mu.Unlock()
	require.Len(t, remotes, 3)
	assert.Equal(t, remotes[0], remotes[1], "the first attempt reused the pooled connection")
	assert.NotEqual(t, remotes[1], remotes[2], "the retry dialled a new one")

	c.Invalidate(token)
	f.mu.Lock()
	f.cutNext = 2 // the request on the pooled connection, and Go's own replay of it on a new one
	f.mu.Unlock()
	_, err = c.Validate(context.Background(), token)
	require.NoError(t, err, "a cut connection is retried")
	assert.EqualValues(t, 2, c.Stats().Retries)

	f.set("503")
	before := f.calls.Load()
	_, err = c.Login(context.Background(), "alice", "right")
	var e *Error
	require.ErrorAs(t, err, &e)
	assert.ErrorIs(t, err, ErrUnavailable)
	assert.Equal(t, 2*time.Second, e.RetryAfter)
	assert.EqualValues(t, 1, f.calls.Load()-before, "a login the service asked to wait (503 with Retry-After) is the caller's to retry")
	f.set("502")
	before = f.calls.Load()
	_, err = c.Login(context.Background(), "alice", "right")
	assert.ErrorIs(t, err, ErrUnavailable)
	assert.EqualValues(t, 3, f.calls.Load()-before, "a login a load balancer could not deliver (502) is retried")
	before = f.calls.Load()
	_, err = c.Validate(context.Background(), tok("other"))
	assert.ErrorIs(t, err, ErrUnavailable)
	assert.EqualValues(t, 3, f.calls.Load()-before, "a validation is tried Attempts times")
}

// A login whose connection could not even be made is tried again.
func TestALoginThatNeverLeftIsRetried(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close()) // nothing listens: every dial is refused
	c, err := New(Config{BaseURL: "http://" + addr, Attempts: 3, BackoffBase: time.Millisecond, BackoffMax: time.Millisecond})
	require.NoError(t, err)
	_, err = c.Login(context.Background(), "alice", "right")
	assert.ErrorIs(t, err, ErrUnavailable)
	assert.EqualValues(t, 3, c.Stats().Attempts)
}

// A login's answers; a new session is validated once, so the cache knows
// it from its start.
func TestLoginAnswers(t *testing.T) {
	f := newFakeService(t)
	c, _ := newTestClient(t, f, Config{})
	f.add(tok("new"), "alice", []string{"reader"}, far)
	tk, err := c.Login(context.Background(), "alice", "right")
	require.NoError(t, err)
	assert.Equal(t, tok("new"), tk.Token)
	assert.Equal(t, far, tk.ExpiresAt)
	assert.EqualValues(t, 2, f.calls.Load(), "the login and one validation")
	f.set("503")
	id, err := c.Validate(context.Background(), tk.Token)
	require.NoError(t, err)
	assert.Equal(t, "alice", id.Username)
	f.set("")
	_, err = c.Login(context.Background(), "alice", "wrong")
	assert.ErrorIs(t, err, ErrInvalidCredentials)
	_, err = c.Login(context.Background(), "alice", "locked")
	var e *Error
	require.ErrorAs(t, err, &e)
	assert.ErrorIs(t, err, ErrLockedOut)
	assert.Equal(t, 900*time.Second, e.RetryAfter)
}

// The breaker opens after BreakerFailures consecutive failed attempts,
// then fails calls without sending anything, lets one probe through after
// BreakerOpenFor, closes on its success, and stays open twice as long
// after a failed probe.
func TestTheBreakerFailsFastAndRecovers(t *testing.T) {
	f := newFakeService(t)
	c, clk := newTestClient(t, f, Config{Attempts: 1})
	token := tok("b")
	f.add(token, "alice", nil, far)
	f.set("503")
	for range DefaultBreakerFailures {
		_, err := c.Validate(context.Background(), token)
		require.ErrorIs(t, err, ErrUnavailable)
	}
	assert.Equal(t, "open", c.Stats().BreakerState)
	sent := f.calls.Load()
	_, err := c.Validate(context.Background(), token)
	assert.ErrorIs(t, err, ErrCircuitOpen)
	assert.ErrorIs(t, err, ErrUnavailable)
	assert.Equal(t, sent, f.calls.Load(), "an open breaker sends nothing")

	clk.advance(DefaultBreakerOpenFor)
	_, err = c.Validate(context.Background(), token)
	assert.ErrorIs(t, err, ErrUnavailable, "the probe failed")
	assert.Equal(t, sent+1, f.calls.Load(), "one probe")
	clk.advance(DefaultBreakerOpenFor)
	_, err = c.Validate(context.Background(), token)
	assert.ErrorIs(t, err, ErrCircuitOpen, "open twice as long after a failed probe")

	f.set("")
	clk.advance(DefaultBreakerOpenFor)
	_, err = c.Validate(context.Background(), token)
	require.NoError(t, err, "a probe that succeeds closes it")
	assert.Equal(t, "closed", c.Stats().BreakerState)
	assert.EqualValues(t, 2, c.Stats().BreakerOpens)
}

// A partial outage, half of the attempts failing as with one target of
// two gone, leaves the breaker closed: it counts calls, and the retries
// carry each call.
func TestAPartialOutageLeavesTheBreakerClosed(t *testing.T) {
	f := newFakeService(t)
	c, _ := newTestClient(t, f, Config{CacheTTL: -1, BreakerFailures: 1})
	token := tok("half")
	f.add(token, "alice", nil, far)
	f.mu.Lock()
	f.everyTwo = true
	f.mu.Unlock()
	for range 40 {
		_, err := c.Validate(context.Background(), token)
		require.NoError(t, err)
	}
	s := c.Stats()
	assert.Equal(t, "closed", s.BreakerState)
	assert.Zero(t, s.BreakerOpens)
	assert.GreaterOrEqual(t, s.FailedAttempts, int64(39), "every other attempt failed")
}

// Only "could not answer" counts against the breaker: a flood of bad
// tokens, each a 401, leaves it closed for everyone else.
func TestRefusedTokensNeverOpenTheBreaker(t *testing.T) {
	f := newFakeService(t)
	c, _ := newTestClient(t, f, Config{})
	for i := range 50 {
		_, err := c.Validate(context.Background(), tok("bad"+string(rune('a'+i%26))+string(rune('a'+i/26))))
		require.ErrorIs(t, err, ErrInvalidToken)
	}
	assert.Equal(t, "closed", c.Stats().BreakerState)
	assert.Zero(t, c.Stats().BreakerOpens)
}

// Validations of one token while a call for it is in flight wait for that
// call instead of calling too.
func TestConcurrentValidationsOfOneTokenShareOneCall(t *testing.T) {
	f := newFakeService(t)
	c, _ := newTestClient(t, f, Config{})
	token := tok("shared")
	f.add(token, "alice", nil, far)
	f.set("hang")
	var wg sync.WaitGroup
	for range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			id, err := c.Validate(context.Background(), token)
			assert.NoError(t, err)
			assert.Equal(t, "alice", id.Username)
		}()
	}
	require.Eventually(t, func() bool { return c.Stats().Coalesced == 9 }, 10*time.Second, time.Millisecond)
	f.set("")
	close(f.release)
	wg.Wait()
	assert.EqualValues(t, 1, f.calls.Load())
}

// A token that is not the service's format is refused without a call.
func TestMalformedTokensCostNoCall(t *testing.T) {
	f := newFakeService(t)
	c, _ := newTestClient(t, f, Config{})
	for _, bad := range []string{"", "short", tok("a")[:42] + "=", tok("a") + "b", tok("a")[:40] + "../"} {
		_, err := c.Validate(context.Background(), bad)
		assert.ErrorIs(t, err, ErrInvalidToken, bad)
	}
	assert.Zero(t, f.calls.Load())
}

func TestTheCacheIsBoundedLeastRecentlyUsedFirstOut(t *testing.T) {
	f := newFakeService(t)
	c, _ := newTestClient(t, f, Config{CacheSize: 2})
	a, b, d := tok("a"), tok("b"), tok("d")
	for _, token := range []string{a, b, d} {
		f.add(token, token[:1], nil, far)
	}
	for _, token := range []string{a, b, a, d} { // b is the least recently used when d comes
		_, err := c.Validate(context.Background(), token)
		require.NoError(t, err)
	}
	assert.Equal(t, 2, c.Stats().CacheEntries)
	calls := f.calls.Load()
	_, _ = c.Validate(context.Background(), a)
	_, _ = c.Validate(context.Background(), d)
	assert.Equal(t, calls, f.calls.Load(), "a and d cached")
	_, _ = c.Validate(context.Background(), b)
	assert.Equal(t, calls+1, f.calls.Load(), "b was evicted")
}

func TestBackoffIsFullJitterUnderItsCeiling(t *testing.T) {
	c, err := New(Config{BaseURL: "http://127.0.0.1:1", BackoffBase: 10 * time.Millisecond, BackoffMax: 50 * time.Millisecond})
	require.NoError(t, err)
	for n, ceiling := range map[int]time.Duration{1: 20 * time.Millisecond, 2: 40 * time.Millisecond, 3: 50 * time.Millisecond, 30: 50 * time.Millisecond} {
		seen := map[time.Duration]bool{}
		for range 200 {
			d := c.backoff(n)
			assert.GreaterOrEqual(t, d, time.Duration(0))
			assert.Less(t, d, ceiling, "retry %d", n)
			seen[d] = true
		}
		assert.Greater(t, len(seen), 100, "retry %d: spread, not a fixed wait", n)
	}
}

func TestErrorsNameWhatFailed(t *testing.T) {
	err := error(&Error{Op: "validate", Kind: ErrUnavailable, Status: 503, Code: "unavailable", RetryAfter: time.Second, Err: errors.New("x")})
	assert.Equal(t, "validate: auth: service unavailable (HTTP 503 unavailable), retry after 1s: x", err.Error())
	assert.ErrorIs(t, err, ErrUnavailable)
	assert.NotErrorIs(t, err, ErrInvalidToken)
}
