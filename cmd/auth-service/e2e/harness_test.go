package e2e

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/authplatform/auth-platform/cmd/auth-service/internal/admin"
	"github.com/authplatform/auth-platform/cmd/auth-service/internal/app"
	"github.com/authplatform/auth-platform/cmd/auth-service/internal/config"
	"github.com/authplatform/auth-platform/cmd/auth-service/internal/password"
	"github.com/authplatform/auth-platform/tests/realparts"
)

// serviceEnv is the environment a local instance gets: the stack's
// variables, with the secrets and CAs replaced by the local files.
func serviceEnv(overrides map[string]string) map[string]string {
	env := map[string]string{
		"AWS_REGION":               "eu-west-1",
		"PORT":                     "8080",
		"METRICS_PORT":             "9090",
		"DB_HOST":                  parts.pg.Host(),
		"DB_READER_HOST":           "localhost", // a second pool; the certificate names localhost too
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
		"SHUTDOWN_TIMEOUT_SECONDS": "10",
	}
	for k, v := range overrides {
		if v == "" {
			delete(env, k)
		} else {
			env[k] = v
		}
	}
	return env
}

func loadConfig(t testing.TB, overrides map[string]string) config.Config {
	t.Helper()
	env := serviceEnv(overrides)
	cfg, err := config.Load(func(k string) string { return env[k] })
	require.NoError(t, err)
	return cfg
}

// instance is one service process's worth, in this test process.
type instance struct {
	URL        string // the traffic port
	MetricsURL string // the metrics port
	Svc        *app.Service
	stop       func() error
	logs       *logBuffer // the JSON log, as on stdout
}

// logBuffer keeps an instance's log lines.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// logText is the whole log so far.
func (inst *instance) logText() string {
	inst.logs.mu.Lock()
	defer inst.logs.mu.Unlock()
	return inst.logs.buf.String()
}

// events returns the log lines whose "event" is event, decoded.
func (inst *instance) events(event string) []map[string]any {
	inst.logs.mu.Lock()
	defer inst.logs.mu.Unlock()
	var out []map[string]any
	for _, line := range strings.Split(inst.logs.buf.String(), "\n") {
		var m map[string]any
		if json.Unmarshal([]byte(line), &m) == nil && m["event"] == event {
			out = append(out, m)
		}
	}
	return out
}

// startInstance starts an instance and waits until it is ready.
func startInstance(t testing.TB, overrides map[string]string) *instance {
	t.Helper()
	inst := startInstanceNoWait(t, overrides)
	waitFor(t, "instance ready", 60*time.Second, wantHealth(inst.URL, http.StatusOK))
	return inst
}

