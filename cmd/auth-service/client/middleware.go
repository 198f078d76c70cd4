package client

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"
)

type identityKey struct{}

// IdentityFrom returns the identity Middleware put in ctx.
func IdentityFrom(ctx context.Context) (Identity, bool) {
	id, ok := ctx.Value(identityKey{}).(Identity)
	return id, ok
}

// WithIdentity returns ctx carrying id (for handlers' tests).
func WithIdentity(ctx context.Context, id Identity) context.Context {
	return context.WithValue(ctx, identityKey{}, id)
}

// Middleware lets a request through to next only with a valid bearer
// token (Authorization: Bearer TOKEN), and puts its Identity in the
// request's context (IdentityFrom). Otherwise it answers, in the service's
// error format: 401 invalid_token or missing_token (with WWW-Authenticate),
// or 503 unavailable with Retry-After when the service cannot tell, and
// next never runs (fail closed).
func (c *Client) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		token, ok := bearerToken(r)
		if !ok {
			writeError(w, http.StatusUnauthorized, "missing_token", "send Authorization: Bearer <token>", 0)
			return
		}
		id, err := c.Validate(r.Context(), token)
		var e *Error
		switch {
		case err == nil:
			next.ServeHTTP(w, r.WithContext(WithIdentity(r.Context(), id)))
		case errors.Is(err, ErrInvalidToken):
			writeError(w, http.StatusUnauthorized, "invalid_token", "the session does not exist, has expired or was revoked; log in again", 0)
		case errors.As(err, &e):
			writeError(w, http.StatusServiceUnavailable, "unavailable", "authentication is unavailable; retry shortly", e.RetryAfter)
		default:
			writeError(w, http.StatusServiceUnavailable, "unavailable", "authentication is unavailable; retry shortly", 0)
		}
	})
}

// RequireRole lets a request through only when Middleware's identity
// holds one of roles: 403 forbidden otherwise (401 if Middleware did not
// run before it).
func RequireRole(roles ...string) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			id, ok := IdentityFrom(r.Context())
			if !ok {
				writeError(w, http.StatusUnauthorized, "missing_token", "send Authorization: Bearer <token>", 0)
				return
			}
			for _, role := range roles {
				if id.HasRole(role) {
					next.ServeHTTP(w, r)
					return
				}
			}
			writeError(w, http.StatusForbidden, "forbidden", "the session holds none of the roles this resource requires", 0)
		})
	}
}

func bearerToken(r *http.Request) (string, bool) {
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	token = strings.TrimSpace(token)
	return token, token != ""
}

func writeError(w http.ResponseWriter, status int, code, message string, retryAfter time.Duration) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	if status == http.StatusUnauthorized {
		// The service's challenge (RFC 6750 §3): an error code only when a
		// token was presented (§3.1).
		challenge := `Bearer realm="auth"`
		if code == "invalid_token" {
			challenge += `, error="invalid_token"`
		}
		h.Set("WWW-Authenticate", challenge)
	}
	if status == http.StatusServiceUnavailable {
		h.Set("Retry-After", strconv.Itoa(max(1, int((retryAfter+time.Second-1)/time.Second))))
	}
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": code, "message": message})
}
