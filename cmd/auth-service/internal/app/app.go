// Package app wires the service together from a validated configuration:
// secrets, the database (migrated at start), the Redis Cluster, the HTTP
// server, and the shutdown sequence.
package app

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/authplatform/auth-platform/cmd/auth-service/internal/config"
	"github.com/authplatform/auth-platform/cmd/auth-service/internal/health"
	"github.com/authplatform/auth-platform/cmd/auth-service/internal/httpapi"
	"github.com/authplatform/auth-platform/cmd/auth-service/internal/lockout"
	"github.com/authplatform/auth-platform/cmd/auth-service/internal/metrics"
	"github.com/authplatform/auth-platform/cmd/auth-service/internal/migrations"
	"github.com/authplatform/auth-platform/cmd/auth-service/internal/secrets"
	"github.com/authplatform/auth-platform/cmd/auth-service/internal/session"
	"github.com/authplatform/auth-platform/cmd/auth-service/internal/store"
)

// Service is a started service, not yet serving.
type Service struct {
	cfg      config.Config
	logger   *slog.Logger
	DB       *store.DB
	Redis    *redis.ClusterClient
	Sessions *session.Store
	Health   *health.Checker
	Metrics  *metrics.Metrics
	Handler  http.Handler
}

// CredentialTTL is how long database credentials are reused before the
// secret is read again (RDS rotates managed secrets; existing connections
// keep working, new ones pick up the new password).
const CredentialTTL = 5 * time.Minute

// Open connects to everything and applies pending migrations.
func Open(ctx context.Context, cfg config.Config, logger *slog.Logger) (*Service, error) {
	sm, err := secretsManager(ctx, cfg)
	if err != nil {
		return nil, err
	}
	redisToken, err := redisAuthToken(ctx, cfg, sm)
	if err != nil {
		return nil, err
	}
	redisRoots, err := roots(cfg.RedisCAFile, "REDIS_CA_FILE")
	if err != nil {
		return nil, err
	}
	db, dbCreds, err := openDB(ctx, cfg, sm)
	if err != nil {
		return nil, err
	}
	mctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	applied, err := migrations.Up(mctx, db.Writer)
	cancel()
	if err != nil {
		db.Close()
		return nil, err
	}
	logger.Info("database schema up to date", "applied", applied)
	policy, err := lockoutPolicy(ctx, db)
	if err != nil {
		db.Close()
		return nil, err
	}

	var tlsCfg *tls.Config
	if cfg.RedisTLS {
		tlsCfg = &tls.Config{RootCAs: redisRoots, MinVersion: tls.VersionTLS12}
	}
	redis.SetLogger(redisLogger{logger})
	rdb := session.NewClusterClient(session.ClientOptions{Addrs: cfg.RedisAddrs, Password: redisToken, TLS: tlsCfg})
	m := metrics.New()
	sessions := session.NewStore(rdb, cfg.SessionTTL)
	sessions.OnUnreplicated = m.Unreplicated.Inc
	checker := &health.Checker{DB: db, Redis: rdb, Logger: logger, OnDBError: func(err error) {
		if store.IsAuthFailure(err) {
			dbCreds.Invalidate()
		}
	}}
	api := &httpapi.API{
		Users: db, Sessions: sessions, Limiter: lockout.New(rdb, policy), Health: checker, Metrics: m,
		Logger: logger, RequestTimeout: cfg.RequestTimeout,
	}
	return &Service{cfg: cfg, logger: logger, DB: db, Redis: rdb, Sessions: sessions, Health: checker, Metrics: m, Handler: api.Handler()}, nil
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
	db, _, err := openDB(ctx, cfg, sm)
	return db, err
}

// OpenAdminDB connects to the database and applies pending migrations, for
// the admin commands (which may run before any instance has started).
func OpenAdminDB(ctx context.Context, cfg config.Config) (*store.DB, error) {
	db, err := OpenDB(ctx, cfg)
	if err != nil {
		return nil, err
	}
	if _, err := migrations.Up(ctx, db.Writer); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

func openDB(ctx context.Context, cfg config.Config, sm secrets.Getter) (*store.DB, *secrets.Cached[secrets.DBCredentials], error) {
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
		return nil, nil, err
	}
	db, err := store.Open(ctx, store.Options{
		Host: cfg.DBHost, ReaderHost: cfg.DBReaderHost, Port: cfg.DBPort, Database: cfg.DBName, RootCAs: dbRoots,
		Credentials: func(ctx context.Context) (string, string, error) {
			c, err := dbCreds.Get(ctx)
			return c.Username, c.Password, err
		},
	})
	if err != nil {
		return nil, nil, err
	}
	return db, dbCreds, nil
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

func lockoutPolicy(ctx context.Context, db *store.DB) (lockout.Policy, error) {
	p := lockout.DefaultPolicy
	var err error
	var secs int
	if p.MaxPerAccount, err = db.IntSetting(ctx, "login_max_failures_per_account", p.MaxPerAccount); err != nil {
		return p, err
	}
	if p.MaxPerSource, err = db.IntSetting(ctx, "login_max_failures_per_source", p.MaxPerSource); err != nil {
		return p, err
	}
	if secs, err = db.IntSetting(ctx, "login_lockout_seconds", int(p.Window/time.Second)); err != nil {
		return p, err
	}
	p.Window = time.Duration(secs) * time.Second
	if p.MaxPerAccount < 1 || p.MaxPerSource < 1 || p.Window < time.Second {
		return p, fmt.Errorf("settings: lockout policy %+v: every value must be at least 1", p)
	}
	return p, nil
}

// Server returns the HTTP server with the service's timeouts: headers
// within 5 s, a body within 10 s, a response within the request timeout
// plus 5 s, and idle keep-alive connections kept longer than the ALB's
// 60 s idle timeout so that the ALB, not the pod, closes them (no 502 on a
// connection closed under the ALB's feet).
func (s *Service) Server() *http.Server {
	return &http.Server{
		Handler:           s.Handler,
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

// Serve serves on ln until ctx ends (SIGTERM), then: /health answers 503
// at once, in-flight requests finish within the shutdown timeout, and the
// pools close. It returns nil after a clean drain.
func (s *Service) Serve(ctx context.Context, ln net.Listener) error {
	srv := s.Server()
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	s.logger.Info("serving", "addr", ln.Addr().String())
	select {
	case err := <-errc:
		s.Close()
		return fmt.Errorf("http server: %w", err)
	case <-ctx.Done():
	}
	s.Health.SetShuttingDown()
	s.logger.Info("shutting down", "timeout", s.cfg.ShutdownTimeout)
	sctx, cancel := context.WithTimeout(context.Background(), s.cfg.ShutdownTimeout)
	defer cancel()
	err := srv.Shutdown(sctx)
	if errors.Is(err, context.DeadlineExceeded) {
		srv.Close()
		err = ErrDrainTimeout
	}
	s.Close()
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
