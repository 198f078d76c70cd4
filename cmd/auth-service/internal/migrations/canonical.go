package migrations

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/pressly/goose/v3"
	"golang.org/x/text/unicode/norm"

	"github.com/authplatform/auth-platform/cmd/auth-service/internal/username"
)

// canonicalUsernames (version 2) gives every user the canonical form of
// its name (internal/username), unique, which logins, the lockout and the
// session index all use (review L1); it records when a password was last
// set, and moves the lockout settings to the rule of issue 25. A Go
// migration: PostgreSQL cannot compute the PRECIS profile.
var canonicalUsernames = goose.NewGoMigration(2, &goose.GoFunc{RunTx: func(ctx context.Context, tx *sql.Tx) error {
	for _, stmt := range []string{
		`ALTER TABLE users ADD COLUMN username_canonical text`,
		`ALTER TABLE users ADD COLUMN password_changed_at timestamptz NOT NULL DEFAULT now()`,
	} {
		if _, err := tx.ExecContext(ctx, stmt); err != nil {
			return fmt.Errorf("%s: %w", stmt, err)
		}
	}
	rows, err := tx.QueryContext(ctx, `SELECT id, username FROM users`)
	if err != nil {
		return err
	}
	names := map[int64]string{}
	for rows.Next() {
		var id int64
		var name string
		if err := rows.Scan(&id, &name); err != nil {
			rows.Close()
			return err
		}
		names[id] = name
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for id, name := range names {
		c, err := username.Canonical(name)
		if err != nil {
			// A name the profile refuses (made before it existed) keeps a
			// lower-cased NFKC form, so its owner can still log in with it.
			c = strings.ToLower(norm.NFKC.String(name))
		}
		if _, err := tx.ExecContext(ctx, `UPDATE users SET username_canonical = $1 WHERE id = $2`, c, id); err != nil {
			return err
		}
	}
	for _, stmt := range []string{
		`ALTER TABLE users ALTER COLUMN username_canonical SET NOT NULL`,
		`CREATE UNIQUE INDEX users_username_canonical ON users (username_canonical)`,
		// The lockout of issue 25 (internal/lockout): 100 consecutive
		// failures per account (NIST SP 800-63B), unless an operator chose
		// another value than the old default of 5.
		`UPDATE settings SET value = '100', updated_at = now() WHERE key = 'login_max_failures_per_account' AND value = '5'`,
		`INSERT INTO settings (key, value) SELECT 'login_source_window_seconds', value FROM settings WHERE key = 'login_lockout_seconds' ON CONFLICT DO NOTHING`,
		`INSERT INTO settings (key, value) VALUES ('login_source_window_seconds', '900'), ('login_free_failures_per_pair', '5'), ('login_account_window_seconds', '86400') ON CONFLICT DO NOTHING`,
		`DELETE FROM settings WHERE key = 'login_lockout_seconds'`,
	} {
		if _, err := tx.ExecContext(ctx, stmt); err != nil {
			return fmt.Errorf("%s: %w", stmt, err)
		}
	}
	return nil
}}, nil)
