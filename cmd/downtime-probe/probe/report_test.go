package probe

import (
	"encoding/json"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var t0 = time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)

// series builds results 10ms apart, each 1ms long, from a pattern:
// '.' success, 'R' refused, '5' HTTP 502, 'T' a 100ms timeout.
func series(pattern string) []Result {
	var out []Result
	for i, c := range pattern {
		r := Result{Seq: i, Sent: t0.Add(time.Duration(i) * 10 * time.Millisecond), Latency: time.Millisecond, Status: 200}
		switch c {
		case 'R':
			r.Status, r.Class, r.Err = 0, ClassRefused, "connection refused"
		case '5':
			r.Status, r.Class = 502, ClassHTTP5xx
		case 'T':
			r.Status, r.Class, r.Latency = 0, ClassTimeout, 100*time.Millisecond
		}
		out = append(out, r)
	}
	return out
}

func TestWindows(t *testing.T) {
	type window struct {
		startMS, durationMS float64
		failures, requests  int
	}
	for _, tc := range []struct {
		name     string
		pattern  string
		mergeGap time.Duration
		want     []window
	}{
		{"no failures", "....", 0, nil},
		{"one failure", "..R..", 0, []window{{20, 1, 1, 1}}},
		{"consecutive failures form one window", ".RR5.", 0, []window{{10, 21, 3, 3}}},
		{"a success splits windows without a merge gap", ".R.R.", 0, []window{{10, 1, 1, 1}, {30, 1, 1, 1}}},
		{"a merge gap joins failures across successes", ".R..R..R.", 35 * time.Millisecond, []window{{10, 61, 3, 7}}},
		{"failures further apart than the gap stay apart", ".R....R.", 35 * time.Millisecond, []window{{10, 1, 1, 1}, {60, 1, 1, 1}}},
		{"consecutive failures join whatever the gap", "RR", time.Nanosecond, []window{{0, 11, 2, 2}}},
		{"a window ends when its slowest failure ends", ".T5.", 0, []window{{10, 100, 2, 2}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := Windows(series(tc.pattern), t0, tc.mergeGap)
			require.Len(t, got, len(tc.want))
			for i, w := range tc.want {
				assert.Equal(t, w.startMS, got[i].StartOffsetMS, "window %d start", i)
				assert.Equal(t, w.durationMS, got[i].DurationMS, "window %d duration", i)
				assert.Equal(t, w.failures, got[i].Failures, "window %d failures", i)
				assert.Equal(t, w.requests, got[i].Requests, "window %d requests", i)
				assert.Equal(t, got[i].End.Sub(got[i].Start), time.Duration(w.durationMS*float64(time.Millisecond)))
			}
		})
	}
}

func TestStats(t *testing.T) {
	var lat []time.Duration
	for i := 100; i >= 1; i-- { // unsorted on purpose
		lat = append(lat, time.Duration(i)*time.Millisecond)
	}
	assert.Equal(t, LatencyStats{Count: 100, Mean: 50.5, P50: 50, P90: 90, P99: 99, Max: 100}, Stats(lat))
	assert.Equal(t, time.Duration(100)*time.Millisecond, lat[0], "Stats must not reorder its input")
	assert.Equal(t, LatencyStats{Count: 1, Mean: 7, P50: 7, P90: 7, P99: 7, Max: 7}, Stats([]time.Duration{7 * time.Millisecond}))
	assert.Equal(t, LatencyStats{}, Stats(nil))
}

func TestVerdict(t *testing.T) {
	for _, tc := range []struct {
		name                  string
		budget, dropBudget    int
		sent, failed, dropped int
		wantPass              bool
		wantReasonContains    string
	}{
		{"clean run", 0, -1, 100, 0, 0, true, "within the budget of 0"},
		{"one failure over a zero budget", 0, -1, 100, 1, 0, false, "1 failed requests exceed the budget of 0"},
		{"failures within the budget", 5, -1, 100, 5, 0, true, "5 failed requests within"},
		{"drops not enforced by default", 0, -1, 10, 0, 90, true, "within"},
		{"drops over the drop budget", 0, 10, 10, 0, 11, false, "11 dropped requests exceed the drop budget of 10"},
		{"nothing sent proves nothing", 0, -1, 0, 0, 0, false, "no request was sent"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := Config{Budget: tc.budget, DropBudget: tc.dropBudget}
			v := verdict(&cfg, Counts{Sent: tc.sent, Failed: tc.failed, Succeeded: tc.sent - tc.failed, Dropped: tc.dropped})
			assert.Equal(t, tc.wantPass, v.Pass)
			assert.Contains(t, v.Reason, tc.wantReasonContains)
			r := Report{Verdict: v}
			assert.Equal(t, map[bool]int{true: ExitPass, false: ExitFail}[tc.wantPass], r.ExitCode())
		})
	}
}

