package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/authplatform/auth-platform/cmd/auth-service/client"
)

// service is a stand-in for the auth service: one user, sessions by token.
type service struct {
	mu       sync.Mutex
	sessions map[string]bool
	down     bool
	shed     int // logins to shed with 503 and Retry-After before judging one
	logins   int
}

const token = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" // 43 base64url characters

func (s *service) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.down {
		w.WriteHeader(http.StatusServiceUnavailable)
		return
	}
	auth := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
	switch r.URL.Path {
	case "/v1/login":
		s.logins++
		if s.shed > 0 {
			s.shed--
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		var c struct{ Username, Password string }
		_ = json.NewDecoder(r.Body).Decode(&c)
		if c.Username != "ada" || c.Password != "pw" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		s.sessions[token] = true
		_ = json.NewEncoder(w).Encode(map[string]any{"token": token, "expiresAt": time.Now().Add(time.Hour)})
	case "/v1/session":
		if !s.sessions[auth] {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"user": map[string]any{"id": 7, "username": "ada"}, "roles": []string{"user"}, "expiresAt": time.Now().Add(time.Hour)})
	case "/v1/logout":
		delete(s.sessions, auth)
		w.WriteHeader(http.StatusNoContent)
	}
}

func TestTheAppAnswersThroughTheClient(t *testing.T) {
	svc := &service{sessions: map[string]bool{}}
	backend := httptest.NewServer(svc)
	defer backend.Close()
	auth, err := client.New(client.Config{BaseURL: backend.URL, Attempts: 2, BackoffBase: time.Millisecond, BackoffMax: time.Millisecond})
	require.NoError(t, err)
	app := httptest.NewServer(newApp(auth, 5*time.Second))
	defer app.Close()

	do := func(method, path, tok, body string) (*http.Response, map[string]any) {
		req, err := http.NewRequest(method, app.URL+path, strings.NewReader(body))
		require.NoError(t, err)
		if tok != "" {
			req.Header.Set("Authorization", "Bearer "+tok)
		}
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		var m map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&m)
		return resp, m
	}

	resp, _ := do(http.MethodPost, "/app/login", "", `{"username":"ada","password":"wrong"}`)
	assert.Equal(t, http.StatusUnauthorized, resp.StatusCode, "wrong credentials")
	resp, body := do(http.MethodPost, "/app/login", "", `{"username":"ada","password":"pw"}`)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, token, body["token"], "the drill's load reads the token from the login's answer")

	resp, body = do(http.MethodGet, "/app/session", token, "")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, "ada", body["username"])

	// The service down: the session validated before stands (stale), the
	// logout cannot be done and says so.
	svc.mu.Lock()
	svc.down = true
	svc.mu.Unlock()
	resp, _ = do(http.MethodPost, "/app/logout", token, "")
	assert.Equal(t, http.StatusServiceUnavailable, resp.StatusCode)
	assert.NotEmpty(t, resp.Header.Get("Retry-After"))
	svc.mu.Lock()
	svc.down = false
	svc.mu.Unlock()

	resp, _ = do(http.MethodPost, "/app/logout", token, "")
	assert.Equal(t, http.StatusNoContent, resp.StatusCode)
	resp, _ = do(http.MethodGet, "/app/session", token, "")
	assert.Equal(t, http.StatusUnauthorized, resp.StatusCode, "a logged-out session is refused at once")
	resp, _ = do(http.MethodGet, "/app/session", "", "")
	assert.Equal(t, http.StatusUnauthorized, resp.StatusCode, "no token")

	resp, body = do(http.MethodGet, "/app/stats", "", "")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Positive(t, body["Calls"], "the drill reads the client's counters by their field names")
	assert.Positive(t, body["FailedAttempts"])
}

func TestAShedLoginIsRetriedAfterRetryAfterWithinTheBudget(t *testing.T) {
	for _, c := range []struct {
		budget time.Duration
		status int
		logins int
	}{
		{5 * time.Second, http.StatusOK, 2},                        // shed, then judged after the wait
		{500 * time.Millisecond, http.StatusServiceUnavailable, 1}, // no time to wait: the user is told to retry
	} {
		svc := &service{sessions: map[string]bool{}, shed: 1}
		backend := httptest.NewServer(svc)
		auth, err := client.New(client.Config{BaseURL: backend.URL})
		require.NoError(t, err)
		app := httptest.NewServer(newApp(auth, c.budget))
		resp, err := http.Post(app.URL+"/app/login", "application/json", strings.NewReader(`{"username":"ada","password":"pw"}`))
		require.NoError(t, err)
		resp.Body.Close()
		assert.Equal(t, c.status, resp.StatusCode, "budget %v", c.budget)
		svc.mu.Lock()
		assert.Equal(t, c.logins, svc.logins, "budget %v", c.budget)
		svc.mu.Unlock()
		app.Close()
		backend.Close()
	}
}
