package kubeapi_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/authplatform/auth-platform/tests/kubeapi"
)

// apiServerBinary builds kube-apiserver at most once per test binary, and
// not at all when a cached build exists. Progress goes to stderr as it
// happens, since a cold build takes minutes.
var apiServerBinary = sync.OnceValues(func() (string, error) {
	wd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	return kubeapi.APIServerBinary(context.Background(), wd, func(format string, args ...any) {
		fmt.Fprintf(os.Stderr, "kubeapi: "+format+"\n", args...)
	})
})

// startCluster starts etcd and the API server for one test and stops both
// when it ends, passed or failed.
func startCluster(t *testing.T) *kubeapi.Cluster {
	t.Helper()
	bin, err := apiServerBinary()
	require.NoError(t, err, "building kube-apiserver")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	// TempDir is removed after the Cleanup below has stopped both servers:
	// cleanups run last-registered first.
	dir := t.TempDir()
	start := time.Now()
	cluster, err := kubeapi.Start(ctx, kubeapi.Options{APIServer: bin, Dir: dir, Logf: t.Logf})
	require.NoError(t, err, "starting etcd and kube-apiserver")
	t.Cleanup(func() {
		if err := cluster.Stop(); err != nil {
			t.Errorf("stopping etcd and kube-apiserver: %v", err)
		}
	})
	t.Logf("cluster up in %s", time.Since(start).Round(100*time.Millisecond))
	return cluster
}

// newChecker returns a Checker for a fresh cluster with our CRDs installed.
func newChecker(t *testing.T) *kubeapi.Checker {
	t.Helper()
	checker, err := kubeapi.NewChecker(startCluster(t).Config)
	require.NoError(t, err)
	require.NoError(t, checker.InstallCRDs(testContext(t)), "installing our CRDs")
	return checker
}

// testContext ends a little before the test's deadline, so a hung request
// fails the test with a message instead of the binary being killed.
func testContext(t *testing.T) context.Context {
	ctx := context.Background()
	if deadline, ok := t.Deadline(); ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, deadline.Add(-30*time.Second))
		t.Cleanup(cancel)
	}
	return ctx
}

// repoRoot is the program's directory: the nearest one above this module
// with both a go.mod and a Pulumi.yaml.
func repoRoot(t *testing.T) string {
	t.Helper()
	wd, err := os.Getwd()
	require.NoError(t, err)
	for dir := filepath.Dir(wd); ; dir = filepath.Dir(dir) {
		if fileExists(filepath.Join(dir, "go.mod")) && fileExists(filepath.Join(dir, "Pulumi.yaml")) {
			return dir
		}
		require.NotEqual(t, dir, filepath.Dir(dir), "no directory above %s holds go.mod and Pulumi.yaml", wd)
	}
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}
