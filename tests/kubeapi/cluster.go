package kubeapi

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"k8s.io/client-go/discovery"
	"k8s.io/client-go/rest"
)

// Time limits of a Cluster. Generous for a 2-core machine that is busy
// compiling; a healthy start takes a few seconds.
const (
	etcdReadyTimeout      = 30 * time.Second
	apiServerReadyTimeout = 2 * time.Minute
	// stopGrace is how long a process has to exit on SIGTERM before its
	// whole process group is killed.
	stopGrace = 10 * time.Second
)

// Options configure a Cluster.
type Options struct {
	// APIServer is the kube-apiserver binary (see APIServerBinary).
	APIServer string
	// Etcd is the etcd binary; default "etcd" from PATH.
	Etcd string
	// Dir holds etcd's data, the credentials and both logs. It must exist
	// and should be private to the Cluster (a test's TempDir).
	Dir string
	// Logf reports progress; default none.
	Logf func(format string, args ...any)
}

// Cluster is an etcd and a kube-apiserver serving on loopback only.
type Cluster struct {
	// Config reaches the API server as a member of system:masters.
	Config *rest.Config
	// Dir is Options.Dir: etcd.log and kube-apiserver.log are there.
	Dir string

	logf      func(format string, args ...any)
	etcd      *process
	apiserver *process
}

// Start starts etcd and the API server on free loopback ports and returns
// once the API server is ready. On error nothing is left running.
// The caller must Stop the Cluster.
func Start(ctx context.Context, opts Options) (*Cluster, error) {
	if opts.Logf == nil {
		opts.Logf = func(string, ...any) {}
	}
	if opts.Etcd == "" {
		p, err := exec.LookPath("etcd")
		if err != nil {
			return nil, fmt.Errorf("etcd is not on PATH (Debian: apt-get install etcd-server): %w", err)
		}
		opts.Etcd = p
	}
	// Ports are picked free and released before the servers bind them, so
	// another process may take one in between: try again on that.
	var err error
	for attempt := 1; attempt <= 3; attempt++ {
		var c *Cluster
		c, err = start(ctx, opts, attempt)
		if err == nil {
			return c, nil
		}
		if !strings.Contains(err.Error(), "address already in use") {
			break
		}
		opts.Logf("port taken while starting (attempt %d): retrying", attempt)
	}
	return nil, err
}

func start(ctx context.Context, opts Options, attempt int) (c *Cluster, err error) {
	dir := filepath.Join(opts.Dir, fmt.Sprintf("run%d", attempt))
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	c = &Cluster{Dir: dir, logf: opts.Logf}
	defer func() {
		if err != nil {
			if stopErr := c.Stop(); stopErr != nil {
				err = errors.Join(err, stopErr)
			}
		}
	}()

	ports, err := freePorts(3)
	if err != nil {
		return c, err
	}
	etcdURL := fmt.Sprintf("http://127.0.0.1:%d", ports[0])
	peerURL := fmt.Sprintf("http://127.0.0.1:%d", ports[1])
	c.etcd, err = startProcess("etcd", filepath.Join(dir, "etcd.log"), opts.Etcd,
		"--name=kubeapi",
		"--data-dir="+filepath.Join(dir, "etcd"),
		"--listen-client-urls="+etcdURL,
		"--advertise-client-urls="+etcdURL,
		"--listen-peer-urls="+peerURL,
		"--initial-advertise-peer-urls="+peerURL,
		"--initial-cluster=kubeapi="+peerURL,
		"--logger=zap", "--log-outputs=stderr", "--log-level=warn",
	)
	if err != nil {
		return c, err
	}
	if err := waitFor(ctx, etcdReadyTimeout, c.etcd, func(ctx context.Context) error {
		return etcdHealthy(ctx, etcdURL)
	}); err != nil {
		return c, fmt.Errorf("etcd did not become ready: %w\n--- etcd.log\n%s", err, tailFile(c.etcd.log, 30))
	}
	opts.Logf("etcd ready on %s", etcdURL)

	creds, err := writeCredentials(dir)
	if err != nil {
		return c, err
	}
	certDir := filepath.Join(dir, "certs")
	host := fmt.Sprintf("https://127.0.0.1:%d", ports[2])
	c.apiserver, err = startProcess("kube-apiserver", filepath.Join(dir, "kube-apiserver.log"), opts.APIServer,
		"--etcd-servers="+etcdURL,
		"--bind-address=127.0.0.1",
		"--advertise-address=127.0.0.1",
		fmt.Sprintf("--secure-port=%d", ports[2]),
		// A self-signed serving certificate (and its CA) are written here.
		"--cert-dir="+certDir,
		"--token-auth-file="+creds.tokenFile,
		"--authorization-mode=RBAC",
		"--service-account-issuer=https://kubernetes.default.svc.cluster.local",
		"--service-account-key-file="+creds.saPublicKey,
		"--service-account-signing-key-file="+creds.saPrivateKey,
		"--service-cluster-ip-range=10.96.0.0/16",
		// Nothing here queues requests; skip the flow-control bootstrap.
		"--enable-priority-and-fairness=false",
		"--profiling=false",
		"--v=1",
	)
	if err != nil {
		return c, err
	}
	cfg := &rest.Config{Host: host, BearerToken: creds.token, QPS: 100, Burst: 200, Timeout: 30 * time.Second}
	if err := waitFor(ctx, apiServerReadyTimeout, c.apiserver, func(ctx context.Context) error {
		return apiServerReady(ctx, cfg, filepath.Join(certDir, "apiserver.crt"))
	}); err != nil {
		return c, fmt.Errorf("kube-apiserver did not become ready: %w\n--- kube-apiserver.log\n%s", err, tailFile(c.apiserver.log, 40))
	}
	c.Config = cfg
	opts.Logf("kube-apiserver ready on %s (logs in %s)", host, dir)
	return c, nil
}

