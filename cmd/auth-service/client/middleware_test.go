package client

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The middleware lets a request through only on the service's word, with
// the identity in its context; otherwise it answers 401 or 503 itself and
// the handler never runs.
func TestMiddlewarePutsTheIdentityInTheContextAndFailsClosed(t *testing.T) {
	f := newFakeService(t)
	c, _ := newTestClient(t, f, Config{CacheTTL: -1})
	reader, admin := tok("reader"), tok("admin")
	f.add(reader, "rita", []string{"reader"}, far)
	f.add(admin, "ada", []string{"admin", "reader"}, far)
	var seen []string
	app := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, ok := IdentityFrom(r.Context())
		require.True(t, ok)
		seen = append(seen, id.Username)
		w.WriteHeader(http.StatusNoContent)
	})
	mux := http.NewServeMux()
	mux.Handle("/orders", c.Middleware(app))
	mux.Handle("/admin", c.Middleware(RequireRole("admin")(app)))

	for _, tc := range []struct {
		name, path, auth, mode string
		status                 int
		code, retryAfter       string
		seen                   string
	}{
		{"a valid token", "/orders", "Bearer " + reader, "", 204, "", "", "rita"},
		{"no token", "/orders", "", "", 401, "missing_token", "", ""},
		{"another scheme", "/orders", "Basic " + reader, "", 401, "missing_token", "", ""},
		{"a revoked or unknown token", "/orders", "Bearer " + tok("gone"), "", 401, "invalid_token", "", ""},
		{"a malformed token", "/orders", "Bearer ../etc", "", 401, "invalid_token", "", ""},
		{"the service cannot answer", "/orders", "Bearer " + reader, "503", 503, "unavailable", "2", ""},
		{"a role the session holds", "/admin", "Bearer " + admin, "", 204, "", "", "ada"},
		{"a role it does not", "/admin", "Bearer " + reader, "", 403, "forbidden", "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			seen = nil
			f.set(tc.mode)
			defer f.set("")
			r := httptest.NewRequest(http.MethodGet, tc.path, nil)
			if tc.auth != "" {
				r.Header.Set("Authorization", tc.auth)
			}
			rec := httptest.NewRecorder()
			mux.ServeHTTP(rec, r)
			assert.Equal(t, tc.status, rec.Code, rec.Body.String())
			if tc.code != "" {
				assert.JSONEq(t, `"`+tc.code+`"`, jsonString(rec.Body.Bytes(), "error"))
			}
			assert.Equal(t, tc.retryAfter, rec.Header().Get("Retry-After"))
			if tc.code == "missing_token" {
				assert.Equal(t, `Bearer realm="auth"`, rec.Header().Get("WWW-Authenticate"))
			}
			if tc.code == "invalid_token" {
				assert.Equal(t, `Bearer realm="auth", error="invalid_token"`, rec.Header().Get("WWW-Authenticate"))
			}
			if tc.seen == "" {
				assert.Empty(t, seen, "the handler did not run")
			} else {
				assert.Equal(t, []string{tc.seen}, seen)
			}
		})
	}
}

func TestRequireRoleWithoutTheMiddlewareRefuses(t *testing.T) {
	h := RequireRole("admin")(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { t.Error("ran") }))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
	assert.Equal(t, http.StatusUnauthorized, rec.Code)
}

func jsonString(b []byte, field string) string {
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	s, _ := m[field].(string)
	return `"` + s + `"`
}
