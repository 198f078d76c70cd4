package drill

import (
	"fmt"
	"io"
	"math"
	"net/http"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/authplatform/auth-platform/cmd/downtime-probe/probe"
	"github.com/authplatform/auth-platform/tests/realparts"
)

// Report is what one drill measured. Field names are stable; fields may
// be added.
type Report struct {
	Scenario    string      `json:"scenario"`
	Description string      `json:"description"`
	Stack       string      `json:"stack"`
	Expectation Expectation `json:"expectation"`
	Pass        bool        `json:"pass"`
	Verdict     string      `json:"verdict"`

	Requests int `json:"requests"`
	Failed   int `json:"failed"`
	// Dropped requests were due while Concurrency were in flight.
	Dropped int `json:"dropped"`
	// LoginsResent are logins the service shed for hashing capacity (503
	// with Retry-After: not judged) and the load resent; only the resent
	// login's answer is an outcome.
	LoginsResent  int            `json:"loginsResent"`
	FailedByClass map[string]int `json:"failedByClass"`
	FailedByOp    map[string]int `json:"failedByOp"`
	// LostSessions: sessions refused while the client held them as valid,
	// and carried sessions failing their final check.
	LostSessions    int `json:"lostSessions"`
	CarriedSessions int `json:"carriedSessions"`
	// FailedOutsideWindow counts the failures no allowance of the
	// scenario covers (zone-loss: sent outside the detection window after
	// the kill; redis-shard-hang: not on the hung shard's keys, or not
	// while it hung); every failure when the scenario allows none.
	FailedOutsideWindow int `json:"failedOutsideWindow"`
	// FailedAllowed counts the failures an allowance covers.
	FailedAllowed int `json:"failedAllowed"`
	// Allowances are the failures the scenario expects: what, when (by
	// send time), of which operations and on which keys' slots.
	Allowances []AllowanceReport `json:"allowances"`
	// LoginOutageMs spans the failed logins, from the first one's send to
	// the last one's end (0 when none failed).
	LoginOutageMs float64 `json:"loginOutageMs"`
	// FailedValidations counts the failed session checks (of the load's
	// sessions, of the carried ones, and their final checks).
	FailedValidations int `json:"failedValidations"`
	// Latency of the load's successful logins (they wait for PostgreSQL
	// and the password hash): how long a login took while a fault lasted.
	LoginP99Ms float64 `json:"loginP99Ms"`
	LoginMaxMs float64 `json:"loginMaxMs"`
	// FinalLogins: every user logged in once after the drill, with its
	// password; FinalLoginsFailed of them failed, LockedAccounts refused
	// as locked (429).
	FinalLogins       int `json:"finalLogins"`
	FinalLoginsFailed int `json:"finalLoginsFailed"`
	LockedAccounts    int `json:"lockedAccounts"`
	// MaxOutageMs is the longest run of failures (probe's downtime windows,
	// failures less than OutageMergeGap apart joined).
	MaxOutageMs float64        `json:"maxOutageMs"`
	Outages     []probe.Window `json:"outages"`
	P50Ms       float64        `json:"p50Ms"`
	P99Ms       float64        `json:"p99Ms"`
	MaxMs       float64        `json:"maxMs"`
	// RatePerSecond is the rate achieved over the load's duration.
	RatePerSecond float64 `json:"ratePerSecond"`
	DurationMs    float64 `json:"durationMs"`

	// App is set in the app-* scenarios: the requests above are the
	// application's, and these the client's counters behind them; its
	// FailedAttempts are the raw calls to the service that failed.
	App *AppStats `json:"app,omitempty"`

	Timings TimingsReport `json:"timings"`
	Events  []Event       `json:"events"`
	Machine Machine       `json:"machine"`
}

