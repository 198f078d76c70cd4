package e2e

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/authplatform/auth-platform/cmd/auth-service/client"
)

func newClient(t testing.TB, base string, cfg client.Config) *client.Client {
	t.Helper()
	cfg.BaseURL = base
	c, err := client.New(cfg)
	require.NoError(t, err)
	return c
}

// The client's calls against the real service: a login, the session's
// identity with its roles and permissions, a logout that ends it, and the
// service's refusals as the client's errors.
func TestTheClientLogsInValidatesAndLogsOut(t *testing.T) {
	ensureRoles(t)
	svc := startService(t, 0)
	name, pw := newUser(t, "alice", "reader")
	c := newClient(t, svc.URL, client.Config{})
	ctx := context.Background()

	tk, err := c.Login(ctx, name, pw)
	require.NoError(t, err)
	assert.WithinDuration(t, time.Now().Add(time.Hour), tk.ExpiresAt, time.Minute)
	id, err := c.Validate(ctx, tk.Token)
	require.NoError(t, err)
	assert.Equal(t, name, id.Username)
	assert.Positive(t, id.UserID)
	assert.Equal(t, []string{"reader"}, id.Roles)
	assert.Equal(t, []string{"orders:read"}, id.Permissions)
	assert.True(t, id.HasPermission("orders:read"))
	assert.False(t, id.Stale)

	require.NoError(t, c.Logout(ctx, tk.Token))
	_, err = c.Validate(ctx, tk.Token)
	assert.ErrorIs(t, err, client.ErrInvalidToken, "logged out: the service refuses it and the client asked")
	require.NoError(t, c.Logout(ctx, tk.Token), "a logout is idempotent")

	_, err = c.Login(ctx, name, "wrong-password")
	assert.ErrorIs(t, err, client.ErrInvalidCredentials)
	_, err = c.Validate(ctx, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")
	assert.ErrorIs(t, err, client.ErrInvalidToken, "never issued")
}

// A logout by one application reaches another's client once its cached
// answer is CacheTTL old: the staleness the README states.
func TestARevocationReachesAnotherApplicationWithinCacheTTL(t *testing.T) {
	svc := startService(t, 0)
	name, pw := newUser(t, "bob")
	const ttl = time.Second
	appA := newClient(t, svc.URL, client.Config{CacheTTL: ttl})
	appB := newClient(t, svc.URL, client.Config{CacheTTL: ttl})
	ctx := context.Background()
	tk, err := appA.Login(ctx, name, pw)
	require.NoError(t, err)
	id, err := appB.Validate(ctx, tk.Token)
	require.NoError(t, err)

	require.NoError(t, appA.Logout(ctx, tk.Token))
	_, err = appA.Validate(ctx, tk.Token)
	assert.ErrorIs(t, err, client.ErrInvalidToken, "the application that logged out forgets at once")
	if _, err := appB.Validate(ctx, tk.Token); time.Since(id.ValidatedAt) < ttl {
		assert.NoError(t, err, "the other one's cached answer stands within CacheTTL")
	}
	time.Sleep(time.Until(id.ValidatedAt.Add(ttl)))
	_, err = appB.Validate(ctx, tk.Token)
	assert.ErrorIs(t, err, client.ErrInvalidToken, "and not a moment after")
}

// roundRobin stands in for the ALB: it spreads requests over its targets
// and does not retry (an ALB does not), answering 502 when a target does
// not answer; a target is taken out only when Remove is called (the
// health checks' detection window).
type roundRobin struct {
	mu      sync.Mutex
	targets []*httputil.ReverseProxy
	urls    []string
	next    int
}

func newRoundRobin(urls ...string) *roundRobin {
	lb := &roundRobin{}
	for _, u := range urls {
		target, _ := url.Parse(u)
		p := httputil.NewSingleHostReverseProxy(target)
		p.ErrorHandler = func(w http.ResponseWriter, r *http.Request, err error) { w.WriteHeader(http.StatusBadGateway) }
		lb.targets = append(lb.targets, p)
		lb.urls = append(lb.urls, u)
	}
	return lb
}

func (lb *roundRobin) Remove(u string) {
	lb.mu.Lock()
	defer lb.mu.Unlock()
	for i, v := range lb.urls {
		if v == u {
			lb.urls = append(lb.urls[:i], lb.urls[i+1:]...)
			lb.targets = append(lb.targets[:i], lb.targets[i+1:]...)
			return
		}
	}
}

func (lb *roundRobin) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	lb.mu.Lock()
	p := lb.targets[lb.next%len(lb.targets)]
	lb.next++
	lb.mu.Unlock()
	p.ServeHTTP(w, r)
}

