package drill

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"
)

// HAProxy stands in for the ALB: one frontend on loopback, one backend
// whose servers are the targets, driven over the Runtime API. Like an ALB
// it never retries (every failure reaches the client), health-checks GET
// /health, sends traffic to a target only once it passed a check, fails
// open when every registered target is unhealthy, drains a deregistered
// target (no new requests, in-flight ones finish) until it is removed,
// and answers 503 when no target is registered.
type HAProxy struct {
	// Port is the frontend's port on 127.0.0.1.
	Port int

	bin  string
	dir  string
	sock string
	cmd  *exec.Cmd
	done chan struct{}
	poll time.Duration

	// mu orders a registration's last step (traffic and its fail-open
	// twin) against a drain of the same target.
	mu      sync.Mutex
	targets map[string]*haTarget
}

// haTarget is what the drill knows of one registered target.
type haTarget struct {
	drained bool
	twin    bool
}

// backendName is the one backend of the drill.
const backendName = "pods"

// ALBIdleTimeout is the ALB's idle timeout (components/ingress'
// DefaultIdleTimeoutSeconds); it is not part of the termination budget and
// is not scaled.
const ALBIdleTimeout = 60 * time.Second

// HAProxyConfig renders the configuration: retries 0 and no redispatch,
// loopback only. Health-check timing goes on each server as it is added.
func HAProxyConfig(sock string, port int, checkTimeout time.Duration) string {
	return fmt.Sprintf(`global
    stats socket %[1]s mode 600 level admin
    log stdout format raw local0
defaults
    mode http
    log global
    option httplog
    timeout connect 1s
    timeout client %[3]s
    timeout server %[3]s
    timeout http-keep-alive %[3]s
    timeout check %[4]s
    # Every failure reaches the client, as with an ALB.
    retries 0
    no option redispatch
frontend fe
    bind 127.0.0.1:%[2]d
    default_backend %[5]s
backend %[5]s
    # Dynamic servers need a dynamic algorithm; the ALB's default is
    # round robin too.
    balance roundrobin
    option httpchk GET /health
    http-check expect status 200
`, sock, port, haDuration(ALBIdleTimeout), haDuration(checkTimeout), backendName)
}

func StartHAProxy(ctx context.Context, dir string, port int, t Timings) (*HAProxy, error) {
	bin, err := FindHAProxy()
	if err != nil {
		return nil, err
	}
	h := &HAProxy{Port: port, bin: bin, dir: dir, sock: filepath.Join(dir, "lb.sock"), done: make(chan struct{}), poll: 20 * time.Millisecond,
		targets: map[string]*haTarget{}}
	if len(h.sock) > 97 {
		return nil, fmt.Errorf("haproxy socket path %s is longer than 97 bytes; use a shorter temp dir", h.sock)
	}
	cfgPath := filepath.Join(dir, "haproxy.cfg")
	if err := os.WriteFile(cfgPath, []byte(HAProxyConfig(h.sock, port, t.HealthCheckTimeout)), 0o600); err != nil {
		return nil, err
	}
	if out, err := exec.CommandContext(ctx, bin, "-c", "-q", "-f", cfgPath).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("haproxy -c: %v: %s", err, out)
	}
	logf, err := os.Create(filepath.Join(dir, "haproxy.log"))
	if err != nil {
		return nil, err
	}
	h.cmd = exec.Command(bin, "-db", "-f", cfgPath)
	h.cmd.Stdout, h.cmd.Stderr = logf, logf
	h.cmd.SysProcAttr = childAttr()
	if err := h.cmd.Start(); err != nil {
		logf.Close()
		return nil, fmt.Errorf("starting haproxy: %w", err)
	}
	go func() {
		_ = h.cmd.Wait()
		logf.Close()
		close(h.done)
	}()
	err = pollUntil(ctx, 5*time.Second, h.poll, func() error {
		select {
		case <-h.done:
			return errStop{fmt.Errorf("%w; see %s: %s", ErrHAProxyExited, logf.Name(), tailFile(logf.Name(), 600))}
		default:
		}
		_, err := h.Command("show info")
		return err
	})
	if err != nil {
		h.Close()
		return nil, fmt.Errorf("haproxy runtime API: %w", err)
	}
	return h, nil
}

