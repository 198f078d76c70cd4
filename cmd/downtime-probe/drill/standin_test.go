package drill

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestMain lets the test binary run as a stand-in auth service: the
// drill's HAProxy and orchestration are tested on it without Redis and
// PostgreSQL (the end-to-end test runs the real service).
func TestMain(m *testing.M) {
	if os.Getenv("DRILL_STANDIN") == "1" {
		os.Exit(standIn())
	}
	os.Exit(m.Run())
}

// standIn serves the auth API the way the real service behaves around
// SIGTERM (/health 503 at once, then http.Server.Shutdown). Its sessions
// are HMACs under a key all instances share, so any instance validates a
// session another one issued, as with the Redis Cluster.
func standIn() int {
	key := []byte(os.Getenv("STANDIN_KEY"))
	sign := func(id string) string {
		mac := hmac.New(sha256.New, key)
		mac.Write([]byte(id))
		return id + "." + base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
	}
	var serial atomic.Int64
	var stopping atomic.Bool
	mux := http.NewServeMux()
	exists := func(env string) bool {
		_, err := os.Stat(os.Getenv(env))
		return os.Getenv(env) != "" && err == nil
	}
	mux.HandleFunc("/health", func(w http.ResponseWriter, _ *http.Request) {
		if stopping.Load() || exists("STANDIN_SICK_FILE") {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, `{"status":"ok"}`)
	})
	// The metrics port's detailed health: a shared dependency goes down
	// for every instance at once while STANDIN_DEP_DOWN_FILE exists; the
	// traffic port's /health does not care, as the service's does not.
	metrics := http.NewServeMux()
	metrics.HandleFunc("/health", func(w http.ResponseWriter, _ *http.Request) {
		state := "up"
		if exists("STANDIN_DEP_DOWN_FILE") {
			state = "down"
		}
		fmt.Fprintf(w, `{"status":"ok","dependencies":[{"dependency":"postgres-writer","shard":"","state":"up"},{"dependency":"redis","shard":"0-5460","state":%q}]}`+"\n", state)
	})
	go func() { _ = http.ListenAndServe("127.0.0.1:"+os.Getenv("METRICS_PORT"), metrics) }()
	mux.HandleFunc(LivePath, func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "ok") })
	mux.HandleFunc("POST "+LoginPath, func(w http.ResponseWriter, _ *http.Request) {
		id := fmt.Sprintf("%s-%d", os.Getenv("PORT"), serial.Add(1))
		_ = json.NewEncoder(w).Encode(map[string]string{"token": sign(id)})
	})
	valid := func(r *http.Request) bool {
		tok := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
		id, _, _ := strings.Cut(tok, ".")
		return hmac.Equal([]byte(sign(id)), []byte(tok))
	}
	mux.HandleFunc("GET "+SessionPath, func(w http.ResponseWriter, r *http.Request) {
		if !valid(r) {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		fmt.Fprintln(w, `{"user":{"id":1}}`)
	})
	mux.HandleFunc("POST "+LogoutPath, func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusNoContent)
	})
	srv := &http.Server{Addr: "127.0.0.1:" + os.Getenv("PORT"), Handler: mux}
	term := make(chan os.Signal, 1)
	signal.Notify(term, syscall.SIGTERM)
	go func() {
		<-term
		stopping.Store(true)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	}()
	if err := srv.ListenAndServe(); err != http.ErrServerClosed {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	time.Sleep(50 * time.Millisecond) // let Shutdown finish the last responses
	return 0
}

// requireParts skips when a Debian package the drill needs is missing:
// `go test ./...` must run on a machine with Go only. CI sets
// DRILL_REQUIRE_PARTS=1 to make a missing package a failure instead.
func requireParts(t *testing.T, bins ...string) {
	t.Helper()
	for _, b := range bins {
		if _, err := exec.LookPath(b); err != nil {
			if _, serr := os.Stat("/usr/sbin/" + b); serr == nil {
				continue
			}
			msg := fmt.Sprintf("%s not installed (Debian: apt-get install haproxy redis-server postgresql)", b)
			if os.Getenv("DRILL_REQUIRE_PARTS") == "1" {
				t.Fatal(msg)
			}
			t.Skip(msg)
		}
	}
}

