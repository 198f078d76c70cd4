package drill

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/authplatform/auth-platform/cmd/downtime-probe/probe"
	"github.com/authplatform/auth-platform/tests/realparts"
)

// records builds one request every 10 ms from a pattern: '.' success,
// '3' a 503, '2' a 502, 'r' refused, 'l' a lost session.
func records(start time.Time, pattern string) []Record {
	var out []Record
	for i, c := range pattern {
		r := Record{Op: OpCheck, Result: probe.Result{Seq: i, Sent: start.Add(time.Duration(i) * 10 * time.Millisecond), Latency: time.Millisecond, Status: 200}}
		switch c {
		case '3':
			r.Status, r.Class = 503, probe.ClassHTTP5xx
		case '2':
			r.Status, r.Class = 502, probe.ClassHTTP5xx
		case 'r':
			r.Status, r.Class, r.Err = 0, probe.ClassRefused, "connection refused"
		case 'l':
			r.Status, r.Class = 401, ClassSessionLost
		}
		out = append(out, r)
	}
	return out
}

func TestSummarizeCountsFailuresByCodeAndClass(t *testing.T) {
	start := time.Now()
	r := &Report{CarriedSessions: 1}
	Summarize(r, records(start, "....33r2....l..."), start, start.Add(2*time.Second), 1, nil)
	assert.Equal(t, 16, r.Requests)
	assert.Equal(t, 5, r.Failed)
	assert.Equal(t, map[string]int{"http_503": 2, "http_502": 1, "refused": 1, "session_lost": 1}, r.FailedByClass)
	assert.Equal(t, 5, r.FailedValidations, "every request of the pattern is a check")
	assert.Equal(t, 1, r.LostSessions)
	assert.Equal(t, 8.0, r.RatePerSecond, "16 requests in 2 s")
	require.Len(t, r.Outages, 1, "failures less than 250 ms apart are one outage")
	assert.Equal(t, 81.0, r.MaxOutageMs, "from the first failure's send (40 ms) to the last one's end (121 ms)")
}

func TestSummarizeCountsFailuresOutsideTheAllowedWindow(t *testing.T) {
	start := time.Now()
	r := &Report{}
	// Failures at 40-60 ms and at 120 ms; the window admits 30-70 ms.
	Summarize(r, records(start, "....333.....3"), start, start.Add(time.Second), 0,
		[]Allowance{{What: "detection window", Window: Window{From: 30 * time.Millisecond, To: 70 * time.Millisecond}}})
	assert.Equal(t, 4, r.Failed)
	assert.Equal(t, 1, r.FailedOutsideWindow)
	assert.Equal(t, 3, r.FailedAllowed)
	assert.Equal(t, []AllowanceReport{{What: "detection window", FromMs: 30, ToMs: 70, Ops: []string{}}}, r.Allowances)
}

// An allowance explains a failure only when all three agree: its send
// time, its operation and the slots of the keys it touched.
func TestAllowanceCoversByTimeOperationAndSlot(t *testing.T) {
	start := time.Now()
	hung := realparts.SlotRanges{{Start: 5461, End: 10922}}
	hang := Allowance{Window: Window{From: time.Second, To: 3 * time.Second}, Slots: hung}
	logins := Allowance{Window: Window{From: time.Second, To: 3 * time.Second}, Ops: []string{OpLogin}}
	rec := func(at time.Duration, op string, slots ...int) Record {
		return Record{Op: op, Slots: slots, Result: probe.Result{Sent: start.Add(at)}}
	}
	for _, tc := range []struct {
		name  string
		a     Allowance
		rec   Record
		cover bool
	}{
		{"a check on the hung shard, while it hangs", hang, rec(2*time.Second, OpCheck, 6000), true},
		{"a check on another shard, while it hangs", hang, rec(2*time.Second, OpCheck, 100), false},
		{"a check on the hung shard, after it", hang, rec(4*time.Second, OpCheck, 6000), false},
		{"a check on the hung shard, before it", hang, rec(500*time.Millisecond, OpCheck, 6000), false},
		{"a login whose account lives on the hung shard", hang, rec(2*time.Second, OpLogin, 100, 6000), true},
		{"a login whose keys all live elsewhere", hang, rec(2*time.Second, OpLogin, 100, 12000), false},
		{"a login while the database is down", logins, rec(2*time.Second, OpLogin, 100), true},
		{"a check while the database is down", logins, rec(2*time.Second, OpCheck, 100), false},
		{"the final login, after the outage", logins, rec(5*time.Second, OpFinalLogin, 100), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.cover, tc.a.Covers(tc.rec, start))
		})
	}
}