// An instance killed behind the load balancer (a lost zone, one target of
// three): until the health checks take it out, the load balancer keeps
// sending it requests, and plain calls to the service fail. The client's
// validations do not: its retries go out again over a new connection, and
// a call whose every attempt failed is answered from the cache within
// StaleIfError. The cache's TTL is short here, so most validations in the
// window are calls.
func TestAnInstanceKilledBehindTheLoadBalancerFailsNoValidation(t *testing.T) {
	a, b, d := startService(t, 0), startService(t, 0), startService(t, 0)
	lb := newRoundRobin(a.URL, b.URL, d.URL)
	front := httptest.NewServer(lb)
	defer front.Close()
	c := newClient(t, front.URL, client.Config{CacheTTL: 100 * time.Millisecond, BackoffBase: 10 * time.Millisecond, BackoffMax: 100 * time.Millisecond})
	var tokens []string
	for range 8 {
		name, pw := newUser(t, "lb")
		tk, err := c.Login(context.Background(), name, pw)
		require.NoError(t, err)
		tokens = append(tokens, tk.Token)
	}
	raw := &http.Client{Timeout: 10 * time.Second}

	var clientCalls, clientFailed, rawCalls, rawFailed atomic.Int64
	var failures sync.Map
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(2)
		go func() { // an application's validations, through the client
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				clientCalls.Add(1)
				if _, err := c.Validate(context.Background(), tokens[(w+i)%len(tokens)]); err != nil {
					clientFailed.Add(1)
					failures.Store(err.Error(), true)
				}
				time.Sleep(time.Millisecond) // an application's pace, not a spin
			}
		}()
		go func() { // the same, as plain calls
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				rawCalls.Add(1)
				req, _ := http.NewRequest(http.MethodGet, front.URL+"/v1/session", nil)
				req.Header.Set("Authorization", "Bearer "+tokens[(w+i)%len(tokens)])
				res, err := raw.Do(req)
				if err != nil {
					rawFailed.Add(1)
					continue
				}
				_, _ = io.Copy(io.Discard, res.Body)
				res.Body.Close()
				if res.StatusCode != http.StatusOK {
					rawFailed.Add(1)
				}
			}
		}()
	}
	time.Sleep(500 * time.Millisecond)
	a.kill()
	before := rawCalls.Load()
	time.Sleep(1500 * time.Millisecond) // the detection window
	inWindow := rawCalls.Load() - before
	lb.Remove(a.URL)
	time.Sleep(500 * time.Millisecond)
	close(stop)
	wg.Wait()

	s := c.Stats()
	t.Logf("client: %d validations, %d failed; plain calls: %d, %d failed (%d sent in the window); client stats %+v",
		clientCalls.Load(), clientFailed.Load(), rawCalls.Load(), rawFailed.Load(), inWindow, s)
	failures.Range(func(k, _ any) bool { t.Log("client failure:", k); return true })
	require.Positive(t, inWindow, "plain calls ran in the window")
	assert.Positive(t, rawFailed.Load(), "plain calls fail in the window: the fault is real")
	assert.Zero(t, clientFailed.Load(), "the client's do not")
	assert.Positive(t, s.Retries, "carried by retries")
	assert.Equal(t, "closed", s.BreakerState, "a partial outage does not open the breaker")
}

// With the service down, the breaker opens after BreakerFailures failed
// attempts and fails calls at once without sending them; once the service
// is back, the first probe after BreakerOpenFor closes it.
func TestTheBreakerFailsFastWhileTheServiceIsDownAndRecovers(t *testing.T) {
	svc := startService(t, 0)
	name, pw := newUser(t, "carol")
	c := newClient(t, svc.URL, client.Config{CacheTTL: -1, Attempts: 1, BreakerFailures: 3, BreakerOpenFor: 500 * time.Millisecond})
	ctx := context.Background()
	tk, err := c.Login(ctx, name, pw)
	require.NoError(t, err)
	_, err = c.Validate(ctx, tk.Token)
	require.NoError(t, err)

	svc.kill()
	for range 3 {
		_, err = c.Validate(ctx, tk.Token)
		require.ErrorIs(t, err, client.ErrUnavailable)
		require.NotErrorIs(t, err, client.ErrCircuitOpen)
	}
	attempts := c.Stats().Attempts
	_, err = c.Validate(ctx, tk.Token)
	assert.ErrorIs(t, err, client.ErrCircuitOpen, "open: refused without a call")
	assert.Equal(t, attempts, c.Stats().Attempts)
	assert.Equal(t, "open", c.Stats().BreakerState)

	startService(t, svc.Port) // the service is back, same address
	waitFor(t, "the breaker closed by a probe", 30*time.Second, func() error {
		_, err := c.Validate(ctx, tk.Token)
		return err
	})
	assert.Equal(t, "closed", c.Stats().BreakerState)
	assert.GreaterOrEqual(t, c.Stats().BreakerOpens, int64(1))
}

