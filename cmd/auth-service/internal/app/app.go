// Package app wires the service together from a validated configuration:
// secrets, the database (migrated once reached), the Redis Cluster, the
// background dependency checks, the two HTTP servers (traffic and
// metrics), and the start and shutdown sequences.
package app

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net"
	"net/http"
	"os"
	"runtime/debug"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/authplatform/auth-platform/cmd/auth-service/internal/admin"
	"github.com/authplatform/auth-platform/cmd/auth-service/internal/audit"
	"github.com/authplatform/auth-platform/cmd/auth-service/internal/config"
	"github.com/authplatform/auth-platform/cmd/auth-service/internal/health"
	"github.com/authplatform/auth-platform/cmd/auth-service/internal/httpapi"
	"github.com/authplatform/auth-platform/cmd/auth-service/internal/limits"
	"github.com/authplatform/auth-platform/cmd/auth-service/internal/lockout"
	"github.com/authplatform/auth-platform/cmd/auth-service/internal/metrics"
	"github.com/authplatform/auth-platform/cmd/auth-service/internal/migrations"
	"github.com/authplatform/auth-platform/cmd/auth-service/internal/password"
	"github.com/authplatform/auth-platform/cmd/auth-service/internal/secrets"
	"github.com/authplatform/auth-platform/cmd/auth-service/internal/session"
	"github.com/authplatform/auth-platform/cmd/auth-service/internal/store"
)

// Service is the service, built but not yet serving.
type Service struct {
	cfg       config.Config
	logger    *slog.Logger
	DB        *store.DB
	Redis     *redis.ClusterClient
	Sessions  *session.Store
	Limiter   *lockout.Limiter
	Readiness *health.Readiness
	Monitor   *health.Monitor
	Metrics   *metrics.Metrics
	// Handler serves the traffic port (PORT), Internal the metrics port
	// (METRICS_PORT).
	Handler  http.Handler
	Internal http.Handler
}

// CredentialTTL is how long database credentials are reused before the
// secret is read again (RDS rotates managed secrets; existing connections
// keep working, new ones pick up the new password). A password PostgreSQL
// refuses drops them at once (store.Options.CredentialsRejected).
const CredentialTTL = 5 * time.Minute

// RedisTokenTTL is how long the Redis AUTH token is reused for new
// connections before it is read again; a token Redis refuses drops it at
// once (session.ClientOptions.TokenRejected). Between ElastiCache's ROTATE
// and SET both tokens work, so a pod that still holds the old one is fine
// until SET, and after SET the first refusal makes it read the new one.
const RedisTokenTTL = 30 * time.Second

// New builds the service from a validated configuration without reaching
// anything, so that it can listen (and answer liveness) before PostgreSQL
// or Redis answer; Serve initialises it in the background. Only what no
// retry can mend fails here (an unreadable CA file, no AWS configuration).
func New(ctx context.Context, cfg config.Config, logger *slog.Logger) (*Service, error) {
	sm, err := secretsManager(ctx, cfg)
	if err != nil {
		return nil, err
	}
	readiness := &health.Readiness{}
	monitor := &health.Monitor{Logger: logger}
	db, err := newDB(ctx, cfg, sm, monitor)
	if err != nil {
		return nil, err
	}
	monitor.DB = db

	rdb, err := redisClient(ctx, cfg, sm, logger)
	if err != nil {
		return nil, err
	}
	monitor.Redis = rdb
	m := metrics.New()
	m.Registry.MustRegister(monitor)
	sessions := session.NewStore(rdb, cfg.SessionTTL, cfg.SessionIdle)
	sessions.OnUnreplicated = m.Unreplicated.Inc
	sessions.OnRetry = m.SessionRetries.Inc
	limiter := lockout.New(rdb, reservations(lockout.DefaultPolicy, cfg))
	var lastLog atomic.Int64 // every use is counted; logged at most every 10 s
	limiter.OnFallback = func(op string, err error) {
		m.LockoutFallback.WithLabelValues(op).Inc()
		now := time.Now().UnixNano()
		if last := lastLog.Load(); now-last >= int64(10*time.Second) && lastLog.CompareAndSwap(last, now) {
			logger.Warn("lockout counted in memory: Redis did not answer", "event", "lockout_fallback", "op", op, "err", err.Error())
		}
	}
	logCapacity(logger)
	api := &httpapi.API{
		Users: db, Sessions: sessions, Limiter: limiter, Readiness: readiness, Monitor: monitor, Metrics: m,
		Logger: logger, Audit: audit.Logger{L: logger}, RequestTimeout: cfg.RequestTimeout,
	}
	return &Service{cfg: cfg, logger: logger, DB: db, Redis: rdb, Sessions: sessions, Limiter: limiter, Readiness: readiness,
		Monitor: monitor, Metrics: m, Handler: api.Public(), Internal: api.Internal()}, nil
}

