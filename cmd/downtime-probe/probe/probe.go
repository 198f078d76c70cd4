package probe

import (
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"sort"
	"sync"
	"sync/atomic"
	"time"
)

// Result is the outcome of one request.
type Result struct {
	Seq     int           // position in the schedule, from 0
	Sent    time.Time     // when the request was started
	Latency time.Duration // until the last body byte, or until the error
	Status  int           // 0 when no response arrived
	Class   Class         // "" on success
	Err     string        // transport error text
}

// Failed reports whether the request counts against the budget.
func (r Result) Failed() bool { return r.Class != "" }

// Run probes cfg.URL until cfg.Duration has passed or ctx is cancelled,
// waits for the requests in flight (each bounded by cfg.Timeout) and
// returns the report. Cancelling ctx is the normal way to stop an
// open-ended run; it is not an error. The only error is an invalid cfg.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	client := cfg.Client
	if client == nil {
		client = newClient(&cfg)
	}
	p := &prober{cfg: cfg, client: client, results: make(chan Result, cfg.Concurrency)}

	p.start = time.Now()
	collected := make(chan []Result)
	go func() { collected <- p.collect() }()
	interrupted := p.schedule(ctx)
	p.inflight.Wait()
	close(p.results)
	results := <-collected
	ended := time.Now()

	return buildReport(&cfg, p.start, ended, interrupted, int(p.scheduled.Load()), int(p.dropped.Load()), results), nil
}

type prober struct {
	cfg     Config
	client  *http.Client
	start   time.Time
	results chan Result

	inflight  sync.WaitGroup
	busy      atomic.Int64 // requests in flight, for progress lines
	scheduled atomic.Int64
	dropped   atomic.Int64
}

// newClient builds a client that behaves like an ordinary one (keep-alive,
// HTTP/2 when offered, proxy from the environment) so the probe sees what
// real clients see.
func newClient(cfg *Config) *http.Client {
	transport := &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: cfg.Timeout, KeepAlive: 30 * time.Second}).DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          cfg.Concurrency,
		MaxIdleConnsPerHost:   cfg.Concurrency,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   cfg.Timeout,
		ExpectContinueTimeout: time.Second,
		DisableKeepAlives:     cfg.DisableKeepAlives,
		TLSClientConfig:       &tls.Config{InsecureSkipVerify: cfg.InsecureTLS}, //nolint:gosec // opt-in flag
	}
	client := &http.Client{Transport: transport}
	if !cfg.FollowRedirects {
		// A health URL that starts redirecting has changed behaviour; report
		// the 3xx instead of probing wherever it points.
		client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	}
	return client
}

// schedule fires one request per interval, on times computed from the start
// so that timer jitter never accumulates into a lower rate. It returns
// whether ctx ended the run before cfg.Duration did.
func (p *prober) schedule(ctx context.Context) (interrupted bool) {
	interval := p.cfg.interval()
	var deadline time.Time
	if p.cfg.Duration > 0 {
		deadline = p.start.Add(p.cfg.Duration)
	}
	timer := time.NewTimer(0)
	defer timer.Stop()
	for seq := 0; ; {
		select {
		case <-ctx.Done():
			return true
		case <-timer.C:
		}
		now := time.Now()
		// Fire every slot that is due. After a stall (a paused runner) this
		// catches up, and the concurrency limit bounds the burst.
		for {
			due := p.start.Add(time.Duration(seq) * interval)
			if !deadline.IsZero() && !due.Before(deadline) {
				// Every slot is dispatched; still end at the deadline so the
				// run lasts what was asked.
				select {
				case <-ctx.Done():
				case <-time.After(time.Until(deadline)):
				}
				return false
			}
			if due.After(now) {
				timer.Reset(due.Sub(now))
				break
			}
			p.dispatch(seq)
			seq++
		}
	}
}

