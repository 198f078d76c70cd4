package kubeapi

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"
)

// kubernetesModule provides cmd/kube-apiserver. Its version is whatever this
// module's go.mod requires (the tool directive keeps it there), so bumping
// go.mod is all it takes to test against another API server.
const kubernetesModule = "k8s.io/kubernetes"

// CacheDirEnv overrides where built binaries are kept.
const CacheDirEnv = "KUBEAPI_CACHE_DIR"

// BuildTimeout bounds a cold build: about 6 minutes on 2 cores, more on a
// machine that is busy with other work.
const BuildTimeout = 25 * time.Minute

// APIServerBinary returns the path of a kube-apiserver built from the pinned
// k8s.io/kubernetes, building it on first use. moduleDir is this module's
// directory. The binary is cached by Kubernetes version, Go version and
// platform; a cached one is reused as is. logf reports what happens, since
// a cold build takes minutes.
func APIServerBinary(ctx context.Context, moduleDir string, logf func(format string, args ...any)) (string, error) {
	goBin, err := goTool()
	if err != nil {
		return "", err
	}
	version, err := goOutput(ctx, goBin, moduleDir, "list", "-m", "-f", "{{.Version}}", kubernetesModule)
	if err != nil {
		return "", fmt.Errorf("finding the %s version in %s/go.mod: %w", kubernetesModule, moduleDir, err)
	}
	cacheDir := os.Getenv(CacheDirEnv)
	if cacheDir == "" {
		cacheDir = filepath.Join(moduleDir, ".cache")
	}
	key := fmt.Sprintf("%s-%s-%s-%s", version, runtime.Version(), runtime.GOOS, runtime.GOARCH)
	bin := filepath.Join(cacheDir, "kube-apiserver", key, "kube-apiserver")
	if info, err := os.Stat(bin); err == nil && info.Mode().IsRegular() && info.Mode()&0o111 != 0 {
		logf("kube-apiserver %s: reusing %s", version, bin)
		return bin, nil
	}

	if err := os.MkdirAll(filepath.Dir(bin), 0o755); err != nil {
		return "", err
	}
	// Built beside its final name and renamed into place, so a build that is
	// interrupted, or two that race, never leave a partial binary behind.
	tmp := fmt.Sprintf("%s.tmp-%d", bin, os.Getpid())
	defer os.Remove(tmp)
	logf("kube-apiserver %s: building from source into %s (cold: ~6 minutes and ~2 GB on 2 cores; cached afterwards)", version, bin)
	start := time.Now()
	ctx, cancel := context.WithTimeout(ctx, BuildTimeout)
	defer cancel()
	args := []string{"build", "-trimpath", "-o", tmp, "-ldflags", versionLDFlags(version), kubernetesModule + "/cmd/kube-apiserver"}
	if _, err := goOutput(ctx, goBin, moduleDir, args...); err != nil {
		return "", fmt.Errorf("building kube-apiserver %s: %w", version, err)
	}
	if err := os.Rename(tmp, bin); err != nil {
		return "", err
	}
	logf("kube-apiserver %s: built in %s", version, time.Since(start).Round(time.Second))
	return bin, nil
}

// versionLDFlags stamps the version the release build would, so /version
// answers v1.31.0 rather than v0.0.0-master, and strips symbols to shorten
// the link.
func versionLDFlags(version string) string {
	major, minor := "", ""
	if parts := strings.SplitN(strings.TrimPrefix(version, "v"), ".", 3); len(parts) >= 2 {
		major, minor = parts[0], parts[1]
	}
	pkg := "k8s.io/component-base/version"
	return strings.Join([]string{
		"-s", "-w",
		"-X", pkg + ".gitVersion=" + version,
		"-X", pkg + ".gitMajor=" + major,
		"-X", pkg + ".gitMinor=" + minor,
		"-X", pkg + ".gitTreeState=clean",
	}, " ")
}

// goTool finds the go command: go test puts its own GOROOT/bin first on
// PATH, and /usr/local/go is where these machines keep it otherwise.
func goTool() (string, error) {
	if p, err := exec.LookPath("go"); err == nil {
		return p, nil
	}
	for _, p := range []string{filepath.Join(runtime.GOROOT(), "bin", "go"), "/usr/local/go/bin/go"} {
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("the go command is not on PATH")
}

// goOutput runs the go command in dir and returns its trimmed stdout; on
// failure the error carries the end of its stderr.
func goOutput(ctx context.Context, goBin, dir string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, goBin, args...)
	cmd.Dir = dir
	var stdout, stderr bytes.Buffer
	cmd.Stdout = &stdout
	cmd.Stderr = &stderr
	setProcessGroup(cmd)
	cmd.Cancel = func() error { return killGroup(cmd.Process.Pid) }
	cmd.WaitDelay = 10 * time.Second
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("go %s: %w\n%s", strings.Join(args, " "), err, tail(stderr.Bytes(), 40))
	}
	return strings.TrimSpace(stdout.String()), nil
}

// tail returns at most the last n lines of b.
func tail(b []byte, n int) string {
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// tailFile is tail of a file, for a process's log in an error message.
func tailFile(path string, n int) string {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Sprintf("(no log: %v)", err)
	}
	defer f.Close()
	b, _ := io.ReadAll(f)
	return tail(b, n)
}
