package drill

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"time"
)

// The application of the app-* scenarios: cmd/auth-service/client's
// examples/app, a process of its own (the client is a module of its own,
// which the drill's module does not import), built like the service.
const (
	// AppModuleDir holds the client's module, from the repository root.
	AppModuleDir = "cmd/auth-service/client"
	// AppPackage is the application, in that module.
	AppPackage = "./examples/app"
)

// The application's client timeouts. The client's defaults (3 s an
// attempt) are shorter than the wait the service itself rides a Redis
// failover out with (the promotion: 3.4-4.3 s locally, requests wait
// for it), and a login once sent is not retried (it may have been
// judged), so an attempt must outlast the failover. The call's bound
// stays under the load's request timeout (10 s), so that a call the
// client gives up answers the load as the application's 503, not as
// the load's own timeout.
const (
	AppAttemptTimeout = 8 * time.Second
	AppCallTimeout    = 9 * time.Second
)

// AppArgs are the application's flags, in front of serviceURL.
func AppArgs(listen, serviceURL string) []string {
	return []string{"-listen", listen, "-service", serviceURL,
		"-timeout", AppAttemptTimeout.String(), "-call-timeout", AppCallTimeout.String()}
}

// BuildApp builds the application into dir.
func BuildApp(ctx context.Context, root, dir string) (string, error) {
	bin := filepath.Join(dir, "app")
	build := exec.CommandContext(ctx, "go", "build", "-C", filepath.Join(root, AppModuleDir), "-o", bin, AppPackage)
	if out, err := build.CombinedOutput(); err != nil {
		return "", fmt.Errorf("building %s/%s: %v\n%s", AppModuleDir, AppPackage, err, out)
	}
	return bin, nil
}

// App is the running application.
type App struct {
	URL  string
	cmd  *exec.Cmd
	log  string
	done chan struct{}
}

// StartApp runs bin in front of serviceURL and waits until it answers.
func StartApp(ctx context.Context, bin, logDir, serviceURL string) (*App, error) {
	port, err := FreePort()
	if err != nil {
		return nil, err
	}
	logPath := filepath.Join(logDir, "app.log")
	logf, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	listen := "127.0.0.1:" + strconv.Itoa(port)
	cmd := exec.Command(bin, AppArgs(listen, serviceURL)...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = childAttr()
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, fmt.Errorf("starting %s: %w", bin, err)
	}
	a := &App{URL: "http://" + listen, cmd: cmd, log: logPath, done: make(chan struct{})}
	go func() {
		_ = cmd.Wait()
		logf.Close()
		close(a.done)
	}()
	hc := &http.Client{Timeout: time.Second}
	err = pollUntil(ctx, 30*time.Second, 20*time.Millisecond, func() error {
		select {
		case <-a.done:
			return errStop{fmt.Errorf("the application exited at start: %s", tailFile(logPath, 1500))}
		default:
		}
		resp, err := hc.Get(a.URL + "/healthz")
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("/healthz answers %d", resp.StatusCode)
		}
		return nil
	})
	if err != nil {
		_ = a.Close()
		return nil, err
	}
	return a, nil
}

// Close stops the application: SIGTERM, SIGKILL after 5 s.
func (a *App) Close() error {
	select {
	case <-a.done:
		return nil
	default:
	}
	_ = a.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-a.done:
	case <-time.After(5 * time.Second):
		_ = a.cmd.Process.Kill()
		<-a.done
	}
	return nil
}

// AppStats are the client's counters (client.Stats, which the
// application serves at /app/stats under its field names): what the
// application's calls to the service met behind its answers.
type AppStats struct {
	// CacheHits answered from the cache; CacheMisses asked the service
	// (or joined a call in flight: Coalesced); StaleServed answered from
	// the cache because the service could not.
	CacheHits   int64 `json:"cacheHits"`
	CacheMisses int64 `json:"cacheMisses"`
	Coalesced   int64 `json:"coalesced"`
	StaleServed int64 `json:"staleServed"`
	// Calls to the service, the Attempts they sent (Retries of them after
	// the first), FailedAttempts: the raw requests to the service that got
	// no usable answer; Unavailable: calls that failed after every attempt.
	Calls          int64  `json:"calls"`
	Attempts       int64  `json:"attempts"`
	Retries        int64  `json:"retries"`
	FailedAttempts int64  `json:"failedAttempts"`
	Unavailable    int64  `json:"unavailable"`
	BreakerRefused int64  `json:"breakerRefused"`
	BreakerOpens   int64  `json:"breakerOpens"`
	BreakerState   string `json:"breakerState"`
}

// Stats reads the client's counters from the application.
func (a *App) Stats(ctx context.Context) (AppStats, error) {
	var s AppStats
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, a.URL+"/app/stats", nil)
	if err != nil {
		return s, err
	}
	resp, err := (&http.Client{Timeout: 5 * time.Second}).Do(req)
	if err != nil {
		return s, fmt.Errorf("the application's stats: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return s, fmt.Errorf("the application's stats: HTTP %d", resp.StatusCode)
	}
	// client.Stats has no JSON tags: its Go field names, which
	// encoding/json matches case-insensitively to these.
	if err := json.NewDecoder(resp.Body).Decode(&s); err != nil {
		return s, fmt.Errorf("the application's stats: %w", err)
	}
	return s, nil
}
