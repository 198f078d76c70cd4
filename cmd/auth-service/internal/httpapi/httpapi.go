// Package httpapi is the service's HTTP interface, on two ports: the
// traffic port (Public: login, session lookup, logout, readiness and
// liveness; what the ALB reaches) and the metrics port (Internal: metrics
// and the dependencies' state; never exposed by the Service or the target
// group).
package httpapi

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"path"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/authplatform/auth-platform/cmd/auth-service/internal/audit"
	"github.com/authplatform/auth-platform/cmd/auth-service/internal/health"
	"github.com/authplatform/auth-platform/cmd/auth-service/internal/lockout"
	"github.com/authplatform/auth-platform/cmd/auth-service/internal/metrics"
	"github.com/authplatform/auth-platform/cmd/auth-service/internal/password"
	"github.com/authplatform/auth-platform/cmd/auth-service/internal/pwpolicy"
	"github.com/authplatform/auth-platform/cmd/auth-service/internal/session"
	"github.com/authplatform/auth-platform/cmd/auth-service/internal/store"
	"github.com/authplatform/auth-platform/cmd/auth-service/internal/username"
)

// Limits on input.
const (
	MaxBodyBytes   = 4 << 10           // a login is two short strings
	MaxPasswordLen = pwpolicy.MaxBytes // bytes; argon2 takes any length, this bounds work
	MaxHeaderBytes = 16 << 10
)

// Users finds accounts and changes passwords (store.DB).
type Users interface {
	UserForLogin(ctx context.Context, canonical string) (store.User, error)
	SetPassword(ctx context.Context, canonical, passwordHash string) error
	Rehash(ctx context.Context, id int64, old, new string) error
}

// Sessions keeps sessions (session.Store).
type Sessions interface {
	Epoch(ctx context.Context, account string) (int64, bool)
	Create(ctx context.Context, d session.Data, epoch int64, known bool) (string, session.Data, error)
	Get(ctx context.Context, token string) (session.Data, error)
	Delete(ctx context.Context, token string) error
	Revoke(ctx context.Context, account, keep string) (int, error)
}

// Limiter throttles guessing (lockout.Limiter): Begin returns the
// attempt's reservation, or nil and why not.
type Limiter interface {
	Begin(ctx context.Context, account, source string) (*lockout.Attempt, lockout.Refusal)
}

// API holds the handlers' dependencies.
type API struct {
	Users          Users
	Sessions       Sessions
	Limiter        Limiter
	Readiness      *health.Readiness
	Monitor        *health.Monitor
	Metrics        *metrics.Metrics
	Logger         *slog.Logger
	Audit          audit.Logger
	RequestTimeout time.Duration

	routes                []Route // as registered, for PublicRoutes
	shedTotal, shedLogged atomic.Int64
}

// Public routes the traffic port: the API, readiness and liveness, with
// the request deadline, panic recovery, no-store caching and metrics
// around each. /metrics is not here (404).
func (a *API) Public() http.Handler {
	mux := http.NewServeMux()
	a.route(mux, "/v1/login", http.MethodPost, a.api(a.login))
	a.route(mux, "/v1/session", http.MethodGet, a.api(a.session))
	a.route(mux, "/v1/logout", http.MethodPost, a.api(a.logout))
	a.routeMethods(mux, AuthzPath, GatewayMethods, a.api(a.authz))
	gateway := a.routeMethods(mux, AuthzPath+"/", GatewayMethods, a.api(a.authz))
	a.route(mux, "/v1/logout-all", http.MethodPost, a.api(a.logoutAll))
	a.route(mux, "/v1/password", http.MethodPost, a.api(a.changePassword))
	a.route(mux, "/health", http.MethodGet, a.health)
	a.route(mux, "/health/live", http.MethodGet, a.live)
	a.notFound(mux)
	return gatewayFirst(gateway, a.cleanPaths(mux))
}