// Stop stops the API server, then etcd: SIGTERM to each process group,
// SIGKILL after stopGrace. It returns once both have exited, or reports
// one that would not.
func (c *Cluster) Stop() error {
	return errors.Join(c.apiserver.stop(stopGrace, c.logf), c.etcd.stop(stopGrace, c.logf))
}

type credentials struct {
	token, tokenFile          string
	saPrivateKey, saPublicKey string
}

// writeCredentials writes a static token for a system:masters user and the
// key pair the API server signs and verifies service account tokens with.
func writeCredentials(dir string) (credentials, error) {
	var c credentials
	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		return c, err
	}
	c.token = hex.EncodeToString(b)
	c.tokenFile = filepath.Join(dir, "tokens.csv")
	if err := os.WriteFile(c.tokenFile, []byte(c.token+`,kubeapi-admin,kubeapi-admin,"system:masters"`+"\n"), 0o600); err != nil {
		return c, err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return c, err
	}
	priv, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return c, err
	}
	pub, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		return c, err
	}
	c.saPrivateKey = filepath.Join(dir, "sa.key")
	c.saPublicKey = filepath.Join(dir, "sa.pub")
	if err := os.WriteFile(c.saPrivateKey, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: priv}), 0o600); err != nil {
		return c, err
	}
	return c, os.WriteFile(c.saPublicKey, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pub}), 0o600)
}

func etcdHealthy(ctx context.Context, url string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url+"/health", nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("/health: %s", resp.Status)
	}
	return nil
}

// apiServerReady trusts the self-signed certificate the API server wrote
// (it starts with the serving certificate, then its CA) and asks /readyz.
func apiServerReady(ctx context.Context, cfg *rest.Config, certFile string) error {
	if len(cfg.CAData) == 0 {
		pemBytes, err := os.ReadFile(certFile)
		if err != nil {
			return err
		}
		if block, _ := pem.Decode(pemBytes); block == nil {
			return fmt.Errorf("%s holds no certificate yet", certFile)
		}
		cfg.CAData = pemBytes
	}
	dc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		return err
	}
	body, err := dc.RESTClient().Get().AbsPath("/readyz").DoRaw(ctx)
	if err != nil {
		return fmt.Errorf("/readyz: %w: %s", err, body)
	}
	return nil
}

// waitFor polls probe until it succeeds, p exits, or timeout passes.
func waitFor(ctx context.Context, timeout time.Duration, p *process, probe func(context.Context) error) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	var last error
	for {
		probeCtx, probeCancel := context.WithTimeout(ctx, 5*time.Second)
		last = probe(probeCtx)
		probeCancel()
		if last == nil {
			return nil
		}
		select {
		case <-p.done:
			return fmt.Errorf("%s exited: %v", p.name, p.err)
		case <-ctx.Done():
			return fmt.Errorf("not ready after %s: %w", timeout, last)
		case <-tick.C:
		}
	}
}

// freePorts returns n distinct loopback ports that were free a moment ago.
func freePorts(n int) ([]int, error) {
	var ports []int
	for i := 0; i < n; i++ {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		// Held open until all are picked, so the n ports differ.
		defer l.Close()
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// process is a child in a process group of its own, logging to a file.
type process struct {
	name string
	log  string
	cmd  *exec.Cmd
	done chan struct{}
	err  error // set before done is closed
}

func startProcess(name, logPath, bin string, args ...string) (*process, error) {
	f, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = f, f
	setProcessGroup(cmd)
	if err := cmd.Start(); err != nil {
		f.Close()
		return nil, fmt.Errorf("starting %s: %w", name, err)
	}
	p := &process{name: name, log: logPath, cmd: cmd, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		f.Close()
		close(p.done)
	}()
	return p, nil
}

// stop ends p's process group: SIGTERM, then SIGKILL after grace. It
// reports a process that survives SIGKILL, which only a stuck kernel
// would allow.
func (p *process) stop(grace time.Duration, logf func(string, ...any)) error {
	if p == nil {
		return nil
	}
	pid := p.cmd.Process.Pid
	_ = signalGroup(pid, syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(grace):
		logf("%s (pid %d) still running %s after SIGTERM: killing its process group", p.name, pid, grace)
	}
	// Also reaches anything the process left behind in its group.
	_ = killGroup(pid)
	select {
	case <-p.done:
		return nil
	case <-time.After(5 * time.Second):
		return fmt.Errorf("%s (pid %d) did not exit after SIGKILL", p.name, pid)
	}
}
