package drill

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/authplatform/auth-platform/components/authservice"
	"github.com/authplatform/auth-platform/tests/realparts"
)

// Options of one drill run.
type Options struct {
	// Root is the repository root (holding Pulumi.yaml).
	Root     string
	Stack    string
	Scenario Scenario
	// Scale divides the stack's timings; 0 picks DefaultScale.
	Scale float64
	// Rate of the load in requests per second; default 300.
	Rate float64
	// ServiceBin is the auth-service binary; empty builds cmd/auth-service
	// into the run's temp dir.
	ServiceBin string
	// AppBin is the application of the app-* scenarios; empty builds it
	// (app.go) into the run's temp dir.
	AppBin string
	// ServiceArgs are passed to every pod (tests' stand-ins use them).
	ServiceArgs []string
	// CarriedSessions created before the first disruption; default 30.
	CarriedSessions int
	// Log receives progress lines; nil discards them.
	Log io.Writer
	// KeepDir keeps the run's temp dir (logs, configs) for a post-mortem.
	KeepDir bool
}

// Users of the drill. The load logs each in at most once at a time (the
// service locks an account out after more than five attempts in flight
// without a success); 12 keep the login rate up while hashes are slow.
const drillUsers = 12

// Run brings up the real parts on loopback, runs the scenario under load
// and tears everything down, whatever happens. The error is for a drill
// that could not run; a scenario that missed its expectation is a report
// with Pass false.
func Run(ctx context.Context, opts Options) (_ *Report, err error) {
	logw := opts.Log
	if logw == nil {
		logw = io.Discard
	}
	var logMu sync.Mutex
	began := time.Now()
	logf := func(format string, args ...any) {
		logMu.Lock()
		defer logMu.Unlock()
		fmt.Fprintf(logw, "drill %6.1fs  %s\n", time.Since(began).Seconds(), fmt.Sprintf(format, args...))
	}

	st, err := LoadStackTiming(opts.Root, opts.Stack)
	if err != nil {
		return nil, err
	}
	sc := opts.Scenario
	scale := opts.Scale
	if scale <= 0 {
		scale = DefaultScale(st, sc)
	}
	t := st.Scaled(scale)
	replicas := sc.Replicas(st.Replicas)
	preStop := sc.PreStop(t)
	rate := opts.Rate
	if rate <= 0 {
		rate = 300
	}
	// Every missing part in one message, before anything starts.
	if err := errors.Join(realparts.Require("redis-server", "redis-cli", "initdb", "postgres", "pg_isready", "psql"), func() error {
		_, err := FindHAProxy()
		return err
	}()); err != nil {
		return nil, err
	}

	dir, err := os.MkdirTemp("", "drl")
	if err != nil {
		return nil, err
	}
	// The postgres user must reach its data dir below this one.
	_ = os.Chmod(dir, 0o711)
	var closers []func() error
	defer func() {
		for i := len(closers) - 1; i >= 0; i-- {
			if cerr := closers[i](); cerr != nil {
				logf("teardown: %v", cerr)
			}
		}
		if opts.KeepDir {
			logf("kept %s", dir)
		} else {
			_ = os.RemoveAll(dir)
		}
	}()

	bin := opts.ServiceBin
	if bin == "" {
		logf("building cmd/auth-service")
		bin = filepath.Join(dir, "auth-service")
		build := exec.CommandContext(ctx, "go", "build", "-C", filepath.Join(opts.Root, "cmd", "auth-service"), "-o", bin, ".")
		if out, err := build.CombinedOutput(); err != nil {
			return nil, fmt.Errorf("building cmd/auth-service: %v\n%s", err, out)
		}
	}

	appBin := opts.AppBin
	if sc.App && appBin == "" {
		logf("building %s/%s", AppModuleDir, AppPackage)
		if appBin, err = BuildApp(ctx, opts.Root, dir); err != nil {
			return nil, err
		}
	}

	logf("starting Redis Cluster (TLS, AUTH), PostgreSQL (TLS, SCRAM) and HAProxy on 127.0.0.1")
	ca, err := realparts.NewCA(filepath.Join(dir, "ca"))
	if err != nil {
		return nil, err
	}
	redisToken, dbPassword := secret(), secret()
	var (
		redis  *realparts.RedisCluster
		pg     *realparts.Postgres
		lb     *HAProxy
		wg     sync.WaitGroup
		errsMu sync.Mutex
		errs   []error
	)
	collect := func(e error) {
		if e != nil {
			errsMu.Lock()
			errs = append(errs, e)
			errsMu.Unlock()
		}
	}
	// realparts wants the parts' dirs to exist.
	for _, d := range []string{"redis", "pg"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o711); err != nil {
			return nil, err
		}
	}
	lbPort, err := FreePort()
	if err != nil {
		return nil, err
	}
	wg.Add(3)
	go func() {
		defer wg.Done()
		r, e := realparts.StartRedisCluster(ctx, realparts.RedisClusterOptions{Dir: filepath.Join(dir, "redis"), CA: ca, Password: redisToken})
		redis = r
		collect(e)
	}()
	go func() {
		defer wg.Done()
		p, e := realparts.StartPostgres(ctx, realparts.PostgresOptions{Dir: filepath.Join(dir, "pg"), CA: ca, User: "authsvc", Password: dbPassword, Database: "auth"})
		pg = p
		collect(e)
	}()
	go func() {
		defer wg.Done()
		// The port was free when picked, but Redis and PostgreSQL pick
		// theirs at the same moment: when HAProxy lost that race (CI saw
		// it exit at start once), it gets another port.
		h, e := StartHAProxy(ctx, dir, lbPort, t)
		for retry := 0; errors.Is(e, ErrHAProxyExited) && retry < 2; retry++ {
			p, perr := FreePort()
			if perr != nil {
				break
			}
			lbPort = p
			h, e = StartHAProxy(ctx, dir, lbPort, t)
		}
		lb = h
		collect(e)
	}()
	wg.Wait()
	// Register the closers of what did start, even if something failed.
	if redis != nil {
		closers = append(closers, redis.Close)
	}
	if pg != nil {
		closers = append(closers, pg.Close)
	}
	if lb != nil {
		closers = append(closers, lb.Close)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	// The pods dial PostgreSQL through endpoints, as Aurora's cluster
	// (writer) and reader endpoints: db-failover moves the writer's to a
	// promoted standby, which the reader's leads to from the start.
	faults := &PartsFaults{Redis: redis, PG: pg, CA: ca}
	readerTarget := pg.Addr()
	if sc.Disruption == DisruptDBFailover {
		logf("starting a hot standby of PostgreSQL")
		standby, err := pg.StartStandby(ctx)
		if err != nil {
			return nil, err
		}
		closers = append(closers, standby.Close)
		faults.Standby = standby
		readerTarget = standby.Addr()
	}
	if faults.Writer, err = realparts.NewEndpoint(pg.Addr()); err != nil {
		return nil, err
	}
	closers = append(closers, faults.Writer.Close)
	if faults.Reader, err = realparts.NewEndpoint(readerTarget); err != nil {
		return nil, err
	}
	closers = append(closers, faults.Reader.Close)

	secrets := filepath.Join(dir, "secrets")
	if err := os.MkdirAll(secrets, 0o700); err != nil {
		return nil, err
	}
	tokenFile, pwFile := filepath.Join(secrets, "redis-token"), filepath.Join(secrets, "db-password")
	faults.TokenFile, faults.PasswordFile = tokenFile, pwFile
	if err := os.WriteFile(tokenFile, []byte(redisToken), 0o600); err != nil {
		return nil, err
	}
	if err := os.WriteFile(pwFile, []byte(dbPassword), 0o600); err != nil {
		return nil, err
	}
	// The ConfigMap's variables, as the stack renders them, with the
	// drill's addresses; secrets and the CA from files (local-only
	// variables, never set by the stack).
	baseEnv := []string{
		"AWS_REGION=us-east-1",
		"DB_HOST=" + faults.Writer.Host(), "DB_PORT=" + strconv.Itoa(faults.Writer.Port()),
		// A pool of its own (the certificate names localhost too), on the
		// reader endpoint's port (local only: Aurora's share DB_PORT).
		"DB_READER_HOST=localhost", "DB_READER_PORT=" + strconv.Itoa(faults.Reader.Port()), "DB_NAME=" + pg.Database(),
		"DB_USER=" + pg.User(), "DB_PASSWORD_FILE=" + pwFile, "DB_CA_FILE=" + ca.CAFile,
		"REDIS_HOSTS=" + strings.Join(redis.Addrs(), ","), "REDIS_AUTH_TOKEN_FILE=" + tokenFile, "REDIS_CA_FILE=" + ca.CAFile,
		"CLUSTER_ENABLED=true", "REDIS_TLS=true",
		"SESSION_TTL_SECONDS=3600", "SESSION_IDLE_SECONDS=1800",
		// The migrate step's application role (issue 25); the pods keep
		// the master user, which the drill's questions do not depend on.
		"APP_DB_USER=auth_app", "APP_DB_PASSWORD_FILE=" + filepath.Join(secrets, "app-db-password"),
		// The request deadline is the stack's: it bounds one request and
		// is not part of the termination sequence.
		"REQUEST_TIMEOUT_SECONDS=" + strconv.Itoa(st.MaxRequestSeconds),
		// The shutdown allowance is scaled with the grace period it must
		// fit in (whole seconds, at least 1).
		"SHUTDOWN_TIMEOUT_SECONDS=" + strconv.Itoa(max(1, int(math.Ceil(t.Shutdown.Seconds())))),
	}
	envFor := func(port, metricsPort int) []string {
		return append(append([]string(nil), baseEnv...), "PORT="+strconv.Itoa(port), "METRICS_PORT="+strconv.Itoa(metricsPort))
	}

	logf("creating %d users", drillUsers)
	// The admin command reads the same environment; it does not listen.
	users, err := createUsers(ctx, bin, opts.ServiceArgs, envFor(8080, authservice.MetricsPort))
	if err != nil {
		return nil, err
	}

	fleet := &Fleet{
		Bin: bin, Args: opts.ServiceArgs, LB: lb, Timings: t, LogDir: dir, Readiness: sc.Readiness,
		Env: func(p *Pod, port, metricsPort int) []string {
			return append(envFor(port, metricsPort), "APP_VERSION="+p.Version)
		},
	}
	closers = append(closers, fleet.Close)
	orch := &Orchestrator{Driver: fleet, Timings: t, PreStop: preStop, Replicas: replicas, Zones: []string{"zone-a", "zone-b", "zone-c"}}
	// Stops every kubelet and LB controller before the pods go.
	closers = append(closers, orch.Close)
	logf("starting %d auth-service pods behind HAProxy :%d (health check every %v)", replicas, lbPort, t.HealthCheckInterval)
	if err := orch.Up(ctx, "v1"); err != nil {
		return nil, err
	}

	lbURL := fmt.Sprintf("http://127.0.0.1:%d", lbPort)
	loadCfg := LoadConfig{BaseURL: lbURL, Rate: rate, Users: users}
	var app *App
	if sc.App {
		if app, err = StartApp(ctx, appBin, dir, lbURL); err != nil {
			return nil, err
		}
		closers = append(closers, app.Close)
		logf("the load goes to the application at %s, which calls the service through the Go client; final checks ask the service", app.URL)
		loadCfg.BaseURL, loadCfg.API, loadCfg.FinalURL = app.URL, AppAPI, lbURL
	}
	load := NewLoad(loadCfg)
	carried := opts.CarriedSessions
	if carried <= 0 {
		carried = 30
	}
	res, err := Drive(ctx, sc, t, orch, load, faults, carried, logf)
	if err != nil {
		return nil, err
	}

	r := &Report{
		Scenario: sc.Name, Description: sc.Description, Stack: st.Stack,
		Dropped: load.Dropped(), LoginsResent: load.Resent(), CarriedSessions: load.Carried(),
		Timings: NewTimingsReport(st, t, preStop, replicas, rate),
		Events:  orch.Events(), Machine: ThisMachine(),
	}
	if app != nil {
		stats, err := app.Stats(ctx)
		if err != nil {
			return nil, err
		}
		r.App = &stats
	}
	Summarize(r, load.Records(), res.Start, res.End, res.Lost, res.Allowed)
	Judge(r, sc.Expect)
	return r, nil
}

