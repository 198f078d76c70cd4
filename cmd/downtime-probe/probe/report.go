package probe

import (
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"
)

// SchemaVersion of the JSON report. Fields may be added within a version;
// renaming or removing one bumps it.
const SchemaVersion = 1

// Report is the outcome of a run and the JSON document of -json. Durations
// are milliseconds (suffix _ms) or seconds (suffix _seconds), times are
// RFC 3339 in UTC, offsets are relative to started_at.
type Report struct {
	SchemaVersion  int            `json:"schema_version"`
	Target         Target         `json:"target"`
	Settings       Settings       `json:"settings"`
	StartedAt      time.Time      `json:"started_at"`
	EndedAt        time.Time      `json:"ended_at"`
	ElapsedSeconds float64        `json:"elapsed_seconds"`
	Interrupted    bool           `json:"interrupted"`
	Requests       Counts         `json:"requests"`
	SuccessRatio   float64        `json:"success_ratio"`
	ErrorsByClass  map[Class]int  `json:"errors_by_class"`
	StatusCodes    map[string]int `json:"status_codes"`
	Latency        Latencies      `json:"latency_ms"`
	Downtime       Downtime       `json:"downtime"`
	Failures       []Failure      `json:"failures"`
	Verdict        Verdict        `json:"verdict"`
}

// Target is what was probed.
type Target struct {
	URL    string `json:"url"`
	Method string `json:"method"`
}

// Settings echo the configuration that shaped the numbers.
type Settings struct {
	Rate            float64 `json:"rate_per_second"`
	Concurrency     int     `json:"concurrency"`
	DurationSeconds float64 `json:"duration_seconds"` // 0: until interrupted
	TimeoutMS       float64 `json:"timeout_ms"`
	Budget          int     `json:"budget"`
	DropBudget      int     `json:"drop_budget"` // -1: not enforced
	MergeGapMS      float64 `json:"merge_gap_ms"`
}

// Counts of scheduled requests: Scheduled = Sent + Dropped and
// Sent = Succeeded + Failed.
type Counts struct {
	Scheduled int `json:"scheduled"`
	Sent      int `json:"sent"`
	Succeeded int `json:"succeeded"`
	Failed    int `json:"failed"`
	Dropped   int `json:"dropped"`
}

// Latencies of successful requests and of all requests sent (a failure's
// latency is its time to fail).
type Latencies struct {
	OK  LatencyStats `json:"ok"`
	All LatencyStats `json:"all"`
}

// LatencyStats in milliseconds; nearest-rank percentiles. All zero when
// Count is 0.
type LatencyStats struct {
	Count int     `json:"count"`
	Mean  float64 `json:"mean"`
	P50   float64 `json:"p50"`
	P90   float64 `json:"p90"`
	P99   float64 `json:"p99"`
	Max   float64 `json:"max"`
}

// Downtime is the failed part of the run as windows.
type Downtime struct {
	TotalMS float64  `json:"total_ms"`
	Windows []Window `json:"windows"`
}

// Window is a maximal run of failures: consecutive in schedule order, or
// less than merge_gap_ms apart. It starts when its first failed request was
// sent and ends when its last failed request finished. Requests counts
// everything sent inside it, so failures < requests means degraded (some
// backends failing), failures == requests means down.
type Window struct {
	Start         time.Time     `json:"start"`
	End           time.Time     `json:"end"`
	StartOffsetMS float64       `json:"start_offset_ms"`
	DurationMS    float64       `json:"duration_ms"`
	Failures      int           `json:"failures"`
	Requests      int           `json:"requests"`
	Classes       map[Class]int `json:"classes"`
}

// Failure is one failed request.
type Failure struct {
	Seq       int       `json:"seq"`
	Time      time.Time `json:"time"`
	OffsetMS  float64   `json:"offset_ms"`
	LatencyMS float64   `json:"latency_ms"`
	Class     Class     `json:"class"`
	Status    int       `json:"status,omitempty"`
	Error     string    `json:"error,omitempty"`
}

// Verdict decides the exit code.
type Verdict struct {
	Pass   bool   `json:"pass"`
	Reason string `json:"reason"`
}

// Exit codes of the command.
const (
	ExitPass  = 0 // failures (and drops, when enforced) within budget
	ExitFail  = 1 // over budget
	ExitUsage = 2 // bad flags, or the report could not be written
)

// ExitCode maps the verdict to the command's exit status.
func (r *Report) ExitCode() int {
	if r.Verdict.Pass {
		return ExitPass
	}
	return ExitFail
}