// In an outage an application keeps serving the sessions it validated
// within CacheTTL + StaleIfError, and refuses (503, never lets through)
// the ones it has not: fail closed.
func TestAnOutageKeepsKnownSessionsAndFailsClosedForOthers(t *testing.T) {
	ensureRoles(t)
	svc := startService(t, 0)
	c := newClient(t, svc.URL, client.Config{CacheTTL: 500 * time.Millisecond, StaleIfError: time.Minute, Attempts: 2})
	app := httptest.NewServer(c.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, _ := client.IdentityFrom(r.Context())
		fmt.Fprintf(w, "%s stale=%t", id.Username, id.Stale)
	})))
	defer app.Close()
	ctx := context.Background()
	known, pw := newUser(t, "known", "reader")
	tkKnown, err := c.Login(ctx, known, pw)
	require.NoError(t, err)
	// Another application's login: this client never validated it (its
	// own logins are validated once, so that it knows them from the start).
	other, pw := newUser(t, "other", "reader")
	tkOther, err := newClient(t, svc.URL, client.Config{}).Login(ctx, other, pw)
	require.NoError(t, err)
	get := func(token string) (int, string, string) {
		req, _ := http.NewRequest(http.MethodGet, app.URL, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		res, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b), res.Header.Get("Retry-After")
	}
	code, body, _ := get(tkKnown.Token)
	require.Equal(t, http.StatusOK, code)
	assert.Equal(t, known+" stale=false", body)

	svc.kill()
	time.Sleep(600 * time.Millisecond) // past CacheTTL
	code, body, _ = get(tkKnown.Token)
	assert.Equal(t, http.StatusOK, code)
	assert.Equal(t, known+" stale=true", body)
	code, body, retry := get(tkOther.Token)
	assert.Equal(t, http.StatusServiceUnavailable, code, body)
	assert.Contains(t, body, `"unavailable"`)
	assert.Equal(t, "1", retry)
	assert.NotContains(t, body, other, "the handler never ran")
	var e *client.Error
	_, err = c.Validate(ctx, tkOther.Token)
	require.True(t, errors.As(err, &e))
	assert.ErrorIs(t, err, client.ErrUnavailable)
}

// The middleware in front of a handler, on the real service: the identity
// in the context, a role check, and the refusals.
func TestTheMiddlewareInFrontOfAnApplication(t *testing.T) {
	ensureRoles(t)
	svc := startService(t, 0)
	c := newClient(t, svc.URL, client.Config{})
	whoami := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, ok := client.IdentityFrom(r.Context())
		require.True(t, ok)
		fmt.Fprint(w, id.Username)
	})
	mux := http.NewServeMux()
	mux.Handle("/orders", c.Middleware(whoami))
	mux.Handle("/admin", c.Middleware(client.RequireRole("admin")(whoami)))
	app := httptest.NewServer(mux)
	defer app.Close()
	ctx := context.Background()
	reader, pw := newUser(t, "reader", "reader")
	tkReader, err := c.Login(ctx, reader, pw)
	require.NoError(t, err)
	admin, pw := newUser(t, "admin", "admin")
	tkAdmin, err := c.Login(ctx, admin, pw)
	require.NoError(t, err)
	// Logged in and out by another application: this client learns of it
	// from the service (its own cache never held it).
	revoked, pw := newUser(t, "revoked", "admin")
	other := newClient(t, svc.URL, client.Config{})
	tkRevoked, err := other.Login(ctx, revoked, pw)
	require.NoError(t, err)
	require.NoError(t, other.Logout(ctx, tkRevoked.Token))

	for _, tc := range []struct {
		path, token string
		status      int
		body        string
	}{
		{"/orders", tkReader.Token, 200, reader},
		{"/orders", tkAdmin.Token, 200, admin},
		{"/admin", tkAdmin.Token, 200, admin},
		{"/admin", tkReader.Token, 403, `"forbidden"`},
		{"/orders", tkRevoked.Token, 401, `"invalid_token"`},
		{"/orders", "", 401, `"missing_token"`},
	} {
		req, _ := http.NewRequest(http.MethodGet, app.URL+tc.path, nil)
		if tc.token != "" {
			req.Header.Set("Authorization", "Bearer "+tc.token)
		}
		res, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		assert.Equal(t, tc.status, res.StatusCode, "%s %s", tc.path, b)
		assert.Contains(t, string(b), tc.body, tc.path)
	}
}
