package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/authplatform/auth-platform/cmd/auth-service/client"
	"github.com/authplatform/auth-platform/tests/realparts"
)

// upstream is the application behind the gateway: it records what
// reached it and answers with the identity headers it saw.
type upstream struct {
	*httptest.Server
	mu   sync.Mutex
	seen []http.Header
}

func newUpstream(t *testing.T) *upstream {
	u := &upstream{}
	u.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		u.mu.Lock()
		u.seen = append(u.seen, r.Header.Clone())
		u.mu.Unlock()
		_ = json.NewEncoder(w).Encode(map[string]string{
			"path": r.URL.Path, "body": string(body), "authorization": r.Header.Get("Authorization"),
			"user": r.Header.Get("X-Auth-User"), "userId": r.Header.Get("X-Auth-User-Id"),
			"roles": r.Header.Get("X-Auth-Roles"), "permissions": r.Header.Get("X-Auth-Permissions"),
		})
	}))
	t.Cleanup(u.Close)
	return u
}

func (u *upstream) calls() int { u.mu.Lock(); defer u.mu.Unlock(); return len(u.seen) }

// startNginx runs Debian's nginx with gateway/nginx.conf, the documented
// configuration, its placeholders filled in; in the foreground, one
// process, as the test's user.
func startNginx(t *testing.T, authService, app string) string {
	t.Helper()
	tmpl, err := os.ReadFile(filepath.Join("..", "gateway", "nginx.conf"))
	require.NoError(t, err)
	ports, err := realparts.FreePorts(1)
	require.NoError(t, err)
	listen := "127.0.0.1:" + strconv.Itoa(ports[0])
	conf := strings.NewReplacer("@LISTEN@", listen, "@AUTH_SERVICE@", authService, "@APP@", app).Replace(string(tmpl))
	require.NotRegexp(t, `@[A-Z_]+@`, conf, "every placeholder filled")
	prefix := t.TempDir()
	for _, d := range []string{"logs", "tmp"} {
		require.NoError(t, os.Mkdir(filepath.Join(prefix, d), 0o755))
	}
	require.NoError(t, os.WriteFile(filepath.Join(prefix, "nginx.conf"), []byte(conf), 0o644))
	cmd := exec.Command(parts.nginx, "-p", prefix+"/", "-c", "nginx.conf", "-e", "logs/error.log", "-g", "daemon off; master_process off;")
	out := &strings.Builder{}
	cmd.Stdout, cmd.Stderr = out, out
	require.NoError(t, cmd.Start())
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		<-done
		if t.Failed() {
			b, _ := os.ReadFile(filepath.Join(prefix, "logs", "error.log"))
			t.Logf("nginx error.log:\n%s", b)
		}
	})
	waitFor(t, "nginx listening on "+listen, 30*time.Second, func() error {
		select {
		case <-done:
			b, _ := os.ReadFile(filepath.Join(prefix, "logs", "error.log"))
			return fmt.Errorf("nginx exited: %s %s", out, b)
		default:
		}
		c, err := net.DialTimeout("tcp", listen, time.Second)
		if err == nil {
			c.Close()
		}
		return err
	})
	return "http://" + listen
}

type gatewayAnswer struct {
	status int
	header http.Header
	body   map[string]string
	raw    string
}

func through(t *testing.T, method, url, token string, header map[string]string, body string) gatewayAnswer {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	require.NoError(t, err)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	a := gatewayAnswer{status: res.StatusCode, header: res.Header, raw: string(b)}
	_ = json.Unmarshal(b, &a.body)
	return a
}

