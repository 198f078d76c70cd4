// Package admin is the operators' command line: create users and roles and
// grant roles, against the database the service uses (same environment,
// same migrations). Passwords are read from standard input, never from the
// arguments, which other users of the host can see.
package admin

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/authplatform/auth-platform/cmd/auth-service/internal/password"
	"github.com/authplatform/auth-platform/cmd/auth-service/internal/store"
)

// MinPasswordLen is the shortest password create-user accepts (NIST SP
// 800-63B asks for at least 8; we ask for 12).
const MinPasswordLen = 12

// Usage is printed on a usage error.
const Usage = `usage:
  auth-service admin create-user --username NAME [--role ROLE]...   (password on stdin)
  auth-service admin grant-role  --username NAME --role ROLE
  auth-service admin create-role --name ROLE --permissions '["perm:a","perm:b"]'`

// ErrUsage marks a wrong command line (exit status 2).
var ErrUsage = errors.New("usage")

// DB is what the commands need (store.DB).
type DB interface {
	CreateUser(ctx context.Context, username, passwordHash string) (int64, error)
	CreateRole(ctx context.Context, name string, permissions []string) error
	GrantRole(ctx context.Context, username, role string) error
}

type roles []string

func (r *roles) String() string     { return strings.Join(*r, ",") }
func (r *roles) Set(v string) error { *r = append(*r, v); return nil }

// Run executes one admin command.
func Run(ctx context.Context, db DB, args []string, stdin io.Reader, stdout io.Writer) error {
	if len(args) == 0 {
		return fmt.Errorf("%w: no command\n%s", ErrUsage, Usage)
	}
	fs := flag.NewFlagSet(args[0], flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	username := fs.String("username", "", "user name")
	name := fs.String("name", "", "role name")
	perms := fs.String("permissions", "", "JSON array of permission strings")
	var rs roles
	fs.Var(&rs, "role", "role (repeatable)")
	if err := fs.Parse(args[1:]); err != nil || fs.NArg() > 0 {
		return fmt.Errorf("%w: %s: %v\n%s", ErrUsage, args[0], errOr(err, fs.Args()), Usage)
	}
	switch args[0] {
	case "create-user":
		if *username == "" || utf8.RuneCountInString(*username) > 128 {
			return fmt.Errorf("%w: create-user needs --username of 1-128 characters\n%s", ErrUsage, Usage)
		}
		pw, err := readPassword(stdin)
		if err != nil {
			return err
		}
		hash, err := password.Hash(ctx, pw, password.Default)
		if err != nil {
			return err
		}
		id, err := db.CreateUser(ctx, *username, hash)
		if err != nil {
			return err
		}
		for _, r := range rs {
			if err := db.GrantRole(ctx, *username, r); err != nil {
				return err
			}
		}
		fmt.Fprintf(stdout, "created user %q (id %d) with roles %v\n", *username, id, []string(rs))
		return nil
	case "grant-role":
		if *username == "" || len(rs) != 1 {
			return fmt.Errorf("%w: grant-role needs --username and one --role\n%s", ErrUsage, Usage)
		}
		if err := db.GrantRole(ctx, *username, rs[0]); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "granted %q to %q\n", rs[0], *username)
		return nil
	case "create-role":
		var p []string
		if *name == "" || json.Unmarshal([]byte(*perms), &p) != nil {
			return fmt.Errorf("%w: create-role needs --name and --permissions as a JSON array of strings, e.g. '[\"users:read\"]'\n%s", ErrUsage, Usage)
		}
		if err := db.CreateRole(ctx, *name, p); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "role %q has permissions %v\n", *name, p)
		return nil
	}
	return fmt.Errorf("%w: unknown command %q\n%s", ErrUsage, args[0], Usage)
}

func errOr(err error, rest []string) any {
	if err != nil {
		return err
	}
	return fmt.Sprintf("unexpected arguments %q", rest)
}

func readPassword(r io.Reader) (string, error) {
	line, err := bufio.NewReader(io.LimitReader(r, 4096)).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("reading the password from stdin: %w", err)
	}
	pw := strings.TrimRight(line, "\r\n")
	if utf8.RuneCountInString(pw) < MinPasswordLen {
		return "", fmt.Errorf("the password on stdin must have at least %d characters", MinPasswordLen)
	}
	return pw, nil
}

var _ DB = (*store.DB)(nil)