// redisClient makes the cluster client; the token is read per new
// connection (cached RedisTokenTTL, dropped when Redis refuses it).
func redisClient(ctx context.Context, cfg config.Config, sm secrets.Getter, logger *slog.Logger) (*redis.ClusterClient, error) {
	redisRoots, err := roots(cfg.RedisCAFile, "REDIS_CA_FILE")
	if err != nil {
		return nil, err
	}
	var tlsCfg *tls.Config
	if cfg.RedisTLS {
		tlsCfg = &tls.Config{RootCAs: redisRoots, MinVersion: tls.VersionTLS12}
	}
	token := &secrets.Cached[string]{TTL: RedisTokenTTL, Fetch: func(ctx context.Context) (string, error) {
		return redisAuthToken(ctx, cfg, sm)
	}}
	redis.SetLogger(redisLogger{logger})
	return session.NewClusterClient(session.ClientOptions{Addrs: cfg.RedisAddrs, Token: token.Get, TokenRejected: token.Invalidate, TLS: tlsCfg}), nil
}

// reservations sets the lockout's reservation lifetime from the request
// timeout: an attempt's reservation outlives any request.
func reservations(p lockout.Policy, cfg config.Config) lockout.Policy {
	p.ReservationTTL = cfg.RequestTimeout + 5*time.Second
	return p
}

// Initialise reaches PostgreSQL (the writer), applies pending migrations,
// reads the lockout policy and reaches Redis, retrying each step with
// backoff until it succeeds or ctx ends; then the pod is ready. A pod that
// cannot initialise (a dependency down at start, a wrong password) stays
// not ready and keeps trying, instead of exiting into a crash loop.
func (s *Service) Initialise(ctx context.Context) error {
	steps := []struct {
		what string
		do   func(context.Context) error
	}{
		{"reaching " + health.PostgresWriter, func(ctx context.Context) error {
			ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			defer cancel()
			return s.DB.PingWriter(ctx)
		}},
		// The serving pods never migrate (review M5: they connect as the
		// application role, which may not change the schema); the
		// migration step (the migrate command, a Job in the stack) does,
		// and a pod waits here until the schema is at least its own.
		{"waiting for the schema (the migrate step)", func(ctx context.Context) error {
			ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			defer cancel()
			want, err := migrations.Latest()
			if err != nil {
				return err
			}
			got, err := migrations.Current(ctx, s.DB.Writer)
			if err == nil && got < want {
				err = fmt.Errorf("schema version %d, this image needs %d: run the migrate step", got, want)
			}
			if err == nil {
				s.logger.Info("database schema ready", "version", got)
			}
			return err
		}},
		{"reading the lockout policy", func(ctx context.Context) error {
			p, err := lockoutPolicy(ctx, s.DB, s.cfg)
			if err == nil {
				s.Limiter.SetPolicy(p)
			}
			return err
		}},
		{"reaching " + health.Redis, func(ctx context.Context) error {
			ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			defer cancel()
			return s.Redis.ClusterSlots(ctx).Err()
		}},
	}
	for _, step := range steps {
		s.Readiness.SetPending(step.what)
		backoff := 250 * time.Millisecond
		for {
			err := step.do(ctx)
			if err == nil {
				break
			}
			if ctx.Err() != nil {
				return fmt.Errorf("initialisation (%s): %w", step.what, ctx.Err())
			}
			s.logger.Warn("initialisation: retrying", "step", step.what, "in", backoff.String(), "err", err.Error())
			select {
			case <-ctx.Done():
				return fmt.Errorf("initialisation (%s): %w", step.what, ctx.Err())
			case <-time.After(backoff):
			}
			backoff = min(2*backoff, 5*time.Second)
		}
	}
	s.Readiness.SetInitialised()
	s.logger.Info("initialised")
	return nil
}

func secretsManager(ctx context.Context, cfg config.Config) (secrets.Getter, error) {
	if cfg.DBSecretARN == "" && cfg.RedisSecretARN == "" {
		return nil, nil
	}
	return secrets.NewSecretsManager(ctx, cfg.AWSRegion)
}