func TestSummarizeFinalLoginsAndLoginOutage(t *testing.T) {
	start := time.Now()
	at := func(ms int, op string, status int, latency time.Duration) Record {
		r := Record{Op: op, Result: probe.Result{Sent: start.Add(time.Duration(ms) * time.Millisecond), Latency: latency, Status: status}}
		if status >= 400 {
			r.Class = probe.ClassHTTP5xx
			if status < 500 {
				r.Class = probe.ClassHTTP4xx
			}
		}
		return r
	}
	r := &Report{}
	Summarize(r, []Record{
		at(100, OpLogin, 503, 50*time.Millisecond), at(900, OpLogin, 503, 100*time.Millisecond), at(1200, OpLogin, 200, time.Millisecond),
		at(3000, OpFinalLogin, 200, time.Millisecond), at(3000, OpFinalLogin, 429, time.Millisecond), at(3000, OpFinalLogin, 503, time.Millisecond),
	}, start, start.Add(3*time.Second), 0, nil)
	assert.Equal(t, 900.0, r.LoginOutageMs, "from the first failed login's send (100 ms) to the last one's end (1000 ms)")
	assert.Equal(t, 3, r.FinalLogins)
	assert.Equal(t, 2, r.FinalLoginsFailed)
	assert.Equal(t, 1, r.LockedAccounts, "a 429 is a locked account")
	assert.Equal(t, 1.0, r.LoginMaxMs, "the one successful login")
	assert.Equal(t, 0, r.FailedValidations)
}

func TestJudge(t *testing.T) {
	for _, tc := range []struct {
		name   string
		expect Expectation
		report Report
		pass   bool
		reason string
	}{
		{"positive, clean", ExpectNoLoss, Report{Requests: 100, CarriedSessions: 10}, true, "no failed request, no lost session"},
		{"positive, one failure", ExpectNoLoss, Report{Requests: 100, Failed: 1, CarriedSessions: 10}, false, "1 failed requests (want 0)"},
		{"positive, one lost session", ExpectNoLoss, Report{Requests: 100, LostSessions: 1, CarriedSessions: 10}, false, "1 lost sessions (want 0)"},
		{"positive, dropped load", ExpectNoLoss, Report{Requests: 100, Dropped: 3, CarriedSessions: 10}, false, "3 requests dropped"},
		{"positive, nothing carried", ExpectNoLoss, Report{Requests: 100}, false, "no session was carried"},
		{"control, failures seen", ExpectFailures, Report{Requests: 100, Failed: 7, FailedOutsideWindow: 7, CarriedSessions: 10}, true, "as expected: 7 failed requests"},
		{"control, blind", ExpectFailures, Report{Requests: 100, CarriedSessions: 10}, false, "this control must show failures"},
		{"control, only the failures the fault explains", ExpectFailures, Report{Requests: 100, Failed: 7, FailedAllowed: 7, CarriedSessions: 10}, false,
			"7 failed requests, all of them ones the fault explains: this control must show failures"},
		{"control, beyond the fault", ExpectFailures, Report{Requests: 100, Failed: 9, FailedAllowed: 2, FailedOutsideWindow: 7, CarriedSessions: 10}, true,
			"as expected: 9 failed requests, 7 of them beyond what the fault explains"},
		{"fault, each failure explained", ExpectConfinedFailures, Report{Requests: 100, Failed: 9, FailedAllowed: 9, CarriedSessions: 10}, true,
			"each one the fault explains"},
		{"fault, a failure unexplained", ExpectConfinedFailures, Report{Requests: 100, Failed: 9, FailedAllowed: 8, FailedOutsideWindow: 1, FailedByOp: map[string]int{"check": 9}, CarriedSessions: 10}, false,
			"1 failed requests the fault does not explain (by check 9)"},
		{"fault, an account locked", ExpectConfinedFailures, Report{Requests: 100, Failed: 1, FailedOutsideWindow: 1, LockedAccounts: 1, CarriedSessions: 10}, false,
			"1 accounts locked after the fault"},
		{"fault, a lost session", ExpectConfinedFailures, Report{Requests: 100, LostSessions: 1, CarriedSessions: 10}, false, "1 lost sessions"},
		{"fault, dropped load", ExpectConfinedFailures, Report{Requests: 100, Dropped: 2, CarriedSessions: 10}, false, "2 requests dropped"},
		{"zone loss, within the window", ExpectBoundedFailures, Report{Requests: 100, Failed: 9, FailedAllowed: 9, CarriedSessions: 10}, true, "all within the detection window"},
		{"zone loss, late failures", ExpectBoundedFailures, Report{Requests: 100, Failed: 9, FailedOutsideWindow: 2, CarriedSessions: 10}, false, "2 failed requests outside the detection window"},
		{"zone loss, lost session", ExpectBoundedFailures, Report{Requests: 100, LostSessions: 1, CarriedSessions: 10}, false, "1 lost sessions"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := tc.report
			Judge(&r, tc.expect)
			assert.Equal(t, tc.pass, r.Pass)
			assert.Contains(t, r.Verdict, tc.reason)
			if tc.pass {
				assert.Equal(t, 0, r.ExitCode())
			} else {
				assert.Equal(t, 1, r.ExitCode())
			}
		})
	}
}