// Driven is the outcome of Drive.
type Driven struct {
	Start, End time.Time
	// Lost sessions, after the final check of the carried ones.
	Lost int
	// Allowed are the failures the disruption explains.
	Allowed []Allowance
}

// Drive runs the scenario on pods that are Up: load, carried sessions,
// warm-up, the disruption, the tail, and the final checks: every carried
// session, and a login of every user. faults may be nil for scenarios
// that inject none.
func Drive(ctx context.Context, sc Scenario, t Timings, orch *Orchestrator, load *Load, faults Faults, carried int, logf func(string, ...any)) (Driven, error) {
	var res Driven
	logf("carrying %d sessions through the drill", carried)
	if err := load.CreateCarried(ctx, carried); err != nil {
		return res, err
	}
	res.Start = time.Now()
	load.Begin(res.Start)
	orch.Begin(res.Start)
	loadCtx, stopLoad := context.WithCancel(ctx)
	loadDone := make(chan struct{})
	go func() {
		defer close(loadDone)
		load.Run(loadCtx)
	}()
	defer func() {
		stopLoad()
		<-loadDone
	}()

	logf("load at %.0f req/s, warm-up %v", load.cfg.Rate, Warmup)
	if err := sleep(ctx, Warmup); err != nil {
		return res, err
	}
	logf("%s: %s (scale %g: propagation %v, deregistration %v, preStop %v, grace %v, readiness every %v)",
		sc.Name, sc.Description, t.Scale, t.Propagation, t.DeregistrationDelay, orch.PreStop, t.GracePeriod, t.ReadinessPeriod)
	var err error
	switch sc.Disruption {
	case DisruptEvictions:
		err = orch.Evictions(ctx)
	case DisruptRollout:
		err = orch.Rollout(ctx, "v2")
	case DisruptZoneLoss:
		// Requests in flight at the kill were sent up to FaultSlack before
		// it; new ones fail until the health checks notice.
		kill := time.Since(res.Start)
		res.Allowed = []Allowance{{What: "requests sent within the health checks' detection window after the kill",
			Window: Window{From: kill - FaultSlack, To: kill + t.DetectionWindow() + FaultSlack}}}
		err = orch.ZoneLoss(ctx, orch.Zones[0])
	default:
		if faults == nil {
			return res, fmt.Errorf("%s needs the real parts", sc.Name)
		}
		clock := FaultClock{Start: res.Start, Record: orch.Record, Logf: logf}
		res.Allowed, err = faults.Inject(ctx, sc.Disruption, clock)
		if err == nil {
			logf("fault over; load goes on for the recovery window (%v): a pod taken out by readiness shows", t.RecoveryWindow())
			err = sleep(ctx, t.RecoveryWindow())
		}
	}
	if err != nil {
		return res, fmt.Errorf("%s: %w", sc.Name, err)
	}
	logf("disruption over; tail of %v", Tail)
	if err := sleep(ctx, Tail); err != nil {
		return res, err
	}
	stopLoad()
	<-loadDone
	res.End = time.Now()
	logf("validating the %d carried sessions, logging every user in", load.Carried())
	res.Lost = load.ValidateCarried(ctx)
	load.FinalLogins(ctx)
	return res, nil
}