// gatewayFirst sends every path below AuthzPath to the gateway check as
// it came: Envoy appends the original request's path, which is the
// client's, clean or not ("/v1/authz/", "/v1/authz/a//b"), and the check
// must answer it, not a 404 or ServeMux's redirect.
func gatewayFirst(gateway, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, AuthzPath+"/") {
			gateway.ServeHTTP(w, r)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// cleanPaths answers a path ServeMux would redirect ("//v1/session",
// "/v1/../v1/session": an HTML 307) with the JSON 404 instead, so that
// every answer the handlers give is JSON (review L7).
func (a *API) cleanPaths(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if p := r.URL.Path; p == "" || p[0] != '/' || path.Clean(p) != p {
			a.instrument("other", w, r, func(w http.ResponseWriter, r *http.Request) { writeError(w, errNotFound) })
			return
		}
		next.ServeHTTP(w, r)
	})
}

// Internal routes the metrics port: Prometheus metrics and the detailed
// /health (every dependency and shard, readiness and its reason).
func (a *API) Internal() http.Handler {
	mux := http.NewServeMux()
	a.route(mux, "/metrics", http.MethodGet, a.Metrics.Handler().ServeHTTP)
	a.route(mux, "/health", http.MethodGet, a.detailedHealth)
	a.notFound(mux)
	return a.cleanPaths(mux)
}

func (a *API) notFound(mux *http.ServeMux) {
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		a.instrument("other", w, r, func(w http.ResponseWriter, r *http.Request) { writeError(w, errNotFound) })
	})
}

// api wraps an API handler: 503 until the pod has initialised, and the
// request counted as busy (health.Readiness) except while it waits on a
// dependency (see wait).
func (a *API) api(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if !a.Readiness.Initialised() {
			writeRetryAfter(w, errUnavailable, time.Second)
			return
		}
		defer a.Readiness.Enter()()
		h(w, r)
	}
}

// wait runs a dependency call with the request not counted as busy.
func (a *API) wait(call func()) {
	back := a.Readiness.Wait()
	defer back()
	call()
}

// Route is one registered route: a path (a subtree when it ends in "/")
// and the methods it answers (GET implies HEAD).
type Route struct {
	Path    string
	Methods []string
}

// PublicRoutes lists the traffic port's routes, as Public registers them
// (the OpenAPI document's test holds the two together).
func PublicRoutes() []Route {
	a := &API{}
	a.Public()
	return a.routes
}

// GatewayMethods are the methods the gateway check answers: every method
// OpenAPI can name, since Envoy sends the original request's.
var GatewayMethods = []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
	http.MethodDelete, http.MethodOptions, http.MethodTrace}

func (a *API) route(mux *http.ServeMux, path, method string, h http.HandlerFunc) {
	a.routeMethods(mux, path, []string{method}, h)
}

// routeMethods registers h for methods at path, and returns the handler it
// registered.
func (a *API) routeMethods(mux *http.ServeMux, path string, methods []string, h http.HandlerFunc) http.Handler {
	a.routes = append(a.routes, Route{Path: path, Methods: methods})
	allowed := func(m string) bool {
		return slices.Contains(methods, m) || (m == http.MethodHead && slices.Contains(methods, http.MethodGet))
	}
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a.instrument(path, w, r, func(w http.ResponseWriter, r *http.Request) {
			if !allowed(r.Method) {
				w.Header().Set("Allow", strings.Join(methods, ", "))
				writeError(w, errMethodNotAllowed)
				return
			}
			h(w, r)
		})
	})
	mux.Handle(path, handler)
	return handler
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

