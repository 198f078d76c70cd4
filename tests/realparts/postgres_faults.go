package realparts

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Exec runs one SQL statement (psql -At over the server's own socket, as
// User with the current password) in Database and returns its output.
func (p *Postgres) Exec(ctx context.Context, query string) (string, error) {
	cmd := exec.CommandContext(ctx, filepath.Join(p.bin, "psql"), "-X", "-At", "-v", "ON_ERROR_STOP=1",
		"-h", p.sock, "-p", strconv.Itoa(p.port), "-U", p.opts.User, "-d", p.opts.Database, "-c", query)
	cmd.Env = append(p.env(), "PGPASSWORD="+p.Password())
	out, err := cmd.CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("realparts: psql on %s: %w: %s", p.Addr(), err, strings.TrimSpace(string(out)))
	}
	return strings.TrimSpace(string(out)), nil
}

// SetPassword changes User's password (ALTER ROLE ... PASSWORD), as
// RDS-managed rotation does: from now on new connections need it (the old
// one is refused with SQLSTATE 28P01); connections already open stay open.
// Standbys share the role (it replicates), and Password reports the new one
// on all of them.
func (p *Postgres) SetPassword(ctx context.Context, password string) error {
	if password == "" {
		return errors.New("realparts: SetPassword: empty password")
	}
	lit := "'" + strings.ReplaceAll(password, "'", "''") + "'"
	if _, err := p.Exec(ctx, "ALTER ROLE "+quoteIdent(p.opts.User)+" PASSWORD "+lit); err != nil {
		return err
	}
	p.role.mu.Lock()
	p.role.password = password
	p.role.mu.Unlock()
	return nil
}

// StartStandby makes a hot standby of p, as an Aurora replica: a
// pg_basebackup of p streaming its WAL (over p's socket), started on a port
// of its own with the same server certificate (so verify-full against
// 127.0.0.1 holds) and the same role. It accepts read-only queries until
// Promote. Its directory is under p's, and Close stops it.
func (p *Postgres) StartStandby(ctx context.Context) (*Postgres, error) {
	if err := Require("pg_basebackup"); err != nil {
		return nil, err
	}
	s := &Postgres{opts: p.opts, bin: p.bin, cred: p.cred, role: p.role}
	base, err := os.MkdirTemp(p.opts.Dir, "standby")
	if err != nil {
		return nil, fmt.Errorf("realparts: standby dir: %w", err)
	}
	if err := os.Chmod(base, 0o711); err != nil {
		return nil, err
	}
	s.data, s.sock = filepath.Join(base, "data"), filepath.Join(base, "s")
	uid, gid := os.Getuid(), os.Getgid()
	if p.cred != nil {
		uid, gid = int(p.cred.Uid), int(p.cred.Gid)
	}
	for _, d := range []string{s.data, s.sock} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, fmt.Errorf("realparts: standby dir: %w", err)
		}
		if err := os.Chown(d, uid, gid); err != nil {
			return nil, err
		}
	}
	backup := exec.CommandContext(ctx, filepath.Join(p.bin, "pg_basebackup"), "-D", s.data, "-h", p.sock,
		"-p", strconv.Itoa(p.port), "-U", p.opts.User, "-X", "stream", "-c", "fast", "--no-sync")
	backup.Env = p.env()
	backup.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Credential: p.cred}
	if out, err := backup.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("realparts: pg_basebackup: %w\n%s", err, out)
	}
	signal := filepath.Join(s.data, "standby.signal")
	if err := os.WriteFile(signal, nil, 0o600); err != nil {
		return nil, err
	}
	if err := os.Chown(signal, uid, gid); err != nil {
		return nil, err
	}
	s.primaryConninfo = fmt.Sprintf("host=%s port=%d user=%s application_name=standby", p.sock, p.port, p.opts.User)
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		ports, err := FreePorts(1)
		if err != nil {
			return nil, err
		}
		s.port = ports[0]
		if err := s.writeConf(); err != nil {
			return nil, err
		}
		if lastErr = s.Start(ctx); lastErr == nil {
			return s, nil
		}
	}
	return nil, lastErr
}

// InRecovery tells whether the server is a standby (pg_is_in_recovery).
func (p *Postgres) InRecovery(ctx context.Context) (bool, error) {
	out, err := p.Exec(ctx, "SELECT pg_is_in_recovery()")
	if err != nil {
		return false, err
	}
	return out == "t", nil
}

// Promote turns a standby into a primary that accepts writes, as Aurora
// promotes a reader in a failover, and returns once it does (bounded by
// ctx and 60 s).
func (p *Postgres) Promote(ctx context.Context) error {
	if _, err := p.Exec(ctx, "SELECT pg_promote(true, 60)"); err != nil {
		return err
	}
	return poll(ctx, "promotion of "+p.Addr(), 60*time.Second, 20*time.Millisecond, func() error {
		in, err := p.InRecovery(ctx)
		if err == nil && in {
			return errors.New("still in recovery")
		}
		return err
	})
}
