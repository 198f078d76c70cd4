package e2e

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/authplatform/auth-platform/tests/realparts"
)

// serviceEnv is a local instance's environment: the stack's variables,
// with the secrets and CAs replaced by the local files (as the service's
// own e2e harness and the drill do). Instances connect as the application
// role the migrate step made (issue 25), as the stack's pods do.
func serviceEnv(port, metricsPort int, overrides map[string]string) []string {
	env := map[string]string{
		"AWS_REGION":               "eu-west-1",
		"PORT":                     strconv.Itoa(port),
		"METRICS_PORT":             strconv.Itoa(metricsPort),
		"DB_HOST":                  parts.pg.Host(),
		"DB_READER_HOST":           "localhost",
		"DB_PORT":                  strconv.Itoa(parts.pg.Port()),
		"DB_NAME":                  dbName,
		"DB_USER":                  appUser,
		"DB_PASSWORD_FILE":         filepath.Join(parts.dir, "app-db-password"),
		"DB_CA_FILE":               parts.ca.CAFile,
		"REDIS_HOSTS":              parts.redis.SeedAddr(),
		"REDIS_AUTH_TOKEN_FILE":    filepath.Join(parts.dir, "redis-token"),
		"REDIS_CA_FILE":            parts.ca.CAFile,
		"CLUSTER_ENABLED":          "true",
		"REDIS_TLS":                "true",
		"SESSION_TTL_SECONDS":      "3600",
		"SESSION_IDLE_SECONDS":     "1800",
		"REQUEST_TIMEOUT_SECONDS":  "25",
		"SHUTDOWN_TIMEOUT_SECONDS": "5",
	}
	for k, v := range overrides {
		env[k] = v
	}
	out := []string{"PATH=" + os.Getenv("PATH")}
	for k, v := range env {
		out = append(out, k+"="+v)
	}
	return out
}

// service is one auth-service process.
type service struct {
	URL  string
	Port int
	cmd  *exec.Cmd
	done chan struct{}
	log  string
}

// startService runs an instance on port (0: a free one) and waits until
// it is ready; the test's cleanup stops it.
func startService(t testing.TB, port int) *service {
	t.Helper()
	ports, err := realparts.FreePorts(2)
	require.NoError(t, err)
	if port == 0 {
		port = ports[0]
	}
	logPath := filepath.Join(t.TempDir(), "auth-service.log")
	logf, err := os.Create(logPath)
	require.NoError(t, err)
	cmd := exec.Command(parts.bin)
	cmd.Env = serviceEnv(port, ports[1], nil)
	cmd.Stdout, cmd.Stderr = logf, logf
	require.NoError(t, cmd.Start())
	s := &service{URL: "http://127.0.0.1:" + strconv.Itoa(port), Port: port, cmd: cmd, done: make(chan struct{}), log: logPath}
	go func() { _ = cmd.Wait(); logf.Close(); close(s.done) }()
	t.Cleanup(s.kill)
	waitFor(t, "the service ready on "+s.URL, 60*time.Second, func() error {
		select {
		case <-s.done:
			return fmt.Errorf("exited: %s", s.tail())
		default:
		}
		res, err := http.Get(s.URL + "/health")
		if err != nil {
			return err
		}
		res.Body.Close()
		if res.StatusCode != http.StatusOK {
			return fmt.Errorf("readiness %d", res.StatusCode)
		}
		return nil
	})
	return s
}

// kill ends the process at once (SIGKILL: a crashed pod, a lost zone).
func (s *service) kill() {
	select {
	case <-s.done:
		return
	default:
	}
	_ = s.cmd.Process.Signal(syscall.SIGKILL)
	<-s.done
}

func (s *service) tail() string {
	b, _ := os.ReadFile(s.log)
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	return string(b)
}

// migrate runs `auth-service migrate` with the master credentials, as the
// stack's migration Job does before any pod starts: the schema, and the
// application role with a new password in its file.
func migrate(ctx context.Context) error {
	ports, err := realparts.FreePorts(2)
	if err != nil {
		return err
	}
	cmd := exec.CommandContext(ctx, parts.bin, "migrate")
	cmd.Env = serviceEnv(ports[0], ports[1], map[string]string{
		"DB_USER": dbUser, "DB_PASSWORD_FILE": filepath.Join(parts.dir, "db-password"),
		"APP_DB_USER": appUser, "APP_DB_PASSWORD_FILE": filepath.Join(parts.dir, "app-db-password"),
	})
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("auth-service migrate: %v: %s", err, out)
	}
	return nil
}

// adminRun runs an admin command through the binary, as an operator does.
func adminRun(t testing.TB, stdin string, args ...string) {
	t.Helper()
	ports, err := realparts.FreePorts(2)
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, parts.bin, append([]string{"admin"}, args...)...)
	cmd.Env = serviceEnv(ports[0], ports[1], nil)
	cmd.Stdin = strings.NewReader(stdin)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	require.NoError(t, cmd.Run(), "auth-service admin %v: %s", args, out.String())
}

var userSeq struct {
	sync.Mutex
	n int
}

// newUser creates a user with a unique name and the given roles.
func newUser(t testing.TB, prefix string, roles ...string) (name, pw string) {
	t.Helper()
	userSeq.Lock()
	userSeq.n++
	n := userSeq.n
	userSeq.Unlock()
	name = fmt.Sprintf("%s-%d-%d", prefix, n, time.Now().UnixNano()%1e6)
	// Not containing the name, and no common password (the service's
	// password policy, issue 25).
	pw = fmt.Sprintf("Quartz-%d-Meadow-%d", n, time.Now().UnixNano()%1e9)
	args := []string{"create-user", "--username", name}
	for _, r := range roles {
		args = append(args, "--role", r)
	}
	adminRun(t, pw+"\n", args...)
	return name, pw
}

var rolesOnce sync.Once

// ensureRoles creates the roles the tests grant.
func ensureRoles(t testing.TB) {
	rolesOnce.Do(func() {
		adminRun(t, "", "create-role", "--name", "reader", "--permissions", `["orders:read"]`)
		adminRun(t, "", "create-role", "--name", "admin", "--permissions", `["orders:read","orders:write"]`)
	})
}

func waitFor(t testing.TB, what string, timeout time.Duration, check func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var err error
	for time.Now().Before(deadline) {
		if err = check(); err == nil {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("%s: not within %s: %v", what, timeout, err)
}
