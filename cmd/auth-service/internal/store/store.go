// Package store is the service's PostgreSQL access: two pgx pools (the
// writer endpoint, and the reader endpoint for login lookups), TLS that
// verifies the server's name and certificate (verify-full), and
// credentials fetched per new connection so that a rotated password is
// picked up without a restart.
//
// Every query has a deadline of its own. A login's lookup asks the reader
// first (ReaderTimeout), then the writer (OpTimeout), or the writer alone
// while the reader is known to be down; so logins work with either
// endpoint gone. A new connection refused with SQLSTATE 28P01 (the password
// was rotated) drops the cached credentials, and the query is tried again
// with the secret read anew, within the same deadline; a connection broken
// under a query (a failover cut it) is replaced and the query tried again.
package store

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"sort"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Credentials returns the current database user and password.
type Credentials func(ctx context.Context) (user, password string, err error)

// Options configure Open.
type Options struct {
	Host, ReaderHost string
	Port             int
	// ReaderPort is the reader endpoint's port; Port when zero.
	ReaderPort  int
	Database    string
	Credentials Credentials
	// RootCAs verify the server; nil means the system roots.
	RootCAs *x509.CertPool
	// MaxConns per pool. Default 8.
	MaxConns int32
	// CredentialsRejected is called when PostgreSQL refuses the password
	// (28P01), to drop the cached credentials.
	CredentialsRejected func()
	// ReaderDown tells whether the reader is known to be down (the
	// background checks), so logins go to the writer at once.
	ReaderDown func() bool
}

// Deadlines of one query, inside the request's.
const (
	// ReaderTimeout bounds a login's lookup on the reader before the
	// writer is asked: short, since the writer can answer too.
	ReaderTimeout = time.Second
	// OpTimeout bounds any other query (the writer's lookup, settings).
	OpTimeout = 3 * time.Second
)

// DB is the writer pool and the reader pool (the same pool when both
// endpoints are one host).
type DB struct {
	Writer *pgxpool.Pool
	Reader *pgxpool.Pool
	opts   Options
}

// Open creates the pools and checks that the writer answers.
func Open(ctx context.Context, o Options) (*DB, error) {
	db, err := New(ctx, o)
	if err != nil {
		return nil, err
	}
	pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := db.PingWriter(pctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("store: connect to %s: %w", net.JoinHostPort(o.Host, strconv.Itoa(o.Port)), err)
	}
	return db, nil
}

// New creates the pools without connecting: the service starts serving
// (liveness) before the database answers.
func New(ctx context.Context, o Options) (*DB, error) {
	if o.MaxConns == 0 {
		o.MaxConns = 8
	}
	if o.ReaderPort == 0 {
		o.ReaderPort = o.Port
	}
	w, err := newPool(ctx, o, o.Host, o.Port)
	if err != nil {
		return nil, err
	}
	db := &DB{Writer: w, Reader: w, opts: o}
	if o.ReaderHost != "" && (o.ReaderHost != o.Host || o.ReaderPort != o.Port) {
		if db.Reader, err = newPool(ctx, o, o.ReaderHost, o.ReaderPort); err != nil {
			w.Close()
			return nil, err
		}
	}
	return db, nil
}

func newPool(ctx context.Context, o Options, host string, port int) (*pgxpool.Pool, error) {
	// sslmode=verify-full; the TLS config below then sets our roots.
	dsn := fmt.Sprintf("host=%s port=%d dbname=%s sslmode=verify-full connect_timeout=5 application_name=auth-service", host, port, o.Database)
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("store: pool config for %s: %w", host, err)
	}
	// verify-full against our roots, for every address the host resolves
	// to (pgx tries them in turn); verify-full has no plaintext fallback.
	cfg.ConnConfig.TLSConfig = &tls.Config{RootCAs: o.RootCAs, ServerName: host, MinVersion: tls.VersionTLS12}
	for _, fb := range cfg.ConnConfig.Fallbacks {
		if fb.TLSConfig == nil {
			return nil, fmt.Errorf("store: %s: a plaintext fallback; refusing", host)
		}
		fb.TLSConfig = cfg.ConnConfig.TLSConfig
	}
	cfg.MaxConns = o.MaxConns
	// No connection is opened before one is needed: the pool must not
	// hold the start on an unreachable database.
	cfg.MinConns = 0
	// Reconnect regularly: Aurora failover moves the writer's DNS name,
	// and rotated passwords apply to new connections.
	cfg.MaxConnLifetime = 30 * time.Minute
	cfg.MaxConnLifetimeJitter = 5 * time.Minute
	cfg.MaxConnIdleTime = 5 * time.Minute
	cfg.HealthCheckPeriod = 15 * time.Second
	cfg.BeforeConnect = func(ctx context.Context, cc *pgx.ConnConfig) error {
		user, pw, err := o.Credentials(ctx)
		if err != nil {
			return fmt.Errorf("store: database credentials: %w", err)
		}
		cc.User, cc.Password = user, pw
		return nil
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("store: pool for %s: %w", host, err)
	}
	return pool, nil
}

