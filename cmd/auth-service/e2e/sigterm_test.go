package e2e

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/authplatform/auth-platform/tests/realparts"
)

// buildBinary builds the service with the settings this test binary was
// built with, so that its compiled packages are reused (the image's
// static build, CGO_ENABLED=0 -trimpath, is ci.sh's).
func buildBinary(t *testing.T, dir string) string {
	t.Helper()
	bin := filepath.Join(dir, "auth-service")
	cmd := exec.Command("go", "build", "-o", bin, ".")
	cmd.Dir = ".."
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s", out)
	return bin
}

// SIGTERM: the process stops accepting, finishes the request in flight
// (here one whose body is still arriving), and exits 0.
func TestSIGTERMDrainsInFlightRequestsAndExitsZero(t *testing.T) {
	// As in the pod: an unprivileged user (UID 10001, as the image's and the Deployment's) that
	// can read its secrets and nothing it could write to.
	run, err := os.MkdirTemp(parts.dir, "run")
	require.NoError(t, err)
	require.NoError(t, os.Chmod(run, 0o755))
	bin := buildBinary(t, run)
	files := map[string]string{}
	for _, f := range []struct{ key, src string }{{"DB_PASSWORD_FILE", "app-db-password"}, {"REDIS_AUTH_TOKEN_FILE", "redis-token"}} {
		b, err := os.ReadFile(filepath.Join(parts.dir, f.src))
		require.NoError(t, err)
		dst := filepath.Join(run, f.src)
		require.NoError(t, os.WriteFile(dst, b, 0o400))
		if os.Getuid() == 0 {
			require.NoError(t, os.Chown(dst, 10001, 10001))
		}
		files[f.key] = dst
	}
	ports, err := realparts.FreePorts(2)
	require.NoError(t, err)
	port := strconv.Itoa(ports[0])
	var env []string
	files["PORT"], files["METRICS_PORT"], files["SHUTDOWN_TIMEOUT_SECONDS"] = port, strconv.Itoa(ports[1]), "10"
	for k, v := range serviceEnv(files) {
		env = append(env, k+"="+v)
	}
	runAs := func(cmd *exec.Cmd) {
		cmd.Env = append(env, "PATH="+os.Getenv("PATH"))
		cmd.Dir = "/"
		if os.Getuid() == 0 {
			cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 10001, Gid: 10001}}
		}
	}

	// The operators' commands, through the binary: the password on stdin.
	name := fmt.Sprintf("drain-%d", time.Now().UnixNano())
	pw := "drain-password-long-enough"
	for _, c := range []struct {
		args  []string
		stdin string
		code  int
		want  string
	}{
		{[]string{"admin", "create-role", "--name", "drainer", "--permissions", `["drain:run"]`}, "", 0, `role "drainer"`},
		{[]string{"admin", "create-user", "--username", name, "--role", "drainer"}, pw + "\n", 0, "created user"},
		{[]string{"admin", "create-user", "--username", name + "x"}, "short\n", 1, "at least 12 characters"},
		{[]string{"admin", "create-user", "--username", name + "y", "--password", pw}, "", 2, "usage"},
		{[]string{"admin", "frobnicate"}, "", 2, "unknown command"},
	} {
		cmd := exec.Command(bin, c.args...)
		runAs(cmd)
		cmd.Stdin = strings.NewReader(c.stdin)
		out, err := cmd.CombinedOutput()
		code := 0
		var exitErr *exec.ExitError
		if errors.As(err, &exitErr) {
			code = exitErr.ExitCode()
		} else {
			require.NoError(t, err)
		}
		assert.Equal(t, c.code, code, "%v: %s", c.args, out)
		assert.Contains(t, string(out), c.want, "%v", c.args)
	}

	var logs bytes.Buffer
	cmd := exec.Command(bin)
	runAs(cmd)
	cmd.Stdout, cmd.Stderr = &logs, &logs
	require.NoError(t, cmd.Start())
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() { _ = cmd.Process.Kill() })
	base := "http://127.0.0.1:" + port
	waitFor(t, "binary healthy", 30*time.Second, func() error {
		select {
		case err := <-exited:
			t.Fatalf("exited before serving: %v\n%s", err, logs.String())
		default:
		}
		return wantHealth(base, http.StatusOK)()
	})

	// A login whose body arrives in two parts, SIGTERM in between.
	body := fmt.Sprintf(`{"username":%q,"password":%q}`, name, pw)
	conn, err := net.Dial("tcp", "127.0.0.1:"+port)
	require.NoError(t, err)
	defer conn.Close()
	_, err = fmt.Fprintf(conn, "POST /v1/login HTTP/1.1\r\nHost: auth\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", len(body), body[:10])
	require.NoError(t, err)
	time.Sleep(200 * time.Millisecond) // the server is reading the body
	signalledAt := time.Now()
	require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))

	waitFor(t, "new connections refused after SIGTERM", 5*time.Second, func() error {
		c, err := net.DialTimeout("tcp", "127.0.0.1:"+port, 200*time.Millisecond)
		if err == nil {
			c.Close()
			return fmt.Errorf("still accepting")
		}
		return nil
	})
	select {
	case err := <-exited:
		t.Fatalf("exited with a request in flight: %v\n%s", err, logs.String())
	case <-time.After(300 * time.Millisecond):
	}
	_, err = io.WriteString(conn, body[10:])
	require.NoError(t, err)
	res, err := http.ReadResponse(bufio.NewReader(conn), nil)
	require.NoError(t, err)
	resBody, _ := io.ReadAll(res.Body)
	assert.Equal(t, http.StatusOK, res.StatusCode, "the in-flight login completes: %s", resBody)
	assert.Contains(t, string(resBody), `"token"`)
	tok := jsonField(resBody, "token")

	select {
	case err := <-exited:
		require.NoError(t, err, "exit status 0 after a clean drain\n%s", logs.String())
		t.Logf("exited %s after SIGTERM", time.Since(signalledAt).Round(time.Millisecond))
	case <-time.After(10 * time.Second):
		t.Fatalf("still running 10 s after SIGTERM\n%s", logs.String())
	}
	assert.Contains(t, logs.String(), "drained; exiting")

	// The session made during the drain outlives the process.
	other := startInstance(t, nil)
	r := getSession(t, other.URL, tok)
	require.Equal(t, http.StatusOK, r.Status, string(r.Body))
	assert.Equal(t, []any{"drainer"}, r.json(t)["roles"])
}