func (a *API) instrument(route string, w http.ResponseWriter, r *http.Request, h http.HandlerFunc) {
	start := time.Now()
	rec := &statusRecorder{ResponseWriter: w}
	ctx, cancel := context.WithTimeout(r.Context(), a.RequestTimeout)
	defer cancel()
	defer func() {
		if p := recover(); p != nil {
			if p == http.ErrAbortHandler {
				panic(p)
			}
			a.Logger.Error("panic in handler", "route", route, "panic", p)
			if rec.status == 0 {
				writeError(rec, errInternal)
			}
		}
		if rec.status == 0 {
			rec.status = http.StatusOK
		}
		a.Metrics.Requests.WithLabelValues(route, strconv.Itoa(rec.status)).Inc()
		a.Metrics.RequestDuration.WithLabelValues(route).Observe(time.Since(start).Seconds())
	}()
	rec.Header().Set("Cache-Control", "no-store")
	rec.Header().Set("X-Content-Type-Options", "nosniff")
	id := requestID(r)
	rec.Header().Set("X-Request-Id", id)
	h(rec, r.WithContext(context.WithValue(ctx, requestIDKey{}, id)))
}

// LoginResponse is a successful login's body.
type LoginResponse struct {
	Token         string    `json:"token"`
	TokenType     string    `json:"tokenType"`
	ExpiresAt     time.Time `json:"expiresAt"`
	IdleExpiresAt time.Time `json:"idleExpiresAt"`
}

type requestIDKey struct{}

// requestID is the ALB's trace id (X-Amzn-Trace-Id, which the ALB sets on
// every request it forwards), else a new random one.
func requestID(r *http.Request) string {
	if id := r.Header.Get("X-Amzn-Trace-Id"); id != "" && len(id) <= 128 && validHeaderText(id) {
		return id
	}
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func validHeaderText(s string) bool {
	for _, r := range s {
		if r < 0x21 || r > 0x7e {
			return false
		}
	}
	return true
}

func reqID(ctx context.Context) string { s, _ := ctx.Value(requestIDKey{}).(string); return s }

func (a *API) audit(ctx context.Context, e audit.Event) {
	e.RequestID = reqID(ctx)
	a.Audit.Log(ctx, e)
}

func (a *API) login(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	source := clientAddr(r)
	ev := audit.Event{Action: audit.Login, Source: source}
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		a.loginResult("invalid_request")
		writeError(w, errUnsupportedMedia)
		return
	}
	fields, apiErr := decodeStrict(w, r, "username", "password")
	if apiErr != nil {
		a.loginResult("invalid_request")
		writeError(w, *apiErr)
		return
	}
	pw := fields["password"]
	account, err := username.Canonical(fields["username"])
	if err != nil || pw == "" || len(pw) > MaxPasswordLen {
		a.loginResult("invalid_request")
		writeError(w, errInvalidRequest)
		return
	}
	ev.UserTag = lockout.Tag(account)[:16]
	unavailable := func(what string, err error) {
		a.loginResult("unavailable")
		ev.Outcome, ev.Reason = audit.Unavailable, what
		a.audit(ctx, ev)
		a.unavailable(w, what, err)
	}
	// While the pod's hashing queue is full, a login is refused before it
	// costs a Redis or database round trip (load shedding, review M2).
	if wait, busy := password.Busy(); busy {
		a.shed(w, wait)
		return
	}
	var attempt *lockout.Attempt
	var refused lockout.Refusal
	a.wait(func() { attempt, refused = a.Limiter.Begin(ctx, account, source) })
	if attempt == nil {
		a.loginResult("locked_out")
		ev.Outcome, ev.Reason = audit.Refused, "lockout_"+refused.Reason
		a.audit(ctx, ev)
		writeRetryAfter(w, errTooManyAttempts, refused.RetryAfter)
		return
	}
	// An attempt the service could not judge (a dependency failed, the
	// client went away) is released without counting (review H2).
	judged := false
	defer func() {
		if !judged {
			a.wait(func() { attempt.Abandon(ctx) })
		}
	}()
	// The login's place in the hashing queue is taken now, before the
	// database lookups, so that a burst is judged against the queue it
	// will form; past the pod's capacity it is refused here, unjudged.
	// (After the lockout: a refused account or source costs no hash and
	// gets its 429.)
	ticket, err := password.Admit()
	if err != nil {
		a.shed(w, password.RetryAfter(err))
		return
	}
	defer ticket.Release()
	// Read before the user: a revocation from now on (a disable, a
	// password change) keeps this login from leaving a session behind.
	var epoch int64
	var indexed bool
	a.wait(func() { epoch, indexed = a.Sessions.Epoch(ctx, account) })
	// An unknown user costs one hash against a dummy, like a wrong password,
	// and gets the same answer: no user enumeration by status or timing.
	var user store.User
	a.wait(func() { user, err = a.Users.UserForLogin(ctx, account) })
	hash := user.PasswordHash
	switch {
	case errors.Is(err, store.ErrNotFound):
		hash = password.DummyHash
	case err != nil:
		unavailable("user lookup", err)
		return
	}
	match, err := ticket.Verify(ctx, pw, hash)
	if errors.Is(err, password.ErrBusy) {
		// Shed like the refusals above (the place lapsed in the queue):
		// no decision on anyone, so counted, not audited one by one.
		a.shed(w, password.RetryAfter(err))
		return
	}
	if err != nil && !errors.Is(err, password.ErrMalformed) {
		unavailable("password check", err)
		return
	}
	if errors.Is(err, password.ErrMalformed) {
		a.Logger.Error("stored password hash is malformed or beyond the bounds", "user_id", user.ID)
	}
	if user.ID != 0 {
		ev.User, ev.UserID, ev.UserTag = user.Account, user.ID, ""
	}
	if !match || user.ID == 0 || user.Disabled {
		judged = true
		a.wait(func() { attempt.Failed(ctx) })
		a.loginResult("invalid_credentials")
		ev.Outcome, ev.Reason = audit.Failure, failureReason(user, match)
		a.audit(ctx, ev)
		writeError(w, errInvalidCredentials)
		return
	}
	judged = true
	a.wait(func() { attempt.Succeeded(ctx) })
	var token string
	var d session.Data
	a.wait(func() {
		token, d, err = a.Sessions.Create(ctx, session.Data{UserID: user.ID, Username: user.Username, Account: user.Account,
			Roles: user.Roles, Permissions: user.Permissions}, epoch, indexed)
	})
	if errors.Is(err, session.ErrRevoked) {
		a.loginResult("invalid_credentials")
		ev.Outcome, ev.Reason = audit.Failure, "revoked during the login"
		a.audit(ctx, ev)
		writeError(w, errInvalidCredentials)
		return
	}
	if err != nil {
		unavailable("session create", err)
		return
	}
	a.rehash(ctx, user, pw)
	a.loginResult("success")
	ev.Outcome = audit.Success
	if !indexed {
		ev.Reason = "session not indexed (its shard did not answer): lives at most " + session.UnindexedLifetime.String()
	}
	a.audit(ctx, ev)
	writeJSON(w, http.StatusOK, LoginResponse{Token: token, TokenType: "Bearer", ExpiresAt: d.ExpiresAt, IdleExpiresAt: d.IdleExpiresAt})
}