// IsAuthFailure tells whether err is PostgreSQL rejecting the password
// (SQLSTATE 28P01), after which cached credentials should be refetched.
func IsAuthFailure(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == "28P01"
}

// Close closes both pools.
func (db *DB) Close() {
	if db.Reader != db.Writer {
		db.Reader.Close()
	}
	db.Writer.Close()
}

// PingWriter checks the writer endpoint.
func (db *DB) PingWriter(ctx context.Context) error {
	return db.retry(ctx, func(ctx context.Context) error { return db.Writer.Ping(ctx) })
}

// PingReader checks the reader endpoint (the writer's pool when both are
// one host).
func (db *DB) PingReader(ctx context.Context) error {
	return db.retry(ctx, func(ctx context.Context) error { return db.Reader.Ping(ctx) })
}

// retry runs a read-only query until it succeeds, fails for a reason a
// new attempt cannot mend, or ctx ends: after 28P01 (password rotated:
// the credentials are dropped and read again, with a short backoff since
// the secret may be updated just after the password), and after a
// connection error that is not PostgreSQL's answer (a connection cut by a
// failover; the pool discards it, and the next attempt gets another).
func (db *DB) retry(ctx context.Context, query func(context.Context) error) error {
	backoff := 25 * time.Millisecond
	var err error
	for attempt := 0; attempt < 12; attempt++ {
		if err = query(ctx); err == nil || ctx.Err() != nil {
			return err
		}
		switch {
		case IsAuthFailure(err):
			if db.opts.CredentialsRejected != nil {
				db.opts.CredentialsRejected()
			}
			select {
			case <-ctx.Done():
				return err
			case <-time.After(backoff):
			}
			backoff = min(2*backoff, 400*time.Millisecond)
		case brokenConn(err):
		default:
			return err
		}
	}
	return err
}

// brokenConn tells whether err is a connection that broke under a query
// (a failover cut it), not an answer from PostgreSQL, a deadline, or a new
// connection that could not be made.
func brokenConn(err error) bool {
	var pgErr *pgconn.PgError
	var connectErr *pgconn.ConnectError
	if errors.As(err, &pgErr) || errors.As(err, &connectErr) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	var netErr net.Error
	return pgconn.SafeToRetry(err) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, net.ErrClosed) || errors.As(err, &netErr)
}

// User is what a login needs to know about an account.
type User struct {
	ID           int64
	Username     string // as created (display)
	Account      string // canonical (internal/username): the key of everything else
	PasswordHash string
	Disabled     bool
	Roles        []string
	Permissions  []string
}

// ErrNotFound means no such user or role.
var ErrNotFound = errors.New("store: not found")

const userForLoginSQL = `
SELECT u.id, u.username, u.username_canonical, u.password_hash, u.disabled,
       coalesce(array_agg(r.name ORDER BY r.name) FILTER (WHERE r.id IS NOT NULL), '{}'),
       coalesce(jsonb_agg(r.permissions) FILTER (WHERE r.id IS NOT NULL), '[]')
FROM users u
LEFT JOIN user_roles ur ON ur.user_id = u.id
LEFT JOIN roles r ON r.id = ur.role_id
WHERE u.username_canonical = $1
GROUP BY u.id`

// UserForLogin looks a user up by canonical name, with roles
// and the union of their permissions. It asks the reader endpoint first,
// within ReaderTimeout, and the writer when the reader fails (not when the
// user is missing: a user just created may lag on a replica by
// milliseconds). While the reader is known to be down it asks the writer
// first, and the reader only if the writer fails too (the checks' state is
// up to one round old).
func (db *DB) UserForLogin(ctx context.Context, username string) (User, error) {
	if db.Reader == db.Writer {
		return db.userForLogin(ctx, db.Writer, OpTimeout, username)
	}
	type endpoint struct {
		pool    *pgxpool.Pool
		timeout time.Duration
	}
	order := []endpoint{{db.Reader, ReaderTimeout}, {db.Writer, OpTimeout}}
	if db.opts.ReaderDown != nil && db.opts.ReaderDown() {
		order[0], order[1] = order[1], order[0]
	}
	u, err := db.userForLogin(ctx, order[0].pool, order[0].timeout, username)
	if err == nil || errors.Is(err, ErrNotFound) || ctx.Err() != nil {
		return u, err
	}
	return db.userForLogin(ctx, order[1].pool, order[1].timeout, username)
}