func (p *prober) dispatch(seq int) {
	p.scheduled.Add(1)
	// Only this goroutine increments busy, so the check cannot race into
	// more than Concurrency requests in flight.
	if p.busy.Load() >= int64(p.cfg.Concurrency) {
		// Open loop: queueing would turn an outage into a lower rate and
		// late requests; a drop is visible in the report instead.
		p.dropped.Add(1)
		return
	}
	p.busy.Add(1)
	p.inflight.Add(1)
	go func() {
		defer p.inflight.Done()
		r := p.do(seq)
		p.busy.Add(-1)
		p.results <- r
	}()
}

func (p *prober) do(seq int) Result {
	ctx, cancel := context.WithTimeout(context.Background(), p.cfg.Timeout)
	defer cancel()
	var body io.Reader
	if len(p.cfg.Body) > 0 {
		body = bytes.NewReader(p.cfg.Body)
	}
	r := Result{Seq: seq, Sent: time.Now()}
	req, err := http.NewRequestWithContext(ctx, p.cfg.Method, p.cfg.URL, body)
	if err != nil { // validated URL and method: only a programming error
		r.Class, r.Err = ClassOther, err.Error()
		return r
	}
	for name, values := range p.cfg.Header {
		if http.CanonicalHeaderKey(name) == "Host" && len(values) > 0 {
			req.Host = values[0]
			continue
		}
		req.Header[http.CanonicalHeaderKey(name)] = append([]string(nil), values...)
	}
	resp, err := p.client.Do(req)
	if err == nil {
		r.Status = resp.StatusCode
		// Read the whole body: a server that dies mid-body failed the
		// request, and keep-alive needs a drained body to reuse the
		// connection.
		_, err = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	r.Latency = time.Since(r.Sent)
	r.Class = Classify(r.Status, err)
	if err != nil {
		r.Err = err.Error()
	}
	return r
}

// collect gathers results until the channel closes and writes live state
// changes and progress lines to cfg.Log. Live output follows completion
// order; the report re-sorts by schedule.
func (p *prober) collect() []Result {
	var (
		results   []Result
		failed    int
		down      bool
		downSince time.Time
		downCount int
		tick      <-chan time.Time
	)
	if p.cfg.Log != nil && p.cfg.ProgressEvery > 0 {
		t := time.NewTicker(p.cfg.ProgressEvery)
		defer t.Stop()
		tick = t.C
	}
	for {
		select {
		case r, ok := <-p.results:
			if !ok {
				sort.Slice(results, func(i, j int) bool { return results[i].Seq < results[j].Seq })
				return results
			}
			results = append(results, r)
			if r.Failed() {
				failed++
			}
			if p.cfg.Log == nil {
				continue
			}
			switch {
			case r.Failed() && !down:
				down, downSince, downCount = true, r.Sent, 1
				p.logf(r.Sent, "DOWN: %s", describe(r))
			case r.Failed():
				downCount++
			case down:
				down = false
				p.logf(r.Sent, "UP again after %s, %d failed requests", round(r.Sent.Sub(downSince)), downCount)
			}
		case now := <-tick:
			p.logf(now, "sent %d  ok %d  failed %d  dropped %d  in flight %d",
				len(results), len(results)-failed, failed, p.dropped.Load(), p.busy.Load())
		}
	}
}

func (p *prober) logf(at time.Time, format string, args ...any) {
	fmt.Fprintf(p.cfg.Log, "[%s +%6.1fs] %s\n", at.UTC().Format("15:04:05.000"), at.Sub(p.start).Seconds(), fmt.Sprintf(format, args...))
}

// describe is the one-line cause of a failed result.
func describe(r Result) string {
	if r.Status != 0 && r.Err == "" {
		return fmt.Sprintf("%s (HTTP %d)", r.Class, r.Status)
	}
	return fmt.Sprintf("%s (%s)", r.Class, r.Err)
}

func round(d time.Duration) time.Duration {
	switch {
	case d >= 10*time.Second:
		return d.Round(100 * time.Millisecond)
	case d >= time.Millisecond:
		return d.Round(time.Millisecond)
	default:
		return d.Round(time.Microsecond)
	}
}
