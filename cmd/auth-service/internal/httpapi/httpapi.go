// Package httpapi is the service's HTTP interface, on two ports: the
// traffic port (Public: login, session lookup, logout, readiness and
// liveness; what the ALB reaches) and the metrics port (Internal: metrics
// and the dependencies' state; never exposed by the Service or the target
// group).
package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/authplatform/auth-platform/cmd/auth-service/internal/health"
	"github.com/authplatform/auth-platform/cmd/auth-service/internal/lockout"
	"github.com/authplatform/auth-platform/cmd/auth-service/internal/metrics"
	"github.com/authplatform/auth-platform/cmd/auth-service/internal/password"
	"github.com/authplatform/auth-platform/cmd/auth-service/internal/session"
	"github.com/authplatform/auth-platform/cmd/auth-service/internal/store"
)

// Limits on input.
const (
	MaxBodyBytes   = 4 << 10 // a login is two short strings
	MaxUsernameLen = 128     // characters, as the users table allows
	MaxPasswordLen = 1024    // bytes; argon2 takes any length, this bounds work
	MaxHeaderBytes = 16 << 10
)

// Users finds accounts (store.DB).
type Users interface {
	UserForLogin(ctx context.Context, username string) (store.User, error)
}

// Sessions keeps sessions (session.Store).
type Sessions interface {
	Create(ctx context.Context, d session.Data) (string, session.Data, error)
	Get(ctx context.Context, token string) (session.Data, error)
	Delete(ctx context.Context, token string) error
}

// Limiter counts failed logins (lockout.Limiter): Begin returns the
// attempt's reservation, or nil and the time to wait.
type Limiter interface {
	Begin(ctx context.Context, username, source string) (*lockout.Attempt, time.Duration)
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
	RequestTimeout time.Duration

	routes []Route // as registered, for PublicRoutes
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
	a.routeMethods(mux, AuthzPath+"/", GatewayMethods, a.api(a.authz))
	a.route(mux, "/health", http.MethodGet, a.health)
	a.route(mux, "/health/live", http.MethodGet, a.live)
	a.notFound(mux)
	return mux
}