// TimingsReport is the stack's budget and what the drill waited for.
type TimingsReport struct {
	Scale float64 `json:"scale"`
	// The stack's values, in seconds, as the plan deploys them.
	StackSeconds StackSeconds `json:"stackSeconds"`
	// What the drill used, in milliseconds: the stack's divided by scale.
	PropagationMs         float64 `json:"propagationMs"`
	DeregistrationDelayMs float64 `json:"deregistrationDelayMs"`
	PreStopSleepMs        float64 `json:"preStopSleepMs"` // the scenario's, e.g. 0 for no-prestop
	GracePeriodMs         float64 `json:"gracePeriodMs"`
	HealthCheckIntervalMs float64 `json:"healthCheckIntervalMs"`
	HealthCheckTimeoutMs  float64 `json:"healthCheckTimeoutMs"`
	UnhealthyThreshold    int     `json:"unhealthyThreshold"`
	DetectionWindowMs     float64 `json:"detectionWindowMs"`
	// The readiness probe (its timeout is not scaled) and the recovery
	// window a fault scenario watches after the fault.
	ReadinessPeriodMs         float64 `json:"readinessPeriodMs"`
	ReadinessTimeoutMs        float64 `json:"readinessTimeoutMs"`
	ReadinessFailureThreshold int     `json:"readinessFailureThreshold"`
	RecoveryWindowMs          float64 `json:"recoveryWindowMs"`
	Replicas                  int     `json:"replicas"`
	RatePerSecond             float64 `json:"targetRatePerSecond"`
}

// StackSeconds are the stack's timing values.
type StackSeconds struct {
	Propagation         int `json:"propagation"`
	DeregistrationDelay int `json:"deregistrationDelay"`
	PreStopSleep        int `json:"preStopSleep"`
	GracePeriod         int `json:"gracePeriod"`
	Shutdown            int `json:"shutdown"`
	MaxRequest          int `json:"maxRequest"`
	HealthCheckInterval int `json:"healthCheckInterval"`
	ReadinessPeriod     int `json:"readinessPeriod"`
	ReadinessTimeout    int `json:"readinessTimeout"`
}

// Machine names where the drill ran.
type Machine struct {
	CPUs     int    `json:"cpus"`
	CPUModel string `json:"cpuModel"`
}

// OutageMergeGap joins failures closer than this into one outage.
const OutageMergeGap = 250 * time.Millisecond

// Window is a span of drill time, offsets from the start.
type Window struct{ From, To time.Duration }

// Contains reports whether offset lies in the window.
func (w Window) Contains(offset time.Duration) bool { return offset >= w.From && offset <= w.To }

// FaultSlack widens a fault's window on both sides: requests in flight
// when it began were sent up to a second before, and requests sent as it
// ends may still meet its last effects (zone-loss: in flight at the
// kill; a hung shard's backlog; the first connections after PostgreSQL
// is back).
const FaultSlack = time.Second

// Allowance admits the failed requests a fault explains: sent within the
// window, of one of Ops (any operation when empty), touching a key in
// Slots (any key when empty).
type Allowance struct {
	What string
	Window
	Ops   []string
	Slots realparts.SlotRanges
}

// Covers reports whether the allowance explains rec, sent start-relative.
func (a Allowance) Covers(rec Record, start time.Time) bool {
	if !a.Contains(rec.Sent.Sub(start)) {
		return false
	}
	if len(a.Ops) > 0 && !slices.Contains(a.Ops, rec.Op) {
		return false
	}
	if len(a.Slots) == 0 {
		return true
	}
	for _, s := range rec.Slots {
		if a.Slots.Contains(s) {
			return true
		}
	}
	return false
}

// AllowanceReport is an allowance in the report.
type AllowanceReport struct {
	What   string   `json:"what"`
	FromMs float64  `json:"fromMs"`
	ToMs   float64  `json:"toMs"`
	Ops    []string `json:"ops"`
	// Slots of the keys it admits ("" for any key).
	Slots string `json:"slots"`
}