func TestBuildReport(t *testing.T) {
	cfg := DefaultConfig()
	cfg.URL, cfg.MergeGap = "http://example.test/healthz", 0
	results := series("..55.R..T.")
	r := buildReport(&cfg, t0, t0.Add(2*time.Second), true, 12, 2, results)

	assert.Equal(t, Counts{Scheduled: 12, Sent: 10, Succeeded: 6, Failed: 4, Dropped: 2}, r.Requests)
	assert.Equal(t, 0.6, r.SuccessRatio)
	assert.Equal(t, 2.0, r.ElapsedSeconds)
	assert.True(t, r.Interrupted)
	assert.Equal(t, map[Class]int{ClassHTTP5xx: 2, ClassRefused: 1, ClassTimeout: 1}, r.ErrorsByClass)
	assert.Equal(t, map[string]int{"200": 6, "502": 2}, r.StatusCodes)
	assert.Equal(t, 6, r.Latency.OK.Count)
	assert.Equal(t, 10, r.Latency.All.Count)
	assert.Equal(t, 100.0, r.Latency.All.Max)
	require.Len(t, r.Failures, 4)
	assert.Equal(t, Failure{Seq: 5, Time: t0.Add(50 * time.Millisecond), OffsetMS: 50, LatencyMS: 1, Class: ClassRefused, Error: "connection refused"}, r.Failures[2])
	require.Len(t, r.Downtime.Windows, 3)
	assert.Equal(t, 11.0+1+100, r.Downtime.TotalMS)
	assert.False(t, r.Verdict.Pass)
	assert.Equal(t, ExitFail, r.ExitCode())

	var summary strings.Builder
	r.WriteSummary(&summary)
	for _, want := range []string{
		"GET http://example.test/healthz",
		"scheduled 12  sent 10  ok 6  failed 4  dropped 2  success 60.000%",
		"2 scheduled requests found all 64 slots busy",
		"http_5xx        2  (502: 2)",
		"refused         1",
		"3 window(s), 112ms in total",
		"#1  03:04:05.020  +0.020s  11ms      2 failed of 2 sent  [http_5xx 2]",
		"verdict: FAIL: 4 failed requests exceed the budget of 0",
	} {
		assert.Contains(t, summary.String(), want)
	}
}

// TestReportJSONShape pins the documented JSON document: renaming a key
// breaks pipelines that read it, so it must bump SchemaVersion.
func TestReportJSONShape(t *testing.T) {
	cfg := DefaultConfig()
	cfg.URL = "http://example.test/"
	for _, tc := range []struct {
		name    string
		results []Result
	}{
		{"clean", series("...")},
		{"with failures", series(".5R")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			data, err := json.Marshal(buildReport(&cfg, t0, t0.Add(time.Second), false, 3, 0, tc.results))
			require.NoError(t, err)
			var doc map[string]any
			require.NoError(t, json.Unmarshal(data, &doc))
			assert.Equal(t, []string{
				"downtime", "elapsed_seconds", "ended_at", "errors_by_class", "failures", "interrupted",
				"latency_ms", "requests", "schema_version", "settings", "started_at", "status_codes",
				"success_ratio", "target", "verdict",
			}, keys(doc))
			assert.Equal(t, []string{"budget", "concurrency", "drop_budget", "duration_seconds", "merge_gap_ms", "rate_per_second", "timeout_ms"},
				keys(doc["settings"].(map[string]any)))
			assert.Equal(t, []string{"dropped", "failed", "scheduled", "sent", "succeeded"}, keys(doc["requests"].(map[string]any)))
			assert.Equal(t, []string{"all", "ok"}, keys(doc["latency_ms"].(map[string]any)))
			assert.Equal(t, []string{"count", "max", "mean", "p50", "p90", "p99"}, keys(doc["latency_ms"].(map[string]any)["ok"].(map[string]any)))
			assert.Equal(t, []string{"total_ms", "windows"}, keys(doc["downtime"].(map[string]any)))
			assert.Equal(t, []string{"pass", "reason"}, keys(doc["verdict"].(map[string]any)))
			assert.EqualValues(t, SchemaVersion, doc["schema_version"])
			// Collections are never null, so consumers can iterate blindly.
			for _, key := range []string{"errors_by_class", "status_codes", "failures"} {
				assert.NotNil(t, doc[key], key)
			}
			assert.NotNil(t, doc["downtime"].(map[string]any)["windows"])
			if failures := doc["failures"].([]any); len(failures) > 0 {
				assert.Equal(t, []string{"class", "latency_ms", "offset_ms", "seq", "status", "time"}, keys(failures[0].(map[string]any)))
				window := doc["downtime"].(map[string]any)["windows"].([]any)[0].(map[string]any)
				assert.Equal(t, []string{"classes", "duration_ms", "end", "failures", "requests", "start", "start_offset_ms"}, keys(window))
			}
		})
	}
}

func keys(m map[string]any) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
