package drill

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestEvictionsOnRealParts is the drill end to end: a real Redis Cluster
// and PostgreSQL, the real auth-service built from cmd/auth-service,
// HAProxy, with the dev stack's budget divided by 6, CI's scale
// (propagation 5 s, preStop 10 s, grace 15 s, shutdown 5 s). At 30 the
// service's shutdown allowance (25 s / 30, 1 s) was shorter than a login
// on the loaded 2-core machine (p99 2.5 s), and SIGTERM cut logins in
// flight. It takes about a minute and a half with the build.
func TestEvictionsOnRealParts(t *testing.T) {
	if testing.Short() {
		t.Skip("about a minute on 2 cores")
	}
	requireParts(t, "haproxy", "redis-server", "redis-cli")
	if _, err := os.Stat(filepath.Join(repoRoot, "cmd", "auth-service", "go.mod")); err != nil {
		t.Skip("cmd/auth-service is not in this tree")
	}
	bin := filepath.Join(t.TempDir(), "auth-service")
	build := exec.Command("go", "build", "-C", filepath.Join(repoRoot, "cmd", "auth-service"), "-o", bin, ".")
	out, err := build.CombinedOutput()
	require.NoError(t, err, "%s", out)

	root, err := filepath.Abs(repoRoot)
	require.NoError(t, err)
	var log strings.Builder
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	r, err := Run(ctx, Options{Root: root, Stack: "dev", Scenario: Scenarios["evictions"], Scale: 6, ServiceBin: bin, Log: &log})
	require.NoError(t, err, log.String())
	var sb strings.Builder
	r.WriteSummary(&sb)
	t.Log(log.String() + sb.String())
	assert.True(t, r.Pass, r.Verdict)
	assert.Equal(t, 0, r.Failed)
	assert.Equal(t, 0, r.LostSessions)
	assert.Equal(t, 30, r.CarriedSessions)
	assert.Equal(t, 5000.0, r.Timings.PropagationMs, "30 s / 6")
	exited := 0
	for _, e := range r.Events {
		if e.What == EvExited {
			exited++
		}
	}
	assert.Equal(t, 3, exited, "every original pod replaced")
}