// OpenDB connects to the database only (for the admin commands).
func OpenDB(ctx context.Context, cfg config.Config) (*store.DB, error) {
	sm, err := secretsManager(ctx, cfg)
	if err != nil {
		return nil, err
	}
	o, err := storeOptions(cfg, sm, nil)
	if err != nil {
		return nil, err
	}
	return store.Open(ctx, o)
}

// Admin connects what the admin commands act on: the database (as the
// application role), Redis (sessions and the lockout) and the audit log.
func Admin(ctx context.Context, cfg config.Config, logger *slog.Logger) (admin.Deps, func(), error) {
	db, err := OpenDB(ctx, cfg)
	if err != nil {
		return admin.Deps{}, nil, err
	}
	sm, err := secretsManager(ctx, cfg)
	if err != nil {
		db.Close()
		return admin.Deps{}, nil, err
	}
	rdb, err := redisClient(ctx, cfg, sm, logger)
	if err != nil {
		db.Close()
		return admin.Deps{}, nil, err
	}
	limiter := lockout.New(rdb, reservations(lockout.DefaultPolicy, cfg))
	if p, err := lockoutPolicy(ctx, db, cfg); err == nil {
		limiter.SetPolicy(p)
	}
	d := admin.Deps{DB: db, Sessions: session.NewStore(rdb, cfg.SessionTTL, cfg.SessionIdle), Locks: limiter, Audit: audit.Logger{L: logger}}
	return d, func() { _ = rdb.Close(); db.Close() }, nil
}

// newDB makes the pools without connecting.
func newDB(ctx context.Context, cfg config.Config, sm secrets.Getter, monitor *health.Monitor) (*store.DB, error) {
	o, err := storeOptions(cfg, sm, monitor)
	if err != nil {
		return nil, err
	}
	return store.New(ctx, o)
}

// storeOptions reads the database secret per new connection (cached
// CredentialTTL, dropped when PostgreSQL refuses it) and, with a monitor,
// sends logins straight to the writer while the reader is down.
func storeOptions(cfg config.Config, sm secrets.Getter, monitor *health.Monitor) (store.Options, error) {
	dbCreds := &secrets.Cached[secrets.DBCredentials]{TTL: CredentialTTL, Fetch: func(ctx context.Context) (secrets.DBCredentials, error) {
		if cfg.DBPasswordFile != "" {
			pw, err := secrets.ReadFile(cfg.DBPasswordFile)
			return secrets.DBCredentials{Username: cfg.DBUser, Password: pw}, err
		}
		s, err := sm.GetSecretString(ctx, cfg.DBSecretARN)
		if err != nil {
			return secrets.DBCredentials{}, err
		}
		return secrets.ParseDB(s)
	}}
	dbRoots, err := roots(cfg.DBCAFile, "DB_CA_FILE")
	if err != nil {
		return store.Options{}, err
	}
	o := store.Options{
		Host: cfg.DBHost, ReaderHost: cfg.DBReaderHost, Port: cfg.DBPort, ReaderPort: cfg.DBReaderPort, Database: cfg.DBName, RootCAs: dbRoots,
		Credentials: func(ctx context.Context) (string, string, error) {
			c, err := dbCreds.Get(ctx)
			return c.Username, c.Password, err
		},
		CredentialsRejected: dbCreds.Invalidate,
	}
	if monitor != nil {
		o.ReaderDown = func() bool { return monitor.Down(health.PostgresReader) }
	}
	return o, nil
}

func redisAuthToken(ctx context.Context, cfg config.Config, sm secrets.Getter) (string, error) {
	if cfg.RedisAuthTokenFile != "" {
		return secrets.ReadFile(cfg.RedisAuthTokenFile)
	}
	s, err := sm.GetSecretString(ctx, cfg.RedisSecretARN)
	if err != nil {
		return "", err
	}
	return secrets.ParseRedisToken(s)
}

// roots reads a PEM CA file, or returns nil for the system roots (which
// Go reads from SSL_CERT_FILE / SSL_CERT_DIR when set).
func roots(path, name string) (*x509.CertPool, error) {
	if path == "" {
		return nil, nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%s=%q: %w", name, path, err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(b) {
		return nil, fmt.Errorf("%s=%q holds no PEM certificate", name, path)
	}
	return pool, nil
}