// standInFleet starts HAProxy and a fleet of stand-in pods (this test
// binary, with extra environment) under the dev stack's budget divided by
// scale; everything is torn down with the test.
func standInFleet(t *testing.T, scale float64, env ...string) (*Fleet, *HAProxy, int, Timings, StackTiming) {
	t.Helper()
	requireParts(t, "haproxy")
	st, err := LoadStackTiming(repoRoot, "dev")
	require.NoError(t, err)
	tm := st.Scaled(scale)
	dir, err := os.MkdirTemp("", "drl")
	require.NoError(t, err)
	t.Cleanup(func() { os.RemoveAll(dir) })
	port, err := FreePort()
	require.NoError(t, err)
	lb, err := StartHAProxy(context.Background(), dir, port, tm)
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, lb.Close()) })
	exe, err := os.Executable()
	require.NoError(t, err)
	fleet := &Fleet{Bin: exe, LB: lb, Timings: tm, LogDir: dir, Env: func(p *Pod, port, metricsPort int) []string {
		return append([]string{"DRILL_STANDIN=1", fmt.Sprintf("PORT=%d", port), fmt.Sprintf("METRICS_PORT=%d", metricsPort)}, env...)
	}}
	t.Cleanup(func() { assert.NoError(t, fleet.Close()) })
	return fleet, lb, port, tm, st
}

// standInRig is HAProxy and stand-in pods under the dev stack's budget.
func standInRig(t *testing.T, scale float64, sc Scenario) (*Orchestrator, *Load, Timings, StackTiming) {
	t.Helper()
	fleet, _, port, tm, st := standInFleet(t, scale, "STANDIN_KEY=drill-test")
	fleet.Readiness = sc.Readiness
	o := &Orchestrator{Driver: fleet, Timings: tm, PreStop: sc.PreStop(tm), Replicas: sc.Replicas(st.Replicas), Zones: []string{"zone-a", "zone-b", "zone-c"}}
	t.Cleanup(func() { o.Close() })
	require.NoError(t, o.Up(context.Background(), "v1"))
	load := NewLoad(LoadConfig{BaseURL: fmt.Sprintf("http://127.0.0.1:%d", port), Rate: 300, Users: []Credentials{{"u", "p"}}})
	return o, load, tm, st
}

func driveStandIn(t *testing.T, name string, scale float64) *Report {
	sc := Scenarios[name]
	o, load, tm, st := standInRig(t, scale, sc)
	res, err := Drive(context.Background(), sc, tm, o, load, nil, 20, t.Logf)
	require.NoError(t, err)
	r := &Report{Scenario: name, CarriedSessions: load.Carried(), Dropped: load.Dropped(), Events: o.Events(),
		Timings: NewTimingsReport(st, tm, o.PreStop, o.Replicas, 300)}
	Summarize(r, load.Records(), res.Start, res.End, res.Lost, res.Allowed)
	Judge(r, sc.Expect)
	var sb strings.Builder
	r.WriteSummary(&sb)
	t.Log(sb.String())
	return r
}

// TestHAProxyDrillOnStandIns runs the drill's HAProxy, orchestration and
// load on stand-in pods, with the dev stack's budget divided by 30
// (propagation 1 s, preStop 2 s): the stack's preStop loses nothing, and
// the no-prestop control, which differs only in the preStop sleep, fails
// requests — so the zero is measured, not assumed.
func TestHAProxyDrillOnStandIns(t *testing.T) {
	if testing.Short() {
		t.Skip("runs for ~20 s")
	}
	t.Run("evictions", func(t *testing.T) {
		r := driveStandIn(t, "evictions", 30)
		assert.True(t, r.Pass, r.Verdict)
		assert.Equal(t, 0, r.Failed)
		assert.Greater(t, r.Requests, 2000, "300 req/s over several seconds")
	})
	t.Run("no-prestop", func(t *testing.T) {
		r := driveStandIn(t, "no-prestop", 30)
		assert.True(t, r.Pass, r.Verdict)
		assert.Greater(t, r.Failed, 0)
		assert.Equal(t, 0, r.LostSessions, "the sessions live outside the pods")
	})
}