func failureReason(u store.User, match bool) string {
	switch {
	case u.ID == 0:
		return "unknown_user"
	case !match:
		return "wrong_password"
	default:
		return "disabled"
	}
}

// rehash stores a hash under the current parameters when the stored one
// was made with weaker ones (the password is at hand only now). Best
// effort: the login has succeeded either way.
func (a *API) rehash(ctx context.Context, u store.User, pw string) {
	if !password.NeedsRehash(u.PasswordHash, password.Default) {
		return
	}
	h, err := password.Hash(ctx, pw, password.Default)
	if err == nil {
		a.wait(func() { err = a.Users.Rehash(context.WithoutCancel(ctx), u.ID, u.PasswordHash, h) })
	}
	if err != nil {
		a.Logger.Warn("password rehash failed", "user_id", u.ID, "err", err.Error())
		return
	}
	a.Logger.Info("password rehashed with the current parameters", "event", "password_rehashed", "user_id", u.ID)
}

func (a *API) loginResult(result string) { a.Metrics.Logins.WithLabelValues(result).Inc() }

// shed refuses a login the pod has no hashing capacity for: 503 at once,
// Retry-After the queue's expected wait (at least 1 s), counted nothing.
//
// A shed login is no decision on anyone, so it is not audited one by one
// (a flood would become as many log lines): it is counted in
// auth_logins_total{result="shed"} and logged at most every 10 s.
func (a *API) shed(w http.ResponseWriter, wait time.Duration) {
	a.loginResult("shed")
	total := a.shedTotal.Add(1)
	now := time.Now().UnixNano()
	if last := a.shedLogged.Load(); now-last >= int64(10*time.Second) && a.shedLogged.CompareAndSwap(last, now) {
		a.Logger.Warn("logins shed past the pod's hashing capacity", "event", "login_shed", "shed_total", total)
	}
	writeRetryAfter(w, errUnavailable, wait)
}

