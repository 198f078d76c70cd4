// Package client is the Go client applications use to call the auth
// service (cmd/auth-service): token validation with a short, bounded
// cache of positive answers, retries with jitter over a fresh connection
// for idempotent calls, a circuit breaker per call, timeouts, and net/http
// middleware that puts the caller's identity in the request context.
//
//	auth, err := client.New(client.Config{BaseURL: "https://auth.example.com"})
//	mux.Handle("/orders", auth.Middleware(orders))
//	// in the handler:
//	id, _ := client.IdentityFrom(r.Context())
//
// It fails closed: a request is let through only on the service's word,
// given at most CacheTTL ago (StaleIfError ago while the service cannot
// answer). README.md states what a 401 and a 503 do to the cache and the
// breaker, and the staleness each setting allows.
//
// The module needs nothing outside the standard library.
package client

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Defaults of Config's zero values, and the bounds New holds them to.
const (
	DefaultTimeout          = 3 * time.Second
	DefaultCallTimeout      = 10 * time.Second
	DefaultAttempts         = 8
	DefaultBackoffBase      = 50 * time.Millisecond
	DefaultBackoffMax       = time.Second
	DefaultCacheTTL         = 5 * time.Second
	DefaultCacheSize        = 10000
	DefaultStaleIfError     = 30 * time.Second
	DefaultBreakerFailures  = 5
	DefaultBreakerOpenFor   = 2 * time.Second
	DefaultBreakerMaxOpen   = 30 * time.Second
	MaxCacheTTL             = time.Minute
	MaxStaleIfError         = 5 * time.Minute
	maxResponseBytes        = 64 << 10
	defaultIdleConnsPerHost = 64
)

// Config configures a Client. Zero values take the defaults above.
type Config struct {
	// BaseURL is where the service answers, e.g. "https://auth.example.com"
	// (the stack's ALB). Required.
	BaseURL string
	// Transport carries the calls (TLS roots, proxies, pool sizes). Default:
	// a clone of http.DefaultTransport keeping 64 idle connections to the
	// service. Retries use a clone of it without keep-alive, so every
	// retry dials a new connection.
	Transport *http.Transport
	// Timeout bounds one attempt (default 3 s), CallTimeout a call with
	// its attempts and waits (default 10 s); the caller's context bounds
	// both.
	Timeout, CallTimeout time.Duration
	// Attempts is how many times a call may be tried (default 8).
	// Validation and logout are idempotent and retried on any failure: a
	// load balancer spreads the attempts over its targets, so with one
	// zone's targets of three failing, all 8 fail for 1 call in 6,561 (and
	// the cache answers most calls). A login counts towards its account's
	// lockout, so it is retried only when it cannot have been judged: the
	// dial failed, or a 502 or 503 without Retry-After came back (a load
	// balancer that reached no target; the service's own 503 judges
	// nothing). A 503 with Retry-After (a shed login) is the caller's.
	Attempts int
	// BackoffBase and BackoffMax shape the wait before a retry: uniform in
	// [0, min(BackoffMax, BackoffBase × 2^retry)) ("full jitter").
	BackoffBase, BackoffMax time.Duration
	// CacheTTL is how long a positive validation is reused without asking
	// the service (default 5 s, at most MaxCacheTTL; negative: no cache).
	// It is the staleness a revocation elsewhere can meet here.
	CacheTTL time.Duration
	// CacheSize bounds the cache's entries (default 10,000; least recently
	// used first out).
	CacheSize int
	// StaleIfError is how long past CacheTTL a positive validation is still
	// accepted while the service cannot answer (503, timeouts, an open
	// breaker; default 30 s, at most MaxStaleIfError; negative: never).
	// Never past the session's own expiry.
	StaleIfError time.Duration
	// BreakerFailures consecutive calls that got no answer (all their
	// attempts failed) open that kind of call's breaker (default 5); it
	// stays open BreakerOpenFor (default 2 s, doubling up to
	// BreakerMaxOpen, 30 s, while probes fail), then lets one call through
	// as a probe.
	BreakerFailures                int
	BreakerOpenFor, BreakerMaxOpen time.Duration
}

