package httpapi

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/authplatform/auth-platform/cmd/auth-service/internal/session"
)

// fakeSessions knows the sessions in its map; "down" is a token whose
// lookup fails as Redis would.
type fakeSessions map[string]session.Data

func (f fakeSessions) Epoch(context.Context, string) (int64, bool) { return 0, true }

func (f fakeSessions) Create(context.Context, session.Data, int64, bool) (string, session.Data, error) {
	return "", session.Data{}, errors.New("not here")
}

func (f fakeSessions) Revoke(context.Context, string, string) (int, error) {
	return 0, errors.New("not here")
}

func (f fakeSessions) Get(_ context.Context, token string) (session.Data, error) {
	if token == "down" {
		return session.Data{}, errors.New("redis: i/o timeout")
	}
	d, ok := f[token]
	if !ok {
		return session.Data{}, session.ErrNotFound
	}
	return d, nil
}

func (f fakeSessions) Delete(context.Context, string) error { return nil }

// The gateway check takes GET /v1/session's decision for any method and
// any path under /v1/authz (Envoy sends the original method, and the
// original path after its prefix), and a 200 carries the identity in
// headers.
func TestAuthzIsTheSessionsDecisionWithTheIdentityInHeaders(t *testing.T) {
	a := testAPI()
	a.Readiness.SetInitialised()
	expires := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	a.Sessions = fakeSessions{
		"alice": {UserID: 7, Username: "alice", Roles: []string{"reader", "writer"}, Permissions: []string{"users:read"}, ExpiresAt: expires,
			CreatedAt: expires.Add(-time.Hour), IdleExpiresAt: expires.Add(-time.Minute)},
		"zoe": {UserID: 8, Username: "Zoë, 50%", Roles: nil, ExpiresAt: expires},
	}
	pub := a.Public()
	for _, tc := range []struct {
		name, method, path, token, requireRole string
		status                                 int
		headers                                map[string]string
	}{
		{"GET, the bare path (NGINX, Traefik)", "GET", "/v1/authz", "alice", "", 200, map[string]string{
			"X-Auth-User-Id": "7", "X-Auth-User": "alice", "X-Auth-Roles": "reader,writer", "X-Auth-Permissions": "users:read",
			"X-Auth-Expires-At": "2030-01-02T03:04:05Z",
		}},
		{"POST under the prefix (Envoy)", "POST", "/v1/authz/orders/42?x=1", "alice", "", 200, map[string]string{"X-Auth-User": "alice"}},
		{"the application's root (Envoy: the prefix and \"/\")", "GET", "/v1/authz/", "alice", "", 200, map[string]string{"X-Auth-User": "alice"}},
		{"an unclean original path, answered, not redirected", "GET", "/v1/authz/a//b/../c", "alice", "", 200, map[string]string{"X-Auth-User": "alice"}},
		{"DELETE", "DELETE", "/v1/authz/orders/42", "alice", "", 200, map[string]string{"X-Auth-User-Id": "7"}},
		{"TRACE", "TRACE", "/v1/authz/x", "alice", "", 200, map[string]string{"X-Auth-User-Id": "7"}},
		{"a name and no roles, escaped", "PUT", "/v1/authz/", "zoe", "", 200, map[string]string{
			"X-Auth-User": "Zo%C3%AB%2C%2050%25", "X-Auth-Roles": "", "X-Auth-Permissions": "",
		}},
		{"one of the required roles", "GET", "/v1/authz", "alice", "admin, writer", 200, map[string]string{"X-Auth-Roles": "reader,writer"}},
		{"none of the required roles", "GET", "/v1/authz", "alice", "admin", 403, map[string]string{"X-Auth-User": ""}},
		{"no token", "GET", "/v1/authz", "", "", 401, map[string]string{"WWW-Authenticate": `Bearer realm="auth"`, "X-Auth-User": ""}},
		{"an unknown token", "PATCH", "/v1/authz/x", "nobody", "", 401, map[string]string{"X-Auth-User": ""}},
		{"the store cannot answer", "GET", "/v1/authz", "down", "", 503, map[string]string{"X-Auth-User": ""}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest(tc.method, tc.path, nil)
			if tc.token != "" {
				r.Header.Set("Authorization", "Bearer "+tc.token)
			}
			if tc.requireRole != "" {
				r.Header.Set(RequireRoleHeader, tc.requireRole)
			}
			rec := httptest.NewRecorder()
			pub.ServeHTTP(rec, r)
			require.Equal(t, tc.status, rec.Code, rec.Body.String())
			for k, v := range tc.headers {
				assert.Equal(t, v, rec.Header().Get(k), k)
			}
			assert.Equal(t, "application/json", rec.Header().Get("Content-Type"))
			assert.Equal(t, "no-store", rec.Header().Get("Cache-Control"))
		})
	}
	// Methods OpenAPI cannot name are refused.
	r := httptest.NewRequest("BREW", "/v1/authz/pot", nil)
	r.Header.Set("Authorization", "Bearer alice")
	rec := httptest.NewRecorder()
	pub.ServeHTTP(rec, r)
	assert.Equal(t, http.StatusMethodNotAllowed, rec.Code)
	assert.Equal(t, "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS, TRACE", rec.Header().Get("Allow"))

	// A session's body is /v1/session's, byte for byte.
	for _, path := range []string{"/v1/authz", "/v1/session"} {
		r := httptest.NewRequest(http.MethodGet, path, nil)
		r.Header.Set("Authorization", "Bearer alice")
		rec := httptest.NewRecorder()
		pub.ServeHTTP(rec, r)
		assert.JSONEq(t, `{"user":{"id":7,"username":"alice"},"roles":["reader","writer"],"permissions":["users:read"],"authTime":"2030-01-02T02:04:05Z","expiresAt":"2030-01-02T03:04:05Z","idleExpiresAt":"2030-01-02T03:03:05Z"}`, rec.Body.String(), path)
	}
}

func TestHeaderEscapeKeepsPrintableASCIIButCommaAndPercent(t *testing.T) {
	for in, want := range map[string]string{
		"alice":         "alice",
		"users:read":    "users:read",
		"a,b":           "a%2Cb",
		"100%":          "100%25",
		"two words":     "two%20words",
		"Zoë":           "Zo%C3%AB",
		"tab\there":     "tab%09here",
		"\x7f":          "%7F",
		`"quoted";x=1`:  `"quoted";x=1`,
		"!~":            "!~",
		"":              "",
		"role/with/sla": "role/with/sla",
	} {
		assert.Equal(t, want, headerEscape(in), in)
	}
}