func (a *API) unavailable(w http.ResponseWriter, what string, err error) {
	a.Logger.Error(what+" failed", "err", err)
	writeError(w, errUnavailable)
}

// decodeStrict reads a JSON object of exactly the named string fields,
// each once (review L2: encoding/json takes the last of duplicate keys and
// matches names case-insensitively, so {"username":"x","username":"alice"}
// and {"USERNAME":…} logged in as alice: a parser differential with the
// WAF and any log tooling). Missing fields are "".
func decodeStrict(w http.ResponseWriter, r *http.Request, names ...string) (map[string]string, *apiError) {
	body := http.MaxBytesReader(w, r.Body, MaxBodyBytes)
	dec := json.NewDecoder(body)
	fail := func(err error) (map[string]string, *apiError) {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return nil, &errTooLarge
		}
		return nil, &errInvalidRequest
	}
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return fail(err)
	}
	allowed := map[string]bool{}
	for _, n := range names {
		allowed[n] = true
	}
	out := map[string]string{}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return fail(err)
		}
		key, _ := t.(string)
		if _, dup := out[key]; !allowed[key] || dup {
			return nil, &errInvalidRequest
		}
		t, err = dec.Token()
		if err != nil {
			return fail(err)
		}
		v, ok := t.(string)
		if !ok {
			return nil, &errInvalidRequest
		}
		out[key] = v
	}
	if _, err := dec.Token(); err != nil { // the closing brace
		return fail(err)
	}
	// Exactly one JSON value.
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return fail(err)
	}
	return out, nil
}

