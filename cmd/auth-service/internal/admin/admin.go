// Package admin is the operators' command line: users, roles, sessions and
// the lockout, against the database and Redis the service uses (same
// environment; the migrations are the migrate command's). Passwords are
// read from standard input, never from the arguments, which other users
// of the host can see, and must meet the same rule as the API's
// (internal/pwpolicy).
//
// Whatever changes what a user's sessions carry or may do (disable, a new
// password, a role granted or revoked, a role's permissions) ends the
// user's sessions at once (review H3). Every command is an audit event
// with the operator's name (--operator, default the OS user).
package admin

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os/user"
	"strings"

	"github.com/authplatform/auth-platform/cmd/auth-service/internal/audit"
	"github.com/authplatform/auth-platform/cmd/auth-service/internal/password"
	"github.com/authplatform/auth-platform/cmd/auth-service/internal/pwpolicy"
	"github.com/authplatform/auth-platform/cmd/auth-service/internal/store"
	"github.com/authplatform/auth-platform/cmd/auth-service/internal/username"
)

// Usage is printed on a usage error.
const Usage = `usage: auth-service admin COMMAND [--operator NAME] ...
  create-user     --username NAME [--role ROLE]...     (password on stdin)
  set-password    --username NAME                      (password on stdin; ends the user's sessions)
  disable-user    --username NAME                      (ends the user's sessions)
  enable-user     --username NAME
  revoke-sessions --username NAME
  unlock          --username NAME                      (forgets the lockout's failures)
  grant-role      --username NAME --role ROLE          (ends the user's sessions)
  revoke-role     --username NAME --role ROLE          (ends the user's sessions)
  create-role     --name ROLE --permissions '["perm:a","perm:b"]'
  update-role     --name ROLE --permissions '[...]'    (ends every member's sessions)`

// ErrUsage marks a wrong command line (exit status 2).
var ErrUsage = errors.New("usage")

// DB is what the commands need of the database (store.DB).
type DB interface {
	CreateUser(ctx context.Context, display, canonical, passwordHash string, roles []string) (int64, error)
	CreateRole(ctx context.Context, name string, permissions []string) error
	UpdateRole(ctx context.Context, name string, permissions []string) ([]string, error)
	GrantRole(ctx context.Context, canonical, role string) error
	RevokeRole(ctx context.Context, canonical, role string) error
	SetDisabled(ctx context.Context, canonical string, disabled bool) error
	SetPassword(ctx context.Context, canonical, passwordHash string) error
}

// Sessions ends a user's sessions (session.Store).
type Sessions interface {
	Revoke(ctx context.Context, account, keep string) (int, error)
}

// Locks forgets an account's failures (lockout.Limiter).
type Locks interface {
	Unlock(ctx context.Context, account string) error
}

// Deps are what Run acts on.
type Deps struct {
	DB       DB
	Sessions Sessions
	Locks    Locks
	Audit    audit.Logger
}

type roles []string

func (r *roles) String() string     { return strings.Join(*r, ",") }
func (r *roles) Set(v string) error { *r = append(*r, v); return nil }