// twoSickablePods starts two stand-in pods behind HAProxy whose traffic
// /health fails while the returned file exists.
func twoSickablePods(t *testing.T) (lb *HAProxy, port int, sick string) {
	sick = filepath.Join(t.TempDir(), "sick")
	fleet, lb, port, tm, _ := standInFleet(t, 30, "STANDIN_KEY=k", "STANDIN_SICK_FILE="+sick)
	o := &Orchestrator{Driver: fleet, Timings: tm, Replicas: 2, Zones: []string{"zone-a", "zone-b"}}
	t.Cleanup(func() { o.Close() })
	require.NoError(t, o.Up(context.Background(), "v1"))
	return lb, port, sick
}

// failEveryCheck makes every target fail the load balancer's health
// check and waits until HAProxy marks them all down.
func failEveryCheck(t *testing.T, lb *HAProxy, sick string) {
	require.NoError(t, os.WriteFile(sick, nil, 0o600))
	require.NoError(t, pollUntil(context.Background(), 10*time.Second, 20*time.Millisecond, func() error {
		servers, err := lb.Servers()
		if err != nil {
			return err
		}
		for _, s := range servers {
			if !strings.HasSuffix(s.Name, "-fo") && s.Status != "DOWN" {
				return fmt.Errorf("%s is %s", s.Name, s.Status)
			}
		}
		return nil
	}), "every target fails its check")
}

// TestHAProxyFailsOpenLikeAnALB: when every registered target fails its
// health check at once, an ALB routes to all of them; so does the drill's
// HAProxy, through the targets' backup twins.
func TestHAProxyFailsOpenLikeAnALB(t *testing.T) {
	lb, port, sick := twoSickablePods(t)
	failEveryCheck(t, lb, sick)
	assert.Equal(t, map[int]int{200: 20}, getStatuses(t, port, 20), "all targets unhealthy: the load balancer fails open")
}

// get sends n requests through the load balancer and counts the answers
// by status.
func getStatuses(t *testing.T, port, n int) map[int]int {
	t.Helper()
	out := map[int]int{}
	client := &http.Client{Timeout: 5 * time.Second}
	for range n {
		resp, err := client.Post(fmt.Sprintf("http://127.0.0.1:%d%s", port, LoginPath), "application/json", strings.NewReader(`{}`))
		require.NoError(t, err)
		resp.Body.Close()
		out[resp.StatusCode]++
	}
	return out
}

// TestNoRegisteredTargetAnswers503: an ALB whose target group has no
// registered target answers 503, and its fail-open covers registered
// targets only. The drill's HAProxy does the same: with every target
// failing its check it routes to them all (the backup twins), but once
// every target is drained or removed it answers 503, unhealthy or not.
func TestNoRegisteredTargetAnswers503(t *testing.T) {
	lb, port, sick := twoSickablePods(t)
	assert.Equal(t, map[int]int{200: 10}, getStatuses(t, port, 10), "registered and healthy")
	failEveryCheck(t, lb, sick)
	assert.Equal(t, map[int]int{200: 10}, getStatuses(t, port, 10), "registered, all unhealthy: fail-open")

	for _, target := range []string{"auth-1", "auth-2"} {
		require.NoError(t, lb.Drain(target))
	}
	assert.Equal(t, map[int]int{503: 10}, getStatuses(t, port, 10), "every target draining: none registered, no fail-open")
	servers, err := lb.Servers()
	require.NoError(t, err)
	twins := 0
	for _, s := range servers {
		if strings.HasSuffix(s.Name, "-fo") {
			twins++
			assert.Equal(t, "MAINT", s.Status, "%s: a draining target's fail-open twin is out of service", s.Name)
		}
	}
	assert.Equal(t, 2, twins)

	require.NoError(t, os.Remove(sick))
	for _, target := range []string{"auth-1", "auth-2"} {
		require.NoError(t, lb.Remove(target))
	}
	servers, err = lb.Servers()
	require.NoError(t, err)
	assert.Empty(t, servers, "targets and twins removed")
	assert.Equal(t, map[int]int{503: 10}, getStatuses(t, port, 10), "no target at all, healthy pods or not")
}

// fileFaults stands in for a shared dependency's outage: while the file
// exists, every stand-in's detailed health names a dependency down (its
// traffic /health does not care, as the service's does not).
type fileFaults struct {
	file string
	for_ time.Duration
}