// clientAddr is the address the ALB saw: the last X-Forwarded-For entry
// (the ALB appends it; entries before it are the client's to forge), or
// the peer when there is none. Only the ALB can reach the pods.
func clientAddr(r *http.Request) string {
	if xff := r.Header.Values("X-Forwarded-For"); len(xff) > 0 {
		parts := strings.Split(xff[len(xff)-1], ",")
		if ip := net.ParseIP(strings.TrimSpace(parts[len(parts)-1])); ip != nil {
			return ip.String()
		}
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

func bearer(r *http.Request) (string, bool) {
	h := r.Header.Get("Authorization")
	scheme, token, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	token = strings.TrimSpace(token)
	return token, token != ""
}

// SessionResponse is GET /v1/session's body.
type SessionResponse struct {
	User        SessionUser `json:"user"`
	Roles       []string    `json:"roles"`
	Permissions []string    `json:"permissions"`
	// AuthTime is when the user logged in (to demand a recent login).
	AuthTime time.Time `json:"authTime"`
	// ExpiresAt is the absolute end; IdleExpiresAt the end unless the
	// session is used again before (each validation moves it).
	ExpiresAt     time.Time `json:"expiresAt"`
	IdleExpiresAt time.Time `json:"idleExpiresAt"`
}

// SessionUser identifies the session's user.
type SessionUser struct {
	ID       int64  `json:"id"`
	Username string `json:"username"`
}

// current reads the bearer token's session, or writes the error.
func (a *API) current(w http.ResponseWriter, r *http.Request) (string, session.Data, bool) {
	token, ok := bearer(r)
	if !ok {
		writeError(w, errMissingToken)
		return "", session.Data{}, false
	}
	var d session.Data
	var err error
	a.wait(func() { d, err = a.Sessions.Get(r.Context(), token) })
	switch {
	case errors.Is(err, session.ErrMalformed), errors.Is(err, session.ErrNotFound):
		writeError(w, errInvalidToken)
		return "", d, false
	case err != nil:
		a.unavailable(w, "session read", err)
		return "", d, false
	}
	return token, d, true
}

func (a *API) session(w http.ResponseWriter, r *http.Request) {
	_, d, ok := a.current(w, r)
	if !ok {
		return
	}
	roles, perms := d.Roles, d.Permissions
	if roles == nil {
		roles = []string{}
	}
	if perms == nil {
		perms = []string{}
	}
	writeJSON(w, http.StatusOK, SessionResponse{User: SessionUser{ID: d.UserID, Username: d.Username}, Roles: roles, Permissions: perms,
		AuthTime: d.CreatedAt, ExpiresAt: d.ExpiresAt, IdleExpiresAt: d.IdleExpiresAt})
}

func (a *API) logout(w http.ResponseWriter, r *http.Request) {
	token, ok := bearer(r)
	if !ok {
		writeError(w, errMissingToken)
		return
	}
	var err error
	a.wait(func() { err = a.Sessions.Delete(r.Context(), token) })
	switch {
	case errors.Is(err, session.ErrMalformed):
		writeError(w, errInvalidToken)
		return
	case err != nil:
		a.unavailable(w, "session revoke", err)
		return
	}
	a.audit(r.Context(), audit.Event{Action: audit.Logout, Outcome: audit.Success, Source: clientAddr(r)})
	w.WriteHeader(http.StatusNoContent)
}

// logoutAll ends every session of the caller's user, this one included.
func (a *API) logoutAll(w http.ResponseWriter, r *http.Request) {
	_, d, ok := a.current(w, r)
	if !ok {
		return
	}
	ev := audit.Event{Action: audit.LogoutAll, User: d.Account, UserID: d.UserID, Source: clientAddr(r)}
	var n int
	var err error
	a.wait(func() { n, err = a.Sessions.Revoke(r.Context(), d.Account, "") })
	if err != nil {
		ev.Outcome, ev.Reason = audit.Unavailable, "revoke"
		a.audit(r.Context(), ev)
		a.unavailable(w, "revoke sessions", err)
		return
	}
	ev.Outcome, ev.Count = audit.Success, n
	a.audit(r.Context(), ev)
	w.WriteHeader(http.StatusNoContent)
}

// changePassword sets a new password for the caller's user, given the
// current one (throttled like a login: a stolen token must not become a
// password oracle), and ends every other session of the user.
func (a *API) changePassword(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		writeError(w, errUnsupportedMedia)
		return
	}
	token, d, ok := a.current(w, r)
	if !ok {
		return
	}
	fields, apiErr := decodeStrict(w, r, "currentPassword", "newPassword")
	if apiErr != nil {
		writeError(w, *apiErr)
		return
	}
	current, next := fields["currentPassword"], fields["newPassword"]
	if current == "" || len(current) > MaxPasswordLen {
		writeError(w, errInvalidRequest)
		return
	}
	source := clientAddr(r)
	ev := audit.Event{Action: audit.PasswordChange, User: d.Account, UserID: d.UserID, Source: source}
	if err := pwpolicy.Check(next, d.Account); err != nil {
		ev.Outcome, ev.Reason = audit.Invalid, err.Error()
		a.audit(ctx, ev)
		writeError(w, apiError{http.StatusBadRequest, "weak_password", err.Error()})
		return
	}
	var attempt *lockout.Attempt
	var refused lockout.Refusal
	a.wait(func() { attempt, refused = a.Limiter.Begin(ctx, d.Account, source) })
	if attempt == nil {
		ev.Outcome, ev.Reason = audit.Refused, "lockout_"+refused.Reason
		a.audit(ctx, ev)
		writeRetryAfter(w, errTooManyAttempts, refused.RetryAfter)
		return
	}
	judged := false
	defer func() {
		if !judged {
			a.wait(func() { attempt.Abandon(ctx) })
		}
	}()
	var user store.User
	var err error
	a.wait(func() { user, err = a.Users.UserForLogin(ctx, d.Account) })
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		a.unavailable(w, "user lookup", err)
		return
	}
	match := false
	if err == nil {
		match, err = password.Verify(ctx, current, user.PasswordHash)
		if errors.Is(err, password.ErrBusy) {
			writeRetryAfter(w, errUnavailable, password.RetryAfter(err))
			return
		}
		if err != nil && !errors.Is(err, password.ErrMalformed) {
			a.unavailable(w, "password check", err)
			return
		}
	}
	if !match || user.Disabled {
		judged = true
		a.wait(func() { attempt.Failed(ctx) })
		ev.Outcome, ev.Reason = audit.Failure, failureReason(user, match)
		a.audit(ctx, ev)
		writeError(w, errWrongPassword)
		return
	}
	judged = true
	a.wait(func() { attempt.Succeeded(ctx) })
	hash, err := password.Hash(ctx, next, password.Default)
	if errors.Is(err, password.ErrBusy) {
		writeRetryAfter(w, errUnavailable, password.RetryAfter(err))
		return
	}
	if err != nil {
		a.unavailable(w, "password hash", err)
		return
	}
	a.wait(func() { err = a.Users.SetPassword(ctx, d.Account, hash) })
	if err != nil {
		a.unavailable(w, "password store", err)
		return
	}
	var n int
	a.wait(func() { n, err = a.Sessions.Revoke(context.WithoutCancel(ctx), d.Account, token) })
	ev.Outcome, ev.Count = audit.Success, n
	if err != nil {
		// The password is changed; the other sessions could not all be
		// ended: say so, so that the client can call logout-all again.
		ev.Reason = "other sessions not all ended"
		a.audit(ctx, ev)
		a.unavailable(w, "revoke other sessions", err)
		return
	}
	a.audit(ctx, ev)
	w.WriteHeader(http.StatusNoContent)
}