// Run executes one admin command.
func Run(ctx context.Context, d Deps, args []string, stdin io.Reader, stdout io.Writer) (err error) {
	if len(args) == 0 {
		return fmt.Errorf("%w: no command\n%s", ErrUsage, Usage)
	}
	cmd := args[0]
	fs := flag.NewFlagSet(cmd, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	name := fs.String("username", "", "user name")
	roleName := fs.String("name", "", "role name")
	perms := fs.String("permissions", "", "JSON array of permission strings")
	operator := fs.String("operator", defaultOperator(), "who runs the command (audit)")
	var rs roles
	fs.Var(&rs, "role", "role (repeatable)")
	if err := fs.Parse(args[1:]); err != nil || fs.NArg() > 0 {
		return fmt.Errorf("%w: %s: %v\n%s", ErrUsage, cmd, errOr(err, fs.Args()), Usage)
	}
	ev := audit.Event{Action: audit.Admin, Command: cmd, Operator: *operator}
	defer func() {
		if errors.Is(err, ErrUsage) {
			return
		}
		ev.Outcome = audit.Success
		if err != nil {
			ev.Outcome, ev.Reason = audit.Failure, err.Error()
		}
		d.Audit.Log(ctx, ev)
	}()
	account := func() (string, error) {
		c, err := username.Canonical(*name)
		if err != nil {
			return "", fmt.Errorf("%w: %s needs --username: a valid username of 1-%d letters, digits or symbols without spaces\n%s", ErrUsage, cmd, username.MaxLen, Usage)
		}
		ev.User = c
		return c, nil
	}
	end := func(account string) error {
		n, err := d.Sessions.Revoke(ctx, account, "")
		ev.Count += n
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "ended %d session(s) of %q\n", n, account)
		return nil
	}
	switch cmd {
	case "create-user", "set-password":
		acct, err := account()
		if err != nil {
			return err
		}
		pw, err := readPassword(stdin, acct)
		if err != nil {
			return err
		}
		hash, err := password.Hash(ctx, pw, password.Default)
		if err != nil {
			return err
		}
		if cmd == "set-password" {
			if err := d.DB.SetPassword(ctx, acct, hash); err != nil {
				return err
			}
			fmt.Fprintf(stdout, "set the password of %q\n", acct)
			return end(acct)
		}
		id, err := d.DB.CreateUser(ctx, *name, acct, hash, rs)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "created user %q (id %d) with roles %v\n", acct, id, []string(rs))
		return nil
	case "disable-user", "enable-user", "revoke-sessions", "unlock":
		acct, err := account()
		if err != nil {
			return err
		}
		switch cmd {
		case "disable-user":
			// Disabled first: a login racing the revocation then fails its
			// lookup, or its session is refused by the index (session.Revoke).
			if err := d.DB.SetDisabled(ctx, acct, true); err != nil {
				return err
			}
			fmt.Fprintf(stdout, "disabled %q\n", acct)
			return end(acct)
		case "enable-user":
			if err := d.DB.SetDisabled(ctx, acct, false); err != nil {
				return err
			}
			fmt.Fprintf(stdout, "enabled %q\n", acct)
			return nil
		case "revoke-sessions":
			return end(acct)
		default:
			if err := d.Locks.Unlock(ctx, acct); err != nil {
				return err
			}
			fmt.Fprintf(stdout, "unlocked %q (this pod's memory and Redis; other pods' in-memory fallback counters expire with their window)\n", acct)
			return nil
		}
	case "grant-role", "revoke-role":
		acct, err := account()
		if err != nil {
			return err
		}
		if len(rs) != 1 {
			return fmt.Errorf("%w: %s needs --username and one --role\n%s", ErrUsage, cmd, Usage)
		}
		if cmd == "grant-role" {
			err = d.DB.GrantRole(ctx, acct, rs[0])
		} else {
			err = d.DB.RevokeRole(ctx, acct, rs[0])
		}
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%s %q: %q\n", strings.TrimSuffix(cmd, "-role"), acct, rs[0])
		return end(acct)
	case "create-role", "update-role":
		var p []string
		if *roleName == "" || json.Unmarshal([]byte(*perms), &p) != nil || p == nil {
			return fmt.Errorf("%w: %s needs --name and --permissions as a JSON array of strings, e.g. '[\"users:read\"]'\n%s", ErrUsage, cmd, Usage)
		}
		if cmd == "create-role" {
			if err := d.DB.CreateRole(ctx, *roleName, p); err != nil {
				return err
			}
			fmt.Fprintf(stdout, "role %q has permissions %v\n", *roleName, p)
			return nil
		}
		members, err := d.DB.UpdateRole(ctx, *roleName, p)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "role %q has permissions %v\n", *roleName, p)
		var errs error
		for _, m := range members {
			errs = errors.Join(errs, end(m))
		}
		return errs
	}
	return fmt.Errorf("%w: unknown command %q\n%s", ErrUsage, cmd, Usage)
}

func defaultOperator() string {
	if u, err := user.Current(); err == nil && u.Username != "" {
		return u.Username
	}
	return "unknown"
}

func errOr(err error, rest []string) any {
	if err != nil {
		return err
	}
	return fmt.Sprintf("unexpected arguments %q", rest)
}

// readPassword reads the first line of stdin and applies the API's rule.
func readPassword(r io.Reader, account string) (string, error) {
	line, err := bufio.NewReader(io.LimitReader(r, 4*pwpolicy.MaxBytes)).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("reading the password from stdin: %w", err)
	}
	pw := strings.TrimRight(line, "\r\n")
	if err := pwpolicy.Check(pw, account); err != nil {
		return "", fmt.Errorf("the password on stdin is refused: %w", err)
	}
	return pw, nil
}

var _ DB = (*store.DB)(nil)
