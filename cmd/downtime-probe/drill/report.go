package drill

import (
	"fmt"
	"io"
	"math"
	"sort"
	"strings"
	"time"

	"github.com/authplatform/auth-platform/cmd/downtime-probe/probe"
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
	Dropped       int            `json:"dropped"`
	FailedByClass map[string]int `json:"failedByClass"`
	FailedByOp    map[string]int `json:"failedByOp"`
	// LostSessions: sessions refused while the client held them as valid,
	// and carried sessions failing their final check.
	LostSessions    int `json:"lostSessions"`
	CarriedSessions int `json:"carriedSessions"`
	// FailedOutsideWindow counts, for zone-loss, failures sent outside
	// the detection window after the kill.
	FailedOutsideWindow int `json:"failedOutsideWindow"`
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
	Replicas              int     `json:"replicas"`
	RatePerSecond         float64 `json:"targetRatePerSecond"`
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

// Summarize builds the report's counts from the records. allowed are the
// windows in which failures are expected (zone-loss).
func Summarize(r *Report, records []Record, start time.Time, end time.Time, lost int, allowed []Window) {
	r.Requests = len(records)
	r.FailedByClass = map[string]int{}
	r.FailedByOp = map[string]int{}
	r.LostSessions = lost
	results := make([]probe.Result, 0, len(records))
	var oks []time.Duration
	for _, rec := range records {
		results = append(results, rec.Result)
		if !rec.Failed() {
			oks = append(oks, rec.Latency)
			continue
		}
		r.Failed++
		r.FailedByClass[failureKey(rec)]++
		r.FailedByOp[rec.Op]++
		if allowed != nil {
			off := rec.Sent.Sub(start)
			in := false
			for _, w := range allowed {
				in = in || w.Contains(off)
			}
			if !in {
				r.FailedOutsideWindow++
			}
		}
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
		if r.Failed == 0 {
			problems = append(problems, "no failed request: this control must show failures, so the drill cannot see what it is meant to see")
		}
	case ExpectBoundedFailures:
		if r.FailedOutsideWindow > 0 {
			problems = append(problems, fmt.Sprintf("%d failed requests outside the detection window", r.FailedOutsideWindow))
		}
		if r.LostSessions > 0 {
			problems = append(problems, fmt.Sprintf("%d lost sessions (want 0)", r.LostSessions))
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
		case ExpectBoundedFailures:
			r.Verdict = fmt.Sprintf("as expected: %d failed requests, all within the detection window; no lost session", r.Failed)
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
	fmt.Fprintf(w, "  requests: %d in %s (%.0f req/s), failed %d, dropped %d\n",
		r.Requests, msDur(r.DurationMs), r.RatePerSecond, r.Failed, r.Dropped)
	if r.Failed > 0 {
		fmt.Fprintf(w, "  failed by class: %s; by operation: %s\n", formatCounts(r.FailedByClass), formatCounts(r.FailedByOp))
		fmt.Fprintf(w, "  longest outage %s over %d outage windows\n", msDur(r.MaxOutageMs), len(r.Outages))
	}
	fmt.Fprintf(w, "  sessions: %d carried through, %d lost\n", r.CarriedSessions, r.LostSessions)
	fmt.Fprintf(w, "  latency of successes: p50 %.1f ms, p99 %.1f ms, max %.1f ms\n", r.P50Ms, r.P99Ms, r.MaxMs)
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
		},
		PropagationMs:         durMs(t.Propagation),
		DeregistrationDelayMs: durMs(t.DeregistrationDelay),
		PreStopSleepMs:        durMs(preStop),
		GracePeriodMs:         durMs(t.GracePeriod),
		HealthCheckIntervalMs: durMs(t.HealthCheckInterval),
		HealthCheckTimeoutMs:  durMs(t.HealthCheckTimeout),
		UnhealthyThreshold:    t.UnhealthyThreshold,
		DetectionWindowMs:     durMs(t.DetectionWindow()),
		Replicas:              replicas,
		RatePerSecond:         rate,
	}
}
