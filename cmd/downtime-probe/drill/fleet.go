package drill

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"github.com/authplatform/auth-platform/components/authservice"
)

// The service's probe endpoints (components/authservice: the readiness
// path is also the ALB's health check).
const (
	// LivePath answers 200 while the process serves, whatever its
	// readiness.
	LivePath = authservice.LivenessPath
	// ReadyPath on the traffic port is the readiness probe's and the ALB's.
	ReadyPath = authservice.ReadinessPath
	// DetailPath on the metrics port names every dependency's state.
	DetailPath = "/health"
)

// Fleet is the Driver of real pods: each pod is a process of Bin on its
// own loopback ports (traffic and metrics), registered as a target of the
// HAProxy.
type Fleet struct {
	Bin  string
	Args []string
	// Env is the environment of a pod listening on port (traffic) and
	// metricsPort, besides the drill's own (PATH, HOME...).
	Env     func(p *Pod, port, metricsPort int) []string
	LB      *HAProxy
	Timings Timings
	// Readiness is what the kubelet's probe asks; default ReadinessPod.
	Readiness Readiness
	// LogDir receives one log file per pod.
	LogDir string

	mu     sync.Mutex
	procs  map[string]*podProc
	client *http.Client
}

type podProc struct {
	cmd         *exec.Cmd
	port        int
	metricsPort int
	log         string
	done        chan struct{}
}

func (f *Fleet) proc(p *Pod) (*podProc, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	pp, ok := f.procs[p.Name]
	if !ok {
		return nil, fmt.Errorf("pod %s was never started", p.Name)
	}
	return pp, nil
}

// StartPod implements Driver: the process runs once LivePath answers.
func (f *Fleet) StartPod(ctx context.Context, p *Pod) error {
	port, err := FreePort()
	if err != nil {
		return err
	}
	metricsPort, err := FreePort()
	if err != nil {
		return err
	}
	logPath := filepath.Join(f.LogDir, p.Name+".log")
	logf, err := os.Create(logPath)
	if err != nil {
		return err
	}
	cmd := exec.Command(f.Bin, f.Args...)
	cmd.Env = append(os.Environ(), f.Env(p, port, metricsPort)...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = childAttr()
	if err := cmd.Start(); err != nil {
		logf.Close()
		return fmt.Errorf("starting %s: %w", f.Bin, err)
	}
	pp := &podProc{cmd: cmd, port: port, metricsPort: metricsPort, log: logPath, done: make(chan struct{})}
	go func() {
		_ = cmd.Wait()
		logf.Close()
		close(pp.done)
	}()
	f.mu.Lock()
	if f.procs == nil {
		f.procs = map[string]*podProc{}
		// No keep-alive: the kubelet opens a connection per probe.
		f.client = &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	}
	f.procs[p.Name] = pp
	f.mu.Unlock()

	client := &http.Client{Timeout: time.Second}
	url := fmt.Sprintf("http://127.0.0.1:%d%s", port, LivePath)
	return pollUntil(ctx, 30*time.Second, 20*time.Millisecond, func() error {
		select {
		case <-pp.done:
			return errStop{fmt.Errorf("%s exited at start: %s", p.Name, tailFile(logPath, 1500))}
		default:
		}
		resp, err := client.Get(url)
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("%s answers %d", LivePath, resp.StatusCode)
		}
		return nil
	})
}

// Probe implements Driver: the kubelet's HTTP probe, a pass for any
// status from 200 to 399 (kubernetes/kubernetes pkg/probe/http), of what
// f.Readiness asks.
func (f *Fleet) Probe(ctx context.Context, p *Pod) error {
	pp, err := f.proc(p)
	if err != nil {
		return err
	}
	f.mu.Lock()
	client := f.client
	f.mu.Unlock()
	switch f.Readiness {
	case ReadinessEveryDependency:
		return probeEveryDependency(ctx, client, fmt.Sprintf("http://127.0.0.1:%d%s", pp.metricsPort, DetailPath))
	default:
		return probeHTTP(ctx, client, fmt.Sprintf("http://127.0.0.1:%d%s", pp.port, ReadyPath))
	}
}

// Register implements Driver.
func (f *Fleet) Register(ctx context.Context, p *Pod, target string) error {
	pp, err := f.proc(p)
	if err != nil {
		return err
	}
	if err := f.LB.AddTarget(ctx, target, pp.port, f.Timings); err != nil {
		if ctx.Err() != nil {
			return err
		}
		return fmt.Errorf("%w; pod log: %s", err, tailFile(pp.log, 1500))
	}
	return nil
}

// Drain implements Driver.
func (f *Fleet) Drain(target string) error { return f.LB.Drain(target) }

// Deregister implements Driver.
func (f *Fleet) Deregister(target string) error { return f.LB.Remove(target) }

// Signal implements Driver: the signal goes to the pod's process only,
// as the kubelet sends it to the container's main process.
func (f *Fleet) Signal(p *Pod, sig syscall.Signal) error {
	pp, err := f.proc(p)
	if err != nil {
		return err
	}
	if err := pp.cmd.Process.Signal(sig); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return err
	}
	return nil
}

// Exited implements Driver.
func (f *Fleet) Exited(p *Pod) <-chan struct{} {
	pp, err := f.proc(p)
	if err != nil {
		ch := make(chan struct{})
		close(ch)
		return ch
	}
	return pp.done
}

// ExitCode is the pod's exit status: -1 when killed by a signal or still
// running.
func (f *Fleet) ExitCode(p *Pod) int {
	pp, err := f.proc(p)
	if err != nil || pp.cmd.ProcessState == nil {
		return -1
	}
	return pp.cmd.ProcessState.ExitCode()
}

// Close kills every pod still running and waits for it.
func (f *Fleet) Close() error {
	f.mu.Lock()
	procs := make([]*podProc, 0, len(f.procs))
	for _, pp := range f.procs {
		procs = append(procs, pp)
	}
	f.mu.Unlock()
	var errs []error
	for _, pp := range procs {
		if err := stopProcess(pp.cmd.Process, pp.done, syscall.SIGKILL, time.Second); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// FreePort returns a port on 127.0.0.1 that was free a moment ago.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// tailFile returns the last n bytes of a file, for error messages.
func tailFile(path string, n int64) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return ""
	}
	off := max(st.Size()-n, 0)
	buf := make([]byte, st.Size()-off)
	_, _ = f.ReadAt(buf, off)
	return string(buf)
}
