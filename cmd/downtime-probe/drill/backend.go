package drill

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"syscall"
	"time"
)

// How a backend process reacts to SIGTERM.
const (
	// ModeImmediate keeps Go's default SIGTERM disposition: the process
	// dies at once, its listener and every open connection with it. This is
	// a pod without a preStop hook or signal handling.
	ModeImmediate = "immediate"
	// ModeGraceful keeps serving for a preStop pause, then drains with
	// http.Server.Shutdown: a pod with a preStop sleep longer than the
	// load balancer's deregistration propagation.
	ModeGraceful = "graceful"
)

// The environment that turns a re-executed test binary into a backend.
const (
	envMode    = "DOWNTIME_PROBE_DRILL_BACKEND"
	envPreStop = "DOWNTIME_PROBE_DRILL_PRESTOP"
)

const readyPrefix = "LISTENING "

// ServeIfBackend runs a backend and exits when the process was started by
// StartBackend; otherwise it returns at once. Call it first in TestMain.
func ServeIfBackend() {
	mode := os.Getenv(envMode)
	if mode == "" {
		return
	}
	preStop, _ := time.ParseDuration(os.Getenv(envPreStop))
	if err := serveBackend(mode, preStop); err != nil {
		fmt.Fprintf(os.Stderr, "drill backend: %v\n", err)
		os.Exit(1)
	}
	os.Exit(0)
}

func serveBackend(mode string, preStop time.Duration) error {
	terminated := make(chan os.Signal, 1)
	switch mode {
	case ModeGraceful:
		// Installed before the address is announced, so no SIGTERM can
		// meet the default disposition.
		signal.Notify(terminated, syscall.SIGTERM)
	case ModeImmediate:
	default:
		return fmt.Errorf("unknown mode %q", mode)
	}
	// The parent holds our stdin open; EOF means it is gone, and a
	// backend must not outlive the test that started it.
	go func() {
		_, _ = io.Copy(io.Discard, os.Stdin)
		os.Exit(3)
	}()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ok\n") })
	mux.HandleFunc("/", func(w http.ResponseWriter, _ *http.Request) {
		_, _ = fmt.Fprintf(w, "served by pid %d\n", os.Getpid())
	})
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()
	fmt.Printf("%s%s\n", readyPrefix, ln.Addr())

	select {
	case err := <-serveErr:
		return err
	case <-terminated:
	}
	// preStop: stay fully in service while the load balancer learns that
	// this backend is leaving.
	time.Sleep(preStop)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return srv.Shutdown(ctx)
}

// Process is a backend started by StartBackend.
type Process struct {
	Addr  string
	cmd   *exec.Cmd
	stdin io.WriteCloser
	done  chan struct{}
}

// StartBackend re-executes exe (the test binary, whose TestMain calls
// ServeIfBackend) as a backend in mode and waits until it listens and
// answers its health check.
func StartBackend(exe, mode string, preStop time.Duration) (*Process, error) {
	cmd := exec.Command(exe, "-test.run=^$")
	cmd.Env = append(os.Environ(), envMode+"="+mode, envPreStop+"="+preStop.String())
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	// An io.Pipe rather than StdoutPipe: Wait then waits for the copy
	// instead of closing the pipe under a reader.
	stdout, stdoutW := io.Pipe()
	cmd.Stdout = stdoutW
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	p := &Process{cmd: cmd, stdin: stdin, done: make(chan struct{})}

	addr := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(stdout).ReadString('\n')
		addr <- strings.TrimSpace(strings.TrimPrefix(line, readyPrefix))
		_, _ = io.Copy(io.Discard, stdout) // drain; Wait closes the pipe
	}()
	go func() {
		_ = cmd.Wait()
		_ = stdoutW.Close()
		close(p.done)
	}()
	select {
	case p.Addr = <-addr:
	case <-time.After(10 * time.Second):
		p.Kill()
		return nil, errors.New("backend did not start within 10s")
	}
	if err := healthy("http://" + p.Addr + "/healthz"); err != nil {
		p.Kill()
		return nil, fmt.Errorf("backend %s: %w", p.Addr, err)
	}
	return p, nil
}

// healthy is the readiness check a target passes before registration.
func healthy(url string) error {
	client := &http.Client{Timeout: 2 * time.Second}
	resp, err := client.Get(url)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("health check: HTTP %d", resp.StatusCode)
	}
	return nil
}

// Terminate sends SIGTERM. It stands for the start of pod termination:
// Kubernetes runs the preStop hook and then signals, which is the same
// timeline as ModeGraceful pausing after the signal.
func (p *Process) Terminate() error { return p.cmd.Process.Signal(syscall.SIGTERM) }

// Exited is closed once the process has exited.
func (p *Process) Exited() <-chan struct{} { return p.done }

// ExitCode is the process's exit code, -1 when a signal killed it. Valid
// after Exited is closed.
func (p *Process) ExitCode() int { return p.cmd.ProcessState.ExitCode() }

// Kill makes sure the process is gone; safe to call more than once.
func (p *Process) Kill() {
	select {
	case <-p.done:
	default:
		_ = p.cmd.Process.Kill()
	}
	_ = p.stdin.Close()
	<-p.done
}
