package migrations

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"golang.org/x/crypto/pbkdf2"
)

// The application role (review M5): the serving pods connect as it, with
// only what the service and the admin commands do to their own tables:
// read them, add users, roles and grants, change a user's password and
// state, a role's permissions, and remove a grant. No DDL, no other
// table, no role management: the migration step holds the master
// secret, the pods never do.
var appGrants = []string{
	`GRANT SELECT ON users, roles, user_roles, settings, goose_db_version TO %[1]s`,
	`GRANT INSERT ON users, roles, user_roles TO %[1]s`,
	`GRANT UPDATE (password_hash, password_changed_at, disabled, updated_at) ON users TO %[1]s`,
	`GRANT UPDATE (permissions) ON roles TO %[1]s`,
	`GRANT DELETE ON user_roles TO %[1]s`,
}

// EnsureAppRole creates the application role if it is missing, sets its
// password (as a SCRAM-SHA-256 verifier, so the password never reaches
// PostgreSQL's log), and grants exactly appGrants on the database the pool
// is connected to. It runs under the migrations' advisory lock.
func EnsureAppRole(ctx context.Context, pool *pgxpool.Pool, user, password string) error {
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("migrations: app role: %w", err)
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock($1)", LockID); err != nil {
		return fmt.Errorf("migrations: advisory lock: %w", err)
	}
	defer conn.Exec(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock($1)", LockID)
	role := pgx.Identifier{user}.Sanitize()
	var exists bool
	if err := conn.QueryRow(ctx, `SELECT EXISTS (SELECT FROM pg_roles WHERE rolname = $1)`, user).Scan(&exists); err != nil {
		return fmt.Errorf("migrations: app role: %w", err)
	}
	var db string
	if err := conn.QueryRow(ctx, `SELECT current_database()`).Scan(&db); err != nil {
		return err
	}
	verifier, err := scramVerifier(password)
	if err != nil {
		return err
	}
	stmts := []string{}
	if !exists {
		stmts = append(stmts, "CREATE ROLE "+role)
	}
	stmts = append(stmts,
		"ALTER ROLE "+role+" WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT NOREPLICATION NOBYPASSRLS PASSWORD '"+verifier+"'",
		"GRANT CONNECT ON DATABASE "+pgx.Identifier{db}.Sanitize()+" TO "+role,
		"GRANT USAGE ON SCHEMA public TO "+role,
		"REVOKE ALL ON ALL TABLES IN SCHEMA public FROM "+role,
		"REVOKE CREATE ON SCHEMA public FROM "+role,
	)
	for _, g := range appGrants {
		stmts = append(stmts, fmt.Sprintf(g, role))
	}
	tx, err := conn.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback(ctx)
	for _, s := range stmts {
		if _, err := tx.Exec(ctx, s); err != nil {
			return fmt.Errorf("migrations: app role: %s: %w", redact(s), err)
		}
	}
	return tx.Commit(ctx)
}

func redact(stmt string) string {
	if i := len("ALTER ROLE"); len(stmt) > i && stmt[:i] == "ALTER ROLE" {
		return "ALTER ROLE … PASSWORD '…'"
	}
	return stmt
}

// scramVerifier is PostgreSQL's stored form of a SCRAM-SHA-256 password
// (RFC 5802, RFC 7677; PostgreSQL's src/common/scram-common.c
// scram_build_secret): SCRAM-SHA-256$iterations:salt$StoredKey:ServerKey.
func scramVerifier(password string) (string, error) {
	const iterations = 4096 // PostgreSQL's default scram_iterations
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		return "", err
	}
	salted := pbkdf2.Key([]byte(password), salt, iterations, sha256.Size, sha256.New)
	mac := func(key []byte, msg string) []byte {
		h := hmac.New(sha256.New, key)
		h.Write([]byte(msg))
		return h.Sum(nil)
	}
	clientKey := mac(salted, "Client Key")
	stored := sha256.Sum256(clientKey)
	b64 := base64.StdEncoding.EncodeToString
	return fmt.Sprintf("SCRAM-SHA-256$%d:%s$%s:%s", iterations, b64(salt), b64(stored[:]), b64(mac(salted, "Server Key"))), nil
}

// NewAppPassword is a new application role password: 32 random bytes,
// base64url (no quoting issues anywhere).
func NewAppPassword() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}