// Summarize builds the report's counts from the records. allowed are the
// failures the scenario expects (none for most).
func Summarize(r *Report, records []Record, start time.Time, end time.Time, lost int, allowed []Allowance) {
	r.Requests = len(records)
	r.FailedByClass = map[string]int{}
	r.FailedByOp = map[string]int{}
	r.LostSessions = lost
	r.Allowances = []AllowanceReport{}
	for _, a := range allowed {
		ops := a.Ops
		if ops == nil {
			ops = []string{}
		}
		r.Allowances = append(r.Allowances, AllowanceReport{What: a.What, FromMs: durMs(a.From), ToMs: durMs(a.To), Ops: ops, Slots: a.Slots.String()})
	}
	results := make([]probe.Result, 0, len(records))
	var oks []time.Duration
	var firstLogin, lastLogin time.Time
	var loginOKs []time.Duration
	for _, rec := range records {
		results = append(results, rec.Result)
		if rec.Op == OpFinalLogin {
			r.FinalLogins++
		}
		if !rec.Failed() {
			oks = append(oks, rec.Latency)
			if rec.Op == OpLogin {
				loginOKs = append(loginOKs, rec.Latency)
			}
			continue
		}
		r.Failed++
		if rec.Op == OpCheck || rec.Op == OpCarried || rec.Op == OpFinal {
			r.FailedValidations++
		}
		r.FailedByClass[failureKey(rec)]++
		r.FailedByOp[rec.Op]++
		switch rec.Op {
		case OpLogin:
			if firstLogin.IsZero() || rec.Sent.Before(firstLogin) {
				firstLogin = rec.Sent
			}
			if e := rec.Sent.Add(rec.Latency); e.After(lastLogin) {
				lastLogin = e
			}
		case OpFinalLogin:
			r.FinalLoginsFailed++
			if rec.Status == http.StatusTooManyRequests {
				r.LockedAccounts++
			}
		}
		covered := false
		for _, a := range allowed {
			covered = covered || a.Covers(rec, start)
		}
		if covered {
			r.FailedAllowed++
		} else {
			r.FailedOutsideWindow++
		}
	}
	if !firstLogin.IsZero() {
		r.LoginOutageMs = durMs(lastLogin.Sub(firstLogin))
	}
	if r.Events == nil {
		r.Events = []Event{}
	}
	r.Outages = probe.Windows(results, start, OutageMergeGap)
	for _, w := range r.Outages {
		r.MaxOutageMs = math.Max(r.MaxOutageMs, w.DurationMS)
	}
	st := probe.Stats(oks)
	r.P50Ms, r.P99Ms, r.MaxMs = st.P50, st.P99, st.Max
	ls := probe.Stats(loginOKs)
	r.LoginP99Ms, r.LoginMaxMs = ls.P99, ls.Max
	r.DurationMs = round3(float64(end.Sub(start)) / float64(time.Millisecond))
	if r.DurationMs > 0 {
		r.RatePerSecond = round3(float64(r.Requests) / (r.DurationMs / 1000))
	}
}

// failureKey is the failedByClass key: 5xx and 4xx by code, transport
// errors by class.
func failureKey(rec Record) string {
	switch rec.Class {
	case probe.ClassHTTP5xx, probe.ClassHTTP4xx, probe.ClassHTTP3xx, probe.ClassHTTPOther:
		return fmt.Sprintf("http_%d", rec.Status)
	}
	return string(rec.Class)
}

