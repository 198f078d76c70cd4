package httpapi

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/authplatform/auth-platform/cmd/auth-service/internal/health"
	"github.com/authplatform/auth-platform/cmd/auth-service/internal/metrics"
)

func testAPI() *API {
	return &API{Readiness: &health.Readiness{MaxBusy: 2}, Monitor: &health.Monitor{}, Metrics: metrics.New(),
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), RequestTimeout: time.Second}
}

func get(h http.Handler, path string) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
	return rec
}

// Readiness is this pod's state only: starting until initialised,
// overloaded past the busy cap (requests waiting on a dependency do not
// count), shutting down after SIGTERM; the body is the status and nothing
// else.
func TestReadinessIsThePodsOwnState(t *testing.T) {
	a := testAPI()
	pub := a.Public()
	var leave []func()
	steps := []struct {
		name   string
		do     func()
		status string
		code   int
	}{
		{"before initialisation", func() { a.Readiness.SetPending("reaching postgres-writer") }, "starting", 503},
		{"initialised", a.Readiness.SetInitialised, "ok", 200},
		{"at the busy cap", func() { leave = append(leave, a.Readiness.Enter(), a.Readiness.Enter()) }, "ok", 200},
		{"past it", func() { leave = append(leave, a.Readiness.Enter()) }, "overloaded", 503},
		{"one of them waits on a dependency", func() { leave = append(leave, a.Readiness.Wait()) }, "ok", 200},
		{"requests end", func() {
			for _, f := range leave {
				f()
			}
		}, "ok", 200},
		{"SIGTERM", a.Readiness.SetShuttingDown, "shutting_down", 503},
	}
	for _, s := range steps {
		s.do()
		rec := get(pub, "/health")
		assert.Equal(t, s.code, rec.Code, s.name)
		assert.JSONEq(t, `{"status":"`+s.status+`"}`, rec.Body.String(), s.name)
		assert.Equal(t, http.StatusOK, get(pub, "/health/live").Code, "liveness checks nothing: %s", s.name)
	}
}

func TestAPIAnswers503UntilInitialised(t *testing.T) {
	a := testAPI()
	rec := get(a.Public(), "/v1/session")
	assert.Equal(t, http.StatusServiceUnavailable, rec.Code)
	assert.Equal(t, "1", rec.Header().Get("Retry-After"))
	assert.Equal(t, "unavailable", decode(t, rec)["error"])
}

// Only the API, readiness and liveness on the traffic port; metrics and
// the dependencies' state on the metrics port, and nothing else there.
func TestPortsServeWhatTheContractSays(t *testing.T) {
	a := testAPI()
	a.Readiness.SetInitialised()
	pub, internal := a.Public(), a.Internal()
	for _, c := range []struct {
		h    http.Handler
		path string
		code int
	}{
		{pub, "/metrics", 404},
		{pub, "/health", 200},
		{pub, "/health/live", 200},
		{internal, "/metrics", 200},
		{internal, "/health", 200},
		{internal, "/health/live", 404},
		{internal, "/v1/session", 404},
		{internal, "/v1/login", 404},
	} {
		assert.Equal(t, c.code, get(c.h, c.path).Code, c.path)
	}
	rec := get(internal, "/health")
	body := decode(t, rec)
	assert.Equal(t, "ok", body["status"])
	assert.Equal(t, "initialised, serving", body["reason"])
	assert.Equal(t, []any{}, body["dependencies"], "empty before the first round, never null")
	assert.Contains(t, get(internal, "/metrics").Body.String(), `auth_health_checks_total{result="ok"}`)
}

func decode(t *testing.T, rec *httptest.ResponseRecorder) map[string]any {
	t.Helper()
	var m map[string]any
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &m), rec.Body.String())
	return m
}
