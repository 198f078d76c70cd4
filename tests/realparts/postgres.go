package realparts

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// PostgresOptions configure StartPostgres.
type PostgresOptions struct {
	// Dir holds the data directory, socket and log. Default: a new
	// temporary directory, removed by Close. When the test runs as root the
	// server runs as the "postgres" user, so Dir is made traversable (0711).
	Dir string
	// CA signs the server certificate. Required.
	CA *CA
	// User and Password are the superuser that initdb creates
	// (scram-sha-256). Defaults: "authsvc", required password.
	User     string
	Password string
	// Database is created owned by User. Default: User.
	Database string
}

// Postgres is a running PostgreSQL that accepts only TLS connections with
// SCRAM passwords on 127.0.0.1 (pg_hba has hostssl lines only).
type Postgres struct {
	opts   PostgresOptions
	ownDir bool
	bin    string
	data   string
	sock   string
	port   int
	cred   *syscall.Credential
	mu     sync.Mutex
	proc   *proc
	// role holds the password, shared with standbys (one catalog).
	role *role
	// primaryConninfo, on a standby, is how it streams from its primary.
	primaryConninfo string
}

// role is the superuser's current password.
type role struct {
	mu       sync.Mutex
	password string
}

// postgresBinDir finds Debian's /usr/lib/postgresql/<version>/bin, the
// newest version first; PG_BINDIR overrides it.
func postgresBinDir() (string, error) {
	if d := os.Getenv("PG_BINDIR"); d != "" {
		return d, nil
	}
	matches, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
	sort.Slice(matches, func(a, b int) bool { return pgVersion(matches[a]) > pgVersion(matches[b]) })
	if len(matches) > 0 {
		return filepath.Dir(matches[0]), nil
	}
	if p, err := exec.LookPath("initdb"); err == nil {
		return filepath.Dir(p), nil
	}
	return "", errors.New("no PostgreSQL server binaries under /usr/lib/postgresql/*/bin")
}

func pgVersion(initdbPath string) float64 {
	v, _ := strconv.ParseFloat(filepath.Base(filepath.Dir(filepath.Dir(initdbPath))), 64)
	return v
}

// StartPostgres runs initdb (scram-sha-256, UTF-8, C.UTF-8 locale), creates
// Database, and starts the server with ssl on, shared_buffers=32MB and
// durability off (fsync, synchronous_commit, full_page_writes: this is
// throwaway data), then waits until it accepts connections.
func StartPostgres(ctx context.Context, opts PostgresOptions) (*Postgres, error) {
	if opts.CA == nil || opts.Password == "" {
		return nil, errors.New("realparts: PostgresOptions needs CA and Password")
	}
	if err := Require("initdb", "postgres", "pg_isready", "psql"); err != nil {
		return nil, err
	}
	if opts.User == "" {
		opts.User = "authsvc"
	}
	if opts.Database == "" {
		opts.Database = opts.User
	}
	bin, err := postgresBinDir()
	if err != nil {
		return nil, err
	}
	p := &Postgres{opts: opts, bin: bin, role: &role{password: opts.Password}}
	if opts.Dir == "" {
		d, err := os.MkdirTemp("", "rppg")
		if err != nil {
			return nil, fmt.Errorf("realparts: postgres dir: %w", err)
		}
		p.opts.Dir, p.ownDir = d, true
	}
	if err := p.initialize(ctx); err != nil {
		p.Close()
		return nil, err
	}
	return p, nil
}