// The real NGINX in front of an application, configured as
// gateway/nginx.conf says: a valid token passes and the user and roles
// reach the application in headers (never what the client forged, never
// the token); a missing, unknown or revoked token is refused with 401; a
// role the session lacks with 403; and with the service down, 503 (fail
// closed). The application sees only the requests that passed.
func TestNginxAuthRequestInFrontOfAnApplication(t *testing.T) {
	ensureRoles(t)
	svc := startService(t, 0)
	app := newUpstream(t)
	gw := startNginx(t, strings.TrimPrefix(svc.URL, "http://"), strings.TrimPrefix(app.URL, "http://"))
	c := newClient(t, svc.URL, client.Config{})
	ctx := context.Background()
	reader, pw := newUser(t, "gw-reader", "reader")
	tkReader, err := c.Login(ctx, reader, pw)
	require.NoError(t, err)
	admin, pw := newUser(t, "gw-admin", "admin", "reader")
	tkAdmin, err := c.Login(ctx, admin, pw)
	require.NoError(t, err)
	revoked, pw := newUser(t, "gw-revoked", "reader")
	tkRevoked, err := c.Login(ctx, revoked, pw)
	require.NoError(t, err)
	require.NoError(t, c.Logout(ctx, tkRevoked.Token))

	forged := map[string]string{"X-Auth-User": "mallory", "X-Auth-Roles": "admin", "X-Auth-User-Id": "1"}
	for _, tc := range []struct {
		name, method, path, token string
		header                    map[string]string
		body                      string
		status                    int
		user, roles               string
	}{
		{"a valid token passes, the identity in headers", "GET", "/orders", tkReader.Token, nil, "", 200, reader, "reader"},
		{"a POST with its body", "POST", "/orders", tkReader.Token, nil, `{"item":42}`, 200, reader, "reader"},
		{"forged identity headers are replaced", "GET", "/orders", tkReader.Token, forged, "", 200, reader, "reader"},
		{"roles listed as the service holds them", "GET", "/orders", tkAdmin.Token, nil, "", 200, admin, "admin,reader"},
		{"the admin part, for an admin", "GET", "/admin/report", tkAdmin.Token, nil, "", 200, admin, "admin,reader"},
		{"the admin part, for a reader: 403", "GET", "/admin/report", tkReader.Token, nil, "", 403, "", ""},
		{"no token: 401", "GET", "/orders", "", nil, "", 401, "", ""},
		{"no token, forged headers: 401", "GET", "/orders", "", forged, "", 401, "", ""},
		{"a revoked token: 401", "GET", "/orders", tkRevoked.Token, nil, "", 401, "", ""},
		{"a token never issued: 401", "GET", "/orders", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", nil, "", 401, "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := app.calls()
			a := through(t, tc.method, gw+tc.path, tc.token, tc.header, tc.body)
			require.Equal(t, tc.status, a.status, a.raw)
			if tc.status != http.StatusOK {
				assert.Equal(t, before, app.calls(), "the application never saw it")
				if tc.status == http.StatusUnauthorized {
					// RFC 6750 §3.1: an error code only when a token came.
					challenge := a.header.Get("WWW-Authenticate")
					if tc.token == "" {
						assert.Equal(t, `Bearer realm="auth"`, challenge, "the service's challenge, passed on")
					} else {
						assert.True(t, strings.HasPrefix(challenge, `Bearer realm="auth", error="invalid_token"`), "the service's challenge, passed on: %q", challenge)
					}
				}
				return
			}
			assert.Equal(t, before+1, app.calls())
			assert.Equal(t, tc.user, a.body["user"])
			assert.Equal(t, tc.roles, a.body["roles"])
			assert.Regexp(t, `^[1-9][0-9]*$`, a.body["userId"])
			assert.Equal(t, "orders:read", strings.Split(a.body["permissions"], ",")[0])
			assert.Empty(t, a.body["authorization"], "the token stays at the gateway")
			assert.Equal(t, tc.path, a.body["path"])
			assert.Equal(t, tc.body, a.body["body"])
		})
	}

	// The service down: fail closed.
	svc.kill()
	before := app.calls()
	a := through(t, "GET", gw+"/orders", tkReader.Token, nil, "")
	assert.Equal(t, http.StatusServiceUnavailable, a.status, a.raw)
	assert.Equal(t, "1", a.header.Get("Retry-After"))
	assert.Equal(t, "unavailable", a.body["error"])
	assert.Equal(t, before, app.calls(), "the application never saw it")
}

// Envoy's HTTP ext_authz and Traefik's ForwardAuth send the requests
// below (gateway/README.md cites their sources); the real service answers
// each as its gateway expects: 200 with the identity headers to copy
// upstream, 401 with the challenge to pass to the client.
func TestTheGatewayCheckAnswersEnvoyAndTraefik(t *testing.T) {
	ensureRoles(t)
	svc := startService(t, 0)
	name, pw := newUser(t, "gw-proxies", "reader")
	tk, err := newClient(t, svc.URL, client.Config{}).Login(context.Background(), name, pw)
	require.NoError(t, err)

	type check struct {
		gateway, method, path string
		header                map[string]string
		status                int
	}
	var checks []check
	for _, m := range []string{"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"} {
		// Envoy: the original method, path_prefix + the original path,
		// no body (Content-Length 0), Authorization among the headers.
		checks = append(checks,
			check{"envoy", m, "/v1/authz/orders/42?view=full", map[string]string{"Authorization": "Bearer " + tk.Token, "Content-Length": "0"}, 200},
			check{"envoy", m, "/v1/authz/orders/42", map[string]string{"Content-Length": "0"}, 401})
	}
	// Traefik: GET to the address, the client's headers copied, the
	// original request in X-Forwarded-*.
	fwd := map[string]string{"X-Forwarded-Method": "POST", "X-Forwarded-Uri": "/orders?x=1", "X-Forwarded-Host": "app.example.com", "X-Forwarded-Proto": "https"}
	withToken := map[string]string{"Authorization": "Bearer " + tk.Token}
	for k, v := range fwd {
		withToken[k] = v
	}
	checks = append(checks, check{"traefik", "GET", "/v1/authz", withToken, 200}, check{"traefik", "GET", "/v1/authz", fwd, 401})

	for _, c := range checks {
		req, err := http.NewRequest(c.method, svc.URL+c.path, nil)
		require.NoError(t, err)
		for k, v := range c.header {
			req.Header.Set(k, v)
		}
		res, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		_, _ = io.Copy(io.Discard, res.Body)
		res.Body.Close()
		what := c.gateway + " " + c.method + " " + c.path
		require.Equal(t, c.status, res.StatusCode, what)
		if c.status == http.StatusOK {
			assert.Equal(t, name, res.Header.Get("X-Auth-User"), what)
			assert.Equal(t, "reader", res.Header.Get("X-Auth-Roles"), what)
			assert.NotEmpty(t, res.Header.Get("X-Auth-User-Id"), what)
		} else {
			assert.Equal(t, `Bearer realm="auth"`, res.Header.Get("WWW-Authenticate"), what)
			assert.Empty(t, res.Header.Get("X-Auth-User"), what)
		}
	}
}