// startInstanceNoWait starts an instance: it listens at once and
// initialises in the background.
func startInstanceNoWait(t testing.TB, overrides map[string]string) *instance {
	t.Helper()
	cfg := loadConfig(t, overrides)
	ctx, cancel := context.WithCancel(context.Background())
	logs := &logBuffer{}
	var out io.Writer = logs
	if os.Getenv("E2E_LOG") != "" {
		out = io.MultiWriter(logs, os.Stderr)
	}
	logger := slog.New(slog.NewJSONHandler(out, nil))
	svc, err := app.New(ctx, cfg, logger)
	if err != nil {
		cancel()
		t.Fatalf("start instance: %v", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	mln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	done := make(chan error, 1)
	go func() { done <- svc.Serve(ctx, ln, mln) }()
	var once sync.Once
	var stopErr error
	inst := &instance{URL: "http://" + ln.Addr().String(), MetricsURL: "http://" + mln.Addr().String(), Svc: svc, logs: logs, stop: func() error {
		once.Do(func() { cancel(); stopErr = <-done })
		return stopErr
	}}
	t.Cleanup(func() { _ = inst.stop() })
	return inst
}

var httpClient = &http.Client{Timeout: 30 * time.Second}

type response struct {
	Status int
	Header http.Header
	Body   []byte
}

func (r response) json(t testing.TB) map[string]any {
	t.Helper()
	var m map[string]any
	require.NoError(t, json.Unmarshal(r.Body, &m), string(r.Body))
	return m
}

func do(t testing.TB, method, url string, body io.Reader, header map[string]string) response {
	t.Helper()
	r, err := doErr(method, url, body, header)
	require.NoError(t, err)
	return r
}

func doErr(method, url string, body io.Reader, header map[string]string) (response, error) {
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		return response{}, err
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	res, err := httpClient.Do(req)
	if err != nil {
		return response{}, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	return response{Status: res.StatusCode, Header: res.Header, Body: b}, err
}

func loginBody(user, pw string) io.Reader {
	b, _ := json.Marshal(map[string]string{"username": user, "password": pw})
	return bytes.NewReader(b)
}

var jsonHeader = map[string]string{"Content-Type": "application/json"}

func login(t testing.TB, base, user, pw string) response {
	t.Helper()
	return do(t, http.MethodPost, base+"/v1/login", loginBody(user, pw), jsonHeader)
}

func loginToken(t testing.TB, base, user, pw string) string {
	t.Helper()
	r := login(t, base, user, pw)
	require.Equal(t, http.StatusOK, r.Status, string(r.Body))
	tok, _ := r.json(t)["token"].(string)
	require.NotEmpty(t, tok)
	return tok
}

func bearer(tok string) map[string]string { return map[string]string{"Authorization": "Bearer " + tok} }

func getSession(t testing.TB, base, tok string) response {
	t.Helper()
	return do(t, http.MethodGet, base+"/v1/session", nil, bearer(tok))
}

// masterEnv is the migration step's environment: the master user.
func masterEnv(overrides map[string]string) map[string]string {
	env := map[string]string{"DB_USER": dbUser, "DB_PASSWORD_FILE": filepath.Join(parts.dir, "db-password"),
		"APP_DB_USER": appUser, "APP_DB_PASSWORD_FILE": filepath.Join(parts.dir, "app-db-password")}
	for k, v := range overrides {
		env[k] = v
	}
	return env
}

// migrate runs the migration step on the shared database.
func migrate(ctx context.Context, rotate bool) error {
	env := serviceEnv(masterEnv(nil))
	cfg, err := config.Load(func(k string) string { return env[k] })
	if err != nil {
		return err
	}
	return app.Migrate(ctx, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), rotate)
}

// adminRun runs an admin command as an operator would, and fails the test
// if it fails.
func adminRun(t testing.TB, stdin string, args ...string) string {
	t.Helper()
	out, err := adminTry(t, stdin, args...)
	require.NoError(t, err, out)
	return out
}

// adminTry runs an admin command and returns its output and error; its
// audit events go to the returned log too.
func adminTry(t testing.TB, stdin string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var out bytes.Buffer
	deps, closeAll, err := app.Admin(ctx, loadConfig(t, nil), slog.New(slog.NewJSONHandler(&out, nil)))
	require.NoError(t, err)
	defer closeAll()
	err = admin.Run(ctx, deps, append(args, "--operator", "e2e"), strings.NewReader(stdin), &out)
	return out.String(), err
}

var userSeq struct {
	sync.Mutex
	n int
}

// newUser creates a user with a unique name (tests share one database).
func newUser(t testing.TB, prefix string, roles ...string) (name, pw string) {
	t.Helper()
	userSeq.Lock()
	userSeq.n++
	name = prefix + "-" + strconv.Itoa(userSeq.n) + "-" + strconv.FormatInt(time.Now().UnixNano()%1e6, 10)
	userSeq.Unlock()
	pw = "horse-battery-" + strconv.FormatInt(time.Now().UnixNano()%1e9, 36) + "-staple"
	args := []string{"create-user", "--username", name}
	for _, r := range roles {
		args = append(args, "--role", r)
	}
	adminRun(t, pw+"\n", args...)
	return name, pw
}

// waitFor polls until check passes or the timeout ends.
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

func healthStatus(base string) (int, map[string]any, error) {
	r, err := doErr(http.MethodGet, base+"/health", nil, nil)
	if err != nil {
		return 0, nil, err
	}
	var m map[string]any
	if err := json.Unmarshal(r.Body, &m); err != nil {
		return r.Status, nil, err
	}
	return r.Status, m, nil
}

func wantHealth(base string, status int) func() error {
	return func() error {
		got, body, err := healthStatus(base)
		if err != nil {
			return err
		}
		if got != status {
			return errors.New("status " + strconv.Itoa(got) + ": " + mustJSON(body))
		}
		return nil
	}
}

func mustJSON(v any) string { b, _ := json.Marshal(v); return string(b) }

func newOtherCA(t testing.TB) (string, error) {
	ca, err := realparts.NewCA(t.TempDir())
	if err != nil {
		return "", err
	}
	return ca.CAFile, nil
}

func jsonField(b []byte, field string) string {
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	s, _ := m[field].(string)
	return s
}

// httpRecorder calls the instance's handler directly (its listener may be
// closed already).
func httpRecorder(t testing.TB, inst *instance, path string) response {
	t.Helper()
	rec := httptest.NewRecorder()
	inst.Svc.Handler.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
	return response{Status: rec.Code, Header: rec.Header(), Body: rec.Body.Bytes()}
}

func stringsReader(s string) io.Reader { return strings.NewReader(s) }

// jsonList decodes b's field as a list of objects.
func jsonList(b []byte, field string) []map[string]any {
	var m map[string]json.RawMessage
	_ = json.Unmarshal(b, &m)
	var list []map[string]any
	_ = json.Unmarshal(m[field], &list)
	return list
}

func sha256Hex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// hashWith hashes pw with argon2id at m KiB (a stored hash made with
// older, weaker parameters).
func hashWith(ctx context.Context, pw string, m uint32) (string, error) {
	p := password.Default
	p.MemoryKiB = m
	return password.Hash(ctx, pw, p)
}