func (p *Postgres) initialize(ctx context.Context) error {
	dir := p.opts.Dir
	if err := os.MkdirAll(dir, 0o711); err != nil {
		return fmt.Errorf("realparts: postgres dir: %w", err)
	}
	uid, gid := os.Getuid(), os.Getgid()
	if uid == 0 {
		// initdb and postgres refuse to run as root.
		u, err := user.Lookup("postgres")
		if err != nil {
			return fmt.Errorf("realparts: running as root needs the 'postgres' OS user (apt-get install -y postgresql): %w", err)
		}
		uid, _ = strconv.Atoi(u.Uid)
		gid, _ = strconv.Atoi(u.Gid)
		p.cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
		if err := traversable(dir); err != nil {
			return err
		}
	}
	base, err := os.MkdirTemp(dir, "pg")
	if err != nil {
		return fmt.Errorf("realparts: postgres dir: %w", err)
	}
	p.data = filepath.Join(base, "data")
	p.sock = filepath.Join(base, "s")
	for _, d := range []string{p.data, p.sock} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return fmt.Errorf("realparts: postgres dir: %w", err)
		}
	}
	pwfile := filepath.Join(base, "pw")
	if err := os.WriteFile(pwfile, []byte(p.opts.Password+"\n"), 0o600); err != nil {
		return fmt.Errorf("realparts: postgres pwfile: %w", err)
	}
	for _, path := range []string{base, p.data, p.sock, pwfile} {
		if err := os.Chown(path, uid, gid); err != nil {
			return fmt.Errorf("realparts: chown %s: %w", path, err)
		}
	}
	if err := os.Chmod(base, 0o711); err != nil {
		return err
	}
	initdb := exec.CommandContext(ctx, filepath.Join(p.bin, "initdb"), "-D", p.data, "-U", p.opts.User,
		"--pwfile="+pwfile, "--auth=scram-sha-256", "-E", "UTF8", "--locale=C.UTF-8", "--no-sync")
	initdb.Env = p.env()
	initdb.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Credential: p.cred}
	if out, err := initdb.CombinedOutput(); err != nil {
		return fmt.Errorf("realparts: initdb: %w\n%s", err, out)
	}
	os.Remove(pwfile)
	// The server needs its key owned by itself with mode 0600.
	for _, f := range []struct {
		src, dst string
		mode     os.FileMode
	}{{p.opts.CA.CertFile, "server.crt", 0o644}, {p.opts.CA.KeyFile, "server.key", 0o600}} {
		b, err := os.ReadFile(f.src)
		if err != nil {
			return fmt.Errorf("realparts: postgres TLS files: %w", err)
		}
		dst := filepath.Join(p.data, f.dst)
		if err := os.WriteFile(dst, b, f.mode); err != nil {
			return fmt.Errorf("realparts: postgres TLS files: %w", err)
		}
		if err := os.Chown(dst, uid, gid); err != nil {
			return err
		}
	}
	// Replication only over the socket, which only the server's own user
	// reaches (StartStandby), so it needs no password and survives
	// SetPassword; clients get TLS + SCRAM.
	hba := "local replication all trust\nlocal all all scram-sha-256\nhostssl all all 127.0.0.1/32 scram-sha-256\n"
	if err := os.WriteFile(filepath.Join(p.data, "pg_hba.conf"), []byte(hba), 0o600); err != nil {
		return err
	}
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		ports, err := FreePorts(1)
		if err != nil {
			return err
		}
		p.port = ports[0]
		if err := p.writeConf(); err != nil {
			return err
		}
		if lastErr = p.Start(ctx); lastErr == nil {
			break
		}
	}
	if lastErr != nil {
		return lastErr
	}
	// CREATE DATABASE cannot run in a multi-statement -c: one statement.
	psql := exec.CommandContext(ctx, filepath.Join(p.bin, "psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1",
		"-h", p.sock, "-p", strconv.Itoa(p.port), "-U", p.opts.User, "-d", "postgres",
		"-c", "CREATE DATABASE "+quoteIdent(p.opts.Database)+" OWNER "+quoteIdent(p.opts.User))
	psql.Env = append(p.env(), "PGPASSWORD="+p.Password())
	if p.opts.Database != "postgres" {
		if out, err := psql.CombinedOutput(); err != nil {
			return fmt.Errorf("realparts: create database: %w\n%s", err, out)
		}
	}
	return nil
}