// TestReportJSONFields holds the field names issue 14 asks for.
func TestReportJSONFields(t *testing.T) {
	start := time.Now()
	st := devStack()
	st.Stack = "dev"
	tm := st.Scaled(6)
	r := &Report{Scenario: "evictions", Stack: "dev", CarriedSessions: 40, Timings: NewTimingsReport(st, tm, tm.PreStopSleep, 3, 300)}
	Summarize(r, records(start, "...3..."), start, start.Add(time.Second), 0, nil)
	Judge(r, ExpectNoLoss)
	data, err := json.Marshal(r)
	require.NoError(t, err)
	var m map[string]any
	require.NoError(t, json.Unmarshal(data, &m))
	for _, key := range []string{"scenario", "requests", "failed", "failedByClass", "lostSessions", "maxOutageMs", "p50Ms", "p99Ms", "timings", "pass", "verdict",
		"failedOutsideWindow", "failedAllowed", "allowances", "loginOutageMs", "failedValidations", "loginP99Ms", "loginMaxMs", "finalLogins", "finalLoginsFailed", "lockedAccounts"} {
		assert.Contains(t, m, key)
	}
	timings := m["timings"].(map[string]any)
	for _, key := range []string{"scale", "propagationMs", "deregistrationDelayMs", "preStopSleepMs", "gracePeriodMs", "stackSeconds",
		"readinessPeriodMs", "readinessTimeoutMs", "readinessFailureThreshold", "recoveryWindowMs"} {
		assert.Contains(t, timings, key)
	}
	assert.Equal(t, 10000.0, timings["preStopSleepMs"], "60 s / 6")
	assert.Equal(t, 60.0, timings["stackSeconds"].(map[string]any)["preStopSleep"])
	assert.Equal(t, 5.0, timings["stackSeconds"].(map[string]any)["readinessPeriod"])
	assert.InDelta(t, 833.333, timings["readinessPeriodMs"], 0.001, "5 s / 6")
	assert.Equal(t, map[string]any{"http_503": 1.0}, m["failedByClass"])
	assert.False(t, strings.Contains(string(data), "null"), "maps and lists are never null: %s", data)
}