// lockoutPolicy reads the operator-tunable part of the lockout's rule from
// the settings table (defaults for what it lacks).
func lockoutPolicy(ctx context.Context, db *store.DB, cfg config.Config) (lockout.Policy, error) {
	p := reservations(lockout.DefaultPolicy, cfg)
	ints := []struct {
		key string
		v   *int
	}{
		{"login_free_failures_per_pair", &p.FreePerPair},
		{"login_max_failures_per_account", &p.MaxPerAccount},
		{"login_max_failures_per_source", &p.MaxPerSource},
	}
	for _, s := range ints {
		v, err := db.IntSetting(ctx, s.key, *s.v)
		if err != nil {
			return p, err
		}
		*s.v = v
	}
	secs := []struct {
		key string
		v   *time.Duration
	}{
		{"login_account_window_seconds", &p.AccountWindow},
		{"login_source_window_seconds", &p.SourceWindow},
	}
	for _, s := range secs {
		v, err := db.IntSetting(ctx, s.key, int(*s.v/time.Second))
		if err != nil {
			return p, err
		}
		*s.v = time.Duration(v) * time.Second
	}
	if err := p.Check(); err != nil {
		return p, fmt.Errorf("settings: %w", err)
	}
	return p, nil
}

// Server returns an HTTP server for h with the service's timeouts: headers
// within 5 s, a body within 10 s, a response within the request timeout
// plus 5 s, and idle keep-alive connections kept longer than the ALB's
// 60 s idle timeout so that the ALB, not the pod, closes them (no 502 on a
// connection closed under the ALB's feet).
func (s *Service) Server(h http.Handler) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      s.cfg.RequestTimeout + 5*time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    httpapi.MaxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(s.logger.Handler(), slog.LevelWarn),
	}
}

// ErrDrainTimeout means requests were still running when
// SHUTDOWN_TIMEOUT_SECONDS ran out; they were cut.
var ErrDrainTimeout = errors.New("shutdown: requests still in flight at the shutdown timeout")

// Serve serves the traffic port on ln and the metrics port on metricsLn
// until ctx ends (SIGTERM), while it initialises and checks the
// dependencies in the background. Liveness answers from the start,
// readiness once initialised. On SIGTERM readiness answers 503 at once,
// in-flight requests finish within the shutdown timeout, and the pools
// close. It returns nil after a clean drain.
func (s *Service) Serve(ctx context.Context, ln, metricsLn net.Listener) error {
	srv, msrv := s.Server(s.Handler), s.Server(s.Internal)
	errc := make(chan error, 2)
	go func() { errc <- srv.Serve(ln) }()
	go func() { errc <- msrv.Serve(metricsLn) }()
	s.logger.Info("serving", "addr", ln.Addr().String(), "metrics_addr", metricsLn.Addr().String())

	bg, stopBackground := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); s.Monitor.Run(bg) }()
	go func() {
		defer wg.Done()
		if err := s.Initialise(bg); err != nil && bg.Err() == nil {
			s.logger.Error("initialisation failed", "err", err)
		}
	}()
	stop := func() {
		stopBackground()
		wg.Wait()
		_ = msrv.Close()
		s.Close()
	}

	select {
	case err := <-errc:
		_ = srv.Close()
		stop()
		return fmt.Errorf("http server: %w", err)
	case <-ctx.Done():
	}
	s.Readiness.SetShuttingDown()
	s.logger.Info("shutting down", "timeout", s.cfg.ShutdownTimeout)
	sctx, cancel := context.WithTimeout(context.Background(), s.cfg.ShutdownTimeout)
	defer cancel()
	err := srv.Shutdown(sctx)
	if errors.Is(err, context.DeadlineExceeded) {
		srv.Close()
		err = ErrDrainTimeout
	}
	stop()
	if err == nil {
		s.logger.Info("drained; exiting")
	}
	return err
}

// Close releases the pools.
func (s *Service) Close() {
	_ = s.Redis.Close()
	s.DB.Close()
}

// redisLogger sends go-redis's own messages (dial retries, pool events)
// to the service's structured log instead of stderr.
type redisLogger struct{ logger *slog.Logger }

func (l redisLogger) Printf(ctx context.Context, format string, v ...any) {
	l.logger.Warn("redis client", "msg", fmt.Sprintf(format, v...))
}

// logCapacity states what the process sized itself to: the container's
// limits, the Go memory limit (GOMEMLIMIT, from the Deployment) and the
// password hashing they allow.
func logCapacity(logger *slog.Logger) {
	l := limits.Read()
	slots, cores := password.Capacity()
	goLimit := "none"
	if v := debug.SetMemoryLimit(-1); v < math.MaxInt64 {
		goLimit = strconv.FormatInt(v, 10)
	}
	logger.Info("sized to the container", "cpu_limit_cores", l.CPU, "memory_limit_bytes", l.MemoryBytes,
		"go_memory_limit_bytes", goLimit, "hash_slots", slots, "hash_cores", cores)
}