func buildReport(cfg *Config, start, end time.Time, interrupted bool, scheduled, dropped int, results []Result) *Report {
	r := &Report{
		SchemaVersion: SchemaVersion,
		Target:        Target{URL: cfg.URL, Method: cfg.Method},
		Settings: Settings{
			Rate:            cfg.Rate,
			Concurrency:     cfg.Concurrency,
			DurationSeconds: cfg.Duration.Seconds(),
			TimeoutMS:       ms(cfg.Timeout),
			Budget:          cfg.Budget,
			DropBudget:      cfg.DropBudget,
			MergeGapMS:      ms(cfg.MergeGap),
		},
		StartedAt:      start.UTC(),
		EndedAt:        end.UTC(),
		ElapsedSeconds: math.Round(end.Sub(start).Seconds()*1000) / 1000,
		Interrupted:    interrupted,
		Requests:       Counts{Scheduled: scheduled, Sent: len(results), Dropped: dropped},
		ErrorsByClass:  map[Class]int{},
		StatusCodes:    map[string]int{},
		Failures:       []Failure{},
	}
	var ok, all []time.Duration
	for _, res := range results {
		all = append(all, res.Latency)
		if res.Status != 0 {
			r.StatusCodes[strconv.Itoa(res.Status)]++
		}
		if !res.Failed() {
			r.Requests.Succeeded++
			ok = append(ok, res.Latency)
			continue
		}
		r.Requests.Failed++
		r.ErrorsByClass[res.Class]++
		r.Failures = append(r.Failures, Failure{
			Seq:       res.Seq,
			Time:      res.Sent.UTC(),
			OffsetMS:  ms(res.Sent.Sub(start)),
			LatencyMS: ms(res.Latency),
			Class:     res.Class,
			Status:    res.Status,
			Error:     res.Err,
		})
	}
	if r.Requests.Sent > 0 {
		r.SuccessRatio = math.Round(1e6*float64(r.Requests.Succeeded)/float64(r.Requests.Sent)) / 1e6
	}
	r.Latency = Latencies{OK: Stats(ok), All: Stats(all)}
	r.Downtime.Windows = Windows(results, start, cfg.MergeGap)
	for _, w := range r.Downtime.Windows {
		r.Downtime.TotalMS += w.DurationMS
	}
	r.Verdict = verdict(cfg, r.Requests)
	return r
}

func verdict(cfg *Config, c Counts) Verdict {
	switch {
	case c.Failed > cfg.Budget:
		return Verdict{Reason: fmt.Sprintf("%d failed requests exceed the budget of %d", c.Failed, cfg.Budget)}
	case cfg.DropBudget >= 0 && c.Dropped > cfg.DropBudget:
		return Verdict{Reason: fmt.Sprintf("%d dropped requests exceed the drop budget of %d", c.Dropped, cfg.DropBudget)}
	case c.Sent == 0:
		// Nothing measured proves nothing; a pipeline must not read it as
		// "no downtime".
		return Verdict{Reason: "no request was sent"}
	}
	return Verdict{Pass: true, Reason: fmt.Sprintf("%d failed requests within the budget of %d", c.Failed, cfg.Budget)}
}

// Windows groups the failures of results (in schedule order) into downtime
// windows. Consecutive failures always share a window; with mergeGap > 0,
// failures sent less than mergeGap after the previous failure join its
// window even across successes, so a backend failing one request in three
// reads as one degraded window rather than a string of blips.
func Windows(results []Result, start time.Time, mergeGap time.Duration) []Window {
	windows := []Window{}
	var (
		cur        *Window
		lastFail   time.Time
		okSinceEnd int // successes after the current window's last failure
	)
	flush := func() {
		if cur != nil {
			cur.DurationMS = ms(cur.End.Sub(cur.Start))
			cur.StartOffsetMS = ms(cur.Start.Sub(start))
			cur.Start, cur.End = cur.Start.UTC(), cur.End.UTC()
			windows = append(windows, *cur)
			cur = nil
		}
	}
	for _, res := range results {
		if !res.Failed() {
			okSinceEnd++
			continue
		}
		joins := cur != nil && (okSinceEnd == 0 || (mergeGap > 0 && res.Sent.Sub(lastFail) < mergeGap))
		if !joins {
			flush()
			cur = &Window{Start: res.Sent, Classes: map[Class]int{}}
		} else {
			cur.Requests += okSinceEnd
		}
		cur.Failures++
		cur.Requests++
		cur.Classes[res.Class]++
		if end := res.Sent.Add(res.Latency); end.After(cur.End) {
			cur.End = end
		}
		lastFail, okSinceEnd = res.Sent, 0
	}
	flush()
	return windows
}

