package main

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/authplatform/auth-platform/cmd/downtime-probe/probe"
)

func TestRunExitCodes(t *testing.T) {
	ok := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	t.Cleanup(ok.Close)
	failing := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusBadGateway)
	}))
	t.Cleanup(failing.Close)
	quick := []string{"-rate", "20", "-duration", "200ms", "-quiet"}

	for _, tc := range []struct {
		name       string
		args       []string
		want       int
		wantStdout string
		wantStderr string
	}{
		{"healthy target", append([]string{"-url", ok.URL}, quick...), probe.ExitPass, "verdict: PASS", ""},
		{"URL as the argument", append(quick, ok.URL), probe.ExitPass, "verdict: PASS", ""},
		{"failures over the budget", append([]string{"-url", failing.URL}, quick...), probe.ExitFail, "verdict: FAIL: 4 failed requests exceed the budget of 0", ""},
		{"failures within a budget", append([]string{"-url", failing.URL, "-budget", "4"}, quick...), probe.ExitPass, "http_5xx        4  (502: 4)", ""},
		{"no URL", quick, probe.ExitUsage, "", "a URL is required"},
		{"unknown flag", []string{"-url", ok.URL, "-bogus"}, probe.ExitUsage, "", "flag provided but not defined"},
		{"bad header", []string{"-url", ok.URL, "-header", "no colon"}, probe.ExitUsage, "", `want "Name: value"`},
		{"bad rate", []string{"-url", ok.URL, "-rate", "0"}, probe.ExitUsage, "", "-rate must be"},
		{"two URLs", append(quick, ok.URL, ok.URL), probe.ExitUsage, "", "unexpected arguments"},
		{"help", []string{"-h"}, probe.ExitPass, "", "usage: downtime-probe"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr strings.Builder
			code := run(context.Background(), tc.args, &stdout, &stderr)
			assert.Equal(t, tc.want, code, "stderr: %s", stderr.String())
			assert.Contains(t, stdout.String(), tc.wantStdout)
			assert.Contains(t, stderr.String(), tc.wantStderr)
		})
	}
}

func TestRunWritesJSON(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	t.Cleanup(srv.Close)
	args := []string{"-url", srv.URL, "-rate", "20", "-duration", "200ms"}

	t.Run("to a file", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "probe.json")
		var stdout, stderr strings.Builder
		require.Equal(t, probe.ExitPass, run(context.Background(), append(args, "-json", path), &stdout, &stderr))
		assert.Contains(t, stdout.String(), "verdict: PASS", "the summary stays on stdout")
		data, err := os.ReadFile(path)
		require.NoError(t, err)
		var report probe.Report
		require.NoError(t, json.Unmarshal(data, &report))
		assert.Equal(t, 4, report.Requests.Succeeded)
		assert.Equal(t, srv.URL, report.Target.URL)
	})
	t.Run("to stdout", func(t *testing.T) {
		var stdout, stderr strings.Builder
		require.Equal(t, probe.ExitPass, run(context.Background(), append(args, "-json", "-"), &stdout, &stderr))
		var report probe.Report
		require.NoError(t, json.Unmarshal([]byte(stdout.String()), &report), "stdout must hold only the JSON")
		assert.True(t, report.Verdict.Pass)
		assert.Contains(t, stderr.String(), "verdict: PASS", "the summary moves to stderr")
	})
	t.Run("to an unwritable path", func(t *testing.T) {
		var stdout, stderr strings.Builder
		path := filepath.Join(t.TempDir(), "missing", "probe.json")
		assert.Equal(t, probe.ExitUsage, run(context.Background(), append(args, "-json", path), &stdout, &stderr))
		assert.Contains(t, stderr.String(), "writing the report")
	})
}

// TestMain lets TestSignalEndsTheRun start this binary as the command.
func TestMain(m *testing.M) {
	if os.Getenv("DOWNTIME_PROBE_AS_MAIN") == "1" {
		main()
	}
	os.Exit(m.Run())
}

// TestSignalEndsTheRun is the pipeline's use: an open-ended probe in the
// background, stopped by a signal once `pulumi up` returns. The signal must
// end the run with a complete report and the verdict's exit code.
func TestSignalEndsTheRun(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("POSIX signals")
	}
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { hits.Add(1) }))
	t.Cleanup(srv.Close)
	exe, err := os.Executable()
	require.NoError(t, err)

	for _, sig := range []os.Signal{os.Interrupt, syscall.SIGTERM} {
		t.Run(sig.String(), func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "probe.json")
			cmd := exec.Command(exe, "-url", srv.URL, "-rate", "50", "-json", path, "-quiet")
			cmd.Env = append(os.Environ(), "DOWNTIME_PROBE_AS_MAIN=1")
			var stdout strings.Builder
			cmd.Stdout = &stdout
			require.NoError(t, cmd.Start())
			t.Cleanup(func() { _ = cmd.Process.Kill() })

			// Signal only once requests arrive: the handler is installed
			// before the first one, and a slow start (-race) cannot race it.
			before := hits.Load()
			require.Eventually(t, func() bool { return hits.Load() > before+5 }, 10*time.Second, 10*time.Millisecond)
			require.NoError(t, cmd.Process.Signal(sig))
			require.NoError(t, cmd.Wait(), "exit 0 after a clean run")

			assert.Contains(t, stdout.String(), "until interrupted")
			data, err := os.ReadFile(path)
			require.NoError(t, err)
			var report probe.Report
			require.NoError(t, json.Unmarshal(data, &report))
			assert.True(t, report.Interrupted)
			assert.Positive(t, report.Requests.Sent)
			assert.Equal(t, report.Requests.Sent, report.Requests.Succeeded)
		})
	}
}