func (db *DB) userForLogin(ctx context.Context, pool *pgxpool.Pool, timeout time.Duration, username string) (User, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var u User
	err := db.retry(ctx, func(ctx context.Context) error {
		var err error
		u, err = userForLogin(ctx, pool, username)
		return err
	})
	return u, err
}

func userForLogin(ctx context.Context, pool *pgxpool.Pool, username string) (User, error) {
	var u User
	var perms [][]string
	err := pool.QueryRow(ctx, userForLoginSQL, username).Scan(&u.ID, &u.Username, &u.Account, &u.PasswordHash, &u.Disabled, &u.Roles, &perms)
	if errors.Is(err, pgx.ErrNoRows) {
		return User{}, ErrNotFound
	}
	if err != nil {
		return User{}, fmt.Errorf("store: user lookup: %w", err)
	}
	set := map[string]bool{}
	for _, ps := range perms {
		for _, p := range ps {
			set[p] = true
		}
	}
	u.Permissions = make([]string, 0, len(set))
	for p := range set {
		u.Permissions = append(u.Permissions, p)
	}
	sort.Strings(u.Permissions)
	return u, nil
}

// CreateUser inserts a user with an argon2id hash and its roles, in one
// transaction (review L6: a missing role left a user without it behind).
func (db *DB) CreateUser(ctx context.Context, display, canonical, passwordHash string, roles []string) (int64, error) {
	var id int64
	err := pgx.BeginFunc(ctx, db.Writer, func(tx pgx.Tx) error {
		if err := tx.QueryRow(ctx, `INSERT INTO users (username, username_canonical, password_hash) VALUES ($1, $2, $3) RETURNING id`,
			display, canonical, passwordHash).Scan(&id); err != nil {
			var pgErr *pgconn.PgError
			if errors.As(err, &pgErr) && pgErr.Code == "23505" {
				return fmt.Errorf("store: user %q exists already: %w", canonical, ErrExists)
			}
			return fmt.Errorf("store: create user %q: %w", canonical, err)
		}
		for _, r := range roles {
			tag, err := tx.Exec(ctx, `INSERT INTO user_roles (user_id, role_id) SELECT $1, id FROM roles WHERE name = $2 ON CONFLICT DO NOTHING`, id, r)
			if err != nil {
				return fmt.Errorf("store: grant %q: %w", r, err)
			}
			if tag.RowsAffected() == 0 {
				return fmt.Errorf("store: role %q does not exist (create it first); no user was created: %w", r, ErrNotFound)
			}
		}
		return nil
	})
	return id, err
}

// ErrExists means the user or role exists already.
var ErrExists = errors.New("store: exists")

// CreateRole inserts a new role; an existing one is ErrExists (use
// UpdateRole).
func (db *DB) CreateRole(ctx context.Context, name string, permissions []string) error {
	b, err := json.Marshal(permissions)
	if err != nil {
		return err
	}
	tag, err := db.Writer.Exec(ctx, `INSERT INTO roles (name, permissions) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING`, name, b)
	if err != nil {
		return fmt.Errorf("store: create role %q: %w", name, err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("store: role %q exists already (update-role changes its permissions): %w", name, ErrExists)
	}
	return nil
}

// UpdateRole replaces a role's permissions and returns the canonical
// names of its members, whose sessions then end.
func (db *DB) UpdateRole(ctx context.Context, name string, permissions []string) ([]string, error) {
	b, err := json.Marshal(permissions)
	if err != nil {
		return nil, err
	}
	tag, err := db.Writer.Exec(ctx, `UPDATE roles SET permissions = $2 WHERE name = $1`, name, b)
	if err != nil {
		return nil, fmt.Errorf("store: update role %q: %w", name, err)
	}
	if tag.RowsAffected() == 0 {
		return nil, fmt.Errorf("store: role %q: %w", name, ErrNotFound)
	}
	return db.members(ctx, name)
}

func (db *DB) members(ctx context.Context, role string) ([]string, error) {
	rows, err := db.Writer.Query(ctx, `SELECT u.username_canonical FROM users u JOIN user_roles ur ON ur.user_id = u.id
		JOIN roles r ON r.id = ur.role_id WHERE r.name = $1 ORDER BY 1`, role)
	if err != nil {
		return nil, fmt.Errorf("store: members of %q: %w", role, err)
	}
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("store: members of %q: %w", role, err)
	}
	return names, nil
}