// Judge decides whether the report meets the scenario's expectation.
func Judge(r *Report, e Expectation) {
	r.Expectation = e
	var problems []string
	switch e {
	case ExpectNoLoss:
		if r.Failed > 0 {
			problems = append(problems, fmt.Sprintf("%d failed requests (want 0)", r.Failed))
		}
		if r.LostSessions > 0 {
			problems = append(problems, fmt.Sprintf("%d lost sessions (want 0)", r.LostSessions))
		}
		if r.Dropped > 0 {
			problems = append(problems, fmt.Sprintf("%d requests dropped by the load generator (want 0)", r.Dropped))
		}
	case ExpectFailures:
		if r.FailedOutsideWindow == 0 {
			what := "no failed request"
			if r.Failed > 0 {
				what = fmt.Sprintf("%d failed requests, all of them ones the fault explains", r.Failed)
			}
			problems = append(problems, what+": this control must show failures, so the drill cannot see what it is meant to see")
		}
	case ExpectBoundedFailures:
		if r.FailedOutsideWindow > 0 {
			problems = append(problems, fmt.Sprintf("%d failed requests outside the detection window", r.FailedOutsideWindow))
		}
		if r.LostSessions > 0 {
			problems = append(problems, fmt.Sprintf("%d lost sessions (want 0)", r.LostSessions))
		}
	case ExpectConfinedFailures:
		if r.FailedOutsideWindow > 0 {
			problems = append(problems, fmt.Sprintf("%d failed requests the fault does not explain (by %s)", r.FailedOutsideWindow, formatCounts(r.FailedByOp)))
		}
		if r.LockedAccounts > 0 {
			problems = append(problems, fmt.Sprintf("%d accounts locked after the fault (want 0)", r.LockedAccounts))
		}
		if r.LostSessions > 0 {
			problems = append(problems, fmt.Sprintf("%d lost sessions (want 0)", r.LostSessions))
		}
		if r.Dropped > 0 {
			problems = append(problems, fmt.Sprintf("%d requests dropped by the load generator (want 0)", r.Dropped))
		}
	}
	if r.Requests == 0 {
		problems = append(problems, "no request was sent")
	}
	if r.CarriedSessions == 0 {
		problems = append(problems, "no session was carried through the drill")
	}
	r.Pass = len(problems) == 0
	if r.Pass {
		switch e {
		case ExpectFailures:
			r.Verdict = fmt.Sprintf("as expected: %d failed requests", r.Failed)
			if r.FailedAllowed > 0 {
				r.Verdict += fmt.Sprintf(", %d of them beyond what the fault explains", r.FailedOutsideWindow)
			}
		case ExpectBoundedFailures:
			r.Verdict = fmt.Sprintf("as expected: %d failed requests, all within the detection window; no lost session", r.Failed)
		case ExpectConfinedFailures:
			r.Verdict = fmt.Sprintf("as expected: %d failed requests, each one the fault explains; no lost session, no locked account", r.Failed)
		default:
			r.Verdict = "as expected: no failed request, no lost session"
		}
		return
	}
	r.Verdict = strings.Join(problems, "; ")
}

// ExitCode is 0 when the scenario met its expectation, 1 otherwise.
func (r *Report) ExitCode() int {
	if r.Pass {
		return 0
	}
	return 1
}