func (p *Postgres) writeConf() error {
	conf := fmt.Sprintf(`
# realparts
listen_addresses = '127.0.0.1'
port = %d
unix_socket_directories = '%s'
ssl = on
ssl_cert_file = 'server.crt'
ssl_key_file = 'server.key'
password_encryption = 'scram-sha-256'
fsync = off
synchronous_commit = off
full_page_writes = off
shared_buffers = 32MB
max_connections = 100
`, p.port, p.sock)
	if p.primaryConninfo != "" {
		conf += fmt.Sprintf("primary_conninfo = '%s'\n", p.primaryConninfo)
	}
	// postgresql.auto.conf is read last and overrides postgresql.conf, so a
	// retry on a new port just rewrites it.
	path := filepath.Join(p.data, "postgresql.auto.conf")
	if err := os.WriteFile(path, []byte(conf), 0o600); err != nil {
		return err
	}
	if p.cred != nil {
		return os.Chown(path, int(p.cred.Uid), int(p.cred.Gid))
	}
	return nil
}

func (p *Postgres) env() []string {
	return []string{"LC_ALL=C.UTF-8", "PATH=" + os.Getenv("PATH")}
}

func quoteIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

// Host is the address clients connect to.
func (p *Postgres) Host() string { return "127.0.0.1" }

// Port is the TCP port; it stays the same across Stop and Start.
func (p *Postgres) Port() int { return p.port }

// Addr is Host:Port.
func (p *Postgres) Addr() string { return net.JoinHostPort(p.Host(), strconv.Itoa(p.port)) }

// User, Password and Database are the credentials and the database made.
func (p *Postgres) User() string     { return p.opts.User }
func (p *Postgres) Database() string { return p.opts.Database }

// Password is the current password (SetPassword changes it).
func (p *Postgres) Password() string {
	p.role.mu.Lock()
	defer p.role.mu.Unlock()
	return p.role.password
}

// Start starts the server (again, after Stop) on the same port and data
// and waits until it accepts connections (pg_isready, bounded to 20 s).
func (p *Postgres) Start(ctx context.Context) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.proc != nil && !p.proc.exited() {
		return nil
	}
	logPath := filepath.Join(filepath.Dir(p.data), "postgres.log")
	proc, err := startProc("postgres", logPath, p.cred, p.env(), filepath.Join(p.bin, "postgres"), "-D", p.data)
	if err != nil {
		return err
	}
	p.proc = proc
	return poll(ctx, "postgres on "+p.Addr(), 20*time.Second, 20*time.Millisecond, func() error {
		if proc.exited() {
			return fmt.Errorf("postgres exited: %v\n%s", proc.err, proc.logTail())
		}
		out, err := exec.CommandContext(ctx, filepath.Join(p.bin, "pg_isready"), "-q", "-h", "127.0.0.1", "-p", strconv.Itoa(p.port)).CombinedOutput()
		if err != nil {
			return fmt.Errorf("pg_isready: %v %s", err, out)
		}
		return nil
	})
}

// Stop shuts the server down (SIGINT: fast shutdown, which ends open
// sessions; SIGKILL after 10 s).
func (p *Postgres) Stop() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.proc == nil {
		return nil
	}
	return p.proc.stop(syscall.SIGINT, 10*time.Second)
}

// Close stops the server and removes Dir if StartPostgres created it.
func (p *Postgres) Close() error {
	err := p.Stop()
	if p.ownDir {
		os.RemoveAll(p.opts.Dir)
	}
	return err
}

// traversable lets the postgres user reach dir: directories under the temp
// dir that deny others search permission (os.MkdirTemp, t.TempDir make
// 0700) get o+x added; one outside the temp dir is an error to fix.
func traversable(dir string) error {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return err
	}
	tmp := filepath.Clean(os.TempDir())
	for d := abs; d != "/" && d != "."; d = filepath.Dir(d) {
		fi, err := os.Stat(d)
		if err != nil {
			return fmt.Errorf("realparts: postgres dir: %w", err)
		}
		if fi.Mode().Perm()&0o001 != 0 {
			continue
		}
		if d != tmp && !strings.HasPrefix(d, tmp+"/") {
			return fmt.Errorf("realparts: postgres dir: %s is not searchable by the postgres user; chmod o+x it or use a dir under %s", d, tmp)
		}
		if err := os.Chmod(d, fi.Mode().Perm()|0o011); err != nil {
			return fmt.Errorf("realparts: postgres dir: %w", err)
		}
	}
	return nil
}