// HealthResponse is readiness's body on the traffic port: the status only
// (ok, starting, shutting_down, overloaded), nothing about dependencies.
type HealthResponse struct {
	Status string `json:"status"`
}

// health is readiness: 200 only when this pod can serve. It costs no
// round trip to anything.
func (a *API) health(w http.ResponseWriter, r *http.Request) {
	status, _ := a.Readiness.Status()
	a.Metrics.HealthChecks.WithLabelValues(status).Inc()
	code := http.StatusOK
	if status != health.StatusOK {
		code = http.StatusServiceUnavailable
	}
	writeJSON(w, code, HealthResponse{Status: status})
}

// DetailedHealth is the metrics port's /health.
type DetailedHealth struct {
	// Status and Reason are readiness's (what the traffic port's /health
	// answers, and why).
	Status string `json:"status"`
	Reason string `json:"reason"`
	// Busy is the number of requests this pod is working on, not counting
	// those waiting on a dependency (overloaded past health.MaxBusy).
	Busy int64 `json:"busy"`
	// Dependencies are the last background checks, PostgreSQL first, then
	// the Redis shards by slot; empty before the first round.
	Dependencies []health.DependencyState `json:"dependencies"`
}

// detailedHealth answers 200 whatever the states: it reports, it is not a
// probe.
func (a *API) detailedHealth(w http.ResponseWriter, r *http.Request) {
	status, reason := a.Readiness.Status()
	deps := a.Monitor.States()
	if deps == nil {
		deps = []health.DependencyState{}
	}
	writeJSON(w, http.StatusOK, DetailedHealth{Status: status, Reason: reason, Busy: a.Readiness.Busy(), Dependencies: deps})
}

func (a *API) live(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}
