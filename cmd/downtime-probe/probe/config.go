// Package probe sends requests to one URL at a fixed rate with bounded
// concurrency and reports what a client would have seen: every failed
// request with its time, downtime windows, failures by class and latency
// percentiles. It is the engine of cmd/downtime-probe; tests drive it
// in-process.
package probe

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Limits on the request rate. Above MaxRate the scheduler's timer
// resolution, not the target, would decide what is measured.
const (
	MaxRate = 10000
)

// Config is one probe run.
type Config struct {
	URL    string
	Method string
	Header http.Header
	Body   []byte

	// Rate is requests per second, fixed: the schedule does not slow down
	// when the target does (open loop), so an outage cannot hide by making
	// the probe send less.
	Rate float64
	// Concurrency bounds requests in flight. A scheduled request that finds
	// no free slot is dropped and counted, never queued.
	Concurrency int
	// Duration of the run; 0 runs until the context is cancelled.
	Duration time.Duration
	// Timeout bounds one request, from dial to the last body byte.
	Timeout time.Duration

	// Budget is how many failed requests are tolerated.
	Budget int
	// DropBudget is how many dropped requests are tolerated; -1 disables
	// the check.
	DropBudget int
	// MergeGap merges failures less than this apart, even with successes
	// between them, into one downtime window; 0 merges only consecutive
	// failures.
	MergeGap time.Duration

	FollowRedirects   bool
	DisableKeepAlives bool
	InsecureTLS       bool

	// Client overrides the HTTP client built from the fields above.
	Client *http.Client
	// Log receives live state changes (down/up) and progress lines; nil
	// keeps the run silent.
	Log io.Writer
	// ProgressEvery is the period of progress lines on Log; 0 disables them.
	ProgressEvery time.Duration
}

// DefaultConfig returns the defaults of the command-line flags.
func DefaultConfig() Config {
	return Config{
		Method:        http.MethodGet,
		Header:        http.Header{},
		Rate:          20,
		Concurrency:   64,
		Timeout:       2 * time.Second,
		Budget:        0,
		DropBudget:    -1,
		MergeGap:      time.Second,
		ProgressEvery: 10 * time.Second,
	}
}

// Validate reports the first problem with c, worded for a command line.
func (c *Config) Validate() error {
	if c.URL == "" {
		return errors.New("a URL is required (-url)")
	}
	u, err := url.Parse(c.URL)
	if err != nil {
		return fmt.Errorf("invalid URL %q: %v", c.URL, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return fmt.Errorf("invalid URL %q: scheme must be http or https", c.URL)
	}
	if u.Host == "" {
		return fmt.Errorf("invalid URL %q: no host", c.URL)
	}
	if c.Method == "" || strings.ContainsAny(c.Method, " \t\r\n") {
		return fmt.Errorf("invalid method %q", c.Method)
	}
	switch {
	case !(c.Rate > 0) || c.Rate > MaxRate:
		return fmt.Errorf("-rate must be in (0, %d] requests/s, got %v", MaxRate, c.Rate)
	case c.Concurrency < 1:
		return fmt.Errorf("-concurrency must be at least 1, got %d", c.Concurrency)
	case c.Duration < 0:
		return fmt.Errorf("-duration must not be negative, got %v", c.Duration)
	case c.Timeout <= 0:
		return fmt.Errorf("-timeout must be positive, got %v", c.Timeout)
	case c.Budget < 0:
		return fmt.Errorf("-budget must not be negative, got %d", c.Budget)
	case c.DropBudget < -1:
		return fmt.Errorf("-drop-budget must be -1 (off) or more, got %d", c.DropBudget)
	case c.MergeGap < 0:
		return fmt.Errorf("-merge-gap must not be negative, got %v", c.MergeGap)
	case c.ProgressEvery < 0:
		return fmt.Errorf("-progress must not be negative, got %v", c.ProgressEvery)
	}
	return nil
}

// interval is the time between two scheduled requests.
func (c *Config) interval() time.Duration {
	return time.Duration(float64(time.Second) / c.Rate)
}

// Saturates reports whether a total outage in which every request hangs
// until its timeout would exhaust the concurrency limit and make the probe
// drop requests: rate × timeout > concurrency.
func (c *Config) Saturates() bool {
	return c.Rate*c.Timeout.Seconds() > float64(c.Concurrency)
}