// /health answers 503 from the moment shutdown starts, while requests in
// flight still finish.
func TestHealthIs503AsSoonAsShutdownStarts(t *testing.T) {
	inst := startInstance(t, map[string]string{"SHUTDOWN_TIMEOUT_SECONDS": "5"})
	waitFor(t, "healthy", 10*time.Second, wantHealth(inst.URL, http.StatusOK))
	// Keep a request in flight so that Serve stays in its drain.
	conn, err := net.Dial("tcp", strings.TrimPrefix(inst.URL, "http://"))
	require.NoError(t, err)
	defer conn.Close()
	_, err = io.WriteString(conn, "POST /v1/login HTTP/1.1\r\nHost: a\r\nContent-Type: application/json\r\nContent-Length: 40\r\n\r\n{")
	require.NoError(t, err)
	time.Sleep(100 * time.Millisecond)
	stopped := make(chan error, 1)
	go func() { stopped <- inst.stop() }()
	waitFor(t, "shutting down", 2*time.Second, func() error {
		if !inst.Svc.Readiness.ShuttingDown() {
			return fmt.Errorf("not yet")
		}
		return nil
	})
	status, _ := inst.Svc.Readiness.Status()
	assert.Equal(t, "shutting_down", status)
	rec := httpRecorder(t, inst, "/health")
	assert.Equal(t, http.StatusServiceUnavailable, rec.Status)
	assert.JSONEq(t, `{"status":"shutting_down"}`, string(rec.Body))
	// The metrics port still tells why, during the drain.
	detail := do(t, http.MethodGet, inst.MetricsURL+"/health", nil, nil)
	assert.Equal(t, http.StatusOK, detail.Status)
	assert.Equal(t, "shutting_down", detail.json(t)["status"])
	_, _ = io.WriteString(conn, strings.Repeat(" ", 39))
	select {
	case err := <-stopped:
		assert.NoError(t, err)
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not return")
	}
}