// GrantRole gives a user a role (idempotent).
func (db *DB) GrantRole(ctx context.Context, canonical, role string) error {
	tag, err := db.Writer.Exec(ctx, `INSERT INTO user_roles (user_id, role_id)
		SELECT u.id, r.id FROM users u, roles r WHERE u.username_canonical = $1 AND r.name = $2
		ON CONFLICT DO NOTHING`, canonical, role)
	if err != nil {
		return fmt.Errorf("store: grant %q to %q: %w", role, canonical, err)
	}
	if tag.RowsAffected() == 0 {
		var n int
		if err := db.Writer.QueryRow(ctx, `SELECT (SELECT count(*) FROM users WHERE username_canonical = $1) + (SELECT count(*) FROM roles WHERE name = $2)`, canonical, role).Scan(&n); err != nil {
			return fmt.Errorf("store: grant %q to %q: %w", role, canonical, err)
		}
		if n < 2 {
			return fmt.Errorf("store: grant %q to %q: user or role does not exist: %w", role, canonical, ErrNotFound)
		}
	}
	return nil
}

// RevokeRole takes a role from a user (idempotent).
func (db *DB) RevokeRole(ctx context.Context, canonical, role string) error {
	_, err := db.Writer.Exec(ctx, `DELETE FROM user_roles WHERE user_id = (SELECT id FROM users WHERE username_canonical = $1)
		AND role_id = (SELECT id FROM roles WHERE name = $2)`, canonical, role)
	if err != nil {
		return fmt.Errorf("store: revoke %q from %q: %w", role, canonical, err)
	}
	return nil
}

// SetDisabled disables or enables a user.
func (db *DB) SetDisabled(ctx context.Context, canonical string, disabled bool) error {
	tag, err := db.Writer.Exec(ctx, `UPDATE users SET disabled = $2, updated_at = now() WHERE username_canonical = $1`, canonical, disabled)
	if err != nil {
		return fmt.Errorf("store: disable %q: %w", canonical, err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("store: user %q: %w", canonical, ErrNotFound)
	}
	return nil
}

// SetPassword stores a new hash for a user (a change or a reset).
func (db *DB) SetPassword(ctx context.Context, canonical, passwordHash string) error {
	ctx, cancel := context.WithTimeout(ctx, OpTimeout)
	defer cancel()
	tag, err := db.Writer.Exec(ctx, `UPDATE users SET password_hash = $2, password_changed_at = now(), updated_at = now() WHERE username_canonical = $1`, canonical, passwordHash)
	if err != nil {
		return fmt.Errorf("store: set password of %q: %w", canonical, err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("store: user %q: %w", canonical, ErrNotFound)
	}
	return nil
}

// Rehash replaces a user's hash by a stronger one of the same password,
// only if it is still old (a concurrent change wins).
func (db *DB) Rehash(ctx context.Context, id int64, old, new string) error {
	ctx, cancel := context.WithTimeout(ctx, OpTimeout)
	defer cancel()
	if _, err := db.Writer.Exec(ctx, `UPDATE users SET password_hash = $3 WHERE id = $1 AND password_hash = $2`, id, old, new); err != nil {
		return fmt.Errorf("store: rehash: %w", err)
	}
	return nil
}

// IntSetting reads an integer setting, or def when it is absent.
func (db *DB) IntSetting(ctx context.Context, key string, def int) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, OpTimeout)
	defer cancel()
	var raw []byte
	err := db.retry(ctx, func(ctx context.Context) error {
		return db.Writer.QueryRow(ctx, `SELECT value FROM settings WHERE key = $1`, key).Scan(&raw)
	})
	if errors.Is(err, pgx.ErrNoRows) {
		return def, nil
	}
	if err != nil {
		return 0, fmt.Errorf("store: setting %s: %w", key, err)
	}
	var v int
	if err := json.Unmarshal(raw, &v); err != nil {
		return 0, fmt.Errorf("store: setting %s = %s is not an integer: %w", key, raw, err)
	}
	return v, nil
}
