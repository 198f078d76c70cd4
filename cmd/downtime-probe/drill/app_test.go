package drill

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestAppScenariosAreTheirDisruptionsBehindAnApplication(t *testing.T) {
	tm := devStack().Scaled(6)
	for app, plain := range map[string]string{"app-zone-loss": "zone-loss", "app-redis-failover": "redis-failover"} {
		t.Run(app, func(t *testing.T) {
			a, err := LookupScenario(app)
			require.NoError(t, err)
			p, err := LookupScenario(plain)
			require.NoError(t, err)
			assert.True(t, a.App, "the load goes to the application")
			assert.False(t, p.App, "the service's own scenario stays raw")
			assert.Equal(t, ExpectNoLoss, a.Expect, "the application's users see no failure")
			assert.Equal(t, p.Disruption, a.Disruption, "the same disruption as %s", plain)
			assert.Equal(t, p.Readiness, a.Readiness)
			assert.Equal(t, p.SingleReplica, a.SingleReplica)
			assert.Equal(t, p.PreStop(tm), a.PreStop(tm))
			assert.Equal(t, p.Estimate(tm, 3), a.Estimate(tm, 3))
		})
	}
}

func TestTheAppsTimeoutsOutlastARedisFailoverWithinTheLoadsTimeout(t *testing.T) {
	cfg := LoadConfig{}
	cfg.defaults()
	assert.Greater(t, AppAttemptTimeout, 4300*time.Millisecond, "an attempt outlasts the local promotion (3.4-4.3 s)")
	assert.GreaterOrEqual(t, AppCallTimeout, AppAttemptTimeout)
	assert.Less(t, AppCallTimeout, cfg.Timeout, "the application answers before the load gives up")
	assert.Equal(t, []string{"-listen", "127.0.0.1:1", "-service", "http://lb", "-timeout", "8s", "-call-timeout", "9s"},
		AppArgs("127.0.0.1:1", "http://lb"))
}

func TestTheLoadRoutesEachOperation(t *testing.T) {
	app := LoadConfig{BaseURL: "http://app/", API: AppAPI, FinalURL: "http://lb"}
	app.defaults()
	raw := LoadConfig{BaseURL: "http://lb"}
	raw.defaults()
	for _, c := range []struct {
		op, path      string
		viaApp, viaLB string
	}{
		{OpLogin, LoginPath, "http://app/app/login", "http://lb/v1/login"},
		{OpCheck, SessionPath, "http://app/app/session", "http://lb/v1/session"},
		{OpCarried, SessionPath, "http://app/app/session", "http://lb/v1/session"},
		{OpLogout, LogoutPath, "http://app/app/logout", "http://lb/v1/logout"},
		// The service's own word at the end.
		{OpFinal, SessionPath, "http://lb/v1/session", "http://lb/v1/session"},
		{OpFinalLogin, LoginPath, "http://lb/v1/login", "http://lb/v1/login"},
	} {
		assert.Equal(t, c.viaApp, app.route(c.op, c.path), "%s in front of an application", c.op)
		assert.Equal(t, c.viaLB, raw.route(c.op, c.path), "%s on the service", c.op)
	}
}

// pathCounter answers the drill's API on either side and counts the
// requests by path.
type pathCounter struct {
	mu    sync.Mutex
	paths map[string]int
	n     int
}

func (p *pathCounter) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	p.paths[r.Method+" "+r.URL.Path]++
	p.n++
	n := p.n
	p.mu.Unlock()
	switch {
	case strings.HasSuffix(r.URL.Path, "/login"):
		_ = json.NewEncoder(w).Encode(map[string]any{"token": strings.Repeat("t", 40) + string(rune('a'+n%26))})
	case strings.HasSuffix(r.URL.Path, "/logout"):
		w.WriteHeader(http.StatusNoContent)
	default:
		w.WriteHeader(http.StatusOK)
	}
}

func (p *pathCounter) count() map[string]int {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := map[string]int{}
	for k, v := range p.paths {
		out[k] = v
	}
	return out
}

func TestALoadInFrontOfAnApplicationAsksTheServiceOnlyAtTheEnd(t *testing.T) {
	app, svc := &pathCounter{paths: map[string]int{}}, &pathCounter{paths: map[string]int{}}
	appSrv, svcSrv := httptest.NewServer(app), httptest.NewServer(svc)
	defer appSrv.Close()
	defer svcSrv.Close()
	users := []Credentials{{"u1", "p"}, {"u2", "p"}, {"u3", "p"}}
	load := NewLoad(LoadConfig{BaseURL: appSrv.URL, API: AppAPI, FinalURL: svcSrv.URL, Rate: 500, Users: users,
		LoginShare: 0.2, LogoutShare: 0.2})
	ctx := context.Background()
	require.NoError(t, load.CreateCarried(ctx, 4))
	runCtx, stop := context.WithTimeout(ctx, 300*time.Millisecond)
	load.Run(runCtx)
	stop()
	assert.Zero(t, load.ValidateCarried(ctx))
	failed, _ := load.FinalLogins(ctx)
	assert.Zero(t, failed)

	a := app.count()
	assert.Equal(t, map[string]int{"GET /v1/session": 4, "POST /v1/login": 3}, svc.count(),
		"the service sees only the final check of each carried session and each user's final login")
	for path := range a {
		assert.Contains(t, []string{"POST /app/login", "GET /app/session", "POST /app/logout"}, path)
	}
	assert.GreaterOrEqual(t, a["POST /app/login"], 4, "the carried sessions' logins and the load's")
	assert.Positive(t, a["GET /app/session"])
	for _, r := range load.Records() {
		assert.False(t, r.Failed(), "%+v", r)
	}
}
