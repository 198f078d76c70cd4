package client

import (
	"sync"
	"sync/atomic"
	"time"
)

// breaker fails calls fast after BreakerFailures consecutive calls got no
// answer: open for openFor, then half-open, letting one call through as a
// probe; the probe's answer closes it, its failure opens it again for
// twice as long (up to maxOpen). A 401 or any other answer of the service
// counts as answered: only "could not answer" counts against it, so a
// flood of bad tokens cannot open it.
type breaker struct {
	now       *func() time.Time
	threshold int
	base, max time.Duration

	mu       sync.Mutex
	st       breakerState
	failures int
	openedAt time.Time
	openFor  time.Duration
	probing  bool

	opens atomic.Int64
}

type breakerState int

const (
	closed breakerState = iota
	open
	halfOpen
)

func (s breakerState) String() string {
	return [...]string{"closed", "open", "half-open"}[s]
}

func newBreaker(cfg Config, now *func() time.Time) *breaker {
	return &breaker{now: now, threshold: cfg.BreakerFailures, base: cfg.BreakerOpenFor, max: cfg.BreakerMaxOpen, openFor: cfg.BreakerOpenFor}
}

// allow tells whether an attempt may go: always when closed; when open,
// only once openFor has passed, and then as the one probe.
func (b *breaker) allow() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	switch b.st {
	case open:
		if (*b.now)().Sub(b.openedAt) < b.openFor {
			return false
		}
		b.st, b.probing = halfOpen, true
		return true
	case halfOpen:
		if b.probing {
			return false
		}
		b.probing = true
		return true
	}
	return true
}

// outcome is how a call the breaker allowed ended.
type outcome int

const (
	answered   outcome = iota // the service answered (any status it means)
	unanswered                // every attempt failed
	abandoned                 // the caller gave up first: no verdict
)

// record counts a call's outcome.
func (b *breaker) record(o outcome) {
	b.mu.Lock()
	defer b.mu.Unlock()
	switch o {
	case answered:
		b.st, b.failures, b.probing, b.openFor = closed, 0, false, b.base
		return
	case abandoned:
		b.probing = false // another call may probe
		return
	}
	switch b.st {
	case halfOpen:
		b.openFor = min(2*b.openFor, b.max)
		b.trip()
	case closed:
		b.failures++
		if b.failures >= b.threshold {
			b.trip()
		}
	}
}

func (b *breaker) trip() {
	b.st, b.openedAt, b.probing, b.failures = open, (*b.now)(), false, 0
	b.opens.Add(1)
}

func (b *breaker) state() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.st.String()
}
