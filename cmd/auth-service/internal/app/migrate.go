package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"

	"github.com/authplatform/auth-platform/cmd/auth-service/internal/config"
	"github.com/authplatform/auth-platform/cmd/auth-service/internal/migrations"
	"github.com/authplatform/auth-platform/cmd/auth-service/internal/secrets"
)

// SecretPutter stores a secret's new value (secrets.SecretsManager).
type SecretPutter interface {
	secrets.Getter
	PutSecretString(ctx context.Context, arn, value string) error
}

// Migrate is the migration step (review M5), run with the master
// credentials (DB_SECRET_ARN: the master secret; locally DB_USER and
// DB_PASSWORD_FILE) by the stack's migration Job before the serving pods
// roll: it applies pending migrations under the advisory lock, then
// creates or updates the application role with exactly its privileges
// and the password of its secret (APP_DB_SECRET_ARN; locally
// APP_DB_USER and APP_DB_PASSWORD_FILE).
//
// With rotate, or when the secret has no password yet, it makes a new
// password, sets it on the role, and only then stores it in the secret:
// the order RDS's managed rotation uses, so a pod that reads the new
// secret finds the password already valid, and a pod still holding the
// old one is refused (28P01) on its next new connection and reads the
// secret again (internal/store). Open connections stay authenticated.
func Migrate(ctx context.Context, cfg config.Config, logger *slog.Logger, rotate bool) error {
	if cfg.AppDBSecretARN == "" && cfg.AppDBPasswordFile == "" {
		return errors.New("migrate: APP_DB_SECRET_ARN (or, without AWS, APP_DB_USER and APP_DB_PASSWORD_FILE) names the application role's credentials; set it")
	}
	db, err := OpenDB(ctx, cfg)
	if err != nil {
		return err
	}
	defer db.Close()
	applied, err := migrations.Up(ctx, db.Writer)
	if err != nil {
		return err
	}
	logger.Info("database schema up to date", "event", "migrated", "applied", applied)

	var sm SecretPutter
	if cfg.AppDBSecretARN != "" {
		s, err := secrets.NewSecretsManager(ctx, cfg.AWSRegion)
		if err != nil {
			return err
		}
		sm = s
	}
	creds, err := appCredentials(ctx, cfg, sm)
	if err != nil {
		return err
	}
	fresh := rotate || creds.Password == ""
	if fresh {
		if creds.Password, err = migrations.NewAppPassword(); err != nil {
			return err
		}
	}
	if err := migrations.EnsureAppRole(ctx, db.Writer, creds.Username, creds.Password); err != nil {
		return err
	}
	if fresh {
		if err := storeAppCredentials(ctx, cfg, sm, creds); err != nil {
			return fmt.Errorf("migrate: the role has a new password but its secret was not updated (run migrate --rotate-app-password again): %w", err)
		}
	}
	logger.Info("application role ready", "event", "app_role_ready", "role", creds.Username, "password_renewed", fresh)
	return nil
}

func appCredentials(ctx context.Context, cfg config.Config, sm SecretPutter) (secrets.DBCredentials, error) {
	if cfg.AppDBSecretARN == "" {
		// Missing or empty: no password yet (a new one is made).
		pw, _ := secrets.ReadFile(cfg.AppDBPasswordFile)
		return secrets.DBCredentials{Username: cfg.AppDBUser, Password: pw}, nil
	}
	s, err := sm.GetSecretString(ctx, cfg.AppDBSecretARN)
	if err != nil {
		return secrets.DBCredentials{}, err
	}
	var c secrets.DBCredentials
	if err := json.Unmarshal([]byte(s), &c); err != nil || c.Username == "" {
		return c, fmt.Errorf("migrate: the application secret is not JSON {\"username\",\"password\"} with a username")
	}
	return c, nil
}

func storeAppCredentials(ctx context.Context, cfg config.Config, sm SecretPutter, c secrets.DBCredentials) error {
	if cfg.AppDBSecretARN == "" {
		return os.WriteFile(cfg.AppDBPasswordFile, []byte(c.Password+"\n"), 0o600)
	}
	b, err := json.Marshal(c)
	if err != nil {
		return err
	}
	return sm.PutSecretString(ctx, cfg.AppDBSecretARN, string(b))
}