// Internal routes the metrics port: Prometheus metrics and the detailed
// /health (every dependency and shard, readiness and its reason).
func (a *API) Internal() http.Handler {
	mux := http.NewServeMux()
	a.route(mux, "/metrics", http.MethodGet, a.Metrics.Handler().ServeHTTP)
	a.route(mux, "/health", http.MethodGet, a.detailedHealth)
	a.notFound(mux)
	return mux
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

func (a *API) routeMethods(mux *http.ServeMux, path string, methods []string, h http.HandlerFunc) {
	a.routes = append(a.routes, Route{Path: path, Methods: methods})
	allowed := func(m string) bool {
		return slices.Contains(methods, m) || (m == http.MethodHead && slices.Contains(methods, http.MethodGet))
	}
	mux.HandleFunc(path, func(w http.ResponseWriter, r *http.Request) {
		a.instrument(path, w, r, func(w http.ResponseWriter, r *http.Request) {
			if !allowed(r.Method) {
				w.Header().Set("Allow", strings.Join(methods, ", "))
				writeError(w, errMethodNotAllowed)
				return
			}
			h(w, r)
		})
	})
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
	h(rec, r.WithContext(ctx))
}

type loginRequest struct {
	Username string `json:"username"`
	Password string `json:"password"`
}

// LoginResponse is a successful login's body.
type LoginResponse struct {
	Token     string    `json:"token"`
	TokenType string    `json:"tokenType"`
	ExpiresAt time.Time `json:"expiresAt"`
}

func (a *API) login(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	unavailable := func(what string, err error) {
		a.loginResult("unavailable")
		a.unavailable(w, what, err)
	}
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		a.loginResult("invalid_request")
		writeError(w, errUnsupportedMedia)
		return
	}
	req, apiErr := decodeLogin(w, r)
	if apiErr != nil {
		a.loginResult("invalid_request")
		writeError(w, *apiErr)
		return
	}
	// While the pod's hashing queue is full, a login is refused before it
	// costs a Redis or database round trip (load shedding, review M2).
	if wait, busy := password.Busy(); busy {
		a.shed(w, wait)
		return
	}
	source := clientAddr(r)
	var attempt *lockout.Attempt
	var retryAfter time.Duration
	a.wait(func() { attempt, retryAfter = a.Limiter.Begin(ctx, req.Username, source) })
	if attempt == nil {
		a.loginResult("locked_out")
		writeRetryAfter(w, errTooManyAttempts, retryAfter)
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
	// database lookup, so that a burst is judged against the queue it will
	// form; past the pod's capacity it is refused here, unjudged. (After
	// the lockout: a refused account or source costs no hash and gets its
	// 429.)
	ticket, err := password.Admit()
	if err != nil {
		a.shed(w, password.RetryAfter(err))
		return
	}
	defer ticket.Release()
	// An unknown user costs one hash against a dummy, like a wrong password,
	// and gets the same answer: no user enumeration by status or timing.
	var user store.User
	a.wait(func() { user, err = a.Users.UserForLogin(ctx, req.Username) })
	hash := user.PasswordHash
	switch {
	case errors.Is(err, store.ErrNotFound):
		hash = password.DummyHash
	case err != nil:
		unavailable("user lookup", err)
		return
	}
	match, err := ticket.Verify(ctx, req.Password, hash)
	if errors.Is(err, password.ErrBusy) {
		a.shed(w, password.RetryAfter(err))
		return
	}
	if err != nil && !errors.Is(err, password.ErrMalformed) {
		unavailable("password check", err)
		return
	}
	if errors.Is(err, password.ErrMalformed) {
		a.Logger.Error("stored password hash is malformed", "user_id", user.ID)
	}
	if !match || user.ID == 0 || user.Disabled {
		judged = true
		a.wait(func() { attempt.Failed(ctx) })
		a.loginResult("invalid_credentials")
		writeError(w, errInvalidCredentials)
		return
	}
	judged = true
	a.wait(func() { attempt.Succeeded(ctx) })
	var token string
	var d session.Data
	a.wait(func() {
		token, d, err = a.Sessions.Create(ctx, session.Data{UserID: user.ID, Username: user.Username, Roles: user.Roles, Permissions: user.Permissions})
	})
	if err != nil {
		unavailable("session create", err)
		return
	}
	a.loginResult("success")
	writeJSON(w, http.StatusOK, LoginResponse{Token: token, TokenType: "Bearer", ExpiresAt: d.ExpiresAt})
}

func (a *API) loginResult(result string) { a.Metrics.Logins.WithLabelValues(result).Inc() }

// shed refuses a login the pod has no hashing capacity for: 503 at once,
// Retry-After the queue's expected wait (at least 1 s), counted nothing.
func (a *API) shed(w http.ResponseWriter, wait time.Duration) {
	a.loginResult("shed")
	writeRetryAfter(w, errUnavailable, wait)
}

func (a *API) unavailable(w http.ResponseWriter, what string, err error) {
	a.Logger.Error(what+" failed", "err", err)
	writeError(w, errUnavailable)
}

func decodeLogin(w http.ResponseWriter, r *http.Request) (loginRequest, *apiError) {
	var req loginRequest
	body := http.MaxBytesReader(w, r.Body, MaxBodyBytes)
	dec := json.NewDecoder(body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return req, &errTooLarge
		}
		return req, &errInvalidRequest
	}
	// Exactly one JSON value.
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return req, &errTooLarge
		}
		return req, &errInvalidRequest
	}
	if !validUsername(req.Username) || req.Password == "" || len(req.Password) > MaxPasswordLen {
		return req, &errInvalidRequest
	}
	return req, nil
}

// validUsername accepts any printable UTF-8 of 1-128 characters: queries
// are parameterised, so quotes and SQL keywords are just characters.
func validUsername(s string) bool {
	if s == "" || !utf8.ValidString(s) || utf8.RuneCountInString(s) > MaxUsernameLen {
		return false
	}
	for _, r := range s {
		if unicode.IsControl(r) {
			return false
		}
	}
	return true
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
	ExpiresAt   time.Time   `json:"expiresAt"`
}

// SessionUser identifies the session's user.
type SessionUser struct {
	ID       int64  `json:"id"`
	Username string `json:"username"`
}

func (a *API) session(w http.ResponseWriter, r *http.Request) {
	token, ok := bearer(r)
	if !ok {
		writeError(w, errMissingToken)
		return
	}
	var d session.Data
	var err error
	a.wait(func() { d, err = a.Sessions.Get(r.Context(), token) })
	switch {
	case errors.Is(err, session.ErrMalformed), errors.Is(err, session.ErrNotFound):
		writeError(w, errInvalidToken)
		return
	case err != nil:
		a.unavailable(w, "session read", err)
		return
	}
	roles, perms := d.Roles, d.Permissions
	if roles == nil {
		roles = []string{}
	}
	if perms == nil {
		perms = []string{}
	}
	writeJSON(w, http.StatusOK, SessionResponse{User: SessionUser{ID: d.UserID, Username: d.Username}, Roles: roles, Permissions: perms, ExpiresAt: d.ExpiresAt})
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