// FindHAProxy finds haproxy on PATH or in /usr/sbin, where Debian puts it
// (not on a non-root user's PATH).
func FindHAProxy() (string, error) {
	if bin, err := exec.LookPath("haproxy"); err == nil {
		return bin, nil
	}
	if _, err := os.Stat("/usr/sbin/haproxy"); err == nil {
		return "/usr/sbin/haproxy", nil
	}
	return "", fmt.Errorf("haproxy not found (apt-get install -y haproxy)")
}

// Command sends one Runtime API command line and returns the answer.
func (h *HAProxy) Command(cmd string) (string, error) {
	// Generous: on a loaded shared machine HAProxy may take a while to
	// accept; a Runtime API command that fails aborts the drill.
	c, err := net.DialTimeout("unix", h.sock, 5*time.Second)
	if err != nil {
		return "", err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(c, cmd+"\n"); err != nil {
		return "", err
	}
	out, err := io.ReadAll(c)
	return strings.TrimSpace(string(out)), err
}

// must runs commands and fails on an answer that is not empty or known
// good.
func (h *HAProxy) must(cmd string) error {
	out, err := h.Command(cmd)
	if err != nil {
		return fmt.Errorf("%s: %w", cmd, err)
	}
	for _, line := range strings.Split(out, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || line == "New server registered." || line == "Server deleted." {
			continue
		}
		return fmt.Errorf("%s: %s", cmd, out)
	}
	return nil
}

func failOpenName(name string) string { return name + "-fo" }

// errWithdrawn: the target was drained before it passed its initial
// check.
var errWithdrawn = errors.New("target drained before it passed its initial health check")

// AddTarget registers a target listening on 127.0.0.1:port and returns
// once it passed its health check (HealthyThresholdInitial checks at
// interval t.HealthCheckInterval). It gets no request before that: the
// server is added with weight 0 and forced down, the race-free way
// (dynamic servers start UP). Once healthy it also gets a fail-open twin,
// a backup server without checks, so that when every registered target
// fails its checks HAProxy routes to all of them, as an ALB does.
// Cancelling ctx (or draining the target) while it waits ends the
// registration; the target stays, for Drain and Remove.
func (h *HAProxy) AddTarget(ctx context.Context, name string, port int, t Timings) error {
	be := backendName + "/" + name
	h.mu.Lock()
	if err := ctx.Err(); err != nil {
		h.mu.Unlock()
		return err
	}
	add := fmt.Sprintf("add server %s 127.0.0.1:%d weight 0 check inter %s fastinter %[3]s downinter %[3]s rise %d fall %d",
		be, port, haDuration(t.HealthCheckInterval), HealthyThresholdInitial, t.UnhealthyThreshold)
	err := h.must(add)
	if err == nil {
		h.targets[name] = &haTarget{}
		err = h.must(fmt.Sprintf("enable health %s; enable server %[1]s; set server %[1]s health down", be))
	}
	h.mu.Unlock()
	if err != nil {
		return err
	}
	// A check can take its timeout; the first is due within an interval.
	limit := 5*(t.HealthCheckInterval+t.HealthCheckTimeout) + 2*time.Second
	if err := pollUntil(ctx, limit, h.poll, func() error {
		st, err := h.Status(name)
		if err != nil {
			return err
		}
		if st.Status != "UP" || st.Check != "L7OK" {
			return fmt.Errorf("%s is %s (check %s)", name, st.Status, st.Check)
		}
		return nil
	}); err != nil {
		return err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	tg := h.targets[name]
	if tg == nil || tg.drained {
		return errWithdrawn
	}
	if err := h.must(fmt.Sprintf("set server %s weight 1", be)); err != nil {
		return err
	}
	fo := backendName + "/" + failOpenName(name)
	if err := h.must(fmt.Sprintf("add server %s 127.0.0.1:%d backup weight 1", fo, port)); err != nil {
		return err
	}
	tg.twin = true
	return h.must("enable server " + fo)
}

// Drain stops new requests to the target; requests in flight go on. Its
// fail-open twin goes out of service at once (maint: in-flight requests
// still finish): a draining target is not registered any more, and an ALB
// fails open only over registered targets. Draining a target that was
// never added does nothing.
func (h *HAProxy) Drain(name string) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	tg := h.targets[name]
	if tg == nil || tg.drained {
		return nil
	}
	tg.drained = true
	cmd := fmt.Sprintf("set server %s/%s state drain", backendName, name)
	if tg.twin {
		cmd += fmt.Sprintf("; set server %s/%s state maint", backendName, failOpenName(name))
	}
	return h.must(cmd)
}

// Remove ends the target: what is still in flight is cut, as when the
// deregistration delay is over, and the server (and its twin) deleted.
func (h *HAProxy) Remove(name string) error {
	h.mu.Lock()
	tg := h.targets[name]
	delete(h.targets, name)
	h.mu.Unlock()
	if tg == nil {
		return nil // never added, or removed already
	}
	servers := []string{name}
	if tg.twin {
		servers = append(servers, failOpenName(name))
	}
	var errs []error
	for _, srv := range servers {
		be := backendName + "/" + srv
		if err := h.must(fmt.Sprintf("set server %s state maint; shutdown sessions server %[1]s", be)); err != nil {
			errs = append(errs, err)
			continue
		}
		// del refuses while connections are still attached; they go once
		// the sessions are shut down. A server left in maint gets nothing.
		_ = pollUntil(context.Background(), 3*time.Second, h.poll, func() error {
			return h.must("del server " + be)
		})
	}
	return errors.Join(errs...)
}

// ServerStatus is one server's line of `show stat`.
type ServerStatus struct {
	Name   string
	Status string // UP, DOWN, MAINT, DRAIN, NOLB, "no check"...
	Check  string // L7OK, L4CON, INI...
}

// Status returns the server's status.
func (h *HAProxy) Status(name string) (ServerStatus, error) {
	all, err := h.Servers()
	if err != nil {
		return ServerStatus{}, err
	}
	for _, s := range all {
		if s.Name == name {
			return s, nil
		}
	}
	return ServerStatus{}, fmt.Errorf("no server %s", name)
}

// Servers lists the backend's servers.
func (h *HAProxy) Servers() ([]ServerStatus, error) {
	out, err := h.Command("show stat")
	if err != nil {
		return nil, err
	}
	r := csv.NewReader(strings.NewReader(strings.TrimPrefix(out, "# ")))
	r.FieldsPerRecord = -1
	rows, err := r.ReadAll()
	if err != nil || len(rows) == 0 {
		return nil, fmt.Errorf("show stat: %v: %q", err, out)
	}
	col := map[string]int{}
	for i, name := range rows[0] {
		col[name] = i
	}
	var servers []ServerStatus
	for _, row := range rows[1:] {
		get := func(field string) string {
			if i, ok := col[field]; ok && i < len(row) {
				return row[i]
			}
			return ""
		}
		if get("pxname") != backendName || get("svname") == "BACKEND" {
			continue
		}
		servers = append(servers, ServerStatus{Name: get("svname"), Status: get("status"), Check: get("check_status")})
	}
	return servers, nil
}

// Close stops haproxy (SIGTERM, then SIGKILL) and waits for it.
func (h *HAProxy) Close() error {
	if h.cmd == nil || h.cmd.Process == nil {
		return nil
	}
	return stopProcess(h.cmd.Process, h.done, syscall.SIGTERM, 3*time.Second)
}

// haDuration renders d for haproxy, in milliseconds (at least 1).
func haDuration(d time.Duration) string {
	return fmt.Sprintf("%dms", max(d.Milliseconds(), 1))
}

// ErrHAProxyExited: HAProxy exited before its Runtime API answered, most
// often because its port, free when picked, was taken in the meantime.
var ErrHAProxyExited = errors.New("haproxy exited at start")

// errStop ends a pollUntil at once.
type errStop struct{ error }

// pollUntil calls check every step until it returns nil, returns errStop,
// or limit passes.
func pollUntil(ctx context.Context, limit, step time.Duration, check func() error) error {
	deadline := time.Now().Add(limit)
	for {
		err := check()
		if err == nil {
			return nil
		}
		var stop errStop
		if errors.As(err, &stop) {
			return stop.error
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("after %v: %w", limit, err)
		}
		if serr := sleep(ctx, step); serr != nil {
			return serr
		}
	}
}

// stopProcess signals p's process group and waits for done, escalating
// to SIGKILL after grace.
func stopProcess(p *os.Process, done <-chan struct{}, sig syscall.Signal, grace time.Duration) error {
	select {
	case <-done:
		return nil
	default:
	}
	_ = syscall.Kill(-p.Pid, sig)
	select {
	case <-done:
		return nil
	case <-time.After(grace):
	}
	_ = syscall.Kill(-p.Pid, syscall.SIGKILL)
	select {
	case <-done:
		return nil
	case <-time.After(5 * time.Second):
		return fmt.Errorf("pid %d did not exit after SIGKILL", p.Pid)
	}
}