func (f fileFaults) Inject(ctx context.Context, _ Disruption, c FaultClock) ([]Allowance, error) {
	from := c.Now()
	if err := os.WriteFile(f.file, nil, 0o600); err != nil {
		return nil, err
	}
	c.Record(EvDisrupt, "a shared dependency down")
	serr := sleep(ctx, f.for_)
	if err := os.Remove(f.file); err != nil {
		return nil, err
	}
	c.Record(EvRecovery, "dependency back")
	return []Allowance{{What: "logins while it was down", Window: Window{From: from - FaultSlack, To: c.Now() + FaultSlack},
		Ops: []string{OpLogin}}}, serr
}

// TestReadinessModelSeesASharedOutage: with the stack's readiness a
// dependency every pod shares can go down without a failed request; with
// a readiness that checks every dependency (the controls') the same
// outage turns every pod NotReady, the controller deregisters every
// target, and the load balancer answers 503 although every pod could
// serve: the model sees the outage the issue describes.
func TestReadinessModelSeesASharedOutage(t *testing.T) {
	if testing.Short() {
		t.Skip("runs for ~25 s")
	}
	for _, tc := range []struct {
		readiness Readiness
		expect    Expectation
	}{
		{ReadinessPod, ExpectConfinedFailures},
		{ReadinessEveryDependency, ExpectFailures},
	} {
		t.Run(string(tc.readiness), func(t *testing.T) {
			down := filepath.Join(t.TempDir(), "down")
			sc := Scenario{Name: "shared-outage-" + string(tc.readiness), Disruption: DisruptDBOutage, Expect: tc.expect,
				PreStop: stackPreStop, Readiness: tc.readiness}
			fleet, _, port, tm, st := standInFleet(t, 30, "STANDIN_KEY=k", "STANDIN_DEP_DOWN_FILE="+down)
			fleet.Readiness = tc.readiness
			o := &Orchestrator{Driver: fleet, Timings: tm, PreStop: tm.PreStopSleep, Replicas: st.Replicas, Zones: []string{"zone-a", "zone-b", "zone-c"}}
			t.Cleanup(func() { o.Close() })
			require.NoError(t, o.Up(context.Background(), "v1"))
			load := NewLoad(LoadConfig{BaseURL: fmt.Sprintf("http://127.0.0.1:%d", port), Rate: 300, Users: []Credentials{{"u", "p"}}})
			res, err := Drive(context.Background(), sc, tm, o, load, fileFaults{down, 3 * time.Second}, 20, t.Logf)
			require.NoError(t, err)
			r := &Report{Scenario: sc.Name, CarriedSessions: load.Carried(), Dropped: load.Dropped(), Events: o.Events(),
				Timings: NewTimingsReport(st, tm, o.PreStop, o.Replicas, 300)}
			Summarize(r, load.Records(), res.Start, res.End, res.Lost, res.Allowed)
			Judge(r, sc.Expect)
			var sb strings.Builder
			r.WriteSummary(&sb)
			t.Log(sb.String())
			assert.True(t, r.Pass, r.Verdict)
			notReady := 0
			for _, e := range r.Events {
				if e.What == EvNotReady {
					notReady++
				}
			}
			if tc.readiness == ReadinessPod {
				assert.Equal(t, 0, r.Failed)
				assert.Equal(t, 0, notReady, "no pod leaves the endpoints for a shared dependency")
			} else {
				assert.Equal(t, 3, notReady, "every pod turns NotReady at once")
				assert.Greater(t, r.FailedByClass["http_503"], 0, "no registered target: 503")
				assert.Equal(t, 0, r.LostSessions)
			}
		})
	}
}

// HAProxy on a port another process took between FreePort and its bind
// exits at start, and says so with ErrHAProxyExited, which the drill
// answers with another port (run.go).
func TestHAProxyOnATakenPortExitsWithErrHAProxyExited(t *testing.T) {
	requireParts(t, "haproxy")
	st, err := LoadStackTiming(repoRoot, "dev")
	require.NoError(t, err)
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer taken.Close()
	lb, err := StartHAProxy(context.Background(), t.TempDir(), taken.Addr().(*net.TCPAddr).Port, st.Scaled(30))
	if lb != nil {
		_ = lb.Close()
	}
	require.ErrorIs(t, err, ErrHAProxyExited)
}
