package drill

import (
	"context"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/authplatform/auth-platform/cmd/downtime-probe/probe"
)

func TestMain(m *testing.M) {
	ServeIfBackend() // a re-executed binary becomes a backend and never returns
	os.Exit(m.Run())
}

// Timing of the drill. preStop exceeds propagation by a wide margin, as the
// deployment's preStop sleep must exceed the ALB's deregistration
// propagation; the margin keeps the graceful case stable on a busy runner.
const (
	backends    = 3
	propagation = 400 * time.Millisecond
	preStop     = 1200 * time.Millisecond
	rate        = 200 // requests/s: a failure window of 400ms over 4 targets holds ~20 requests
	settle      = 300 * time.Millisecond
)

// TestRolloutDrill replaces every backend of a load-balanced service one by
// one while the probe runs, the way a rolling update does: start the new
// backend, wait until it is ready, register it, then deregister the old
// one and send it SIGTERM at the same moment. The load balancer keeps
// routing to the old backend for the propagation delay, so a backend that
// dies on SIGTERM loses requests and one that pauses before draining
// loses none.
func TestRolloutDrill(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("the drill sends POSIX signals to backend processes")
	}
	exe, err := os.Executable()
	require.NoError(t, err)

	for _, tc := range []struct {
		name         string
		mode         string
		preStop      time.Duration
		wantFailures bool
		wantExitCode int // -1: killed by the signal
	}{
		{name: "exit immediately on SIGTERM", mode: ModeImmediate, wantFailures: true, wantExitCode: -1},
		{name: "preStop pause then graceful drain", mode: ModeGraceful, preStop: preStop, wantFailures: false, wantExitCode: 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			began := time.Now()
			lb, err := NewLoadBalancer(propagation)
			require.NoError(t, err)
			t.Cleanup(func() { assert.NoError(t, lb.Close()) })

			start := func() *Process {
				p, err := StartBackend(exe, tc.mode, tc.preStop)
				require.NoError(t, err)
				t.Cleanup(p.Kill) // no backend outlives the test, whatever fails
				return p
			}
			var old []*Process
			for range backends {
				p := start()
				lb.Register(p.Addr)
				old = append(old, p)
			}

			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			reports := make(chan *probe.Report, 1)
			go func() {
				cfg := probe.DefaultConfig()
				cfg.URL = lb.URL() + "/"
				cfg.Rate = rate
				cfg.Timeout = 2 * time.Second
				cfg.Concurrency = 2 * rate // rate × timeout: never the bottleneck
				cfg.MergeGap = 100 * time.Millisecond
				report, err := probe.Run(ctx, cfg)
				assert.NoError(t, err)
				reports <- report
			}()
			time.Sleep(settle)

			type retirement struct {
				addr string
				at   time.Time
			}
			var retired []retirement
			for _, p := range old {
				next := start()
				lb.Register(next.Addr)
				// The EndpointSlice change and the signal happen together.
				retired = append(retired, retirement{p.Addr, time.Now()})
				removed := lb.Deregister(p.Addr)
				require.NoError(t, p.Terminate())
				for _, ch := range []<-chan struct{}{removed, p.Exited()} {
					select {
					case <-ch:
					case <-time.After(15 * time.Second):
						t.Fatalf("backend %s: not removed and exited within 15s", p.Addr)
					}
				}
				assert.Equal(t, tc.wantExitCode, p.ExitCode(), "exit code of backend %s after SIGTERM", p.Addr)
			}
			time.Sleep(settle)
			cancel()

			var report *probe.Report
			select {
			case report = <-reports:
			case <-time.After(10 * time.Second):
				t.Fatal("probe did not stop within 10s of cancellation")
			}
			require.NotNil(t, report)
			var summary strings.Builder
			report.WriteSummary(&summary)
			t.Logf("%s: drill took %s\n%s", tc.name, time.Since(began).Round(time.Millisecond), summary.String())

			// The probe really ran at its rate through the whole rollout.
			elapsed := report.EndedAt.Sub(report.StartedAt).Seconds()
			assert.Greater(t, report.Requests.Sent, int(0.8*rate*elapsed), "requests sent")
			assert.Zero(t, report.Requests.Dropped, "dropped requests")
			// Every retired backend still received traffic after its
			// SIGTERM: the propagation window was exercised both times.
			for _, r := range retired {
				assert.Positive(t, lb.Stats(r.addr).AfterDeregistration, "requests routed to %s after deregistration", r.addr)
			}

			if !tc.wantFailures {
				assert.Zero(t, report.Requests.Failed, "failed requests with a preStop pause, windows: %+v", report.Downtime.Windows)
				assert.Empty(t, report.Downtime.Windows)
				assert.Equal(t, probe.ExitPass, report.ExitCode())
				return
			}
			assert.Equal(t, probe.ExitFail, report.ExitCode())
			require.Positive(t, report.Requests.Failed, "failed requests without a preStop pause")
			// The load balancer forwards the dead backend's refusal as 502
			// (or cuts the client off when the backend died mid-response).
			for class := range report.ErrorsByClass {
				assert.Contains(t, []probe.Class{probe.ClassHTTP5xx, probe.ClassReset}, class)
			}
			assert.Positive(t, report.StatusCodes["502"], "502 responses")
			assert.NotEmpty(t, report.Downtime.Windows)
			// Each replacement lost requests, inside its own propagation window.
			for _, r := range retired {
				from, to := r.at, r.at.Add(propagation+200*time.Millisecond)
				n := 0
				for _, f := range report.Failures {
					if !f.Time.Before(from) && f.Time.Before(to) {
						n++
					}
				}
				assert.Positive(t, n, "failures while %s was deregistering", r.addr)
			}
		})
	}
}