// createUsers runs the migrate step (as the stack's Job does before any
// pod), then creates the drill's users with the service's own admin
// command (the password on stdin).
func createUsers(ctx context.Context, bin string, args, env []string) ([]Credentials, error) {
	migrate := exec.CommandContext(ctx, bin, append(append([]string(nil), args...), "migrate")...)
	migrate.Env = append(os.Environ(), env...)
	if out, err := migrate.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("auth-service migrate: %v: %s", err, out)
	}
	users := make([]Credentials, drillUsers)
	for i := range users {
		users[i] = Credentials{Username: fmt.Sprintf("drill-user-%d", i+1), Password: "drill-" + secret()}
	}
	create := func(c Credentials) error {
		cmd := exec.CommandContext(ctx, bin, append(append([]string(nil), args...), "admin", "create-user", "--username", c.Username)...)
		cmd.Env = append(os.Environ(), env...)
		cmd.Stdin = strings.NewReader(c.Password + "\n")
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("auth-service admin create-user %s: %v: %s", c.Username, err, out)
		}
		return nil
	}
	if err := create(users[0]); err != nil {
		return nil, err
	}
	var wg sync.WaitGroup
	errs := make([]error, len(users))
	sem := make(chan struct{}, 4)
	for i := 1; i < len(users); i++ {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			errs[i] = create(users[i])
		}()
	}
	wg.Wait()
	return users, errors.Join(errs...)
}

func secret() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// ThisMachine describes the CPU the drill ran on.
func ThisMachine() Machine {
	m := Machine{CPUs: runtime.NumCPU()}
	if f, err := os.Open("/proc/cpuinfo"); err == nil {
		defer f.Close()
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPUModel = strings.TrimSpace(v)
				break
			}
		}
	}
	return m
}