// Client calls the service. It is safe for concurrent use.
type Client struct {
	cfg    Config
	base   *url.URL
	pooled *http.Client // first attempts: keep-alive
	fresh  *http.Client // retries: a new connection each
	cache  *cache
	now    func() time.Time
	sleep  func(context.Context, time.Duration) error

	validateB, loginB, logoutB *breaker

	flightMu sync.Mutex
	flights  map[[32]byte]*flight

	stats counters
}

// New checks cfg, fills its defaults and returns a Client.
func New(cfg Config) (*Client, error) {
	var errs []error
	base, err := url.Parse(cfg.BaseURL)
	if err != nil || (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" {
		errs = append(errs, fmt.Errorf("BaseURL %q: want an absolute http(s) URL such as https://auth.example.com", cfg.BaseURL))
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	def(&cfg.Timeout, DefaultTimeout)
	def(&cfg.CallTimeout, DefaultCallTimeout)
	def(&cfg.BackoffBase, DefaultBackoffBase)
	def(&cfg.BackoffMax, DefaultBackoffMax)
	def(&cfg.CacheTTL, DefaultCacheTTL)
	def(&cfg.StaleIfError, DefaultStaleIfError)
	def(&cfg.BreakerOpenFor, DefaultBreakerOpenFor)
	def(&cfg.BreakerMaxOpen, DefaultBreakerMaxOpen)
	if cfg.Attempts == 0 {
		cfg.Attempts = DefaultAttempts
	}
	if cfg.CacheSize == 0 {
		cfg.CacheSize = DefaultCacheSize
	}
	if cfg.BreakerFailures == 0 {
		cfg.BreakerFailures = DefaultBreakerFailures
	}
	for _, c := range []struct {
		bad  bool
		what string
	}{
		{cfg.Timeout < 0, fmt.Sprintf("Timeout %s: want a positive duration", cfg.Timeout)},
		{cfg.CallTimeout < cfg.Timeout, fmt.Sprintf("CallTimeout %s: want at least Timeout (%s)", cfg.CallTimeout, cfg.Timeout)},
		{cfg.Attempts < 1, fmt.Sprintf("Attempts %d: want 1 or more", cfg.Attempts)},
		{cfg.BackoffBase < 0 || cfg.BackoffMax < cfg.BackoffBase, fmt.Sprintf("BackoffBase %s, BackoffMax %s: want 0 <= base <= max", cfg.BackoffBase, cfg.BackoffMax)},
		{cfg.CacheTTL > MaxCacheTTL, fmt.Sprintf("CacheTTL %s: at most %s, the staleness a revocation may meet", cfg.CacheTTL, MaxCacheTTL)},
		{cfg.StaleIfError > MaxStaleIfError, fmt.Sprintf("StaleIfError %s: at most %s", cfg.StaleIfError, MaxStaleIfError)},
		{cfg.CacheSize < 1, fmt.Sprintf("CacheSize %d: want 1 or more", cfg.CacheSize)},
		{cfg.BreakerFailures < 1, fmt.Sprintf("BreakerFailures %d: want 1 or more", cfg.BreakerFailures)},
		{cfg.BreakerOpenFor < 0 || cfg.BreakerMaxOpen < cfg.BreakerOpenFor, fmt.Sprintf("BreakerOpenFor %s, BreakerMaxOpen %s: want 0 <= open <= max", cfg.BreakerOpenFor, cfg.BreakerMaxOpen)},
	} {
		if c.bad {
			errs = append(errs, errors.New(c.what))
		}
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("client: configuration: %w", errors.Join(errs...))
	}
	tr := cfg.Transport
	if tr == nil {
		tr = http.DefaultTransport.(*http.Transport).Clone()
		tr.MaxIdleConnsPerHost = defaultIdleConnsPerHost
	}
	freshTr := tr.Clone()
	freshTr.DisableKeepAlives = true
	c := &Client{
		cfg:     cfg,
		base:    base,
		pooled:  &http.Client{Transport: tr, CheckRedirect: noRedirects},
		fresh:   &http.Client{Transport: freshTr, CheckRedirect: noRedirects},
		cache:   newCache(cfg.CacheSize),
		now:     time.Now,
		sleep:   sleepCtx,
		flights: map[[32]byte]*flight{},
	}
	c.validateB = newBreaker(cfg, &c.now)
	c.loginB = newBreaker(cfg, &c.now)
	c.logoutB = newBreaker(cfg, &c.now)
	return c, nil
}

// The service never redirects; a redirect would come from something in
// between and could carry the token elsewhere.
func noRedirects(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

func sleepCtx(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// Identity is a validated session's.
type Identity struct {
	UserID      int64
	Username    string
	Roles       []string
	Permissions []string
	// ExpiresAt is the session's absolute expiry.
	ExpiresAt time.Time
	// ValidatedAt is when the service last confirmed the session.
	ValidatedAt time.Time
	// Stale is true when the service could not answer and the identity
	// comes from the cache past CacheTTL (within StaleIfError).
	Stale bool
}

// HasRole tells whether the session holds role.
func (id Identity) HasRole(role string) bool { return contains(id.Roles, role) }

// HasPermission tells whether the session holds permission.
func (id Identity) HasPermission(permission string) bool { return contains(id.Permissions, permission) }

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// validToken is the service's token format (cmd/auth-service/README.md,
// "Tokens"; openapi.yaml's Token): 43 base64url characters. Anything else
// is refused here without a call.
func validToken(t string) bool {
	if len(t) != 43 {
		return false
	}
	for i := 0; i < len(t); i++ {
		c := t[i]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// sessionBody is GET /v1/session's answer; fields the service adds later
// are ignored.
type sessionBody struct {
	User struct {
		ID       int64  `json:"id"`
		Username string `json:"username"`
	} `json:"user"`
	Roles       []string  `json:"roles"`
	Permissions []string  `json:"permissions"`
	ExpiresAt   time.Time `json:"expiresAt"`
}

// flight is one validation in progress; callers of the same token wait
// for it instead of calling too.
type flight struct {
	done chan struct{}
	id   Identity
	err  error
}

// Validate returns the identity of token's session. Errors: ErrInvalidToken
// (the service refused the token: missing, malformed, expired, revoked, or
// never issued) and ErrUnavailable (the service could not answer and no
// cached answer is young enough), both as *Error.
func (c *Client) Validate(ctx context.Context, token string) (Identity, error) {
	if token == "" {
		return Identity{}, &Error{Op: "validate", Kind: ErrInvalidToken, Code: "missing_token"}
	}
	if !validToken(token) {
		return Identity{}, &Error{Op: "validate", Kind: ErrInvalidToken, Code: "invalid_token"}
	}
	key := sha256.Sum256([]byte(token))
	now := c.now()
	if e, ok := c.cache.get(key, now); ok && now.Before(e.freshUntil) {
		c.stats.cacheHits.Add(1)
		return e.id, nil
	}
	c.stats.cacheMisses.Add(1)

	c.flightMu.Lock()
	if f, ok := c.flights[key]; ok {
		c.flightMu.Unlock()
		c.stats.coalesced.Add(1)
		select {
		case <-f.done:
			return f.id, f.err
		case <-ctx.Done():
			return Identity{}, &Error{Op: "validate", Kind: ErrUnavailable, Err: ctx.Err()}
		}
	}
	f := &flight{done: make(chan struct{})}
	c.flights[key] = f
	c.flightMu.Unlock()

	f.id, f.err = c.validate(ctx, key, token)
	c.flightMu.Lock()
	delete(c.flights, key)
	c.flightMu.Unlock()
	close(f.done)
	return f.id, f.err
}

func (c *Client) validate(ctx context.Context, key [32]byte, token string) (Identity, error) {
	res, err := c.call(ctx, "validate", c.validateB, http.MethodGet, "/v1/session", token, nil, retryAny)
	switch {
	case err == nil && res.status == http.StatusOK:
		var b sessionBody
		if err := json.Unmarshal(res.body, &b); err != nil {
			return Identity{}, &Error{Op: "validate", Kind: ErrUnavailable, Status: res.status, Err: fmt.Errorf("decoding the session: %w", err)}
		}
		now := c.now()
		id := Identity{UserID: b.User.ID, Username: b.User.Username, Roles: b.Roles, Permissions: b.Permissions,
			ExpiresAt: b.ExpiresAt, ValidatedAt: now}
		if c.cfg.CacheTTL > 0 {
			fresh := minTime(now.Add(c.cfg.CacheTTL), b.ExpiresAt)
			stale := fresh
			if c.cfg.StaleIfError > 0 {
				stale = minTime(fresh.Add(c.cfg.StaleIfError), b.ExpiresAt)
			}
			c.cache.put(key, cacheEntry{id: id, freshUntil: fresh, staleUntil: stale})
		}
		return id, nil
	case err == nil && res.status == http.StatusUnauthorized:
		// The service's word: the session is gone. Forget it at once.
		c.cache.del(key)
		return Identity{}, &Error{Op: "validate", Kind: ErrInvalidToken, Status: res.status, Code: res.code()}
	case err == nil:
		return Identity{}, &Error{Op: "validate", Kind: ErrUnexpected, Status: res.status, Code: res.code()}
	}
	// The service could not answer: a young enough positive answer stands.
	now := c.now()
	if e, ok := c.cache.get(key, now); ok && now.Before(e.staleUntil) {
		c.stats.staleServed.Add(1)
		id := e.id
		id.Stale = true
		return id, nil
	}
	return Identity{}, err
}

func minTime(a, b time.Time) time.Time {
	if !b.IsZero() && b.Before(a) {
		return b
	}
	return a
}

// Invalidate forgets token's cached validation, so the next Validate asks
// the service (e.g. after the application learned of a revocation).
func (c *Client) Invalidate(token string) { c.cache.del(sha256.Sum256([]byte(token))) }

// Token is a login's answer.
type Token struct {
	Token     string
	ExpiresAt time.Time
}

// Login logs username in, then validates the new token once (when the
// cache is on) so that the cache knows the session from its start. It is
// retried only when it cannot have been judged (see Config.Attempts).
// Errors, as
// *Error: ErrInvalidCredentials, ErrLockedOut (RetryAfter set),
// ErrUnavailable (RetryAfter set when the service said; the login was not
// judged and counted nothing), ErrUnexpected.
func (c *Client) Login(ctx context.Context, username, password string) (Token, error) {
	body, _ := json.Marshal(map[string]string{"username": username, "password": password})
	res, err := c.call(ctx, "login", c.loginB, http.MethodPost, "/v1/login", "", body, retryUnjudged)
	if err != nil {
		return Token{}, err
	}
	switch res.status {
	case http.StatusOK:
		var t struct {
			Token     string    `json:"token"`
			ExpiresAt time.Time `json:"expiresAt"`
		}
		if err := json.Unmarshal(res.body, &t); err != nil || t.Token == "" {
			return Token{}, &Error{Op: "login", Kind: ErrUnexpected, Status: res.status, Err: fmt.Errorf("decoding the token: %v", err)}
		}
		if c.cfg.CacheTTL > 0 {
			// Best effort: the cache knows the session from its start, so
			// an outage right after the login still finds it (StaleIfError).
			_, _ = c.Validate(ctx, t.Token)
		}
		return Token{Token: t.Token, ExpiresAt: t.ExpiresAt}, nil
	case http.StatusUnauthorized:
		return Token{}, &Error{Op: "login", Kind: ErrInvalidCredentials, Status: res.status, Code: res.code()}
	case http.StatusTooManyRequests:
		return Token{}, &Error{Op: "login", Kind: ErrLockedOut, Status: res.status, Code: res.code(), RetryAfter: res.retryAfter}
	}
	return Token{}, &Error{Op: "login", Kind: ErrUnexpected, Status: res.status, Code: res.code()}
}

// Logout revokes token's session. The cached validation is forgotten
// first, whatever the call's outcome; the call is retried (a logout is
// idempotent). Errors, as *Error: ErrInvalidToken (malformed),
// ErrUnavailable.
func (c *Client) Logout(ctx context.Context, token string) error {
	c.Invalidate(token)
	res, err := c.call(ctx, "logout", c.logoutB, http.MethodPost, "/v1/logout", token, nil, retryAny)
	if err != nil {
		return err
	}
	switch res.status {
	case http.StatusNoContent, http.StatusOK:
		return nil
	case http.StatusUnauthorized:
		return &Error{Op: "logout", Kind: ErrInvalidToken, Status: res.status, Code: res.code()}
	}
	return &Error{Op: "logout", Kind: ErrUnexpected, Status: res.status, Code: res.code()}
}

// response is an answer the service gave (any status but the unavailable
// ones, which call turns into ErrUnavailable).
type response struct {
	status     int
	body       []byte
	retryAfter time.Duration
}

func (r *response) code() string {
	var e struct {
		Error string `json:"error"`
	}
	_ = json.Unmarshal(r.body, &e)
	return e.Error
}

// unavailableStatus is an answer that means "not now": the service, or
// something in front of it, could not serve. Everything else is the
// service's word.
func unavailableStatus(code int) bool {
	return code == http.StatusServiceUnavailable || code == http.StatusBadGateway ||
		code == http.StatusGatewayTimeout || code == http.StatusInternalServerError
}

// retryAny retries an idempotent call after any failure.
func retryAny(*response, bool) bool { return true }

// retryUnjudged retries a login only when it cannot have been judged: it
// never left, or a load balancer reached no target (502, or 503 without
// Retry-After: the service's own 503 judges nothing either). A 503 with
// Retry-After asks the caller to wait.
func retryUnjudged(res *response, sent bool) bool {
	if !sent {
		return true
	}
	return res != nil && (res.status == http.StatusBadGateway || res.status == http.StatusServiceUnavailable) && res.retryAfter == 0
}

// call makes one call with its attempts: the first over a pooled
// connection, retries (when retry says so) over a new one after a
// jittered wait, each under Timeout, all under CallTimeout. The call's
// breaker gates the call and records its outcome: answered (by any
// attempt) or not (all failed). Counting calls, not attempts, keeps a
// partial outage (one zone of three, whose requests the retries carry)
// from opening it. An unavailable status, a transport error and an open
// breaker all end as ErrUnavailable.
func (c *Client) call(parent context.Context, op string, b *breaker, method, path, token string, body []byte, retry func(*response, bool) bool) (*response, error) {
	if !b.allow() {
		c.stats.breakerRefused.Add(1)
		c.stats.unavailable.Add(1)
		return nil, &Error{Op: op, Kind: ErrUnavailable, Err: ErrCircuitOpen}
	}
	c.stats.calls.Add(1)
	ctx, cancel := context.WithTimeout(parent, c.cfg.CallTimeout)
	defer cancel()
	var last *Error
	for attempt := 0; attempt < c.cfg.Attempts; attempt++ {
		if attempt > 0 {
			if err := c.sleep(ctx, c.backoff(attempt)); err != nil {
				break
			}
			c.stats.retries.Add(1)
		}
		c.stats.attempts.Add(1)
		res, sent, err := c.attempt(ctx, attempt, method, path, token, body)
		if err == nil && !unavailableStatus(res.status) {
			b.record(answered)
			return res, nil
		}
		c.stats.failedAttempts.Add(1)
		if err != nil {
			last = &Error{Op: op, Kind: ErrUnavailable, Err: err}
		} else {
			last = &Error{Op: op, Kind: ErrUnavailable, Status: res.status, Code: res.code(), RetryAfter: res.retryAfter}
		}
		if ctx.Err() != nil || !retry(res, sent) {
			break
		}
	}
	c.stats.unavailable.Add(1)
	if last == nil {
		last = &Error{Op: op, Kind: ErrUnavailable, Err: ctx.Err()}
	}
	if parent.Err() != nil {
		// The caller gave up: that says nothing about the service.
		b.record(abandoned)
		return nil, last
	}
	b.record(unanswered)
	return nil, last
}

// backoff is the wait before retry n (1-based): full jitter.
func (c *Client) backoff(n int) time.Duration {
	ceiling := c.cfg.BackoffBase << min(n, 20)
	if ceiling > c.cfg.BackoffMax || ceiling <= 0 {
		ceiling = c.cfg.BackoffMax
	}
	if ceiling <= 0 {
		return 0
	}
	return rand.N(ceiling)
}

// attempt sends the request once. sent is false only when the request
// provably never reached the service (the connection was never made).
func (c *Client) attempt(ctx context.Context, n int, method, path, token string, body []byte) (*response, bool, error) {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base.JoinPath(path).String(), rd)
	if err != nil {
		return nil, false, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	hc := c.pooled
	if n > 0 {
		hc = c.fresh
	}
	res, err := hc.Do(req)
	if err != nil {
		var op *net.OpError
		sent := !(errors.As(err, &op) && op.Op == "dial")
		return nil, sent, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(io.LimitReader(res.Body, maxResponseBytes))
	if err != nil {
		return nil, true, fmt.Errorf("reading the answer: %w", err)
	}
	out := &response{status: res.StatusCode, body: b}
	if s, err := strconv.Atoi(strings.TrimSpace(res.Header.Get("Retry-After"))); err == nil && s > 0 {
		out.retryAfter = time.Duration(s) * time.Second
	}
	return out, true, nil
}

// Stats are the client's counters since New.
type Stats struct {
	// CacheHits are validations answered from the cache within CacheTTL;
	// CacheMisses asked the service (or joined a call in flight:
	// Coalesced); StaleServed were answered from the cache past CacheTTL
	// because the service could not answer.
	CacheHits, CacheMisses, Coalesced, StaleServed int64
	// Calls are calls to the service, Attempts the requests they sent,
	// Retries the attempts after the first, FailedAttempts those that got
	// no usable answer, Unavailable the calls that ended ErrUnavailable
	// (BreakerRefused of them refused by an open breaker, unsent).
	Calls, Attempts, Retries, FailedAttempts, Unavailable, BreakerRefused int64
	// BreakerOpens counts how often the validation breaker opened;
	// BreakerState is its state now ("closed", "open", "half-open").
	BreakerOpens int64
	BreakerState string
	// CacheEntries is the cache's size now.
	CacheEntries int
}

type counters struct {
	cacheHits, cacheMisses, coalesced, staleServed                        atomic.Int64
	calls, attempts, retries, failedAttempts, unavailable, breakerRefused atomic.Int64
}

// Stats returns the counters.
func (c *Client) Stats() Stats {
	return Stats{
		CacheHits: c.stats.cacheHits.Load(), CacheMisses: c.stats.cacheMisses.Load(), Coalesced: c.stats.coalesced.Load(),
		StaleServed: c.stats.staleServed.Load(), Calls: c.stats.calls.Load(), Attempts: c.stats.attempts.Load(),
		Retries: c.stats.retries.Load(), FailedAttempts: c.stats.failedAttempts.Load(), Unavailable: c.stats.unavailable.Load(),
		BreakerRefused: c.stats.breakerRefused.Load(), BreakerOpens: c.validateB.opens.Load(),
		BreakerState: c.validateB.state(), CacheEntries: c.cache.len(),
	}
}