// WriteSummary prints the readable summary.
func (r *Report) WriteSummary(w io.Writer) {
	t := r.Timings
	verdict := "PASS"
	if !r.Pass {
		verdict = "FAIL"
	}
	fmt.Fprintf(w, "drill %s (stack %s, scale %g): %s\n", r.Scenario, r.Stack, t.Scale, r.Description)
	fmt.Fprintf(w, "  timings: propagation %s, deregistration delay %s, preStop %s, grace %s, health check every %s (timeout %s, %d to fail)\n",
		msDur(t.PropagationMs), msDur(t.DeregistrationDelayMs), msDur(t.PreStopSleepMs), msDur(t.GracePeriodMs),
		msDur(t.HealthCheckIntervalMs), msDur(t.HealthCheckTimeoutMs), t.UnhealthyThreshold)
	fmt.Fprintf(w, "  requests: %d in %s (%.0f req/s), failed %d, dropped %d, shed logins resent %d\n",
		r.Requests, msDur(r.DurationMs), r.RatePerSecond, r.Failed, r.Dropped, r.LoginsResent)
	if r.Failed > 0 {
		fmt.Fprintf(w, "  failed by class: %s; by operation: %s\n", formatCounts(r.FailedByClass), formatCounts(r.FailedByOp))
		fmt.Fprintf(w, "  longest outage %s over %d outage windows\n", msDur(r.MaxOutageMs), len(r.Outages))
	}
	if r.FailedAllowed > 0 {
		fmt.Fprintf(w, "  %d of the failures are ones the fault explains, %d are not\n", r.FailedAllowed, r.FailedOutsideWindow)
	}
	if r.LoginOutageMs > 0 {
		fmt.Fprintf(w, "  failed logins span %s; failed validations %d\n", msDur(r.LoginOutageMs), r.FailedValidations)
	}
	if a := r.App; a != nil {
		fmt.Fprintf(w, "  the application's client: %d calls to the service, %d attempts, %d of them failed (raw), %d retries, %d calls unavailable; cache hits %d, misses %d, stale answers %d; breaker opened %d times, %s\n",
			a.Calls, a.Attempts, a.FailedAttempts, a.Retries, a.Unavailable, a.CacheHits, a.CacheMisses, a.StaleServed, a.BreakerOpens, a.BreakerState)
	}
	fmt.Fprintf(w, "  sessions: %d carried through, %d lost; final logins: %d of %d failed, %d accounts locked\n",
		r.CarriedSessions, r.LostSessions, r.FinalLoginsFailed, r.FinalLogins, r.LockedAccounts)
	fmt.Fprintf(w, "  latency of successes: p50 %.1f ms, p99 %.1f ms, max %.1f ms; of logins p99 %.1f ms, max %.1f ms\n",
		r.P50Ms, r.P99Ms, r.MaxMs, r.LoginP99Ms, r.LoginMaxMs)
	fmt.Fprintf(w, "  expectation %s: %s — %s\n", r.Expectation, verdict, r.Verdict)
}

func formatCounts(m map[string]int) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s %d", k, m[k])
	}
	return strings.Join(parts, ", ")
}

func msDur(ms float64) string {
	return time.Duration(ms * float64(time.Millisecond)).Round(time.Millisecond).String()
}

func round3(v float64) float64 { return math.Round(v*1000) / 1000 }

func durMs(d time.Duration) float64 { return round3(float64(d) / float64(time.Millisecond)) }

// NewTimingsReport describes the timings of a run.
func NewTimingsReport(st StackTiming, t Timings, preStop time.Duration, replicas int, rate float64) TimingsReport {
	return TimingsReport{
		Scale: t.Scale,
		StackSeconds: StackSeconds{
			Propagation: st.PropagationSeconds, DeregistrationDelay: st.DeregistrationDelaySeconds,
			PreStopSleep: st.PreStopSleepSeconds, GracePeriod: st.TerminationGracePeriodSeconds,
			Shutdown: st.ShutdownSeconds, MaxRequest: st.MaxRequestSeconds,
			HealthCheckInterval: st.HealthCheckIntervalSeconds,
			ReadinessPeriod:     st.ReadinessPeriodSeconds, ReadinessTimeout: st.ReadinessTimeoutSeconds,
		},
		PropagationMs:             durMs(t.Propagation),
		DeregistrationDelayMs:     durMs(t.DeregistrationDelay),
		PreStopSleepMs:            durMs(preStop),
		GracePeriodMs:             durMs(t.GracePeriod),
		HealthCheckIntervalMs:     durMs(t.HealthCheckInterval),
		HealthCheckTimeoutMs:      durMs(t.HealthCheckTimeout),
		UnhealthyThreshold:        t.UnhealthyThreshold,
		DetectionWindowMs:         durMs(t.DetectionWindow()),
		ReadinessPeriodMs:         durMs(t.ReadinessPeriod),
		ReadinessTimeoutMs:        durMs(t.ReadinessTimeout),
		ReadinessFailureThreshold: t.ReadinessFailureThreshold,
		RecoveryWindowMs:          durMs(t.RecoveryWindow()),
		Replicas:                  replicas,
		RatePerSecond:             rate,
	}
}