// Stats summarises latencies with nearest-rank percentiles.
func Stats(latencies []time.Duration) LatencyStats {
	if len(latencies) == 0 {
		return LatencyStats{}
	}
	sorted := append([]time.Duration(nil), latencies...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i] < sorted[j] })
	var sum time.Duration
	for _, d := range sorted {
		sum += d
	}
	rank := func(p float64) float64 {
		i := int(math.Ceil(p/100*float64(len(sorted)))) - 1
		return ms(sorted[max(i, 0)])
	}
	return LatencyStats{
		Count: len(sorted),
		Mean:  ms(sum / time.Duration(len(sorted))),
		P50:   rank(50),
		P90:   rank(90),
		P99:   rank(99),
		Max:   ms(sorted[len(sorted)-1]),
	}
}

// ms converts to milliseconds with microsecond precision, enough for
// loopback latencies and short enough for readable JSON.
func ms(d time.Duration) float64 {
	return math.Round(float64(d)/float64(time.Microsecond)) / 1000
}

// WriteSummary prints the human summary.
func (r *Report) WriteSummary(w io.Writer) {
	s := r.Settings
	mode := fmt.Sprintf("of %gs", s.DurationSeconds)
	switch {
	case s.DurationSeconds == 0:
		mode = "until interrupted"
	case r.Interrupted:
		mode += ", interrupted early"
	}
	fmt.Fprintf(w, "downtime-probe: %s %s\n", r.Target.Method, r.Target.URL)
	fmt.Fprintf(w, "  ran %.1fs (%s), %g req/s, concurrency %d, timeout %s\n",
		r.ElapsedSeconds, mode, s.Rate, s.Concurrency, msString(s.TimeoutMS))
	c := r.Requests
	fmt.Fprintf(w, "requests: scheduled %d  sent %d  ok %d  failed %d  dropped %d  success %.3f%%\n",
		c.Scheduled, c.Sent, c.Succeeded, c.Failed, c.Dropped, 100*r.SuccessRatio)
	if c.Dropped > 0 {
		fmt.Fprintf(w, "  note: %d scheduled requests found all %d slots busy and were not sent; raise -concurrency or lower -rate/-timeout\n",
			c.Dropped, s.Concurrency)
	}
	fmt.Fprintf(w, "latency ms (ok):  %s\n", r.Latency.OK)
	fmt.Fprintf(w, "latency ms (all): %s\n", r.Latency.All)
	if c.Failed > 0 {
		fmt.Fprintln(w, "errors by class:")
		for _, class := range sortedKeys(r.ErrorsByClass) {
			fmt.Fprintf(w, "  %-10s %6d%s\n", class, r.ErrorsByClass[class], r.codesOf(class))
		}
	}
	fmt.Fprintf(w, "downtime: %d window(s), %s in total", len(r.Downtime.Windows), msString(r.Downtime.TotalMS))
	if s.MergeGapMS > 0 {
		fmt.Fprintf(w, " (failures less than %s apart merged)", msString(s.MergeGapMS))
	}
	fmt.Fprintln(w)
	for i, win := range r.Downtime.Windows {
		var classes []string
		for _, class := range sortedKeys(win.Classes) {
			classes = append(classes, fmt.Sprintf("%s %d", class, win.Classes[class]))
		}
		fmt.Fprintf(w, "  #%d  %s  +%.3fs  %-9s %d failed of %d sent  [%s]\n",
			i+1, win.Start.Format("15:04:05.000"), win.StartOffsetMS/1000, msString(win.DurationMS),
			win.Failures, win.Requests, strings.Join(classes, ", "))
	}
	verdict := "PASS"
	if !r.Verdict.Pass {
		verdict = "FAIL"
	}
	fmt.Fprintf(w, "verdict: %s: %s\n", verdict, r.Verdict.Reason)
}

func (l LatencyStats) String() string {
	if l.Count == 0 {
		return "none"
	}
	return fmt.Sprintf("p50 %.1f  p90 %.1f  p99 %.1f  max %.1f  (mean %.1f, n=%d)", l.P50, l.P90, l.P99, l.Max, l.Mean, l.Count)
}

// codesOf lists the status codes behind an HTTP class, e.g. " (502: 3, 503: 1)".
func (r *Report) codesOf(class Class) string {
	var parts []string
	for _, f := range r.Failures {
		if f.Class == class && f.Status != 0 && f.Error == "" {
			parts = append(parts, strconv.Itoa(f.Status))
		}
	}
	if len(parts) == 0 {
		return ""
	}
	counts := map[string]int{}
	for _, p := range parts {
		counts[p]++
	}
	parts = parts[:0]
	for _, code := range sortedKeys(counts) {
		parts = append(parts, fmt.Sprintf("%s: %d", code, counts[code]))
	}
	return "  (" + strings.Join(parts, ", ") + ")"
}

func sortedKeys[K ~string, V any](m map[K]V) []K {
	keys := make([]K, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i] < keys[j] })
	return keys
}

func msString(v float64) string {
	return round(time.Duration(v * float64(time.Millisecond))).String()
}
